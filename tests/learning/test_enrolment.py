"""Enrolment rules, shared by every path: staff, several at once, self-enrolment, withdrawal."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from lms.audit.models import AuditEntry
from lms.catalog.models import Course
from lms.certificates import issuing
from lms.extensions import db
from lms.learning import enrolment as services
from lms.learning.models import (
    Cohort,
    CourseCompletion,
    Enrolment,
    Programme,
    ProgrammeCompletion,
)
from lms.validation import ValidationError
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def world(learning_world: Any) -> Any:
    """The learning world, committed, with an HR officer limited to the trainees' employer."""
    learning_world.hr = UserFactory(roles=[("hr", learning_world.employer)], name="人事甲")
    learning_world.admin = UserFactory(roles=["admin"], name="管理员")
    db.session.commit()
    return learning_world


def trainee(world: Any, **kwargs: Any) -> Any:
    person = UserFactory(roles=["trainee"], employer=world.employer, **kwargs)
    db.session.commit()
    return person


def problems(excinfo: Any) -> list[str]:
    return list(excinfo.value.problems.values())


def actions(entity_id: int) -> list[str]:
    stmt = (
        sa.select(AuditEntry.action)
        .where(AuditEntry.entity_type == "enrolment", AuditEntry.entity_id == entity_id)
        .order_by(AuditEntry.id)
    )
    return list(db.session.scalars(stmt))


def test_staff_enrol_records_who_and_is_audited(world: Any) -> None:
    person = trainee(world)
    done = services.enrol(world.hr.id, world.cohort.id, person.id)
    db.session.commit()
    enrolment = done.enrolment
    assert not done.reenrolled
    assert enrolment.active
    assert enrolment.source == "staff"
    assert enrolment.enrolled_by_id == world.hr.id
    assert enrolment.enrolled_at is not None
    assert actions(enrolment.id) == ["enrolment.created"]


def test_already_enrolled_gets_a_clear_message(world: Any) -> None:
    with pytest.raises(services.EnrolmentRefused) as excinfo:
        services.enrol(world.hr.id, world.cohort.id, world.trainee.id)
    assert problems(excinfo) == [f"{world.trainee.name} is already enrolled in this cohort."]
    with pytest.raises(services.EnrolmentRefused) as excinfo:
        services.self_enrol(world.trainee.id, world.cohort.id)
    assert problems(excinfo) == ["You are already enrolled in this cohort."]


def test_withdrawn_person_is_enrolled_again_on_the_same_row(world: Any) -> None:
    services.withdraw(world.hr.id, world.enrolment.id, "Moved away")
    db.session.commit()
    done = services.enrol(world.hr.id, world.cohort.id, world.trainee.id)
    db.session.commit()
    assert done.reenrolled
    assert done.enrolment.id == world.enrolment.id
    assert done.enrolment.active
    assert done.enrolment.withdrawn_at is None
    rows = db.session.scalars(
        sa.select(Enrolment).where(Enrolment.user_id == world.trainee.id)
    ).all()
    assert len(rows) == 1
    assert actions(world.enrolment.id) == ["enrolment.withdrawn", "enrolment.reenrolled"]


def test_archived_cohort_takes_no_one(world: Any) -> None:
    world.cohort.status = "archived"
    db.session.commit()
    person = trainee(world)
    with pytest.raises(services.EnrolmentRefused) as excinfo:
        services.enrol(world.hr.id, world.cohort.id, person.id)
    assert problems(excinfo) == ["This cohort is archived: no one can enrol in it."]
    with pytest.raises(ValidationError, match="archived"):
        services.withdraw(world.hr.id, world.enrolment.id, "Too late")


@pytest.mark.parametrize(("status", "self_enrolment"), [("closed", True), ("open", False)])
def test_self_enrolment_needs_an_open_cohort_that_allows_it(
    world: Any, status: str, self_enrolment: bool
) -> None:
    world.cohort.status = status
    world.cohort.self_enrolment = self_enrolment
    db.session.commit()
    person = trainee(world)
    with pytest.raises(services.EnrolmentRefused) as excinfo:
        services.self_enrol(person.id, world.cohort.id)
    assert problems(excinfo) == ["This cohort is not open for self-enrolment."]
    # Staff still enrol people in a closed cohort.
    assert services.enrol(world.hr.id, world.cohort.id, person.id).enrolment.active


