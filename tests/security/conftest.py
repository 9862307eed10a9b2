"""The authorization matrix's world: one object of every kind a route takes an id of, built
through the services, and one signed-in browser per actor of :mod:`tests.security.policy`.

The world is the learning world (:mod:`tests.builders`) with the trainee's employer placed
under the cohort's university partner, plus: the trainee's programme completion and the
certificate a bulk issue by the HR officer gave them (with its PDF and the job's ZIP), a
submitted quiz attempt, an external CE entry, a course image, a target, a report export by
the coordinator, and enrolment-file and roster-import jobs of the HR officer.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import Rule

from lms import jobs
from lms.assessments import attempts
from lms.authoring.services import store_image
from lms.certificates import bulk
from lms.certificates.models import Certificate
from lms.extensions import db
from lms.learning import ce
from lms.learning.enrolment_jobs import JOB_KIND as ENROL_JOB
from lms.people.roster_views import JOB_KIND as ROSTER_JOB
from lms.reports import export_jobs
from lms.reports.models import Target
from tests.assessments.test_attempts import right_responses
from tests.authoring import png_bytes
from tests.builders import LearningWorld, build_learning_world
from tests.certificates.test_bulk import complete
from tests.conftest import Client, run_queued_jobs
from tests.factories import UserFactory
from tests.security.policy import ACTOR_ROLES, ANONYMOUS

#: Where the matrix test leaves the number of route × actor pairs it checked.
MATRIX_COUNTS = pytest.StashKey[dict[str, int]]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Say how many route × actor pairs the matrix checked, in every run's output."""
    counts = config.stash.get(MATRIX_COUNTS, None)
    if counts:
        detail = ", ".join(f"{key} {value}" for key, value in counts.items() if key != "total")
        terminalreporter.write_line(
            f"authorization matrix: {counts['total']} route × actor pairs checked ({detail})"
        )


# Code-like URL arguments, by blueprint: a certificate's code, a programme's, a course's.
CERTIFICATE_CODE_BLUEPRINTS = frozenset({"verify", "badges", "certificates_api"})


@dataclass
class MatrixWorld:
    """The objects of the matrix and the plain values that name them in URLs."""

    world: LearningWorld
    people: dict[str, Any]
    certificate: Certificate
    values: dict[str, Any] = field(default_factory=dict)
    job_ids: dict[str, str] = field(default_factory=dict)

    def value(self, endpoint: str, argument: str) -> Any:
        """What to put for URL ``argument`` of ``endpoint``."""
        blueprint = endpoint.partition(".")[0]
        if argument == "code":
            if blueprint in CERTIFICATE_CODE_BLUEPRINTS:
                return self.values["certificate_code"]
            if blueprint == "programmes":
                return self.values["programme_code"]
            return self.values["course_code"]
        if argument == "job_id":
            return self.job_ids[JOB_OF_ENDPOINT.get(endpoint, "export")]
        if argument == "name":
            return "no_evidence" if blueprint == "report_checks" else "holders"
        return self.values[argument]

    def url(self, rule: Rule) -> str:
        """The path of ``rule`` for the world's objects."""
        values = {arg: self.value(rule.endpoint, arg) for arg in rule.arguments}
        built = rule.build(values, append_unknown=False)
        assert built is not None, rule
        query = QUERIES.get(rule.endpoint)
        return f"{built[1]}?{query}" if query else built[1]


# Query arguments a page needs to show something (a list without its tier is a 400).
QUERIES = {"report_lists.show": "tier=talent_pool"}

JOB_OF_ENDPOINT = {
    "certificates.bulk_zip": "bulk",
    "cohorts.upload_status": "enrol",
    "roster.status": "roster",
}


def _queued_job(kind: str, args: list[Any], requested_by_id: int) -> str:
    job = jobs.Job(id=str(uuid.uuid4()), kind=kind, args=args, requested_by_id=requested_by_id)
    db.session.add(job)
    db.session.flush()
    return job.id


