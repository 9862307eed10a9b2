"""The life of a certificate after it is issued: revocation, reissue, renewal, and reminders
of expiry.

- **Revoke**: with a reason, who and when; the certificate stays where it was (its code
  still verifies, as revoked).
- **Reissue** (e.g. after a name correction): the old certificate is superseded and a new one,
  with a new serial and code, carries the holder's current name for the same cycle and the same
  dates (``kind = "reissue"``, ``replaces_id`` the old one).
- **Renewal**: a certificate of a renewable type, from :data:`RENEWAL_WINDOW_DAYS` before its
  expiry (or after it), when the holder's CE hours of the current cycle reach the type's
  ``renew_ce_hours``: the old one is superseded and the new one (``kind = "renewal"``) is valid
  from the day after the old one expires, or from today if it already has.
- **Reminders**: one outbox message per certificate that is valid today and expires within
  the next days, in Chinese and English; :func:`deliver_outbox` sends them by SMTP when
  ``MAIL_SERVER`` is set (otherwise the outbox page lists them).

A replacement supersedes the old certificate and flushes *before* the new one is created (at
most one current certificate per holder, type and cycle: the partial unique index), both in
one savepoint, so a refused replacement leaves the old one as it was. Functions flush and never
commit; the caller commits (and, for :func:`deliver_outbox`, commits after the sending).
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lms.audit.services import record
from lms.auth.models import User
from lms.certificates.issuing import create_certificate, expiry_for, local_today, render_and_store
from lms.certificates.models import Certificate, IssueKind, OutboxMessage, Status, valid_on
from lms.db import utcnow
from lms.extensions import db
from lms.learning.completion import ce_hours, current_cycle
from lms.validation import ValidationError

RENEWAL_WINDOW_DAYS = 90
REMINDER_DAYS = 90
REMINDER_KIND = "expiry_reminder"
REASON_MAX = 1000
SMTP_TIMEOUT = 30  # seconds
LANGUAGES = ("zh_Hans_CN", "en")


def _certificate_for_update(certificate_id: int) -> Certificate:
    """The certificate, its row locked until commit (PostgreSQL) so that two officers acting
    on it at once take turns."""
    certificate = db.session.get(Certificate, certificate_id, with_for_update=True)
    if certificate is None:
        raise ValidationError({"certificate": _("No such certificate.")})
    return certificate


def _reason(text: str | None, message: str) -> str:
    reason = (text or "").strip()
    if not reason:
        raise ValidationError({"reason": message})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": _("At most %(max)d characters.", max=REASON_MAX)})
    return reason


def _not_current(certificate: Certificate) -> str | None:
    """Why a certificate cannot be replaced (revoked or already replaced), or None."""
    if certificate.revoked_at is not None:
        return _("Certificate %(serial)s is revoked.", serial=certificate.serial)
    if certificate.superseded_at is not None:
        return _(
            "Certificate %(serial)s was already replaced by a newer one.",
            serial=certificate.serial,
        )
    return None


# Revocation ---------------------------------------------------------------------------------


def revoke(actor_id: int | None, certificate_id: int, reason: str) -> Certificate:
    """Revoke a certificate (``actor_id`` None: from the command line). Audited as
    ``certificate.revoked`` with the reason."""
    why = _reason(reason, _("Give the reason for revoking the certificate."))
    certificate = _certificate_for_update(certificate_id)
    if certificate.revoked_at is not None:
        raise ValidationError(
            {
                "certificate": _(
                    "Certificate %(serial)s was already revoked on %(date)s.",
                    serial=certificate.serial,
                    date=certificate.revoked_at.date().isoformat(),
                )
            }
        )
    before = str(certificate.status)
    certificate.revoked_at = utcnow()
    certificate.revoked_by_id = actor_id
    certificate.revoke_reason = why
    db.session.flush()
    record(
        actor_id,
        "certificate.revoked",
        "certificate",
        certificate.id,
        before={"status": before},
        after={"status": str(Status.REVOKED)},
        reason=why,
    )
    return certificate


# Replacements: reissue and renewal ----------------------------------------------------------


@contextmanager
def _replacing(certificate: Certificate, now: datetime) -> Iterator[None]:
    """Supersede ``certificate`` and create its replacement inside the block, in one savepoint:
    the old one stops being current (and is flushed) before the new one is inserted."""
    with db.session.begin_nested():
        certificate.superseded_at = now
        db.session.flush()
        yield


def reissue(actor_id: int | None, certificate_id: int, reason: str) -> Certificate:
    """Replace a certificate by a new one with the holder's current name (same type, cycle and
    dates; new serial and code), rendered. Audited as ``certificate.reissued`` on the old
    certificate (and ``certificate.issued`` on the new one)."""
    why = _reason(reason, _("Give the reason for reissuing the certificate."))
    old = _certificate_for_update(certificate_id)
    problem = _not_current(old)
    if problem is not None:
        raise ValidationError({"certificate": problem})
    now = utcnow()
    status = str(old.status_on(local_today(now)))
    with _replacing(old, now):
        new = create_certificate(
            actor_id,
            old.holder_id,
            old.type_id,
            kind=IssueKind.REISSUE,
            replaces=old,
            override_reason=old.override_reason,
            now=now,
        )
        new.valid_from, new.expires_on = old.valid_from, old.expires_on
        db.session.flush()
    render_and_store([new])
    record(
        actor_id,
        "certificate.reissued",
        "certificate",
        old.id,
        before={"holder_name": old.holder_name, "status": status},
        after={
            "holder_name": new.holder_name,
            "status": str(Status.SUPERSEDED),
            "replaced_by": new.serial,
            "replaced_by_id": new.id,
        },
        reason=why,
    )
    return new


@dataclass
class RenewalCheck:
    """Whether a certificate can be renewed now, and why not: ``hours`` of CE in ``cycle``
    against ``needed``; renewal opens on ``opens_on``."""

    certificate: Certificate
    cycle: int
    hours: Decimal
    needed: Decimal | None
    opens_on: date | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.reason is None


def renewal_check(certificate_id: int, *, today: date | None = None) -> RenewalCheck:
    """Whether the certificate can be renewed on ``today`` (the local date by default)."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        raise ValidationError({"certificate": _("No such certificate.")})
    today = today or local_today()
    cycle = current_cycle(today)
    needed = certificate.certificate_type.renew_ce_hours
    hours = ce_hours(certificate.holder_id, cycle)
    opens_on = None
    if certificate.expires_on is not None:
        opens_on = certificate.expires_on - timedelta(days=RENEWAL_WINDOW_DAYS)
    reason = _not_current(certificate)
    if reason is None:
        reason = _renewal_problem(certificate, hours, needed, opens_on, today)
    return RenewalCheck(certificate, cycle, hours, needed, opens_on, reason)