def test_self_enrolment_in_an_open_cohort(world: Any) -> None:
    person = trainee(world)
    done = services.self_enrol(person.id, world.cohort.id)
    db.session.commit()
    assert done.enrolment.source == "self"
    assert done.enrolment.enrolled_by_id == person.id
    assert actions(done.enrolment.id) == ["enrolment.created"]


def test_only_active_trainees_are_enrolled(world: Any) -> None:
    instructor = UserFactory(roles=["instructor"], employer=world.employer, name="讲师乙")
    inactive = UserFactory(roles=["trainee"], employer=world.employer, name="停用丙", active=False)
    db.session.commit()
    with pytest.raises(services.EnrolmentRefused) as excinfo:
        services.enrol_people(world.hr.id, world.cohort.id, [instructor.id, inactive.id])
    assert problems(excinfo) == ["讲师乙 is not a trainee.", "The account of 停用丙 is inactive."]


def test_scoped_officer_cannot_enrol_someone_they_do_not_look_after(world: Any) -> None:
    stranger = UserFactory(roles=["trainee"], employer=OrganisationFactory(), name="外人丁")
    db.session.commit()
    with pytest.raises(services.EnrolmentRefused) as excinfo:
        services.enrol(world.hr.id, world.cohort.id, stranger.id)
    assert problems(excinfo) == ["This person is not among the people you look after."]
    assert services.enrol(world.admin.id, world.cohort.id, stranger.id).enrolment.active


def test_trainees_and_instructors_cannot_enrol_others(world: Any) -> None:
    person = trainee(world)
    for actor in (world.trainee, world.instructor):
        with pytest.raises(services.EnrolmentRefused) as excinfo:
            services.enrol(actor.id, world.cohort.id, person.id)
        assert problems(excinfo) == ["You may not enrol people in this cohort."]


def test_capacity_is_enforced_all_or_none(world: Any) -> None:
    world.cohort.capacity = 3  # one taken by the world's trainee
    db.session.commit()
    people = [trainee(world) for _ in range(3)]
    with pytest.raises(services.EnrolmentRefused) as excinfo:
        services.enrol_people(world.hr.id, world.cohort.id, [p.id for p in people])
    assert problems(excinfo) == ["Only 2 places are left in this cohort, for 3 people."]
    db.session.rollback()
    count = sa.select(sa.func.count(Enrolment.id)).where(Enrolment.cohort_id == world.cohort.id)
    assert db.session.scalar(count) == 1
    services.enrol_people(world.hr.id, world.cohort.id, [p.id for p in people[:2]])
    db.session.commit()
    with pytest.raises(services.EnrolmentRefused) as excinfo:
        services.self_enrol(people[2].id, world.cohort.id)
    assert problems(excinfo) == ["This cohort is full (3 places)."]
    # A withdrawal frees a place.
    services.withdraw(people[0].id, _enrolment_of(world, people[0]).id, "")
    db.session.commit()
    assert services.self_enrol(people[2].id, world.cohort.id).enrolment.active


def _enrolment_of(world: Any, person: Any) -> Enrolment:
    return db.session.scalars(
        sa.select(Enrolment).where(
            Enrolment.cohort_id == world.cohort.id, Enrolment.user_id == person.id
        )
    ).one()


