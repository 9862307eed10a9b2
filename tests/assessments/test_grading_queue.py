"""The grading queue: essays awaiting a mark and practicals not yet passed, oldest first, for
the trainees an instructor teaches only."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from lms.assessments.models import PracticalResult, QuizAttempt
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import Cohort, Enrolment
from tests.builders import LearningWorld
from tests.factories import UserFactory

NOW = utcnow()


@pytest.fixture
def world(learning_world: LearningWorld) -> LearningWorld:
    learning_world.enrolment.enrolled_at = NOW - timedelta(days=5)
    db.session.commit()
    return learning_world


def queue_ids(html: str) -> list[str]:
    """The queue's rows, in order: ``essay-<attempt id>`` or ``practical-<id>-<user id>``."""
    return re.findall(r'<tr id="([^"]+)" class="queue-item"', html)


def enrol(cohort: Cohort, name: str, days_ago: int) -> Any:
    person = UserFactory(roles=["trainee"], name=name)
    db.session.add(
        Enrolment(cohort=cohort, user_id=person.id, enrolled_at=NOW - timedelta(days=days_ago))
    )
    db.session.commit()
    return person


def essay_attempt(
    world: LearningWorld,
    user_id: int,
    days_ago: int,
    *,
    pending: bool = True,
    status: str = "submitted",
    number: int = 1,
) -> QuizAttempt:
    attempt = QuizAttempt(
        quiz_id=world.quiz.id,
        user_id=user_id,
        number=number,
        status=status,
        submitted_at=NOW - timedelta(days=days_ago) if status == "submitted" else None,
        questions=world.quiz.questions,
        score=Decimal(5),
        max_score=Decimal(7),
        percent=Decimal("71.43"),
        passed=None if pending else True,
        pending_review=pending,
    )
    db.session.add(attempt)
    db.session.commit()
    return attempt


def result(world: LearningWorld, user_id: int, passed: bool, days_ago: int) -> PracticalResult:
    row = PracticalResult(
        practical_id=world.practical.id,
        user_id=user_id,
        assessor_id=world.instructor.id,
        observed_on=date.today(),
        scores={"steps": 2, "time": 2 if passed else 0},
        total=4 if passed else 2,
        max_total=4,
        passed=passed,
        created_at=NOW - timedelta(days=days_ago),
    )
    db.session.add(row)
    db.session.commit()
    return row


def practical_id(world: LearningWorld, user: Any) -> str:
    return f"practical-{world.practical.id}-{user.id}"


def test_the_queue_lists_what_waits_oldest_first(client: Any, world: LearningWorld) -> None:
    early = enrol(world.cohort, "早同学", days_ago=20)
    passed = enrol(world.cohort, "过同学", days_ago=20)
    failed = enrol(world.cohort, "未过同学", days_ago=20)
    old_essay = essay_attempt(world, early.id, days_ago=10)
    new_essay = essay_attempt(world, world.trainee.id, days_ago=1)
    essay_attempt(world, passed.id, days_ago=12, pending=False)  # marked already
    essay_attempt(world, failed.id, days_ago=12, status="in_progress")  # not submitted
    result(world, passed.id, passed=True, days_ago=3)
    result(world, failed.id, passed=True, days_ago=9)
    result(world, failed.id, passed=False, days_ago=2)  # the latest counts: waiting again
    client.use_language("en")
    client.login(world.instructor)
    page = client.get("/grading").text
    assert queue_ids(page) == [
        practical_id(world, early),  # enrolled 20 days ago, never assessed
        f"essay-{old_essay.id}",  # submitted 10 days ago
        practical_id(world, world.trainee),  # enrolled 5 days ago
        practical_id(world, failed),  # failed 2 days ago
        f"essay-{new_essay.id}",  # submitted yesterday
    ]
    assert f"/attempts/{old_essay.id}/grade" in page
    assert f"/practicals/{world.practical.id}/people/{early.id}" in page
    assert "2 attempts with essays to mark" in page
    assert "3 practical assessments waiting" in page


def test_the_queue_shows_only_the_instructors_trainees(
    client: Any, world: LearningWorld, make_user: Any
) -> None:
    other_teacher = make_user("instructor")
    other_cohort = Cohort(
        code="WORLD-101-2026-02",
        title="第2期",
        course=world.course,
        starts_on=date.today(),
        ends_on=date.today() + timedelta(days=30),
    )
    other_cohort.instructors.append(other_teacher)
    db.session.add(other_cohort)
    stranger = enrol(other_cohort, "别班同学", days_ago=30)
    attempt = essay_attempt(world, stranger.id, days_ago=29)
    client.login(other_teacher)
    page = client.get("/grading").text
    assert queue_ids(page) == [practical_id(world, stranger), f"essay-{attempt.id}"]
    assert practical_id(world, world.trainee) not in page
    # The course's owner sees both cohorts; the first cohort's instructor owns the course.
    client.login(world.instructor)
    mine = queue_ids(client.get("/grading").text)
    assert set(mine) == {
        practical_id(world, stranger),
        f"essay-{attempt.id}",
        practical_id(world, world.trainee),
    }


def test_the_queue_leaves_out_withdrawn_trainees(client: Any, world: LearningWorld) -> None:
    essay_attempt(world, world.trainee.id, days_ago=1)
    world.enrolment.status = "withdrawn"
    db.session.commit()
    client.login(world.instructor)
    assert queue_ids(client.get("/grading").text) == []


def test_the_queue_filters_by_cohort(client: Any, world: LearningWorld) -> None:
    second = Cohort(
        code="WORLD-101-2026-03",
        title="第3期",
        course=world.course,
        starts_on=date.today(),
        ends_on=date.today() + timedelta(days=30),
    )
    second.instructors.append(world.instructor)
    db.session.add(second)
    someone = enrol(second, "三期同学", days_ago=1)
    client.use_language("en")
    client.login(world.instructor)
    page = client.get(f"/grading?cohort={second.id}").text
    assert queue_ids(page) == [practical_id(world, someone)]
    assert "1 practical assessment waiting" in page
    assert len(queue_ids(client.get("/grading").text)) == 2
    # A cohort that is not one of theirs filters nothing out of their own queue.
    assert len(queue_ids(client.get("/grading?cohort=999999").text)) == 2


def test_trainees_and_hr_may_not_open_the_queue(
    client: Any, world: LearningWorld, make_user: Any
) -> None:
    client.login(world.trainee)
    assert client.get("/grading").status_code == 403
    client.login(make_user("hr"))
    assert client.get("/grading").status_code == 403


def test_the_queue_pages(client: Any, world: LearningWorld, app: Any) -> None:
    for i in range(app.config["PAGE_SIZE"]):
        enrol(world.cohort, f"学员{i:02d}", days_ago=i + 10)
    client.login(world.instructor)
    first = queue_ids(client.get("/grading").text)
    second = queue_ids(client.get("/grading?page=2").text)
    assert len(first) == app.config["PAGE_SIZE"]
    assert second == [practical_id(world, world.trainee)]  # the newest, last


def test_the_queue_runs_a_fixed_number_of_queries(
    client: Any, world: LearningWorld, count_queries: Any
) -> None:
    def waiting(n: int, start: int) -> None:
        for i in range(start, start + n):
            person = enrol(world.cohort, f"学员{i:02d}", days_ago=i + 1)
            essay_attempt(world, person.id, days_ago=i)

    client.login(world.instructor)
    waiting(2, 0)
    with count_queries as few:
        assert client.get("/grading").status_code == 200
    waiting(18, 2)
    with count_queries as many:
        assert client.get("/grading").status_code == 200
    assert many.count == few.count
