"""The quiz pages: the quiz, starting, answering (saved as one goes), submitting, the review,
and marking essays."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from lms.assessments import attempts as service
from lms.assessments.models import QuizAttempt
from lms.db import utcnow
from lms.extensions import db
from tests.assessments.test_attempts import (
    completion_of,
    finish_other_requirements,
    position_of,
    quiz_with,
    right_responses,
)
from tests.builders import LearningWorld
from tests.factories import UserFactory


def form_data(responses: dict[str, Any], questions: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer form's fields for ``responses`` (as the browser would send them)."""
    data: dict[str, Any] = {"answers": "1"}
    for key, response in responses.items():
        if questions[int(key)]["kind"] == "matching":
            for left, choice in response.items():
                data[f"q{key}-{left}"] = str(choice)
        elif isinstance(response, list):
            data[f"q{key}"] = [str(i) for i in response]
        else:
            data[f"q{key}"] = str(response)
    return data


@pytest.fixture
def world(learning_world: LearningWorld) -> LearningWorld:
    db.session.commit()
    return learning_world


@pytest.fixture
def trainee(client: Any, world: LearningWorld) -> Any:
    client.login(world.trainee)
    client.use_language("en")
    return client


def attempts_of(world: LearningWorld) -> list[QuizAttempt]:
    db.session.expire_all()
    return service.attempts_of(world.trainee.id, world.quiz.id)


def start(client: Any, world: LearningWorld) -> QuizAttempt:
    response = client.post(f"/quizzes/{world.quiz.id}/start")
    assert response.status_code == 303
    attempt_id = int(response.headers["Location"].rsplit("/", 1)[1])
    db.session.expire_all()
    attempt = db.session.get(QuizAttempt, attempt_id)
    assert attempt is not None
    return attempt


# The quiz page --------------------------------------------------------------------------------


def test_the_quiz_page_shows_settings_and_a_start_button(
    trainee: Any, world: LearningWorld
) -> None:
    world.quiz.time_limit = 15
    db.session.commit()
    html = trainee.get(f"/quizzes/{world.quiz.id}").get_data(as_text=True)
    assert "综合测验" in html
    settings = html[html.index('id="quiz-settings"') :]
    assert "60%" in settings and "0 of 3 used" in settings and "15 minutes" in settings
    assert 'id="start"' in html
    assert 'id="preview"' not in html  # trainees never see the answers here
    assert "4-6个月" not in html


def test_people_not_enrolled_are_told_so(client: Any, world: LearningWorld, make_user: Any) -> None:
    client.login(make_user("trainee"))
    client.use_language("en")
    html = client.get(f"/quizzes/{world.quiz.id}").get_data(as_text=True)
    assert 'id="not-enrolled"' in html and 'id="start"' not in html
    assert f'href="/courses/{world.course.code}"' in html
    response = client.post(f"/quizzes/{world.quiz.id}/start", follow_redirects=True)
    assert "Only trainees enrolled in this course" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(QuizAttempt.id))) == 0


@pytest.mark.parametrize("closed", ["quiz", "module", "course"])
def test_closed_quizzes_are_not_found_by_trainees(
    trainee: Any, world: LearningWorld, closed: str
) -> None:
    if closed == "quiz":
        world.quiz.archived = True
    elif closed == "module":
        world.modules[0].archived = True
    else:
        world.course.status = "draft"
    db.session.commit()
    assert trainee.get(f"/quizzes/{world.quiz.id}").status_code == 404
    assert trainee.post(f"/quizzes/{world.quiz.id}/start").status_code == 404
    assert trainee.get("/quizzes/999999").status_code == 404


def test_owners_and_admins_preview_the_answers(
    client: Any, world: LearningWorld, make_user: Any
) -> None:
    world.quiz.archived = True
    db.session.commit()
    for person in (world.instructor, make_user("admin")):
        client.login(person)
        client.use_language("en")
        html = client.get(f"/quizzes/{world.quiz.id}").get_data(as_text=True)
        assert 'id="preview"' in html and 'id="closed-notice"' in html
        assert "4-6个月" in html and "100%" in html and "抬头" in html
        assert 'id="start"' not in html
    other_instructor = make_user("instructor")
    client.login(other_instructor)
    assert client.get(f"/quizzes/{world.quiz.id}").status_code == 404