def _renewal_problem(
    certificate: Certificate,
    hours: Decimal,
    needed: Decimal | None,
    opens_on: date | None,
    today: date,
) -> str | None:
    reason = None
    if needed is None or opens_on is None:
        reason = _("Certificates of this type are not renewed.")
    elif not certificate.certificate_type.active:
        reason = _("This certificate type is no longer issued.")
    elif today < opens_on:
        reason = _(
            "Renewal opens on %(date)s, %(days)d days before the certificate expires.",
            date=opens_on.isoformat(),
            days=RENEWAL_WINDOW_DAYS,
        )
    elif hours < needed:
        reason = _(
            "%(hours)s of the %(needed)s CE hours needed in %(year)d.",
            hours=hours,
            needed=needed,
            year=today.year,
        )
    return reason


def renew(actor_id: int | None, certificate_id: int, *, now: datetime | None = None) -> Certificate:
    """Renew a certificate (see :func:`renewal_check`): a new certificate linked to it, valid
    from the day after it expires (or today, once it has), rendered. Audited as
    ``certificate.renewed`` on the old certificate (and ``certificate.issued`` on the new)."""
    now = now or utcnow()
    today = local_today(now)
    old = _certificate_for_update(certificate_id)
    check = renewal_check(old.id, today=today)
    if not check.ok:
        raise ValidationError({"certificate": check.reason or ""})
    assert old.expires_on is not None  # renewal_check: renewable types expire
    with _replacing(old, now):
        new = create_certificate(
            actor_id,
            old.holder_id,
            old.type_id,
            kind=IssueKind.RENEWAL,
            replaces=old,
            override_reason=old.override_reason,
            now=now,
        )
        new.valid_from = max(today, old.expires_on + timedelta(days=1))
        new.expires_on = expiry_for(new.certificate_type, new.valid_from)
        db.session.flush()
    render_and_store([new])
    record(
        actor_id,
        "certificate.renewed",
        "certificate",
        old.id,
        after={
            "renewed_by": new.serial,
            "renewed_by_id": new.id,
            "valid_from": new.valid_from.isoformat(),
            "expires_on": new.expires_on.isoformat() if new.expires_on else None,
            "ce_hours": str(check.hours),
            "cycle": check.cycle,
        },
    )
    return new


# Reminders ----------------------------------------------------------------------------------


