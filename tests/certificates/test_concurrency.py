"""Issuing under concurrency on PostgreSQL: real connections and committed data.

Each thread works in its own app context, so its own session on its own pooled connection of
the app's engine, as two requests or two workers would; the test's rolled-back transaction is
set aside, so everything made here is committed and removed again at the end.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale

from lms import jobs
from lms.audit.models import AuditEntry
from lms.auth.models import RoleAssignment, User
from lms.catalog.models import Course
from lms.certificates import bulk, issuing
from lms.certificates.models import Certificate, CertificateType, SerialCounter
from lms.extensions import db
from lms.learning.models import Cohort, Enrolment, Programme, ProgrammeCompletion
from lms.validation import ValidationError

THREADS = 8


@dataclass
class RaceWorld:
    """Committed rows of the race: ids by name, for the threads and the clean-up."""

    type_id: int = 0
    programme_id: int = 0
    course_id: int = 0
    officer_id: int = 0
    trainee_ids: list[int] = field(default_factory=list)
    cohort_ids: list[int] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)


@pytest.fixture
def committed(app: Flask, transaction: sa.Connection, monkeypatch: Any) -> Iterator[RaceWorld]:
    """Point the app back at its engine (off the test's transaction) for this test, build
    the race world committed, and remove every row made afterwards."""
    if transaction.dialect.name != "postgresql":
        pytest.skip("concurrent issuing is tested on PostgreSQL")
    db.session.remove()
    monkeypatch.setitem(db.engines, None, transaction.engine)  # type: ignore[index]
    world = _build(trainees=24)
    try:
        yield world
    finally:
        db.session.remove()
        _remove(world)
        db.session.remove()


def test_simultaneous_requests_for_the_same_person_give_one_certificate(
    app: Flask, committed: RaceWorld
) -> None:
    holder_id = committed.trainee_ids[0]
    start = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def issue() -> None:
        with app.app_context(), force_locale("en"):
            try:
                start.wait(10)
                certificate = issuing.create_certificate(
                    committed.officer_id, holder_id, committed.type_id
                )
                db.session.commit()
                outcomes.append(certificate.serial)
            except ValidationError as refused:
                db.session.rollback()
                outcomes.append("refused: " + " ".join(refused.errors.values()))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=issue) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    issued = [o for o in outcomes if not o.startswith("refused")]
    refused = [o for o in outcomes if o.startswith("refused")]
    year = date.today().year
    assert issued == [f"NJ-RACE-{year}-000001"]
    assert len(refused) == THREADS - 1
    # Refused by the check (the winner had committed) or by the unique index (it had not).
    assert set(refused) <= {
        f"refused: Already holds certificate {issued[0]}.",
        "refused: A certificate of this type was just issued to this person.",
    }
    assert _current_certificates(committed) == {holder_id: 1}
    assert _counter(committed) == 1


def test_parallel_bulk_jobs_give_unique_gap_free_serials_and_one_certificate_each(
    app: Flask, committed: RaceWorld, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "CERTIFICATE_BATCH_SIZE", 4)
    # Workers are processes; in threads, WeasyPrint (fontconfig) must not lay out two
    # documents at once, or glyphs go missing. Records and serials still race freely.
    render, rendering = issuing.render_and_store, threading.Lock()

    def render_one_at_a_time(certificates: Any) -> None:
        with rendering:
            render(certificates)

    monkeypatch.setattr(issuing, "render_and_store", render_one_at_a_time)
    # Two overlapping cohorts: people 0-15 and 8-23, run by two workers at the same time.
    with app.app_context():
        for cohort_id in committed.cohort_ids:
            job = jobs.Job(
                id=f"00000000-0000-4000-8000-{len(committed.job_ids):012d}",
                kind=bulk.JOB_KIND,
                args=[committed.type_id, cohort_id, committed.officer_id],
                requested_by_id=committed.officer_id,
            )
            db.session.add(job)
            committed.job_ids.append(job.id)
        db.session.commit()
        db.session.remove()
    start = threading.Barrier(len(committed.job_ids))
    errors: list[Exception] = []

    def work(job_id: str) -> None:
        with app.app_context():
            try:
                start.wait(10)
                jobs.execute(job_id)
            except Exception as error:  # reported by the assertion below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(job_id,)) for job_id in committed.job_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors

    with app.app_context():
        finished = [db.session.get(jobs.Job, job_id) for job_id in committed.job_ids]
        assert [job.state for job in finished] == ["finished", "finished"]
        serials = db.session.scalars(
            sa.select(Certificate.serial).where(Certificate.type_id == committed.type_id)
        ).all()
        numbers = sorted(int(serial.rsplit("-", 1)[1]) for serial in serials)
        assert numbers == list(range(1, len(committed.trainee_ids) + 1))
        assert _current_certificates(committed) == dict.fromkeys(committed.trainee_ids, 1)
        assert _counter(committed) == len(committed.trainee_ids)
        issued = [job.result["issued"] for job in finished]
        assert sum(issued) == len(committed.trainee_ids)
        for job in finished:  # what one job did not issue, the other had: "already holds"
            assert {s["code"] for s in job.result["skipped"]} <= {"already_holds"}
            assert job.result["issued"] + len(job.result["skipped"]) == 16
            assert bulk.zip_path(job) is not None
        pdfs = db.session.scalar(
            sa.select(sa.func.count(Certificate.id)).where(
                Certificate.type_id == committed.type_id, Certificate.pdf_sha256.is_not(None)
            )
        )
        assert pdfs == len(committed.trainee_ids)
        db.session.remove()


def _current_certificates(world: RaceWorld) -> dict[int, int]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(Certificate.holder_id, sa.func.count())
            .where(
                Certificate.type_id == world.type_id,
                Certificate.revoked_at.is_(None),
                Certificate.superseded_at.is_(None),
            )
            .group_by(Certificate.holder_id)
        )
        return dict(rows.tuples().all())


def _counter(world: RaceWorld) -> int:
    with db.engine.connect() as conn:
        return conn.scalar(
            sa.select(sa.func.max(SerialCounter.last)).where(SerialCounter.type_id == world.type_id)
        )


def _build(trainees: int) -> RaceWorld:
    """A programme and its certificate type, an officer, trainees who completed it, and two
    cohorts sharing a third of their trainees; committed."""
    world = RaceWorld()
    course = Course(
        code="RACE-CERT-101",
        title="并发发证",
        track="pre_service",
        level="foundation",
        status="published",
    )
    programme = Programme(code="RACE-CERT", title="并发发证项目", track="pre_service")
    ctype = CertificateType(programme=programme, serial_code="RACE", title="并发证书")
    officer = User(email="race-officer@example.org", name="并发人事")
    officer.role_assignments.append(RoleAssignment(role="hr"))
    people = []
    for n in range(trainees):
        person = User(email=f"race-cert-{n}@example.org", name=f"并发学员{n}")
        person.role_assignments.append(RoleAssignment(role="trainee"))
        people.append(person)
    db.session.add_all([course, programme, ctype, officer, *people])
    db.session.flush()
    for person in people:
        db.session.add(ProgrammeCompletion(user_id=person.id, programme_id=programme.id, cycle=0))
    today = date.today()
    halves = [people[: 2 * trainees // 3], people[trainees // 3 :]]
    cohorts = []
    for n, members in enumerate(halves):
        cohort = Cohort(
            code=f"RACE-CERT-{n}",
            title=f"并发班{n}",
            course=course,
            starts_on=today,
            ends_on=today,
        )
        db.session.add(cohort)
        db.session.flush()
        db.session.add_all(Enrolment(cohort_id=cohort.id, user_id=p.id) for p in members)
        cohorts.append(cohort)
    db.session.commit()
    world.type_id, world.programme_id, world.course_id = ctype.id, programme.id, course.id
    world.officer_id = officer.id
    world.trainee_ids = [p.id for p in people]
    world.cohort_ids = [c.id for c in cohorts]
    db.session.remove()
    return world


def _remove(world: RaceWorld) -> None:
    people = [world.officer_id, *world.trainee_ids]
    with db.engine.begin() as conn:
        certificates = sa.select(Certificate.id).where(Certificate.type_id == world.type_id)
        conn.execute(
            sa.delete(AuditEntry).where(
                sa.or_(
                    AuditEntry.actor_id.in_(people),
                    sa.and_(
                        AuditEntry.entity_type == "certificate",
                        AuditEntry.entity_id.in_(certificates),
                    ),
                )
            )
        )
        conn.execute(sa.delete(Certificate).where(Certificate.type_id == world.type_id))
        conn.execute(sa.delete(SerialCounter).where(SerialCounter.type_id == world.type_id))
        conn.execute(sa.delete(jobs.Job).where(jobs.Job.id.in_(world.job_ids)))
        conn.execute(sa.delete(Enrolment).where(Enrolment.cohort_id.in_(world.cohort_ids)))
        conn.execute(sa.delete(Cohort).where(Cohort.id.in_(world.cohort_ids)))
        conn.execute(
            sa.delete(ProgrammeCompletion).where(
                ProgrammeCompletion.programme_id == world.programme_id
            )
        )
        conn.execute(sa.delete(CertificateType).where(CertificateType.id == world.type_id))
        conn.execute(sa.delete(Programme).where(Programme.id == world.programme_id))
        conn.execute(sa.delete(Course).where(Course.id == world.course_id))
        conn.execute(sa.delete(RoleAssignment).where(RoleAssignment.user_id.in_(people)))
        conn.execute(sa.delete(User).where(User.id.in_(people)))
