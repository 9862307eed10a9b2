"""``lms certificates``: issue, list, revoke, reissue and renew certificates, write their PDFs,
and send the expiry reminders, for HR scripting.

The commands call the services of the HR pages (:mod:`lms.certificates.issuing`,
:mod:`lms.certificates.lifecycle`, and the bulk job of :mod:`lms.certificates.bulk_jobs`) as
the system (no acting person in the audit log). Each commits once; on bad input it prints
what is wrong to stderr, exits 1 and changes nothing. A bulk issue runs the bulk job in this
process and commits in batches like the job does; running it again finishes what an
interrupted run left.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from lms import jobs
from lms.auth.services import find_by_email
from lms.certificates import bulk, issuing, lifecycle
from lms.certificates.models import Certificate, CertificateType, OutboxMessage, Status
from lms.certificates.queries import status_clause
from lms.certificates.types import type_by_code
from lms.extensions import db
from lms.learning.models import Cohort
from lms.validation import ValidationError

certificates_cli = AppGroup(
    "certificates", help="Issue, list, revoke, reissue and renew certificates; send reminders."
)


def fail(*lines: str) -> NoReturn:
    """Roll back, print the lines to stderr and exit 1."""
    db.session.rollback()
    for line in lines:
        click.echo(line, err=True)
    sys.exit(1)


def fail_with(error: ValidationError) -> NoReturn:
    fail(*(f"{field}: {message}" if field else message for field, message in error.errors.items()))


def _certificate(code: str) -> Certificate:
    certificate = issuing.certificate_by_code(code)
    if certificate is None:
        fail(_("No certificate has the code %(code)s.", code=code))
    return certificate


def _type(code: str) -> CertificateType:
    ctype = type_by_code(code)
    if ctype is None:
        fail(
            _(
                "No certificate type has the code %(code)s (give its serial code, e.g. TP, or "
                "its programme's code).",
                code=code,
            )
        )
    if not ctype.active:
        fail(_("Certificate type %(code)s is no longer issued.", code=ctype.serial_code))
    return ctype


def _describe(certificate: Certificate) -> str:
    return f"{certificate.serial}\t{certificate.code}\t{certificate.holder_name}"


# Issue --------------------------------------------------------------------------------------


@certificates_cli.command("issue")
@click.option("--type", "type_code", required=True, help="Serial code (TP) or programme code.")
@click.option("--email", help="Issue to this person.")
@click.option("--cohort", "cohort_code", help="Issue to everyone eligible in this cohort.")
@click.option(
    "--all-eligible",
    "everyone",
    is_flag=True,
    help="Issue to everyone eligible who completed the programme.",
)
@click.option("--override-reason", help="With --email: issue although not eligible, because…")
def issue_command(
    type_code: str,
    email: str | None,
    cohort_code: str | None,
    everyone: bool,
    override_reason: str | None,
) -> None:
    """Issue certificates of a type: to one person (--email), or to everyone eligible in a
    cohort (--cohort) or in the programme (--all-eligible). Prints serial, code and name of
    each certificate issued."""
    if sum((email is not None, cohort_code is not None, everyone)) != 1:
        fail(_("Give exactly one of --email, --cohort and --all-eligible."))
    if override_reason is not None and email is None:
        fail(_("--override-reason is for one person (--email)."))
    ctype = _type(type_code)
    if email is not None:
        holder = find_by_email(email)
        if holder is None:
            fail(_("No account has the email address %(email)s.", email=email))
        try:
            certificate = issuing.issue_one(
                None, holder.id, ctype.id, override_reason=override_reason
            )
        except ValidationError as error:
            fail_with(error)
        db.session.commit()
        click.echo(_describe(certificate))
        return
    cohort_id = None
    if cohort_code is not None:
        cohort_id = db.session.scalar(sa.select(Cohort.id).where(Cohort.code == cohort_code))
        if cohort_id is None:
            fail(_("No cohort has the code %(code)s.", code=cohort_code))
    _issue_bulk(ctype.id, cohort_id)


def _issue_bulk(type_id: int, cohort_id: int | None) -> None:
    """Run the bulk issue job here (recorded like the page's), then print its outcome."""
    job_id = str(uuid.uuid4())
    db.session.add(
        jobs.Job(
            id=job_id,
            kind=bulk.JOB_KIND,
            args=[type_id, cohort_id, None],
            locale=str(get_locale() or ""),
        )
    )
    db.session.commit()
    # Nothing is read here until the job is done: a transaction begun now would not see the
    # job's commits (SQLite keeps a snapshot per transaction).
    try:
        jobs.execute(job_id)
    except Exception as error:  # the job recorded its failure; say it here
        fail(_("The bulk issue failed: %(error)s", error=str(error)))
    db.session.expire_all()
    result = db.session.get(jobs.Job, job_id).result or {}
    ids = result.get("certificate_ids", [])
    for certificate in db.session.scalars(
        sa.select(Certificate).where(Certificate.id.in_(ids)).order_by(Certificate.serial)
    ):
        click.echo(_describe(certificate))
    for skipped in result.get("skipped", []):
        click.echo(
            _("skipped: %(name)s: %(reason)s", name=skipped["name"], reason=skipped["reason"]),
            err=True,
        )
    click.echo(
        _(
            "Issued %(issued)d, skipped %(skipped)d.",
            issued=result.get("issued", 0),
            skipped=len(result.get("skipped", [])),
        ),
        err=True,
    )


# Life cycle ---------------------------------------------------------------------------------


@certificates_cli.command("revoke")
@click.argument("code")
@click.option("--reason", required=True, help="Why the certificate is revoked.")
def revoke_command(code: str, reason: str) -> None:
    """Revoke the certificate with verification code CODE."""
    certificate = _certificate(code)
    try:
        lifecycle.revoke(None, certificate.id, reason)
    except ValidationError as error:
        fail_with(error)
    db.session.commit()
    click.echo(_("Revoked %(serial)s.", serial=certificate.serial))


@certificates_cli.command("reissue")
@click.argument("code")
@click.option("--reason", required=True, help="Why, e.g. the name was corrected.")
def reissue_command(code: str, reason: str) -> None:
    """Replace the certificate CODE by a new one with the holder's current name."""
    certificate = _certificate(code)
    try:
        new = lifecycle.reissue(None, certificate.id, reason)
    except ValidationError as error:
        fail_with(error)
    db.session.commit()
    click.echo(_describe(new))


@certificates_cli.command("renew")
@click.argument("code")
def renew_command(code: str) -> None:
    """Renew the certificate CODE (CE hours of this year, from 90 days before expiry)."""
    certificate = _certificate(code)
    try:
        new = lifecycle.renew(None, certificate.id)
    except ValidationError as error:
        fail_with(error)
    db.session.commit()
    click.echo(_describe(new))


# List and PDF -------------------------------------------------------------------------------


def _row(certificate: Certificate, today: date) -> dict[str, Any]:
    ctype = certificate.certificate_type
    return {
        "id": certificate.id,
        "code": certificate.code,
        "serial": certificate.serial,
        "holder_id": certificate.holder_id,
        "holder_name": certificate.holder_name,
        "holder_email": certificate.holder.email,
        "type": ctype.serial_code,
        "programme": (certificate.details or {}).get("programme_code"),
        "tier": ctype.tier,
        "cycle": certificate.cycle,
        "kind": certificate.kind,
        "status": str(certificate.status_on(today)),
        "issued_at": certificate.issued_at.isoformat(),
        "valid_from": certificate.valid_from.isoformat(),
        "expires_on": certificate.expires_on.isoformat() if certificate.expires_on else None,
        "revoked_at": certificate.revoked_at.isoformat() if certificate.revoked_at else None,
        "revoke_reason": certificate.revoke_reason,
        "replaces_id": certificate.replaces_id,
    }


TABLE_COLUMNS = ("serial", "status", "type", "holder_name", "valid_from", "expires_on", "code")


@certificates_cli.command("list")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "table"]), default="table", show_default=True
)
@click.option("--status", type=click.Choice([s.value for s in Status]), help="Status today.")
@click.option("--type", "type_code", help="Serial code (TP) or programme code.")
def list_command(fmt: str, status: str | None, type_code: str | None) -> None:
    """List certificates, newest first (JSON: an array of objects)."""
    today = issuing.local_today()
    stmt = sa.select(Certificate).options(
        joinedload(Certificate.certificate_type), joinedload(Certificate.holder)
    )
    if type_code is not None:
        ctype = type_by_code(type_code)
        if ctype is None:
            fail(_("No certificate type has the code %(code)s.", code=type_code))
        stmt = stmt.where(Certificate.type_id == ctype.id)
    if status is not None:
        stmt = stmt.where(status_clause(Status(status), today))
    stmt = stmt.order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    rows = [_row(c, today) for c in db.session.scalars(stmt)]
    db.session.rollback()
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = [TABLE_COLUMNS] + [
        tuple("" if row[k] is None else str(row[k]) for k in TABLE_COLUMNS) for row in rows
    ]
    widths = [max(_width(line[i]) for line in table) for i in range(len(TABLE_COLUMNS))]
    for line in table:
        cells = [
            cell + " " * (width - _width(cell)) for cell, width in zip(line, widths, strict=True)
        ]
        click.echo("  ".join(cells).rstrip())


