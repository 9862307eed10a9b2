"""Lesson completion and reading time: "mark complete" on the lesson page, idempotent, for
enrolled people only; the page's time reports, capped and added up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from lms.assessments.models import PracticalResult, QuizAttempt
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import CeEntry, CourseCompletion, LessonProgress
from lms.learning.progress import MAX_SECONDS_PER_REPORT
from tests.builders import LearningWorld


def lesson_page(world: LearningWorld, index: int) -> str:
    return f"/courses/{world.course.code}/lessons/{world.lessons[index].id}"


def complete_url(lesson_id: int) -> str:
    return f"/learning/lessons/{lesson_id}/complete"


def time_url(lesson_id: int) -> str:
    return f"/learning/lessons/{lesson_id}/time"


def progress_rows(user_id: int) -> list[LessonProgress]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(LessonProgress)
            .where(LessonProgress.user_id == user_id)
            .order_by(LessonProgress.id)
        )
    )


def finish_lesson(user_id: int, lesson_id: int) -> None:
    db.session.add(LessonProgress(user_id=user_id, lesson_id=lesson_id, completed_at=utcnow()))
    db.session.flush()


def pass_quiz(world: LearningWorld, user_id: int) -> QuizAttempt:
    attempt = QuizAttempt(
        quiz_id=world.quiz.id,
        user_id=user_id,
        number=1,
        status="submitted",
        submitted_at=utcnow(),
        graded_at=utcnow(),
        questions=world.quiz.questions,
        score=Decimal(6),
        max_score=Decimal(7),
        percent=Decimal("85.71"),
        passed=True,
        pending_review=False,
    )
    db.session.add(attempt)
    db.session.flush()
    return attempt


def observe(world: LearningWorld, user_id: int, *, passed: bool = True) -> PracticalResult:
    points = 1 if passed else 0
    result = PracticalResult(
        practical_id=world.practical.id,
        user_id=user_id,
        assessor_id=world.instructor.id,
        observed_on=date.today(),
        scores={"steps": points, "time": points},
        total=2 * points,
        max_total=4,
        passed=passed,
    )
    db.session.add(result)
    db.session.flush()
    return result


def signed_in_trainee(client: Any, world: LearningWorld) -> Any:
    db.session.commit()
    client.login(world.trainee)
    client.use_language("en")
    return client


# Mark complete ----------------------------------------------------------------------------------


def test_an_enrolled_trainee_sees_mark_complete(client: Any, learning_world: Any) -> None:
    world = learning_world
    html = signed_in_trainee(client, world).get(lesson_page(world, 0)).get_data(as_text=True)
    assert 'id="mark-complete"' in html
    assert f'action="{complete_url(world.lessons[0].id)}"' in html
    assert f'hx-post="{complete_url(world.lessons[0].id)}"' in html
    assert f'data-url="{time_url(world.lessons[0].id)}"' in html
    assert "/static/js/lesson.js" in html
    assert "onclick" not in html and "<script>" not in html


def test_others_do_not_see_mark_complete(client: Any, learning_world: Any, make_user: Any) -> None:
    world = learning_world
    db.session.commit()
    client.login(make_user("trainee"))
    html = client.get(lesson_page(world, 0)).get_data(as_text=True)
    assert 'id="mark-complete"' not in html
    assert "lesson.js" not in html


def test_mark_complete_is_recorded_once(client: Any, learning_world: Any) -> None:
    world = learning_world
    lesson = world.lessons[0]
    client = signed_in_trainee(client, world)
    response = client.post(complete_url(lesson.id))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{lesson_page(world, 0)}#completion")
    [row] = progress_rows(world.trainee.id)
    assert row.lesson_id == lesson.id
    assert row.completed_at is not None
    assert row.first_opened_at is not None  # recorded without JavaScript too
    assert row.version_id == lesson.published_version_id
    first_time = row.completed_at

    assert client.post(complete_url(lesson.id)).status_code == 302
    [again] = progress_rows(world.trainee.id)
    assert again.id == row.id
    assert again.completed_at == first_time

    html = client.get(lesson_page(world, 0)).get_data(as_text=True)
    assert 'id="mark-complete"' not in html
    assert "Lesson marked complete." in html
    assert "Completed on" in html
    assert f'href="{lesson_page(world, 1)}" id="completion-next"' in html


def test_mark_complete_through_htmx_answers_the_panel(client: Any, learning_world: Any) -> None:
    world = learning_world
    client = signed_in_trainee(client, world)
    response = client.post(complete_url(world.lessons[1].id), headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert 'id="lesson-completed"' in html
    assert f'href="{lesson_page(world, 2)}" id="completion-next"' in html
    # The last lesson leads back to the course.
    response = client.post(complete_url(world.lessons[2].id), headers={"HX-Request": "true"})
    assert f'href="/courses/{world.course.code}" id="completion-next"' in response.get_data(
        as_text=True
    )


def test_mark_complete_needs_the_csrf_token(client: Any, learning_world: Any) -> None:
    world = learning_world
    client = signed_in_trainee(client, world)
    assert client.post(complete_url(world.lessons[0].id), csrf=False).status_code == 400
    assert progress_rows(world.trainee.id) == []


def test_people_not_enrolled_are_refused(client: Any, learning_world: Any, make_user: Any) -> None:
    world = learning_world
    db.session.commit()
    stranger = make_user("trainee")
    client.login(stranger)
    client.use_language("en")
    response = client.post(complete_url(world.lessons[0].id))
    assert response.status_code == 403
    assert "Only people enrolled in this course" in response.get_data(as_text=True)
    assert client.post(time_url(world.lessons[0].id), data={"seconds": "30"}).status_code == 403
    assert progress_rows(stranger.id) == []


def test_a_withdrawn_trainee_is_refused(client: Any, learning_world: Any) -> None:
    world = learning_world
    world.enrolment.status = "withdrawn"
    client = signed_in_trainee(client, world)
    assert client.post(complete_url(world.lessons[0].id)).status_code == 403
    assert progress_rows(world.trainee.id) == []


def test_unreadable_lessons_are_404(client: Any, learning_world: Any) -> None:
    world = learning_world
    world.lessons[0].archived = True
    world.lessons[1].published_version_id = None
    client = signed_in_trainee(client, world)
    assert client.post(complete_url(world.lessons[0].id)).status_code == 404
    assert client.post(complete_url(world.lessons[1].id)).status_code == 404
    assert client.post(complete_url(999999)).status_code == 404
    world.course.status = "draft"
    db.session.commit()
    assert client.post(complete_url(world.lessons[2].id)).status_code == 404
    assert progress_rows(world.trainee.id) == []


def test_the_last_step_completes_the_course(client: Any, learning_world: Any) -> None:
    """Marking a lesson complete recomputes the course: with the other lessons done and the
    quiz and practical passed, the course is complete and its CE hours credited."""
    world = learning_world
    trainee = world.trainee.id
    finish_lesson(trainee, world.lessons[0].id)
    finish_lesson(trainee, world.lessons[1].id)
    client = signed_in_trainee(client, world)
    # Lessons alone do not complete it.
    assert client.post(complete_url(world.lessons[2].id)).status_code == 302
    assert db.session.scalar(sa.select(CourseCompletion)) is None
    db.session.execute(
        sa.delete(LessonProgress).where(LessonProgress.lesson_id == world.lessons[2].id)
    )
    pass_quiz(world, trainee)
    observe(world, trainee)
    db.session.commit()

    assert client.post(complete_url(world.lessons[2].id)).status_code == 302
    db.session.expire_all()
    completion = db.session.scalar(
        sa.select(CourseCompletion).where(CourseCompletion.user_id == trainee)
    )
    assert completion is not None and completion.course_id == world.course.id
    entry = db.session.scalar(sa.select(CeEntry).where(CeEntry.completion_id == completion.id))
    assert entry is not None and entry.hours == Decimal(8)


# Reading time ----------------------------------------------------------------------------------


def test_reading_time_adds_up_and_is_capped(client: Any, learning_world: Any) -> None:
    world = learning_world
    lesson_id = world.lessons[0].id
    client = signed_in_trainee(client, world)
    assert client.post(time_url(lesson_id), data={"seconds": "90"}).status_code == 204
    [row] = progress_rows(world.trainee.id)
    assert row.seconds_spent == 90
    assert row.completed_at is None
    first_opened, last_opened = row.first_opened_at, row.last_opened_at

    assert client.post(time_url(lesson_id), data={"seconds": "999999"}).status_code == 204
    assert client.post(time_url(lesson_id), data={"seconds": "-50"}).status_code == 204
    [row] = progress_rows(world.trainee.id)
    assert row.seconds_spent == 90 + MAX_SECONDS_PER_REPORT
    assert row.first_opened_at == first_opened
    assert row.last_opened_at >= last_opened

    # As lesson.js sends it: a beacon with FormData (multipart), the token among the fields.
    response = client.post(
        time_url(lesson_id), data={"seconds": "10"}, content_type="multipart/form-data"
    )
    assert response.status_code == 204
    assert client.post(time_url(lesson_id), data={"seconds": "10"}, csrf=False).status_code == 400
    [row] = progress_rows(world.trainee.id)
    assert row.seconds_spent == 100 + MAX_SECONDS_PER_REPORT

    for bad in ("", "abc", "1.5"):
        assert client.post(time_url(lesson_id), data={"seconds": bad}).status_code == 400
    # Completing keeps the time.
    client.post(complete_url(lesson_id))
    [row] = progress_rows(world.trainee.id)
    assert row.seconds_spent == 100 + MAX_SECONDS_PER_REPORT
    assert row.completed_at is not None


def test_lesson_page_for_an_enrolled_trainee_takes_four_queries(
    client: Any, learning_world: Any, count_queries: Any
) -> None:
    world = learning_world
    client = signed_in_trainee(client, world)
    client.post(complete_url(world.lessons[1].id))
    db.session.expunge_all()
    with count_queries as q:
        response = client.get(lesson_page(world, 1))
    assert response.status_code == 200
    assert "Completed on" in response.get_data(as_text=True)
    # the person with their roles, the lesson, the lesson order, enrolment and progress
    assert q.count <= 4, q.statements