# The flow -------------------------------------------------------------------------------------


def test_start_save_reload_submit_review(trainee: Any, world: LearningWorld) -> None:
    attempt = start(trainee, world)
    page = trainee.get(f"/attempts/{attempt.id}").get_data(as_text=True)
    assert page.count("<fieldset") == 7
    assert 'type="radio"' in page and 'type="checkbox"' in page and "<textarea" in page
    assert "<select" in page and 'inputmode="decimal"' in page
    assert 'hx-post="/attempts/' in page

    responses = right_responses(attempt.questions)
    short = str(position_of(attempt, "short_answer"))
    responses[short] = "６"  # full-width, as a Chinese keyboard may type it
    numerical = str(position_of(attempt, "numerical"))
    responses[numerical] = "１５,５"
    saved = trainee.post(
        f"/attempts/{attempt.id}/save", data=form_data(responses, attempt.questions)
    )
    assert saved.status_code == 303
    db.session.expire_all()
    assert db.session.get(QuizAttempt, attempt.id).responses == responses  # type: ignore[union-attr]

    page = trainee.get(f"/attempts/{attempt.id}").get_data(as_text=True)
    assert 'value="６"' in page and 'value="１５,５"' in page
    assert "回应性照护是及时" in page
    assert page.count(" checked") == 1 + 2 + 1  # one choice, two answers, true or false
    assert page.count(" selected") == 3

    response = trainee.post(
        f"/attempts/{attempt.id}/submit",
        data={"answers": "1", **form_data(responses, attempt.questions)},
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/attempts/{attempt.id}"
    )
    review = trainee.get(f"/attempts/{attempt.id}").get_data(as_text=True)
    assert "6 / 7" in review
    assert "Awaiting essay marking" in review and 'id="pending-note"' in review
    assert "正确。" in review  # the chosen answer's feedback
    assert "每个孩子的节奏不同。" in review  # general feedback
    assert review.count('badge badge-ok">Right') == 6
    assert "<fieldset" not in review and 'id="grade"' not in review