def _reminder_text(certificate: Certificate) -> tuple[str, str]:
    """Subject and body, in Chinese then English."""
    subjects, bodies = [], []
    details = certificate.details or {}
    ctype = certificate.certificate_type
    for locale in LANGUAGES:
        with force_locale(locale):
            english = locale == "en"
            title = (details.get("certificate_title_en") if english else None) or details.get(
                "certificate_title", ""
            )
            values: dict[str, Any] = {
                "name": certificate.holder_name,
                "title": title,
                "serial": certificate.serial,
                "date": certificate.expires_on.isoformat() if certificate.expires_on else "",
            }
            subjects.append(_("Your certificate %(serial)s expires on %(date)s", **values))
            lines = [
                _("Dear %(name)s,", **values),
                _(
                    "your certificate %(title)s (serial %(serial)s) expires on %(date)s.",
                    **values,
                ),
            ]
            if ctype.renew_ce_hours is not None:
                lines.append(
                    _(
                        "You can renew it once you have %(hours)s CE hours this year; "
                        "your HR officer issues the renewal.",
                        hours=ctype.renew_ce_hours,
                    )
                )
            else:
                lines.append(_("Please contact your HR officer about a new certificate."))
            bodies.append("\n\n".join(lines))
    return " / ".join(subjects)[:200], "\n\n----------\n\n".join(bodies)


def queue_expiry_reminders(today: date | None = None, days: int = REMINDER_DAYS) -> int:
    """Add a reminder to the outbox for each certificate valid on ``today`` that expires within
    ``days`` (active holders only); once per certificate, also when runs overlap. Returns the
    number of messages added."""
    today = today or local_today()
    reminded = sa.select(OutboxMessage.id).where(
        OutboxMessage.certificate_id == Certificate.id, OutboxMessage.kind == REMINDER_KIND
    )
    rows = db.session.execute(
        sa.select(Certificate, User.email)
        .join(User, User.id == Certificate.holder_id)
        .where(
            valid_on(today),
            Certificate.expires_on.is_not(None),
            Certificate.expires_on <= today + timedelta(days=days),
            User.active.is_(True),
            ~reminded.exists(),
        )
        .order_by(Certificate.expires_on, Certificate.id)
    ).tuples()
    now = utcnow()
    values = []
    for certificate, email in rows:
        subject, body = _reminder_text(certificate)
        values.append(
            {
                "kind": REMINDER_KIND,
                "certificate_id": certificate.id,
                "user_id": certificate.holder_id,
                "email": email,
                "subject": subject,
                "body": body,
                "created_at": now,
                "error": "",
            }
        )
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    added = 0
    for start in range(0, len(values), 500):
        inserted = db.session.scalars(
            insert(OutboxMessage)
            .values(values[start : start + 500])
            .on_conflict_do_nothing(index_elements=["certificate_id", "kind"])
            .returning(OutboxMessage.id)
        ).all()
        added += len(inserted)
    return added


def _smtp() -> smtplib.SMTP:
    """A connection to the configured server (STARTTLS and login when configured)."""
    config = current_app.config
    smtp = smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=SMTP_TIMEOUT)
    try:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    except (OSError, smtplib.SMTPException):
        smtp.close()
        raise
    return smtp


def _email(message: OutboxMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_FROM"]
    email["To"] = message.email
    email["Subject"] = message.subject
    email.set_content(message.body)
    return email


def _failure(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:1000]


def deliver_outbox() -> tuple[int, int]:
    """Send the unsent messages by SMTP when ``MAIL_SERVER`` is set; ``(sent, failed)``.

    Each message records ``sent_at`` or the ``error`` (a failed one is tried again next time).
    Without ``MAIL_SERVER`` nothing is sent: the outbox page lists the messages. Never raises
    for mail problems; flushes, the caller commits.
    """
    if not current_app.config.get("MAIL_SERVER"):
        return 0, 0
    pending = db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None))
        .order_by(OutboxMessage.id)
        .with_for_update(skip_locked=True)
    ).all()
    if not pending:
        return 0, 0
    try:
        smtp = _smtp()
    except (OSError, smtplib.SMTPException) as error:
        for message in pending:
            message.error = _failure(error)
        db.session.flush()
        return 0, len(pending)
    sent = failed = 0
    try:
        for message in pending:
            try:
                if not message.email:
                    raise ValueError(_("no email address"))
                smtp.send_message(_email(message))
            except (OSError, smtplib.SMTPException, ValueError) as error:
                message.error = _failure(error)
                failed += 1
            else:
                message.sent_at, message.error = utcnow(), ""
                sent += 1
    finally:
        with suppress(OSError, smtplib.SMTPException):
            smtp.quit()
    db.session.flush()
    return sent, failed