def _width(text: str) -> int:
    """Terminal columns of ``text``: Chinese characters take two."""
    return sum(2 if ord(ch) >= 0x1100 else 1 for ch in text)


@certificates_cli.command("pdf")
@click.argument("code")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The file to write.",
)
def pdf_command(code: str, out: Path) -> None:
    """Write the PDF of the certificate CODE to a file (rendering it first if it has none)."""
    certificate = _certificate(code)
    if not out.parent.is_dir():
        fail(_("The folder %(path)s does not exist.", path=str(out.parent)))
    if not certificate.pdf_sha256:
        issuing.render_and_store([certificate])
        db.session.commit()
    shutil.copyfile(issuing.pdf_path(certificate), out)
    click.echo(
        _("%(serial)s written to %(path)s.", serial=certificate.serial, path=str(out)), err=True
    )


# Reminders ----------------------------------------------------------------------------------


@certificates_cli.command("remind")
@click.option("--days", default=lifecycle.REMINDER_DAYS, show_default=True, type=int)
def remind_command(days: int) -> None:
    """Queue reminders of certificates expiring within DAYS, then send the outbox by SMTP
    (when MAIL_SERVER is set; otherwise the outbox page lists the messages)."""
    if days < 1:
        fail(_("--days must be at least 1."))
    queued = lifecycle.queue_expiry_reminders(days=days)
    db.session.commit()
    sent, failed = lifecycle.deliver_outbox()
    db.session.commit()
    click.echo(_("%(n)d reminder(s) queued.", n=queued))
    if not current_app.config.get("MAIL_SERVER"):
        waiting = db.session.scalar(
            sa.select(sa.func.count()).select_from(
                sa.select(OutboxMessage.id).where(OutboxMessage.sent_at.is_(None)).subquery()
            )
        )
        click.echo(
            _("MAIL_SERVER is not set: %(n)d message(s) wait in the outbox.", n=waiting or 0)
        )
        return
    click.echo(_("%(sent)d sent, %(failed)d failed.", sent=sent, failed=failed))
    if failed:
        fail(_("Some messages were not sent; the outbox page shows why."))
