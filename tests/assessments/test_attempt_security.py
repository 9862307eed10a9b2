"""Who may see, answer, submit and mark an attempt: only its owner answers and submits;
another trainee gets 403 everywhere; staff who may see the person read it; teachers mark."""

from __future__ import annotations

from typing import Any

import pytest

from lms.assessments import attempts as service
from lms.assessments.models import QuizAttempt
from lms.extensions import db
from tests.assessments.test_attempts import position_of, right_responses
from tests.builders import LearningWorld
from tests.factories import OrganisationFactory


@pytest.fixture
def world(learning_world: LearningWorld) -> LearningWorld:
    db.session.commit()
    return learning_world


def started(world: LearningWorld) -> QuizAttempt:
    attempt = service.start_attempt(world.quiz.id, world.trainee.id)
    service.save_responses(attempt.id, world.trainee.id, {"0": 0})
    db.session.commit()
    return attempt


def submitted(world: LearningWorld) -> QuizAttempt:
    attempt = service.start_attempt(world.quiz.id, world.trainee.id)
    service.submit_attempt(attempt.id, world.trainee.id, right_responses(attempt.questions))
    db.session.commit()
    return attempt


def reloaded(attempt: QuizAttempt) -> QuizAttempt:
    db.session.expire_all()
    fresh = db.session.get(QuizAttempt, attempt.id)
    assert fresh is not None
    return fresh


def test_anonymous_visitors_are_sent_to_sign_in(client: Any, world: LearningWorld) -> None:
    attempt = started(world)
    for url in (f"/quizzes/{world.quiz.id}", f"/attempts/{attempt.id}"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_another_trainee_gets_403_everywhere(
    client: Any, world: LearningWorld, make_user: Any
) -> None:
    attempt = started(world)
    client.login(make_user("trainee"))
    essay = position_of(attempt, "essay")
    assert client.get(f"/attempts/{attempt.id}").status_code == 403
    assert client.post(f"/attempts/{attempt.id}/save", data={"q0": "1"}).status_code == 403
    assert client.post(f"/attempts/{attempt.id}/submit", data={"answers": "1"}).status_code == 403
    assert client.get(f"/attempts/{attempt.id}/grade").status_code == 403
    assert (
        client.post(f"/attempts/{attempt.id}/grade", data={f"score_{essay}": "1"}).status_code
        == 403
    )
    fresh = reloaded(attempt)
    assert fresh.in_progress and fresh.responses == {"0": 0}
    done = submitted_by_other_route(world, attempt)
    assert client.get(f"/attempts/{done.id}").status_code == 403
    assert client.get(f"/attempts/{done.id}/grade").status_code == 403
    assert client.get("/attempts/999999").status_code == 404


def submitted_by_other_route(world: LearningWorld, attempt: QuizAttempt) -> QuizAttempt:
    service.submit_attempt(attempt.id, world.trainee.id)
    db.session.commit()
    return attempt


def test_the_owner_cannot_mark_their_own_essay(client: Any, world: LearningWorld) -> None:
    attempt = submitted(world)
    client.login(world.trainee)
    essay = position_of(attempt, "essay")
    assert client.get(f"/attempts/{attempt.id}/grade").status_code == 403
    assert (
        client.post(f"/attempts/{attempt.id}/grade", data={f"score_{essay}": "1"}).status_code
        == 403
    )
    assert reloaded(attempt).pending_review is True


def test_hr_in_scope_reads_but_never_answers(
    client: Any, world: LearningWorld, make_user: Any
) -> None:
    attempt = started(world)
    hr = make_user(("hr", world.employer))
    client.login(hr)
    client.use_language("en")
    html = client.get(f"/attempts/{attempt.id}").get_data(as_text=True)
    assert 'id="read-only"' in html and '<form method="post" action="/attempts' not in html
    assert world.trainee.name in html
    assert client.post(f"/attempts/{attempt.id}/save", data={"q0": "1"}).status_code == 403
    assert client.post(f"/attempts/{attempt.id}/submit").status_code == 403
    assert client.get(f"/attempts/{attempt.id}/grade").status_code == 403
    assert reloaded(attempt).in_progress

    elsewhere = make_user(("hr", OrganisationFactory()))
    client.login(elsewhere)
    assert client.get(f"/attempts/{attempt.id}").status_code == 403


def test_teachers_read_and_mark_other_instructors_do_not(
    client: Any, world: LearningWorld, make_user: Any
) -> None:
    attempt = submitted(world)
    essay = position_of(attempt, "essay")
    # An instructor of the cohort who does not own the course.
    teacher = make_user("instructor")
    world.cohort.instructors.append(teacher)
    db.session.commit()
    client.login(teacher)
    client.use_language("en")
    assert client.get(f"/attempts/{attempt.id}").status_code == 200
    assert client.post(f"/attempts/{attempt.id}/submit").status_code == 403
    response = client.post(f"/attempts/{attempt.id}/grade", data={f"score_{essay}": "1"})
    assert response.status_code == 303
    assert reloaded(attempt).passed is True

    stranger = make_user("instructor")
    client.login(stranger)
    assert client.get(f"/attempts/{attempt.id}").status_code == 403
    assert client.get(f"/attempts/{attempt.id}/grade").status_code == 403


def test_a_post_without_the_csrf_token_is_refused(client: Any, world: LearningWorld) -> None:
    attempt = started(world)
    client.login(world.trainee)
    response = client.post(f"/attempts/{attempt.id}/submit", data={"answers": "1"}, csrf=False)
    assert response.status_code == 400
    assert reloaded(attempt).in_progress


def test_answers_for_questions_not_in_the_snapshot_are_dropped(
    client: Any, world: LearningWorld
) -> None:
    attempt = started(world)
    client.login(world.trainee)
    choice = position_of(attempt, "multiple_choice")
    client.post(
        f"/attempts/{attempt.id}/save",
        data={f"q{choice}": "99", "q7": "0", "q-1": "0", "responses": "{}", "user_id": "1"},
    )
    fresh = reloaded(attempt)
    assert fresh.responses == {}
    assert fresh.user_id == world.trainee.id
