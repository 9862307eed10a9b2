"""Cohort services: validation that names the field, audit, and the list's queries."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.extensions import db
from lms.learning import cohorts
from lms.learning.enrolment import enrol_people
from lms.validation import ValidationError
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def world(learning_world: Any) -> Any:
    learning_world.hr = UserFactory(roles=["hr"], name="人事甲")
    db.session.commit()
    return learning_world


def data(world: Any, **changes: Any) -> cohorts.CohortData:
    today = date.today()
    base = cohorts.CohortData(
        code="world-101-2026-02",
        title="  照护基础   第2期 ",
        starts_on=today,
        ends_on=today + timedelta(days=30),
        course_id=world.course.id,
        partner_id=world.partner.id,
        location_id=world.centre.id,
        capacity=20,
        self_enrolment=True,
        instructor_ids=[world.instructor.id],
    )
    return replace(base, **changes)


def errors(world: Any, existing: Any = None, **changes: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as excinfo:
        if existing is None:
            cohorts.create_cohort(world.hr.id, data(world, **changes))
        else:
            cohorts.update_cohort(world.hr.id, existing, data(world, **changes))
    db.session.rollback()
    return excinfo.value.errors


def test_create_tidies_and_audits(world: Any) -> None:
    cohort = cohorts.create_cohort(world.hr.id, data(world))
    db.session.commit()
    assert cohort.code == "WORLD-101-2026-02"
    assert cohort.title == "照护基础 第2期"
    assert [i.id for i in cohort.instructors] == [world.instructor.id]
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "cohort.created")
    ).one()
    assert entry.entity_id == cohort.id
    assert entry.after["capacity"] == 20
    assert entry.after["instructor_ids"] == [world.instructor.id]


def test_update_audits_what_changed(world: Any) -> None:
    cohorts.update_cohort(
        world.hr.id,
        world.cohort,
        data(world, code=world.cohort.code, title=world.cohort.title, capacity=10, online=True),
    )
    db.session.commit()
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "cohort.updated")
    ).one()
    assert entry.before["capacity"] == 30
    assert entry.after["capacity"] == 10
    assert entry.after["online"] is True


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"code": "bad code!"}, "code", "Use 1 to 40 capital letters, digits or dashes"),
        ({"code": "WORLD-101-2026-01"}, "code", "Another cohort already uses this code."),
        ({"title": "  "}, "title", "A title is required."),
        ({"course_id": None}, "course_id", "Choose either a course or a programme"),
        ({"course_id": 999999}, "course_id", "Unknown course."),
        ({"partner_id": None}, "partner_id", "Choose the university partner."),
        ({"location_id": None}, "location_id", "Choose where the cohort meets"),
        ({"starts_on": None}, "starts_on", "A start date is required."),
        ({"ends_on": date(2000, 1, 1)}, "ends_on", "The cohort cannot end before it starts."),
        ({"capacity": 0}, "capacity", "At least 1, or leave empty for no limit."),
        ({"status": "gone"}, "status", "Unknown status."),
    ],
)
def test_bad_input_names_the_field(
    world: Any, changes: dict[str, Any], field: str, message: str
) -> None:
    found = errors(world, **changes)
    assert found[field].startswith(message)


def test_course_xor_programme(world: Any) -> None:
    found = errors(world, programme_id=world.programme.id)
    assert found["course_id"] == found["programme_id"]
    assert found["course_id"] == "Choose either a course or a programme (one of the two)."
    cohort = cohorts.create_cohort(
        world.hr.id, data(world, course_id=None, programme_id=world.programme.id)
    )
    assert cohort.programme_id == world.programme.id


def test_partner_must_be_a_university_and_location_a_centre_or_station(world: Any) -> None:
    assert errors(world, partner_id=world.employer.id) == {
        "partner_id": "Choose a university partner."
    }
    assert errors(world, location_id=world.partner.id) == {
        "location_id": "Choose a guidance centre or a street/town station."
    }
    station = OrganisationFactory(kind="station")
    online = cohorts.create_cohort(world.hr.id, data(world, location_id=None, online=True))
    assert online.location_id is None
    assert cohorts.create_cohort(
        world.hr.id, data(world, code="W-3", location_id=station.id)
    ).location_id == (station.id)


def test_instructors_must_hold_the_role(world: Any) -> None:
    assert errors(world, instructor_ids=[world.trainee.id]) == {
        "instructor_ids": "Choose people who hold the instructor role."
    }


def test_capacity_not_below_the_people_enrolled(world: Any) -> None:
    people = [UserFactory(roles=["trainee"]) for _ in range(2)]
    db.session.commit()
    enrol_people(world.hr.id, world.cohort.id, [p.id for p in people])
    db.session.commit()
    found = errors(world, world.cohort, code=world.cohort.code, capacity=2)
    assert found == {"capacity": "3 people are already enrolled: the capacity cannot be lower."}
    cohorts.update_cohort(
        world.hr.id, world.cohort, data(world, code=world.cohort.code, capacity=3)
    )
    assert world.cohort.capacity == 3


def test_scoped_coordinator_keeps_to_their_partner(world: Any) -> None:
    coordinator = UserFactory(roles=[("coordinator", world.partner)])
    other = OrganisationFactory(kind="university")
    db.session.commit()
    with pytest.raises(ValidationError) as excinfo:
        cohorts.create_cohort(coordinator.id, data(world, partner_id=other.id))
    db.session.rollback()
    assert excinfo.value.errors == {
        "partner_id": "Choose the university partner you coordinate for."
    }
    assert cohorts.create_cohort(coordinator.id, data(world)).partner_id == world.partner.id


def test_list_filters_and_counts(world: Any) -> None:
    second = cohorts.create_cohort(world.hr.id, data(world, status="closed"))
    db.session.commit()

    def codes(**filters: Any) -> list[str]:
        stmt = cohorts.cohorts_query(world.hr, cohorts.CohortFilter(**filters))
        return [c.code for c in db.session.scalars(stmt).unique()]

    assert set(codes()) == {"WORLD-101-2026-01", "WORLD-101-2026-02"}
    assert codes(status="closed") == ["WORLD-101-2026-02"]
    assert codes(q="2026-01") == ["WORLD-101-2026-01"]
    assert codes(q="第2期") == ["WORLD-101-2026-02"]
    assert codes(programme_id=world.programme.id) == []
    assert len(codes(course_id=world.course.id, partner_id=world.partner.id)) == 2
    assert cohorts.enrolled_counts([world.cohort.id, second.id]) == {
        world.cohort.id: 1,
        second.id: 0,
    }
