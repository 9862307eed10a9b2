"""Practical assessments: an assessor records a result against the rubric, the server alone
decides the total and the pass, and each trainee sees their own results only."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from lms.assessments.models import PracticalResult, QuizAttempt
from lms.audit.models import AuditEntry
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import Cohort, CourseCompletion, Enrolment, LessonProgress
from tests.builders import LearningWorld
from tests.conftest import form_errors
from tests.factories import UserFactory


@pytest.fixture
def world(learning_world: LearningWorld) -> LearningWorld:
    db.session.commit()
    return learning_world


def record_url(world: LearningWorld, user_id: int | None = None) -> str:
    return f"/practicals/{world.practical.id}/people/{user_id or world.trainee.id}"


def post_result(client: Any, world: LearningWorld, user_id: int | None = None, **data: Any) -> Any:
    form = {"observed_on": date.today().isoformat(), "comments": "", **data}
    return client.post(record_url(world, user_id), data=form)


def results(world: LearningWorld, user_id: int | None = None) -> list[PracticalResult]:
    db.session.expire_all()
    stmt = (
        sa.select(PracticalResult)
        .where(PracticalResult.user_id == (user_id or world.trainee.id))
        .order_by(PracticalResult.id)
    )
    return list(db.session.scalars(stmt))


def enrol(cohort: Cohort, name: str) -> Any:
    person = UserFactory(roles=["trainee"], name=name)
    db.session.add(Enrolment(cohort=cohort, user_id=person.id, enrolled_at=utcnow()))
    db.session.commit()
    return person


# The pass rule (pass_points 2, min_points 1, levels 0-2, two criteria) ---------------------


def test_exactly_the_pass_points_with_every_criterion_met_passes(
    client: Any, world: LearningWorld
) -> None:
    client.login(world.instructor)
    response = post_result(client, world, **{"score-steps": "1", "score-time": "1"})
    assert response.status_code == 302
    [result] = results(world)
    assert (result.total, result.max_total, result.passed) == (2, 4, True)
    assert result.scores == {"steps": 1, "time": 1}
    assert result.assessor_id == world.instructor.id
    assert result.cohort_id == world.cohort.id


def test_one_criterion_below_the_minimum_fails_whatever_the_total(
    client: Any, world: LearningWorld
) -> None:
    client.login(world.instructor)
    post_result(client, world, **{"score-steps": "2", "score-time": "0"})
    [result] = results(world)
    assert (result.total, result.passed) == (2, False)


def test_totals_sent_by_the_browser_are_ignored(client: Any, world: LearningWorld) -> None:
    client.login(world.instructor)
    post_result(
        client,
        world,
        **{
            "score-steps": "0",
            "score-time": "1",
            "total": "4",
            "max_total": "1",
            "passed": "y",
            "assessor_id": str(world.trainee.id),
        },
    )
    [result] = results(world)
    assert (result.total, result.max_total, result.passed) == (1, 4, False)
    assert result.assessor_id == world.instructor.id


def test_a_missing_criterion_is_named_and_nothing_is_saved(
    client: Any, world: LearningWorld
) -> None:
    client.use_language("en")
    client.login(world.instructor)
    response = post_result(client, world, **{"score-steps": "2", "comment-steps": "好"})
    assert response.status_code == 422
    assert form_errors(response.text) == ["Choose a level for “Long enough”."]
    assert results(world) == []
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(AuditEntry.action == "practical.recorded")
        )
        == 0
    )


def test_a_level_outside_the_rubric_is_refused(client: Any, world: LearningWorld) -> None:
    client.use_language("en")
    client.login(world.instructor)
    response = post_result(client, world, **{"score-steps": "9", "score-time": "2"})
    assert response.status_code == 422
    assert "“Steps”: choose one of the levels of the rubric." in form_errors(response.text)
    assert results(world) == []


def test_an_observation_in_the_future_is_refused(client: Any, world: LearningWorld) -> None:
    client.use_language("en")
    client.login(world.instructor)
    response = post_result(
        client,
        world,
        observed_on=(date.today() + timedelta(days=2)).isoformat(),
        **{"score-steps": "2", "score-time": "2"},
    )
    assert response.status_code == 422
    assert form_errors(response.text) == ["The date of the observation cannot be in the future."]
    assert results(world) == []


# Recording ---------------------------------------------------------------------------------


def test_the_page_shows_the_rubric_in_the_page_language(client: Any, world: LearningWorld) -> None:
    client.use_language("en")
    client.login(world.instructor)
    page = client.get(record_url(world)).text
    for text in ("Seven-step handwashing", "Not yet", "Meets", "Proficient", "Steps"):
        assert text in page
    assert page.count('type="radio"') == 6  # two criteria, three levels
    assert 'name="score-steps"' in page and 'name="comment-time"' in page
    assert 'name="total"' not in page and 'name="passed"' not in page
    assert "The latest result counts." in page


def test_recording_is_audited_with_the_comments_and_the_latest_counts(
    client: Any, world: LearningWorld
) -> None:
    client.use_language("en")
    client.login(world.instructor)
    post_result(
        client,
        world,
        comments="  Good technique.  ",
        **{"score-steps": "2", "score-time": "0", "comment-time": "Too quick"},
    )
    response = post_result(client, world, **{"score-steps": "2", "score-time": "1"})
    assert response.status_code == 302
    first, second = results(world)
    assert first.comments == "Good technique."
    assert first.criterion_comments == {"time": "Too quick"}
    assert (first.passed, second.passed) == (False, True)
    entries = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.action == "practical.recorded")
        .order_by(AuditEntry.id)
    ).all()
    assert [(e.actor_id, e.entity_type, e.entity_id) for e in entries] == [
        (world.instructor.id, "user", world.trainee.id)
    ] * 2
    assert entries[1].after["result_id"] == second.id
    assert entries[1].after["passed"] is True
    page = client.get(response.headers["Location"]).text
    assert "Result recorded for" in page
    assert page.index(f'id="result-{second.id}"') < page.index(f'id="result-{first.id}"')


def test_a_passing_result_completes_the_course_in_the_same_unit_of_work(
    client: Any, world: LearningWorld
) -> None:
    for lesson in world.lessons:
        db.session.add(
            LessonProgress(user_id=world.trainee.id, lesson_id=lesson.id, completed_at=utcnow())
        )
    db.session.add(
        QuizAttempt(
            quiz_id=world.quiz.id,
            user_id=world.trainee.id,
            number=1,
            status="submitted",
            submitted_at=utcnow(),
            questions=world.quiz.questions,
            score=Decimal(6),
            max_score=Decimal(7),
            percent=Decimal("85.71"),
            passed=True,
            pending_review=False,
        )
    )
    db.session.commit()
    client.login(world.instructor)
    post_result(client, world, **{"score-steps": "2", "score-time": "2"})
    db.session.expire_all()
    completion = db.session.scalar(
        sa.select(CourseCompletion).where(CourseCompletion.user_id == world.trainee.id)
    )
    assert completion is not None
    assert completion.ce_hours == Decimal(8)


# Who may record ----------------------------------------------------------------------------


def test_an_instructor_who_does_not_teach_the_trainee_gets_404(
    client: Any, world: LearningWorld, make_user: Any
) -> None:
    client.login(make_user("instructor"))
    assert client.get(record_url(world)).status_code == 404
    assert post_result(client, world, **{"score-steps": "2", "score-time": "2"}).status_code == 404
    assert results(world) == []


def test_a_cohort_instructor_who_does_not_own_the_course_may_record(
    client: Any, world: LearningWorld, make_user: Any
) -> None:
    teacher = make_user("instructor")
    world.cohort.instructors.append(teacher)
    db.session.commit()
    client.login(teacher)
    response = post_result(client, world, **{"score-steps": "1", "score-time": "1"})
    assert response.status_code == 302
    assert len(results(world)) == 1


def test_the_instructor_of_a_programme_cohort_may_record(
    client: Any, world: LearningWorld, make_user: Any
) -> None:
    teacher = make_user("instructor")
    cohort = Cohort(
        code="WORLD-QUAL-2026",
        title="项目班",
        programme=world.programme,
        starts_on=date.today(),
        ends_on=date.today() + timedelta(days=30),
    )
    cohort.instructors.append(teacher)
    db.session.add(cohort)
    person = enrol(cohort, "李项目")
    client.login(teacher)
    assert client.get(record_url(world, person.id)).status_code == 200
    # ... but not the trainee of the course cohort, whom they do not teach.
    assert client.get(record_url(world)).status_code == 404


def test_a_withdrawn_trainee_cannot_be_assessed(client: Any, world: LearningWorld) -> None:
    world.enrolment.status = "withdrawn"
    db.session.commit()
    client.login(world.instructor)
    assert client.get(record_url(world)).status_code == 404


def test_trainees_may_not_record(client: Any, world: LearningWorld) -> None:
    client.login(world.trainee)
    assert client.get(record_url(world)).status_code == 403
    assert post_result(client, world, **{"score-steps": "2", "score-time": "2"}).status_code == 403
    assert results(world) == []


def test_an_administrator_may_record(client: Any, world: LearningWorld, make_user: Any) -> None:
    client.login(make_user("admin"))
    assert post_result(client, world, **{"score-steps": "2", "score-time": "2"}).status_code == 302
    assert results(world)[0].passed


# The practical's page ----------------------------------------------------------------------


def add_result(world: LearningWorld, user_id: int, steps: int, time: int, comments: str) -> Any:
    result = PracticalResult(
        practical_id=world.practical.id,
        user_id=user_id,
        assessor_id=world.instructor.id,
        observed_on=date.today(),
        scores={"steps": steps, "time": time},
        criterion_comments={"steps": f"{comments} on steps"},
        comments=comments,
        total=steps + time,
        max_total=4,
        passed=steps + time >= 2 and min(steps, time) >= 1,
    )
    db.session.add(result)
    db.session.commit()
    return result


def test_a_trainee_sees_their_own_results_and_no_one_elses(
    client: Any, world: LearningWorld
) -> None:
    other = enrol(world.cohort, "李同学")
    add_result(world, world.trainee.id, 0, 1, "First try")
    add_result(world, world.trainee.id, 2, 1, "Much better")
    add_result(world, other.id, 2, 2, "Someone else")
    client.use_language("en")
    client.login(world.trainee)
    page = client.get(f"/practicals/{world.practical.id}").text
    assert "Seven-step handwashing" in page
    assert "在指导老师面前完整示范七步洗手法。" in page
    assert page.index("Much better") < page.index("First try")
    assert "Much better on steps" in page and "Proficient" in page
    assert "王讲师" in page  # the assessor
    assert "Someone else" not in page
    assert "李同学" not in page
    assert "Record a result" not in page
    # Nor can they reach the assessor's page of anyone, themselves included.
    assert client.get(record_url(world, other.id)).status_code == 403


def test_a_trainee_not_in_the_course_gets_404(client: Any, world: LearningWorld) -> None:
    outsider = enrol_elsewhere()
    client.login(outsider)
    assert client.get(f"/practicals/{world.practical.id}").status_code == 404


def enrol_elsewhere() -> Any:
    person = UserFactory(roles=["trainee"])
    db.session.commit()
    return person


def test_a_teacher_sees_their_trainees_with_the_latest_result(
    client: Any, world: LearningWorld
) -> None:
    other = enrol(world.cohort, "李同学")
    add_result(world, other.id, 0, 0, "Not yet")
    add_result(world, other.id, 2, 2, "Done")
    client.use_language("en")
    client.login(world.instructor)
    page = client.get(f"/practicals/{world.practical.id}").text
    assert f'id="trainee-{world.trainee.id}"' in page
    row = page[page.index(f'id="trainee-{other.id}"') :]
    row = row[: row.index("</tr>")]
    assert "Passed" in row and "4/4" in row
    assert record_url(world, other.id) in row


def test_the_teachers_list_runs_a_fixed_number_of_queries(
    client: Any, world: LearningWorld, count_queries: Any
) -> None:
    def people(n: int) -> None:
        for i in range(n):
            person = enrol(world.cohort, f"学员{i:02d}")
            add_result(world, person.id, 1, 1, "ok")

    client.login(world.instructor)
    url = f"/practicals/{world.practical.id}"
    people(1)
    with count_queries as few:
        assert client.get(url).status_code == 200
    small = few.count
    people(19)
    with count_queries as many:
        assert client.get(url).status_code == 200
    assert many.count == small