def test_course_prerequisites_must_be_completed(world: Any) -> None:
    basics = Course(
        code="WORLD-000", title="入门", track="pre_service", level="foundation", status="published"
    )
    db.session.add(basics)
    world.course.prerequisites.append(basics)
    db.session.commit()
    person = trainee(world, name="学员戊")
    with pytest.raises(services.EnrolmentRefused) as excinfo:
        services.enrol(world.hr.id, world.cohort.id, person.id)
    assert problems(excinfo) == ["学员戊 has not completed the prerequisite courses: WORLD-000."]
    with pytest.raises(services.EnrolmentRefused) as excinfo:
        services.self_enrol(person.id, world.cohort.id)
    assert problems(excinfo) == ["Complete the prerequisite courses first: WORLD-000."]
    db.session.add(CourseCompletion(user_id=person.id, course_id=basics.id, ce_hours=Decimal(2)))
    db.session.commit()
    assert services.self_enrol(person.id, world.cohort.id).enrolment.active


def test_programme_cohort_requires_its_tier(world: Any) -> None:
    lead = Programme(
        code="WORLD-LEAD",
        title="师资骨干",
        track="lead_trainer",
        tier="lead_trainer",
        requires_tier="talent_pool",
        cycle="once",
    )
    db.session.add(lead)
    today = date.today()
    cohort = Cohort(
        code="WORLD-LEAD-01",
        title="师资骨干 第1期",
        programme=lead,
        partner=world.partner,
        online=True,
        starts_on=today,
        ends_on=today + timedelta(days=30),
        self_enrolment=True,
        status="open",
    )
    db.session.add(cohort)
    db.session.commit()
    person = trainee(world, name="学员己")
    with pytest.raises(services.EnrolmentRefused) as excinfo:
        services.enrol(world.hr.id, cohort.id, person.id)
    assert problems(excinfo) == [
        "学员己 does not hold the tier “Talent pool (qualified professional)” that this "
        "programme requires."
    ]
    with pytest.raises(services.EnrolmentRefused) as excinfo:
        services.self_enrol(person.id, cohort.id)
    assert problems(excinfo) == [
        "This programme requires the tier “Talent pool (qualified professional)” first."
    ]
    # A completed programme is not yet the tier: the certificate is.
    db.session.add(ProgrammeCompletion(user_id=person.id, programme_id=world.programme.id))
    db.session.commit()
    with pytest.raises(services.EnrolmentRefused):
        services.self_enrol(person.id, cohort.id)
    issuing.create_certificate(None, person.id, world.certificate_type.id)
    db.session.commit()
    assert services.self_enrol(person.id, cohort.id).enrolment.active


def test_staff_withdrawal_needs_a_reason_and_records_who_when_why(world: Any) -> None:
    with pytest.raises(ValidationError) as excinfo:
        services.withdraw(world.hr.id, world.enrolment.id, "   ")
    assert excinfo.value.errors == {"reason": "Give the reason for the withdrawal."}
    enrolment = services.withdraw(world.hr.id, world.enrolment.id, "Changed  job")
    db.session.commit()
    assert enrolment.status == "withdrawn"
    assert enrolment.withdrawn_by_id == world.hr.id
    assert enrolment.withdrawn_at is not None
    assert enrolment.withdrawal_reason == "Changed job"
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "enrolment.withdrawn")
    ).one()
    assert entry.reason == "Changed job"
    assert entry.actor_id == world.hr.id
    with pytest.raises(ValidationError, match="already withdrawn"):
        services.withdraw(world.hr.id, world.enrolment.id, "Again")


def test_trainee_withdraws_themself_but_not_others(world: Any) -> None:
    other = trainee(world)
    with pytest.raises(ValidationError, match="You may not withdraw this person"):
        services.withdraw(other.id, world.enrolment.id, "")
    enrolment = services.withdraw(world.trainee.id, world.enrolment.id, "")
    assert enrolment.withdrawn_by_id == world.trainee.id
    assert enrolment.withdrawal_reason == ""


def test_self_enrolment_problem_explains_the_button(world: Any) -> None:
    person = trainee(world)
    assert services.self_enrolment_problem(person, world.cohort, None, 1) is None
    assert services.self_enrolment_problem(person, world.cohort, None, 30) == (
        "This cohort is full (30 places)."
    )
    assert services.self_enrolment_problem(world.trainee, world.cohort, world.enrolment, 1) == (
        "You are already enrolled in this cohort."
    )


