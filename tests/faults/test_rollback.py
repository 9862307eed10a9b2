"""Database errors roll back the whole unit of work: a request that fails after writing leaves
nothing (no certificate, no serial used, no audit entry), and an enrolment file whose job
fails on a later row enrols no one; the same work then succeeds in full."""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from lms import jobs
from lms.audit import services as audit
from lms.audit.models import AuditEntry
from lms.certificates import issuing
from lms.certificates.models import Certificate, SerialCounter
from lms.extensions import db
from lms.learning.models import Enrolment, ProgrammeCompletion
from tests.builders import LearningWorld
from tests.conftest import run_queued_jobs
from tests.factories import UserFactory


def database_error(after_calls: int, real: Any) -> Any:
    """``real``, failing like a lost database connection from call number ``after_calls + 1``."""
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > after_calls:
            raise sa.exc.OperationalError("INSERT", {}, Exception("server closed the connection"))
        return real(*args, **kwargs)

    return flaky


def count(model: Any, *where: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def signed_in(app: Flask, user: Any) -> Any:
    client = app.test_client()
    client.use_language("en")
    client.login(user)
    return client


@pytest.mark.parametrize("failing", ["audit", "pdf"])
def test_a_certificate_issue_failing_after_the_insert_leaves_nothing(
    app: Flask,
    learning_world: LearningWorld,
    make_user: Any,
    monkeypatch: pytest.MonkeyPatch,
    failing: str,
) -> None:
    world = learning_world
    db.session.add(
        ProgrammeCompletion(
            user_id=world.trainee.id, programme_id=world.programme.id, cycle=0, evidence={}
        )
    )
    db.session.commit()
    client = signed_in(app, make_user("hr"))
    form = {"holder_id": world.trainee.id, "type_id": world.certificate_type.id}
    # The audit entry is written after the certificate row and its serial; the PDF after both.
    if failing == "audit":
        monkeypatch.setattr(issuing, "record", database_error(0, issuing.record))
    else:
        monkeypatch.setattr(issuing, "render_and_store", database_error(0, lambda c: None))
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)

    assert client.post("/certificates/issue", data=form).status_code == 500

    assert count(Certificate) == 0
    assert count(AuditEntry, AuditEntry.action == "certificate.issued") == 0
    assert not db.session.scalar(sa.select(sa.func.max(SerialCounter.last)))
    monkeypatch.undo()
    assert client.post("/certificates/issue", data=form).status_code == 302
    certificate = db.session.scalars(sa.select(Certificate)).one()
    assert certificate.serial.endswith("-000001")  # the failed attempt used no number
    assert count(AuditEntry, AuditEntry.action == "certificate.issued") == 1


def test_an_enrolment_file_failing_on_a_later_row_enrols_no_one(
    app: Flask, learning_world: LearningWorld, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = learning_world
    people = [UserFactory(roles=["trainee"], employer=world.employer) for _ in range(5)]
    db.session.commit()
    ids = [p.id for p in people]
    client = signed_in(app, make_user("admin"))
    data = ("email\n" + "".join(f"{p.email}\n" for p in people)).encode()
    # The third enrolment's audit entry fails: two enrolments are already flushed by then.
    monkeypatch.setattr(audit, "record", database_error(2, audit.record))
    response = client.post(
        f"/cohorts/{world.cohort.id}/enrol/csv",
        data={"file": (io.BytesIO(data), "people.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    run_queued_jobs(app)

    job = db.session.scalars(sa.select(jobs.Job).where(jobs.Job.kind == "cohorts.enrol_csv")).one()
    db.session.refresh(job)
    assert job.state == jobs.FAILED and "server closed the connection" in job.message
    assert count(Enrolment, Enrolment.user_id.in_(ids)) == 0
    assert count(AuditEntry, AuditEntry.action == "enrolment.created") == 0

    monkeypatch.undo()
    jobs.execute(job.id)  # run again, on the same file
    db.session.refresh(job)
    assert job.state == jobs.FINISHED
    assert count(Enrolment, Enrolment.user_id.in_(ids)) == 5
    assert count(AuditEntry, AuditEntry.action == "enrolment.created") == 5
