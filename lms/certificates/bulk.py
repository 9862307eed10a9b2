"""Bulk issuing: a certificate for everyone eligible in a cohort or a programme, as a job.

:func:`start_bulk_issue` queues the ``certificates.issue_bulk`` job on the "bulk" queue; the
job itself is :func:`lms.certificates.bulk_jobs.issue_bulk`. This module holds what the job
and the pages share: who is issued and who is skipped and why (:func:`plan`), and where the
ZIP of the PDFs is kept (:func:`zip_path`).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import load_only

from lms.auth.models import User
from lms.auth.policy import visible_users
from lms.certificates import issuing
from lms.certificates.models import Certificate, CertificateType
from lms.extensions import db
from lms.jobs import FINISHED, Job, enqueue
from lms.learning.models import Enrolment, EnrolmentStatus, ProgrammeCompletion

JOB_KIND = "certificates.issue_bulk"
QUEUE = "bulk"

# Characters that cannot appear in a file name inside the ZIP on common systems.
UNSAFE_IN_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def start_bulk_issue(actor_id: int, type_id: int, cohort_id: int | None) -> Job:
    """Queue a bulk issue of certificate type ``type_id`` to everyone eligible (in
    ``cohort_id``, or anyone who completed the type's programme when None) whom ``actor_id``
    may see.

    The caller has checked that the actor may issue certificates; this commits the job record
    (see :func:`lms.jobs.enqueue`), so call it after the request's own work is committed.
    """
    return enqueue(JOB_KIND, type_id, cohort_id, actor_id, requested_by_id=actor_id, queue=QUEUE)


def export_path(job_id: str) -> Path:
    """Where a bulk job writes its ZIP: ``FILES_DIR/exports/<job id>.zip``."""
    return Path(current_app.config["FILES_DIR"]) / "exports" / f"{job_id}.zip"


def zip_path(job: Job) -> Path | None:
    """The ZIP of the PDFs of a finished bulk issue, or None (another kind of job, not
    finished, nothing issued, or the file was removed)."""
    if job.kind != JOB_KIND or job.state != FINISHED or not (job.result or {}).get("zip"):
        return None
    path = export_path(job.id)
    return path if path.is_file() else None


class SkipCode(StrEnum):
    """Why someone in the cohort or programme got no certificate from a bulk issue."""

    NOT_ELIGIBLE = "not_eligible"
    ALREADY_HOLDS = "already_holds"
    NOT_VISIBLE = "not_visible"


@dataclass
class Skipped:
    """One person skipped; ``holder_id`` and ``name`` stay empty for people the actor may not
    see, so that the result does not tell who they are."""

    holder_id: int | None
    name: str
    reason: str
    code: SkipCode

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "code": str(self.code)}


@dataclass
class Candidate:
    """Someone to issue to: a completion without a current certificate."""

    holder_id: int
    name: str
    cycle: int


@dataclass
class Plan:
    """Who gets a certificate now and who is skipped, with the reason."""

    candidates: list[Candidate]
    skipped: list[Skipped]


def plan(
    actor_id: int | None, type_id: int, cohort_id: int | None, issued_ids: Sequence[int] = ()
) -> Plan:
    """Split the people of the cohort (its active enrolments) or of the programme (everyone
    with a completion of it) into candidates and skipped people.

    ``actor_id`` None (a system run) sees everyone; otherwise people outside the actor's
    scope are skipped as not visible. Holders of certificates in ``issued_ids`` (issued by an
    earlier run of the same job) are neither candidates nor skipped. A fixed number of queries.
    """
    ctype = db.session.get(CertificateType, type_id)
    eligible: sa.Select[Any] = issuing.eligible_holders(type_id, cohort_id=cohort_id)
    population = _population(ctype, cohort_id)
    actor = db.session.get(User, actor_id) if actor_id is not None else None
    visible: set[int] | None = None
    if actor is not None:
        eligible = visible_users(actor, eligible)
        visible = set(
            db.session.scalars(visible_users(actor, population.with_only_columns(User.id)))
        )
    people = db.session.execute(population.order_by(User.name, User.id)).all()
    names = {person.id: person.name for person in people}
    candidates = [
        Candidate(row.user_id, names.get(row.user_id, ""), row.cycle)
        for row in db.session.execute(eligible)
    ]
    current = _current_certificates(type_id, population.with_only_columns(User.id))
    done = set(issued_ids)
    to_issue = {c.holder_id for c in candidates}
    skipped = []
    for person in people:
        held = current.get(person.id, [])
        if visible is not None and person.id not in visible:
            skipped.append(
                Skipped(None, "", _("Not among the people you look after."), SkipCode.NOT_VISIBLE)
            )
        elif person.id in to_issue or any(cid in done for cid, _serial in held):
            continue
        elif held:
            reason = _("Already holds certificate %(serial)s.", serial=held[-1][1])
            skipped.append(Skipped(person.id, person.name, reason, SkipCode.ALREADY_HOLDS))
        else:
            reason = (
                _("Has not completed the programme %(title)s.", title=ctype.programme.title)
                if person.active
                else _("The account is deactivated.")
            )
            skipped.append(Skipped(person.id, person.name, reason, SkipCode.NOT_ELIGIBLE))
    return Plan(candidates, skipped)


def _population(ctype: CertificateType, cohort_id: int | None) -> sa.Select[Any]:
    """``(id, name, active)`` of the people a bulk issue is about."""
    stmt = sa.select(User.id, User.name, User.active)
    if cohort_id is not None:
        return stmt.join(Enrolment, Enrolment.user_id == User.id).where(
            Enrolment.cohort_id == cohort_id, Enrolment.status == EnrolmentStatus.ENROLLED
        )
    completed = sa.select(ProgrammeCompletion.user_id).where(
        ProgrammeCompletion.programme_id == ctype.programme_id
    )
    return stmt.where(User.id.in_(completed))


def _current_certificates(
    type_id: int, holders: sa.Select[Any]
) -> dict[int, list[tuple[int, str]]]:
    """``holder_id -> [(certificate id, serial), ...]`` of current certificates of the type."""
    rows = db.session.execute(
        sa.select(Certificate.holder_id, Certificate.id, Certificate.serial)
        .where(
            Certificate.type_id == type_id,
            Certificate.holder_id.in_(holders),
            Certificate.revoked_at.is_(None),
            Certificate.superseded_at.is_(None),
        )
        .order_by(Certificate.issued_at, Certificate.id)
    )
    current: dict[int, list[tuple[int, str]]] = {}
    for holder_id, certificate_id, serial in rows:
        current.setdefault(holder_id, []).append((certificate_id, serial))
    return current


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``items`` in consecutive slices of ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def pdf_name(certificate: Certificate) -> str:
    """The file name of a certificate's PDF inside the ZIP: ``<serial>-<name>.pdf``."""
    name = UNSAFE_IN_NAME.sub("_", certificate.holder_name).strip(". ") or "_"
    return f"{certificate.serial}-{name}.pdf"


def write_zip(job_id: str, certificate_ids: Sequence[int], batch_size: int) -> str:
    """Write the PDFs of those certificates into the job's ZIP (replacing it atomically);
    returns the ZIP's file name. PDFs are stored, not compressed again."""
    path = export_path(job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        for ids in chunks(certificate_ids, batch_size):
            certificates = db.session.scalars(
                sa.select(Certificate)
                .options(
                    load_only(Certificate.serial, Certificate.holder_name, Certificate.pdf_sha256)
                )
                .where(Certificate.id.in_(ids))
                .order_by(Certificate.serial)
            )
            for certificate in certificates:
                archive.write(issuing.pdf_path(certificate), pdf_name(certificate))
    partial.replace(path)
    return path.name