def test_htmx_saves_answer_with_the_status(trainee: Any, world: LearningWorld) -> None:
    attempt = start(trainee, world)
    position = position_of(attempt, "essay")
    response = trainee.post(
        f"/attempts/{attempt.id}/save",
        data={f"q{position}": "先写一点"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Saved at" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(QuizAttempt, attempt.id).responses == {str(position): "先写一点"}  # type: ignore[union-attr]


def test_starting_twice_continues_the_same_attempt(trainee: Any, world: LearningWorld) -> None:
    first = start(trainee, world)
    second = start(trainee, world)
    assert first.id == second.id
    html = trainee.get(f"/quizzes/{world.quiz.id}").get_data(as_text=True)
    assert 'id="continue"' in html and 'id="start"' not in html
    assert len(attempts_of(world)) == 1


def test_used_attempts_stop_new_ones(trainee: Any, world: LearningWorld) -> None:
    world.quiz.max_attempts = 1
    db.session.commit()
    attempt = start(trainee, world)
    trainee.post(f"/attempts/{attempt.id}/submit")
    html = trainee.get(f"/quizzes/{world.quiz.id}").get_data(as_text=True)
    assert 'id="no-attempts-left"' in html and 'id="start"' not in html
    assert "1 of 1 used" in html
    refused = trainee.post(f"/quizzes/{world.quiz.id}/start", follow_redirects=True)
    assert "You have used all 1 attempts" in refused.get_data(as_text=True)
    assert len(attempts_of(world)) == 1


def test_a_double_submit_gives_one_attempt_and_one_grade(
    trainee: Any, world: LearningWorld
) -> None:
    attempt = start(trainee, world)
    data = form_data(right_responses(attempt.questions), attempt.questions)
    first = trainee.post(f"/attempts/{attempt.id}/submit", data=data)
    second = trainee.post(f"/attempts/{attempt.id}/submit", data={"answers": "1"})
    assert first.status_code == second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    (only,) = attempts_of(world)
    assert only.status == "submitted" and str(only.score) == "6.000"
    refused = trainee.post(f"/attempts/{attempt.id}/save", data=data, follow_redirects=True)
    assert "already been submitted" in refused.get_data(as_text=True)


# The time limit -------------------------------------------------------------------------------


def test_time_left_is_shown(trainee: Any, world: LearningWorld) -> None:
    world.quiz.time_limit = 20
    db.session.commit()
    attempt = start(trainee, world)
    html = trainee.get(f"/attempts/{attempt.id}").get_data(as_text=True)
    assert 'id="time-left"' in html and re.search(r'data-seconds="1[12]\d\d"', html)
    assert "js/quiz.js" in html


def test_after_the_deadline_saves_are_refused_and_submit_marks_what_was_saved(
    trainee: Any, world: LearningWorld
) -> None:
    world.quiz.time_limit = 10
    db.session.commit()
    attempt = start(trainee, world)
    right = right_responses(attempt.questions)
    choice = str(position_of(attempt, "multiple_choice"))
    trainee.post(
        f"/attempts/{attempt.id}/save", data=form_data({choice: right[choice]}, attempt.questions)
    )
    attempt.deadline_at = utcnow() - timedelta(minutes=2)
    db.session.commit()

    refused = trainee.post(
        f"/attempts/{attempt.id}/save",
        data=form_data(right, attempt.questions),
        headers={"HX-Request": "true"},
    )
    assert "time limit has passed" in refused.get_data(as_text=True)
    submitted = trainee.post(
        f"/attempts/{attempt.id}/submit",
        data=form_data(right, attempt.questions),
        follow_redirects=True,
    )
    html = submitted.get_data(as_text=True)
    assert "only the answers saved before it were marked" in html
    assert "1 / 7" in html
    (only,) = attempts_of(world)
    assert only.responses == {choice: right[choice]}


def test_an_overdue_attempt_is_closed_when_next_opened(trainee: Any, world: LearningWorld) -> None:
    world.quiz.time_limit = 10
    db.session.commit()
    attempt = start(trainee, world)
    right = right_responses(attempt.questions)
    trainee.post(f"/attempts/{attempt.id}/save", data=form_data(right, attempt.questions))
    attempt.deadline_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    html = trainee.get(f"/attempts/{attempt.id}").get_data(as_text=True)
    assert "The time ran out" in html and "<fieldset" not in html and "6 / 7" in html
    (only,) = attempts_of(world)
    assert only.status == "submitted"


# Tampering ------------------------------------------------------------------------------------


def test_edited_form_fields_cannot_change_the_grade(trainee: Any, world: LearningWorld) -> None:
    attempt = start(trainee, world)
    choice = position_of(attempt, "multiple_choice")
    wrong_choice = next(
        i for i, a in enumerate(attempt.questions[choice]["answers"]) if a["fraction"] == 0
    )
    answers = position_of(attempt, "multiple_answer")
    matching = position_of(attempt, "matching")
    data = {
        "answers": "1",
        f"q{choice}": [str(wrong_choice)],
        f"q{answers}": ["0", "0", "0", "1", "1", "7", "-1", "x"],  # repeats and bad indexes
        f"q{matching}-0": "99",
        f"q{matching}-3": "0",  # no such left item
        "q99": "0",  # no such question
        "score": "7",
        "percent": "100",
        "passed": "1",
        "marks": '{"0": {"score": 1}}',
        f"q{choice}-score": "1",
    }
    trainee.post(f"/attempts/{attempt.id}/submit", data=data)
    (only,) = attempts_of(world)
    assert set(only.responses) == {str(choice), str(answers)}
    assert sorted(only.responses[str(answers)]) == [0, 1]
    expected = 0.0
    for i in (0, 1):
        expected += only.questions[answers]["answers"][i]["fraction"]
    expected = min(1.0, max(0.0, expected))
    assert float(only.score) == pytest.approx(round(expected, 3))
    assert only.marks[str(choice)]["score"] == 0.0 and only.passed is None


# Marking essays -------------------------------------------------------------------------------


def test_the_instructor_marks_the_essay_and_the_course_completes(
    client: Any, world: LearningWorld
) -> None:
    finish_other_requirements(world)
    db.session.commit()
    client.login(world.trainee)
    attempt = start(client, world)
    client.post(
        f"/attempts/{attempt.id}/submit",
        data=form_data(right_responses(attempt.questions), attempt.questions),
    )
    assert completion_of(world) is None
    essay = position_of(attempt, "essay")

    client.login(world.instructor)
    client.use_language("en")
    review = client.get(f"/attempts/{attempt.id}").get_data(as_text=True)
    assert 'id="grade"' in review and world.trainee.name in review
    page = client.get(f"/attempts/{attempt.id}/grade")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "回应性照护是及时" in html and f'name="score_{essay}"' in html

    bad = client.post(f"/attempts/{attempt.id}/grade", data={f"score_{essay}": "1.5"})
    assert bad.status_code == 422
    done = client.post(
        f"/attempts/{attempt.id}/grade",
        data={f"score_{essay}": "0.8", f"comment_{essay}": "要点清楚。"},
        follow_redirects=True,
    )
    html = done.get_data(as_text=True)
    assert "The marks have been saved." in html and "Passed" in html and "要点清楚。" in html
    db.session.expire_all()
    graded = db.session.get(QuizAttempt, attempt.id)
    assert graded is not None and graded.passed is True and not graded.pending_review
    assert str(graded.percent) == "97.14"
    assert completion_of(world) is not None

    client.login(world.trainee)
    client.use_language("en")
    review = client.get(f"/attempts/{attempt.id}").get_data(as_text=True)
    assert "Passed" in review and "要点清楚。" in review and "6.8 / 7" in review


# Speed ----------------------------------------------------------------------------------------


def test_attempt_pages_run_a_fixed_number_of_queries(
    trainee: Any, world: LearningWorld, count_queries: Any
) -> None:
    attempt = start(trainee, world)
    with count_queries as small:
        assert trainee.get(f"/attempts/{attempt.id}").status_code == 200
    big_gift = "\n\n".join(f"::题{i}:: 题目{i} {{=对 ~错 ~也错}}" for i in range(40))
    big = quiz_with(
        world, big_gift + "\n\n::配对:: 配对 {=a -> 1 =b -> 2 =c -> 3}\n\n::论述:: 论述 {}"
    )
    db.session.commit()
    response = trainee.post(f"/quizzes/{big.id}/start")
    big_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with count_queries as large:
        assert trainee.get(f"/attempts/{big_id}").status_code == 200
    assert large.count == small.count
    trainee.post(f"/attempts/{attempt.id}/submit")
    trainee.post(f"/attempts/{big_id}/submit")
    quiz_id, attempt_id = world.quiz.id, attempt.id
    db.session.expunge_all()  # nothing cached from the test, as in a real request
    with count_queries as review_small:
        trainee.get(f"/attempts/{attempt_id}")
    with count_queries as review_large:
        trainee.get(f"/attempts/{big_id}")
    assert review_small.count == review_large.count
    with count_queries as quiz_page:
        trainee.get(f"/quizzes/{quiz_id}")
    for _ in range(2):
        other = UserFactory(roles=["trainee"])
        db.session.add(QuizAttempt(quiz_id=quiz_id, user_id=other.id, number=1, questions=[]))
    db.session.commit()
    db.session.expunge_all()
    with count_queries as quiz_page_again:
        trainee.get(f"/quizzes/{quiz_id}")
    assert quiz_page_again.count == quiz_page.count
