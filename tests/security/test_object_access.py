"""Object-level access: routes that take an id refuse another person's object (403 or 404),
never show its data, and change nothing.

The victim is a trainee employed under another university partner (OTHERU) than the one
the partner-scoped HR officer and coordinator look after (WORLDU), enrolled in the world's
cohort, with a quiz attempt in progress, an external CE entry and a certificate (with its
PDF, attributed to OTHERU in the reports). Each test signs in someone who holds the right
role but not the right to that object, and checks that neither the victim's name nor the
certificate's serial appears in the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from lms import jobs
from lms.assessments import attempts
from lms.certificates import bulk
from lms.certificates.models import Certificate
from lms.extensions import db
from lms.learning import ce
from lms.learning.models import Cohort, Enrolment
from lms.reports import export_jobs
from tests.authoring import make_course
from tests.builders import LearningWorld
from tests.certificates.test_bulk import complete
from tests.conftest import Client, run_queued_jobs
from tests.factories import OrganisationFactory, UserFactory
from tests.security.conftest import fingerprint, signed_in_client

VICTIM = "李秘密"


@dataclass
class Others:
    """The victim's objects and the people who must not reach them."""

    world: LearningWorld
    victim: Any
    attempt_id: int
    entry_id: int
    certificate: Certificate
    other_cohort_id: int
    bulk_job_id: str
    export_job_id: str
    people: dict[str, Any]

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never appear in an answer to someone refused."""
        return (VICTIM, self.certificate.serial, self.victim.email)


@pytest.fixture
def others(app: Flask, learning_world: LearningWorld) -> Others:
    world = learning_world
    world.employer.parent = world.partner
    other_partner = OrganisationFactory(kind="university", code="OTHERU", name="别的大学")
    other_employer = OrganisationFactory(kind="nursery", parent=other_partner)
    victim = UserFactory(roles=["trainee"], name=VICTIM, employer=other_employer)
    classmate = UserFactory(roles=["trainee"], name="王同学", employer=world.employer)
    db.session.flush()
    for person in (victim, classmate):
        db.session.add(Enrolment(cohort=world.cohort, user_id=person.id, source="staff"))
    other_cohort = Cohort(
        code="OTHER-2026-01",
        title="别的大学 第1期",
        course=world.course,
        partner=other_partner,
        starts_on=world.cohort.starts_on,
        ends_on=world.cohort.ends_on,
        capacity=10,
        status="open",
    )
    db.session.add(other_cohort)
    people = {
        "classmate": classmate,
        "other_instructor": UserFactory(roles=["instructor"], name="赵讲师"),
        "hr": UserFactory(roles=["hr"]),
        "other_hr": UserFactory(roles=["hr"]),
        "coordinator": UserFactory(roles=["coordinator"]),
        "other_coordinator": UserFactory(roles=["coordinator"]),
        "partner_hr": UserFactory(roles=[("hr", world.partner)]),
        "partner_coordinator": UserFactory(roles=[("coordinator", world.partner)]),
    }
    make_course("OTHER-101", owners=(people["other_instructor"],))
    entry = ce.record_external(
        people["hr"],
        victim.id,
        ce.ExternalTraining(
            title="外部培训", hours=Decimal(2), occurred_on=date.today(), reason="x"
        ),
    )
    complete(world, victim.id)
    attempt = attempts.start_attempt(world.quiz.id, victim.id)
    attempts.save_responses(attempt.id, victim.id, {"0": 0})
    db.session.commit()
    bulk_job = bulk.start_bulk_issue(people["hr"].id, world.certificate_type.id, world.cohort.id)
    export_job = export_jobs.start_export(
        export_jobs.plan_export("list", "holders", "csv", {"tier": "talent_pool"}, people["hr"]),
        people["coordinator"].id,
    )
    run_queued_jobs(app)
    certificate = db.session.scalars(
        sa.select(Certificate).where(Certificate.holder_id == victim.id)
    ).one()
    assert certificate.pdf_sha256
    certificate.partner_id = other_partner.id
    db.session.commit()
    return Others(
        world=world,
        victim=victim,
        attempt_id=attempt.id,
        entry_id=entry.id,
        certificate=certificate,
        other_cohort_id=other_cohort.id,
        bulk_job_id=bulk_job.id,
        export_job_id=export_job.id,
        people=people,
    )


def browser(app: Flask, others: Others, who: str) -> Client:
    return signed_in_client(app, others.people[who])


def assert_refused(others: Others, response: Any, statuses: tuple[int, ...] = (403, 404)) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code in statuses, (response.status_code, body[:300])
    for secret in others.secrets:
        assert secret not in body


def assert_shown_without_victim(others: Others, response: Any) -> None:
    """A list the person may see, without the victim in it."""
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    for secret in others.secrets:
        assert secret not in body


def test_another_trainees_attempt_is_neither_read_nor_answered(app: Flask, others: Others) -> None:
    client = browser(app, others, "classmate")
    before = fingerprint()
    url = f"/attempts/{others.attempt_id}"
    assert_refused(others, client.get(url))
    assert_refused(others, client.post(f"{url}/save", data={"q0": "1"}))
    assert_refused(others, client.post(f"{url}/submit", data={"answers": "1", "q0": "1"}))
    assert_refused(others, client.post(f"{url}/grade", data={}))
    assert fingerprint() == before


def test_an_instructor_who_does_not_teach_the_person_cannot_read_or_mark_it(
    app: Flask, others: Others
) -> None:
    client = browser(app, others, "other_instructor")
    before = fingerprint()
    assert_refused(others, client.get(f"/attempts/{others.attempt_id}"))
    assert_refused(others, client.get(f"/attempts/{others.attempt_id}/grade"))
    practical = others.world.practical.id
    assert_refused(others, client.get(f"/practicals/{practical}/people/{others.victim.id}"))
    assert_refused(
        others, client.post(f"/practicals/{practical}/people/{others.victim.id}", data={})
    )
    assert_refused(others, client.get(f"/people/{others.victim.id}/learning"))
    assert fingerprint() == before


@pytest.mark.parametrize("who", ["partner_hr", "partner_coordinator"])
def test_a_partners_staff_do_not_reach_another_partners_people(
    app: Flask, others: Others, who: str
) -> None:
    client = browser(app, others, who)
    victim = others.victim.id
    before = fingerprint()
    for url in (
        f"/people/{victim}",
        f"/people/{victim}/learning",
        f"/certificates/{others.certificate.id}",
        f"/certificates/{others.certificate.id}/pdf",
        f"/attempts/{others.attempt_id}",
    ):
        assert_refused(others, client.get(url))
    assert_shown_without_victim(others, client.get("/people", query_string={"q": "李"}))
    assert_shown_without_victim(others, client.get("/certificates"))
    if who == "partner_hr":
        assert_refused(others, client.get("/certificates/issue", query_string={"holder": victim}))
        for action in ("revoke", "reissue", "renew"):
            response = client.post(
                f"/certificates/{others.certificate.id}/{action}",
                data={f"{action}-reason": "不该发生", f"{action}-confirm": "y"},
            )
            assert_refused(others, response)
        assert_refused(
            others,
            client.post(
                f"/people/{victim}/learning/ce",
                data={"title": "x", "hours": "1", "occurred_on": "2025-01-01", "reason": "x"},
            ),
        )
        assert_refused(
            others,
            client.post(
                f"/people/{victim}/learning/ce/{others.entry_id}/remove", data={"reason": "x"}
            ),
        )
    cohort = others.world.cohort.id
    assert_refused(others, client.post(f"/cohorts/{cohort}/enrol", data={"one": str(victim)}))
    enrolment = db.session.scalar(
        sa.select(Enrolment.id).where(Enrolment.user_id == victim, Enrolment.cohort_id == cohort)
    )
    assert_refused(
        others,
        client.post(f"/cohorts/{cohort}/enrolments/{enrolment}/withdraw", data={"reason": "x"}),
    )
    assert fingerprint() == before


@pytest.mark.parametrize("who", ["classmate", "other_instructor", "other_hr"])
def test_another_persons_certificate_and_its_pdf_are_not_shown(
    app: Flask, others: Others, who: str
) -> None:
    client = browser(app, others, who)
    certificate = others.certificate.id
    if who == "other_hr":  # an unscoped HR officer does see everyone: scope them elsewhere
        client = signed_in_client(
            app, UserFactory(roles=[("hr", OrganisationFactory(kind="university"))])
        )
    assert_refused(others, client.get(f"/certificates/{certificate}"))
    pdf = client.get(f"/certificates/{certificate}/pdf")
    assert_refused(others, pdf)
    assert not pdf.get_data().startswith(b"%PDF")
    assert_shown_without_victim(others, client.get("/learning/certificates"))


def test_another_instructors_course_cannot_be_authored(app: Flask, others: Others) -> None:
    client = browser(app, others, "other_instructor")
    world = others.world
    code, module, lesson = world.course.code, world.modules[0].id, world.lessons[0].id
    before = fingerprint()
    for url in (
        f"/author/courses/{code}",
        f"/author/courses/{code}/edit",
        f"/author/lessons/{lesson}/edit",
        f"/author/lessons/{lesson}/history",
        f"/author/lessons/{lesson}/versions/1",
    ):
        assert client.get(url).status_code == 404, url
    for url, data in (
        (f"/author/courses/{code}/edit", {"title": "被改了"}),
        (f"/author/courses/{code}/unpublish", {}),
        (f"/author/courses/{code}/modules", {"title": "新模块"}),
        (f"/author/courses/{code}/modules/{module}/rename", {"title": "改名"}),
        (f"/author/courses/{code}/modules/{module}/lessons", {"title": "新课"}),
        (f"/author/lessons/{lesson}/edit", {"title": "改", "markdown": "改"}),
        (f"/author/lessons/{lesson}/archive", {}),
        (f"/author/lessons/{lesson}/preview", {"markdown": "x"}),
        (f"/author/lessons/{lesson}/versions/1/restore", {}),
        (f"/author/lessons/{lesson}/versions/1/publish", {}),
    ):
        assert client.post(url, data=data).status_code == 404, url
    index = client.get("/author").get_data(as_text=True)
    assert "OTHER-101" in index and code not in index
    assert fingerprint() == before


def test_another_users_jobs_and_exports_are_not_shown(app: Flask, others: Others) -> None:
    export, bulk_job = others.export_job_id, others.bulk_job_id
    coordinator = browser(app, others, "other_coordinator")
    for url in (
        f"/reports/exports/{export}",
        f"/reports/exports/{export}/download",
        f"/jobs/{export}",
        f"/jobs/{export}.json",
    ):
        assert_refused(others, coordinator.get(url), (404,))
    officer = browser(app, others, "other_hr")
    for url in (
        f"/certificates/bulk/{bulk_job}.zip",
        f"/certificates/bulk?job={bulk_job}",
        f"/jobs/{bulk_job}",
        f"/jobs/{bulk_job}.json",
    ):
        assert_refused(others, officer.get(url), (404,))
    # The requester does get them: the refusals above are about the person, not the job.
    own = browser(app, others, "coordinator").get(f"/reports/exports/{export}/download")
    assert own.status_code == 200 and VICTIM in own.get_data(as_text=True)


def test_a_gradebook_of_a_cohort_not_theirs(app: Flask, others: Others) -> None:
    cohort, other_cohort = others.world.cohort.id, others.other_cohort_id
    instructor = browser(app, others, "other_instructor")
    for url in (f"/cohorts/{cohort}/gradebook", f"/cohorts/{cohort}/gradebook.csv"):
        assert_refused(others, instructor.get(url))
    coordinator = browser(app, others, "partner_coordinator")
    for url in (
        f"/cohorts/{other_cohort}",
        f"/cohorts/{other_cohort}/gradebook",
        f"/cohorts/{other_cohort}/gradebook.csv",
        f"/cohorts/{other_cohort}/edit",
        f"/cohorts/{other_cohort}/enrol",
    ):
        assert_refused(others, coordinator.get(url))
    # Their own partner's cohort, in which the victim is enrolled: without the victim.
    for url in (f"/cohorts/{cohort}/gradebook", f"/cohorts/{cohort}/gradebook.csv"):
        assert_shown_without_victim(others, coordinator.get(url))
    assert_shown_without_victim(
        others, browser(app, others, "partner_hr").get(f"/cohorts/{cohort}/gradebook")
    )


def test_a_partners_coordinator_gets_no_report_of_another_partner(
    app: Flask, others: Others
) -> None:
    client = browser(app, others, "partner_coordinator")
    for url, args in (
        ("/reports/", {"partner": "OTHERU"}),
        ("/reports/lists/holders", {"partner": "OTHERU", "tier": "talent_pool"}),
        ("/reports/lists/issued", {"partner": "OTHERU"}),
        ("/reports/checks", {"partner": "OTHERU"}),
        ("/reports/checks/no_evidence", {"partner": "OTHERU"}),
        ("/api/v1/reports/targets", {"partner": "OTHERU"}),
    ):
        assert_refused(others, client.get(url, query_string=args), (403,))
    jobs_before = db.session.scalar(sa.select(sa.func.count(jobs.Job.id)))
    response = client.post(
        "/reports/exports",
        data={"source": "list", "name": "holders", "format": "csv", "q_partner": "OTHERU"}
        | {"q_tier": "talent_pool"},
    )
    assert_refused(others, response, (403,))
    assert db.session.scalar(sa.select(sa.func.count(jobs.Job.id))) == jobs_before
    # Without a partner they get their own partner's figures, which do not include the victim.
    holders = client.get("/reports/lists/issued")
    assert_shown_without_victim(others, holders)
