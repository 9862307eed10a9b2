"""Issuing certificates: eligibility, serial numbers, codes, the records and their PDFs.

Eligibility comes from completion evidence: a :class:`ProgrammeCompletion` of the type's
programme for the cycle, and no current certificate (neither revoked nor superseded) of that
type and cycle. Issuing to someone not eligible needs a written reason (an override), kept on
the certificate and in the audit log.

Two guarantees hold under any concurrency, on both databases:

- one current certificate per person, type and cycle: the partial unique index
  ``uq_certificates_one_current`` refuses a second, and the loser gets a clear error;
- serials without gaps per type and year: the number is taken from :class:`SerialCounter` in
  the same savepoint as the insert, so a refused insert gives its number back.

Functions flush and never commit; the caller (view, CLI, job) commits.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from lms.audit.services import record
from lms.auth.models import User
from lms.certificates import rendering
from lms.certificates.models import Certificate, CertificateType, IssueKind, SerialCounter
from lms.db import utcnow
from lms.extensions import db
from lms.learning.completion import current_cycle
from lms.learning.models import (
    Cohort,
    Cycle,
    Enrolment,
    EnrolmentStatus,
    Programme,
    ProgrammeCompletion,
)
from lms.orgs.models import Organisation
from lms.validation import ValidationError

#: Codes use 32 symbols without the look-alikes 0/O and 1/I: 5 bits each.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 32  # 160 bits


class NotEligible(ValidationError):
    """Issuing was refused: the person has no completion evidence and no override was given."""


@dataclass
class Eligibility:
    """Whether ``holder_id`` may get a certificate of ``type_id`` for ``cycle``, and why not."""

    holder_id: int
    type_id: int
    cycle: int
    completion: ProgrammeCompletion | None
    current: Certificate | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.reason is None


def _type_or_error(type_id: int) -> CertificateType:
    ctype = db.session.get(CertificateType, type_id)
    if ctype is None or not ctype.active:
        raise ValidationError({"type": _("Choose a certificate type.")})
    return ctype


def _cycle_for(programme: Programme, cycle: int | None) -> int:
    if programme.cycle != Cycle.ANNUAL:
        return 0
    return cycle if cycle is not None else current_cycle()


def current_certificate(holder_id: int, type_id: int, cycle: int) -> Certificate | None:
    """The person's certificate of this type and cycle that is neither revoked nor superseded
    (it may have expired)."""
    return db.session.scalar(
        sa.select(Certificate).where(
            Certificate.holder_id == holder_id,
            Certificate.type_id == type_id,
            Certificate.cycle == cycle,
            Certificate.revoked_at.is_(None),
            Certificate.superseded_at.is_(None),
        )
    )


def eligibility(holder_id: int, type_id: int, *, cycle: int | None = None) -> Eligibility:
    """The person's eligibility for a certificate type (in ``cycle`` for annual programmes:
    the current one unless given)."""
    ctype = _type_or_error(type_id)
    programme = ctype.programme
    year = _cycle_for(programme, cycle)
    completion = db.session.scalar(
        sa.select(ProgrammeCompletion).where(
            ProgrammeCompletion.user_id == holder_id,
            ProgrammeCompletion.programme_id == programme.id,
            ProgrammeCompletion.cycle == year,
        )
    )
    current = current_certificate(holder_id, type_id, year)
    reason = None
    if current is not None:
        reason = _("Already holds certificate %(serial)s.", serial=current.serial)
    elif completion is None:
        reason = _("Has not completed the programme %(title)s.", title=programme.title)
    return Eligibility(holder_id, type_id, year, completion, current, reason)


def eligible_holders(type_id: int, *, cohort_id: int | None = None) -> sa.Select[Any]:
    """``(user_id, completion_id, cycle)`` of everyone eligible now: a completion of the
    type's programme without a current certificate, active accounts only, optionally only
    the people actively enrolled in ``cohort_id``."""
    ctype = _type_or_error(type_id)
    current = sa.select(Certificate.id).where(
        Certificate.holder_id == ProgrammeCompletion.user_id,
        Certificate.type_id == type_id,
        Certificate.cycle == ProgrammeCompletion.cycle,
        Certificate.revoked_at.is_(None),
        Certificate.superseded_at.is_(None),
    )
    stmt = (
        sa.select(
            ProgrammeCompletion.user_id,
            ProgrammeCompletion.id.label("completion_id"),
            ProgrammeCompletion.cycle,
        )
        .join(User, User.id == ProgrammeCompletion.user_id)
        .where(
            ProgrammeCompletion.programme_id == ctype.programme_id,
            User.active.is_(True),
            ~current.exists(),
        )
        .order_by(ProgrammeCompletion.completed_at, ProgrammeCompletion.id)
    )
    if cohort_id is not None:
        enrolled = (
            sa.select(Enrolment.user_id)
            .join(Cohort, Cohort.id == Enrolment.cohort_id)
            .where(Cohort.id == cohort_id, Enrolment.status == EnrolmentStatus.ENROLLED)
        )
        stmt = stmt.where(ProgrammeCompletion.user_id.in_(enrolled))
    return stmt


def new_code() -> str:
    """A verification code: 32 symbols (160 random bits), not guessable, not a serial."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """A code as people type it: case, spaces and dashes do not matter."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def next_serial(type_id: int, year: int) -> str:
    """The next serial of a type in a year. The counter row stays locked until the
    transaction (or savepoint) ends, and rolling back gives the number back."""
    ctype = _type_or_error(type_id)
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(SerialCounter)
        .values(type_id=type_id, year=year, last=0)
        .on_conflict_do_nothing(index_elements=["type_id", "year"])
    )
    number = db.session.execute(
        sa.update(SerialCounter)
        .where(SerialCounter.type_id == type_id, SerialCounter.year == year)
        .values(last=SerialCounter.last + 1)
        .returning(SerialCounter.last)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    prefix = current_app.config["CERTIFICATE_SERIAL_PREFIX"]
    return f"{prefix}-{ctype.serial_code}-{year}-{number:06d}"


def local_today(now: datetime | None = None) -> date:
    """The date in the city's time zone (certificates carry local dates)."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return (now or utcnow()).astimezone(zone).date()


def expiry_for(ctype: CertificateType, valid_from: date) -> date | None:
    """The last day of validity: the day before the same date ``validity_years`` later."""
    if not ctype.validity_years:
        return None
    year = valid_from.year + ctype.validity_years
    try:
        anniversary = valid_from.replace(year=year)
    except ValueError:  # 29 February
        anniversary = valid_from.replace(year=year, day=28)
    return anniversary - timedelta(days=1)


def programme_partner(ctype: CertificateType) -> Organisation | None:
    """The university partner delivering the programme: that of its first course with one."""
    return next(
        (link.course.partner for link in ctype.programme.courses if link.course.partner), None
    )


def snapshot(ctype: CertificateType, completion: ProgrammeCompletion | None) -> dict[str, Any]:
    programme = ctype.programme
    partner = programme_partner(ctype)
    return {
        "programme_code": programme.code,
        "programme_title": programme.title,
        "programme_title_en": programme.title_en,
        "certificate_title": ctype.title,
        "certificate_title_en": ctype.title_en,
        "tier": ctype.tier,
        "partner_name": partner.name if partner else "",
        "partner_name_en": partner.name_en if partner else "",
        "issuer_name": ctype.issuer_name,
        "issuer_name_en": ctype.issuer_name_en,
        "signatory_name": ctype.signatory_name,
        "signatory_title": ctype.signatory_title,
        "completed_on": completion.completed_at.date().isoformat() if completion else None,
    }


def create_certificate(
    actor_id: int | None,
    holder_id: int,
    type_id: int,
    *,
    override_reason: str | None = None,
    cycle: int | None = None,
    kind: str = IssueKind.ISSUE,
    replaces: Certificate | None = None,
    now: datetime | None = None,
) -> Certificate:
    """Create the certificate record (its PDF comes from :func:`render_and_store`).

    Refused with :class:`NotEligible` without completion evidence unless ``override_reason``
    is given, and with a ValidationError when the person already holds a current certificate
    of the type and cycle (also when a concurrent request just issued it). A renewal or
    reissue (``replaces``) must have superseded the old certificate first.
    """
    ctype = _type_or_error(type_id)
    holder = db.session.get(User, holder_id)
    if holder is None:
        raise ValidationError({"holder": _("Choose a person.")})
    year = replaces.cycle if replaces is not None and cycle is None else cycle
    check = eligibility(holder_id, type_id, cycle=year)
    if check.current is not None:
        raise ValidationError({"holder": check.reason or ""})
    reason = (override_reason or "").strip() or None
    needs_evidence = kind == IssueKind.ISSUE
    if needs_evidence and check.completion is None and reason is None:
        raise NotEligible(
            {
                "override_reason": _(
                    "%(reason)s To issue anyway, give the reason for the exception.",
                    reason=check.reason,
                )
            }
        )
    now = now or utcnow()
    today = local_today(now)
    try:
        with db.session.begin_nested():
            certificate = Certificate(
                code=new_code(),
                serial=next_serial(type_id, today.year),
                type_id=type_id,
                holder_id=holder_id,
                completion_id=check.completion.id if check.completion else None,
                cycle=check.cycle,
                partner_id=partner.id if (partner := programme_partner(ctype)) else None,
                district_id=holder.district_id
                or (holder.employer.district_id if holder.employer else None),
                employer_kind=holder.employer.kind if holder.employer else None,
                kind=kind,
                issued_at=now,
                valid_from=today,
                expires_on=expiry_for(ctype, today),
                holder_name=holder.name,
                details=snapshot(ctype, check.completion),
                identity_salt=secrets.token_hex(16),
                issued_by_id=actor_id,
                override_reason=reason if check.completion is None else None,
                replaces_id=replaces.id if replaces is not None else None,
            )
            db.session.add(certificate)
            db.session.flush()
    except IntegrityError as error:
        raise ValidationError(
            {"holder": _("A certificate of this type was just issued to this person.")}
        ) from error
    record(
        actor_id,
        "certificate.issued",
        "certificate",
        certificate.id,
        after={
            "serial": certificate.serial,
            "user_id": holder_id,
            "type": ctype.serial_code,
            "cycle": certificate.cycle,
            "kind": kind,
            "override_reason": certificate.override_reason,
        },
        reason=certificate.override_reason,
    )
    return certificate


def pdf_path(certificate: Certificate) -> Path:
    """Where the certificate's PDF is stored (named by its SHA-256)."""
    if not certificate.pdf_sha256:
        raise LookupError(f"certificate {certificate.serial} has no PDF yet")
    sha = certificate.pdf_sha256
    return Path(current_app.config["FILES_DIR"]) / "certificates" / sha[:2] / sha


def _store(data: bytes) -> str:
    """Write PDF bytes into the file store (atomically); their SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    path = Path(current_app.config["FILES_DIR"]) / "certificates" / sha[:2] / sha
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{sha}.{os.getpid()}.{secrets.token_hex(4)}.part")
        partial.write_bytes(data)
        partial.replace(path)
    return sha


def render_and_store(certificates: Sequence[Certificate]) -> None:
    """Render the PDFs of those certificates that have none yet, one WeasyPrint document per
    template, and store them. Flushes."""
    pending = [c for c in certificates if not c.pdf_sha256]
    by_type: dict[int, list[Certificate]] = {}
    for certificate in pending:
        by_type.setdefault(certificate.type_id, []).append(certificate)
    for type_id, group in by_type.items():
        template = rendering.current_template(type_id)
        for certificate, pdf in zip(group, rendering.render_pdfs(group, template), strict=True):
            certificate.pdf_sha256 = _store(pdf)
            certificate.pdf_size = len(pdf)
            certificate.template_id = template.id
    db.session.flush()


def issue_one(
    actor_id: int | None, holder_id: int, type_id: int, *, override_reason: str | None = None
) -> Certificate:
    """Issue one certificate with its PDF (see :func:`create_certificate`)."""
    certificate = create_certificate(actor_id, holder_id, type_id, override_reason=override_reason)
    render_and_store([certificate])
    return certificate


def certificate_by_code(code: str) -> Certificate | None:
    """The certificate with this verification code, typed in any case, with spaces or dashes."""
    return db.session.scalar(sa.select(Certificate).where(Certificate.code == normalise_code(code)))