# Two enrolments racing for the last seat (PostgreSQL: real connections, committed data) -------


def test_two_enrolments_race_for_the_last_seat(app: Flask) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        pytest.skip("row locks are tested on PostgreSQL")
    engine = sa.create_engine(url)
    ids = _committed_race_world(engine)
    try:
        first_done = threading.Event()
        release = threading.Event()
        outcome: dict[str, Any] = {}

        def enrol_in_own_session(key: str, user_id: int, hold: bool) -> None:
            with app.app_context(), engine.connect() as conn:
                # This thread's own session on its own connection, as in another request.
                db.session.registry.set(Session(bind=conn))
                try:
                    services.self_enrol(user_id, ids["cohort"])
                    if hold:  # keep the row lock until told to commit
                        first_done.set()
                        release.wait(10)
                    db.session.commit()
                    outcome[key] = "enrolled"
                except services.EnrolmentRefused as refused:
                    db.session.rollback()
                    outcome[key] = list(refused.problems.values())
                finally:
                    db.session.close()
                    db.session.registry.clear()
                    conn.commit()

        first = threading.Thread(target=enrol_in_own_session, args=("a", ids["a"], True))
        first.start()
        assert first_done.wait(10)
        second = threading.Thread(target=enrol_in_own_session, args=("b", ids["b"], False))
        second.start()
        second.join(1)
        assert second.is_alive(), "the second enrolment waits for the cohort's lock"
        release.set()
        first.join(10)
        second.join(10)
        assert outcome["a"] == "enrolled"
        assert outcome["b"] != "enrolled"
        with engine.connect() as conn:
            count = conn.scalar(
                sa.select(sa.func.count())
                .select_from(Enrolment)
                .where(Enrolment.cohort_id == ids["cohort"])
            )
        assert count == 1
    finally:
        _remove_race_world(engine, ids)
        engine.dispose()


def _committed_race_world(engine: sa.Engine) -> dict[str, int]:
    """A cohort with one place and two trainees, committed outside the test's transaction."""
    from lms.auth.models import RoleAssignment, User
    from lms.orgs.models import Organisation

    with Session(engine) as session:
        partner = Organisation(code="RACE-U", name="竞速大学", kind="university")
        course = Course(
            code="RACE-101",
            title="竞速",
            track="pre_service",
            level="foundation",
            status="published",
        )
        session.add_all([partner, course])
        people = []
        for n in range(2):
            person = User(email=f"race{n}@example.org", name=f"竞速{n}")
            person.role_assignments.append(RoleAssignment(role="trainee"))
            people.append(person)
        session.add_all(people)
        today = date.today()
        cohort = Cohort(
            code="RACE-101-01",
            title="竞速班",
            course=course,
            partner=partner,
            online=True,
            starts_on=today,
            ends_on=today,
            capacity=1,
            self_enrolment=True,
            status="open",
        )
        session.add(cohort)
        session.commit()
        return {
            "cohort": cohort.id,
            "course": course.id,
            "partner": partner.id,
            "a": people[0].id,
            "b": people[1].id,
        }


def _remove_race_world(engine: sa.Engine, ids: dict[str, int]) -> None:
    from lms.auth.models import RoleAssignment, User
    from lms.orgs.models import Organisation

    people = [ids["a"], ids["b"]]
    with engine.begin() as conn:
        conn.execute(sa.delete(AuditEntry).where(AuditEntry.actor_id.in_(people)))
        conn.execute(sa.delete(Enrolment).where(Enrolment.cohort_id == ids["cohort"]))
        conn.execute(sa.delete(Cohort).where(Cohort.id == ids["cohort"]))
        conn.execute(sa.delete(Course).where(Course.id == ids["course"]))
        conn.execute(sa.delete(RoleAssignment).where(RoleAssignment.user_id.in_(people)))
        conn.execute(sa.delete(User).where(User.id.in_(people)))
        conn.execute(sa.delete(Organisation).where(Organisation.id == ids["partner"]))