def build_matrix_world(app: Flask) -> MatrixWorld:
    """Build and commit the world (the test's transaction rolls it back)."""
    world = build_learning_world()
    world.employer.parent = world.partner
    people: dict[str, Any] = {
        "trainee": world.trainee,
        "instructor": world.instructor,
        "hr": UserFactory(roles=["hr"], name="人事甲"),
        "coordinator": UserFactory(roles=["coordinator"], name="协调甲"),
        "admin": UserFactory(roles=["admin"], name="管理甲"),
        "partner_hr": UserFactory(roles=[("hr", world.partner)], name="高校人事"),
        "partner_coordinator": UserFactory(roles=[("coordinator", world.partner)], name="高校协调"),
    }
    assert set(people) == set(ACTOR_ROLES)
    attempt = attempts.start_attempt(world.quiz.id, world.trainee.id)
    attempts.submit_attempt(attempt.id, world.trainee.id, right_responses(attempt.questions))
    entry = ce.record_external(
        people["hr"],
        world.trainee.id,
        ce.ExternalTraining(
            title="外部培训", hours=Decimal(2), occurred_on=date.today(), reason="区级培训"
        ),
    )
    # After the CE entry, which recomputes completions from the evidence (there is none).
    complete(world, world.trainee.id)
    image = store_image(world.instructor, world.modules[0], "pixel.png", png_bytes())
    target = Target(tier="talent_pool", year=2030, target=10)
    db.session.add(target)
    db.session.commit()

    job_ids = {
        "bulk": bulk.start_bulk_issue(
            people["hr"].id, world.certificate_type.id, world.cohort.id
        ).id,
        "export": export_jobs.start_export(
            export_jobs.plan_export(
                "list", "holders", "csv", {"tier": "talent_pool"}, people["coordinator"]
            ),
            people["coordinator"].id,
        ).id,
    }
    run_queued_jobs(app)
    job_ids["enrol"] = _queued_job(ENROL_JOB, ["x.csv", world.cohort.id], people["hr"].id)
    job_ids["roster"] = _queued_job(ROSTER_JOB, ["x.csv", people["hr"].id], people["hr"].id)
    db.session.commit()
    bulk_job = db.session.get(jobs.Job, job_ids["bulk"])
    assert bulk_job.result and bulk_job.result.get("issued") == 1, (
        bulk_job.message,
        bulk_job.result,
    )
    certificate = db.session.scalars(
        sa.select(Certificate).where(Certificate.holder_id == world.trainee.id)
    ).one()
    assert certificate.pdf_sha256, "the bulk issue rendered no PDF"
    assert db.session.get(jobs.Job, job_ids["export"]).state == jobs.FINISHED
    values = {
        "certificate_code": certificate.code,
        "programme_code": world.programme.code,
        "course_code": world.course.code,
        "certificate_id": certificate.id,
        "type_id": world.certificate_type.id,
        "attempt_id": attempt.id,
        "quiz_id": world.quiz.id,
        "practical_id": world.practical.id,
        "cohort_id": world.cohort.id,
        "enrolment_id": world.enrolment.id,
        "user_id": world.trainee.id,
        "entry_id": entry.id,
        "lesson_id": world.lessons[0].id,
        "module_id": world.modules[0].id,
        "number": 1,
        "org_id": world.employer.id,
        "district_id": world.employer.district_id,
        "target_id": target.id,
        "path": image.asset.path,
        "filename": "css/app.css",
    }
    return MatrixWorld(world, people, certificate, values, job_ids)


@pytest.fixture
def matrix_world(app: Flask) -> MatrixWorld:
    return build_matrix_world(app)


def signed_in_client(app: Flask, person: Any) -> Client:
    client: Client = app.test_client()  # type: ignore[assignment]
    client.use_language("en")
    if person is not None:
        response = client.login(person)
        assert response.status_code == 302, f"{person.email} could not sign in"
    return client


@pytest.fixture
def browsers(app: Flask, matrix_world: MatrixWorld) -> dict[str, Client]:
    """One browser per actor, signed in (the anonymous one is not)."""
    return {
        ANONYMOUS: signed_in_client(app, None),
        **{actor: signed_in_client(app, matrix_world.people[actor]) for actor in ACTOR_ROLES},
    }


def fingerprint() -> dict[str, str]:
    """A digest of the rows of each table: equal digests, nothing changed (the requests and
    the test share one connection, so the rows read are those the requests left)."""
    digests = {}
    for table in db.metadata.sorted_tables:
        rows = sorted(repr(tuple(row)) for row in db.session.execute(sa.select(table)))
        digests[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return digests


@pytest.fixture
def undone(transaction: sa.Connection) -> Any:
    """``with undone():`` runs requests whose changes are rolled back afterwards."""

    @contextmanager
    def block() -> Iterator[None]:
        db.session.remove()
        savepoint = transaction.begin_nested()
        try:
            yield
        finally:
            db.session.remove()
            savepoint.rollback()

    return block
