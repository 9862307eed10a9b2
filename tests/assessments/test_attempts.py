"""The attempt services: start or resume, save, submit once, the time limit, draws, essays."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from lms.assessments import attempts as service
from lms.assessments.gift import parse_gift
from lms.assessments.models import PracticalResult, QuizAttempt
from lms.audit.models import AuditEntry
from lms.catalog.models import Quiz
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import CourseCompletion, LessonProgress
from lms.validation import ValidationError
from tests.builders import LearningWorld
from tests.factories import UserFactory


def right_responses(questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Full-mark answers to an attempt's snapshot (an essay gets some text)."""
    responses: dict[str, Any] = {}
    for position, q in enumerate(questions):
        answers = q["answers"]
        key = str(position)
        if q["kind"] == "multiple_choice":
            responses[key] = next(i for i, a in enumerate(answers) if a["fraction"] == 1)
        elif q["kind"] == "multiple_answer":
            responses[key] = [i for i, a in enumerate(answers) if a["fraction"] > 0]
        elif q["kind"] == "true_false" or q["kind"] == "short_answer":
            responses[key] = next(a["text"] for a in answers if a["fraction"] == 1)
        elif q["kind"] == "numerical":
            responses[key] = f"{answers[0]['value']:g}"
        elif q["kind"] == "matching":
            responses[key] = {
                str(i): q["choices"].index(a["match"]) for i, a in enumerate(answers) if a["text"]
            }
        elif q["kind"] == "essay":
            responses[key] = "回应性照护是及时、恰当地回应婴幼儿的需要。"
    return responses


def wrong_responses(questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Answers worth nothing (the essay left blank)."""
    responses: dict[str, Any] = {}
    for position, q in enumerate(questions):
        key = str(position)
        if q["kind"] == "multiple_choice":
            responses[key] = next(i for i, a in enumerate(q["answers"]) if a["fraction"] <= 0)
        elif q["kind"] == "true_false":
            responses[key] = next(a["text"] for a in q["answers"] if a["fraction"] == 0)
        elif q["kind"] in ("short_answer", "numerical"):
            responses[key] = "999"
    return responses


def position_of(attempt: QuizAttempt, kind: str) -> int:
    return next(i for i, q in enumerate(attempt.questions) if q["kind"] == kind)


def finish_other_requirements(world: LearningWorld) -> None:
    """Complete the world course's lessons and pass its practical."""
    now = utcnow()
    for lesson in world.lessons:
        db.session.add(
            LessonProgress(user_id=world.trainee.id, lesson_id=lesson.id, completed_at=now)
        )
    db.session.add(
        PracticalResult(
            practical_id=world.practical.id,
            user_id=world.trainee.id,
            assessor_id=world.instructor.id,
            cohort_id=world.cohort.id,
            observed_on=now.date(),
            scores={"steps": 2, "time": 1},
            total=3,
            max_total=4,
            passed=True,
        )
    )
    db.session.flush()


def completion_of(world: LearningWorld) -> CourseCompletion | None:
    return db.session.scalar(
        sa.select(CourseCompletion).where(
            CourseCompletion.user_id == world.trainee.id,
            CourseCompletion.course_id == world.course.id,
        )
    )


def quiz_with(world: LearningWorld, gift: str, **settings: Any) -> Quiz:
    parsed = parse_gift(gift)
    assert parsed.ok, parsed.problems
    quiz = Quiz(
        module=world.modules[1],
        key=f"extra{len(gift)}",
        title="附加测验",
        position=2,
        source=gift,
        source_hash="2" * 64,
        questions=[q.to_dict() for q in parsed.questions],
        **settings,
    )
    db.session.add(quiz)
    db.session.flush()
    return quiz


# Starting -------------------------------------------------------------------------------------


def test_start_snapshots_every_question(learning_world: LearningWorld) -> None:
    world = learning_world
    attempt = service.start_attempt(world.quiz.id, world.trainee.id)
    assert attempt.in_progress and attempt.number == 1 and attempt.deadline_at is None
    assert len(attempt.questions) == 7
    assert sorted(q["ref"] for q in attempt.questions) == list(range(7))
    assert all(q["points"] == 1.0 for q in attempt.questions)
    matching = attempt.questions[position_of(attempt, "matching")]
    assert sorted(matching["choices"]) == sorted(["抬头", "独坐", "独站"])
    # The quiz file changing later does not change the attempt.
    world.quiz.questions = world.quiz.questions[:1]
    db.session.flush()
    db.session.refresh(attempt)
    assert len(attempt.questions) == 7


def test_starting_again_resumes_the_attempt_in_progress(learning_world: LearningWorld) -> None:
    world = learning_world
    first = service.start_attempt(world.quiz.id, world.trainee.id)
    again = service.start_attempt(world.quiz.id, world.trainee.id)
    assert again.id == first.id
    count = db.session.scalar(sa.select(sa.func.count(QuizAttempt.id)))
    assert count == 1


def test_the_database_refuses_a_second_attempt_in_progress(learning_world: LearningWorld) -> None:
    world = learning_world
    service.start_attempt(world.quiz.id, world.trainee.id)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(
            QuizAttempt(quiz_id=world.quiz.id, user_id=world.trainee.id, number=2, questions=[])
        )


def test_a_start_that_loses_the_race_continues_the_winners_attempt(
    learning_world: LearningWorld,
) -> None:
    world = learning_world
    winner = service.start_attempt(world.quiz.id, world.trainee.id)
    # What the losing request built after finding no attempt in progress.
    loser = QuizAttempt(
        quiz_id=world.quiz.id,
        user_id=world.trainee.id,
        number=2,
        questions=service.build_snapshot(world.quiz),
    )
    assert service.add_attempt(loser) is winner
    assert db.session.scalar(sa.select(sa.func.count(QuizAttempt.id))) == 1


def test_a_time_limit_sets_the_deadline(learning_world: LearningWorld) -> None:
    world = learning_world
    world.quiz.time_limit = 20
    now = utcnow()
    attempt = service.start_attempt(world.quiz.id, world.trainee.id, now=now)
    assert attempt.deadline_at == now + timedelta(minutes=20)
    assert service.seconds_left(attempt, now) == 20 * 60


def test_only_enrolled_trainees_start(learning_world: LearningWorld, english: None) -> None:
    world = learning_world
    stranger = UserFactory(roles=["trainee"])
    with pytest.raises(ValidationError, match="enrolled"):
        service.start_attempt(world.quiz.id, stranger.id)
    world.enrolment.status = "withdrawn"
    db.session.flush()
    with pytest.raises(ValidationError, match="enrolled"):
        service.start_attempt(world.quiz.id, world.trainee.id)


@pytest.mark.parametrize("closed", ["quiz", "module", "course"])
def test_closed_quizzes_cannot_be_started(
    learning_world: LearningWorld, english: None, closed: str
) -> None:
    world = learning_world
    if closed == "quiz":
        world.quiz.archived = True
    elif closed == "module":
        world.modules[0].archived = True
    else:
        world.course.status = "draft"
    db.session.flush()
    with pytest.raises(ValidationError, match="not available"):
        service.start_attempt(world.quiz.id, world.trainee.id)


def test_attempts_are_limited(learning_world: LearningWorld, english: None) -> None:
    world = learning_world
    world.quiz.max_attempts = 2
    for number in (1, 2):
        attempt = service.start_attempt(world.quiz.id, world.trainee.id)
        assert attempt.number == number
        assert service.submit_attempt(attempt.id, world.trainee.id)
    with pytest.raises(ValidationError, match="used all 2 attempts"):
        service.start_attempt(world.quiz.id, world.trainee.id)


def test_no_limit_when_max_attempts_is_zero(learning_world: LearningWorld) -> None:
    world = learning_world
    world.quiz.max_attempts = 0
    for _ in range(4):
        attempt = service.start_attempt(world.quiz.id, world.trainee.id)
        service.submit_attempt(attempt.id, world.trainee.id)
    assert attempt.number == 4
    assert (
        service.attempts_left(world.quiz, service.attempts_of(world.trainee.id, world.quiz.id))
        is None
    )


# Saving and submitting ------------------------------------------------------------------------


def test_submit_marks_everything_but_the_essay(learning_world: LearningWorld) -> None:
    world = learning_world
    attempt = service.start_attempt(world.quiz.id, world.trainee.id)
    service.save_responses(attempt.id, world.trainee.id, right_responses(attempt.questions))
    assert service.submit_attempt(attempt.id, world.trainee.id)
    assert attempt.status == "submitted" and attempt.submitted_at is not None
    assert attempt.score == Decimal("6.000") and attempt.max_score == Decimal("7.000")
    assert attempt.pending_review is True
    assert attempt.passed is None and attempt.percent is None
    essay = str(position_of(attempt, "essay"))
    assert attempt.marks[essay] == {"score": None, "max": 1.0, "feedback": "", "comment": ""}
    choice = attempt.marks[str(position_of(attempt, "multiple_choice"))]
    assert choice["score"] == 1.0 and choice["feedback"] == "正确。"


def test_a_quiz_without_essays_passes_or_fails_at_once(learning_world: LearningWorld) -> None:
    world = learning_world
    quiz = quiz_with(world, "一 {=对 ~错}\n\n二 {T}\n\n三 {#5}", pass_mark=60)
    attempt = service.start_attempt(quiz.id, world.trainee.id)
    responses = right_responses(attempt.questions)
    responses.pop(str(position_of(attempt, "numerical")))
    service.submit_attempt(attempt.id, world.trainee.id, responses)
    assert attempt.percent == Decimal("66.67") and attempt.passed is True
    assert attempt.pending_review is False


def test_double_submit_marks_once(learning_world: LearningWorld) -> None:
    world = learning_world
    attempt = service.start_attempt(world.quiz.id, world.trainee.id)
    right = right_responses(attempt.questions)
    assert service.submit_attempt(attempt.id, world.trainee.id, right) is True
    marks, submitted_at = attempt.marks, attempt.submitted_at
    # The second tab sends other answers: nothing changes.
    assert service.submit_attempt(attempt.id, world.trainee.id, {}) is False
    assert attempt.marks == marks and attempt.submitted_at == submitted_at
    assert attempt.responses == right
    with pytest.raises(ValidationError):
        service.save_responses(attempt.id, world.trainee.id, {})


def test_the_conditional_update_decides_even_with_a_stale_object(
    learning_world: LearningWorld,
) -> None:
    world = learning_world
    attempt = service.start_attempt(world.quiz.id, world.trainee.id)
    db.session.flush()
    # Another request submits the attempt behind this session's back.
    db.session.execute(
        sa.update(QuizAttempt)
        .where(QuizAttempt.id == attempt.id)
        .values(status="submitted", submitted_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    assert attempt.in_progress  # what this session still believes
    assert (
        service.submit_attempt(attempt.id, world.trainee.id, right_responses(attempt.questions))
        is False
    )
    assert not attempt.in_progress and attempt.marks == {} and attempt.responses == {}


def test_saves_are_refused_after_the_deadline(learning_world: LearningWorld, english: None) -> None:
    world = learning_world
    world.quiz.time_limit = 10
    attempt = service.start_attempt(world.quiz.id, world.trainee.id)
    right = right_responses(attempt.questions)
    early = {
        k: v for k, v in right.items() if attempt.questions[int(k)]["kind"] == "multiple_choice"
    }
    service.save_responses(attempt.id, world.trainee.id, early)
    attempt.deadline_at = utcnow() - timedelta(seconds=10)  # within the grace
    db.session.flush()
    service.save_responses(attempt.id, world.trainee.id, early)
    attempt.deadline_at = utcnow() - timedelta(minutes=1)
    db.session.flush()
    with pytest.raises(ValidationError, match="time limit"):
        service.save_responses(attempt.id, world.trainee.id, right)
    assert service.submit_attempt(attempt.id, world.trainee.id, right)
    assert attempt.responses == early
    assert attempt.score == Decimal("1.000")


def test_an_overdue_attempt_is_closed_when_opened(learning_world: LearningWorld) -> None:
    world = learning_world
    world.quiz.time_limit = 5
    attempt = service.start_attempt(world.quiz.id, world.trainee.id)
    service.save_responses(attempt.id, world.trainee.id, right_responses(attempt.questions))
    assert not service.close_if_overdue(attempt)
    attempt.deadline_at = utcnow() - timedelta(minutes=1)
    db.session.flush()
    assert service.close_if_overdue(attempt)
    assert attempt.status == "submitted" and attempt.score == Decimal("6.000")
    # Starting again gives a new attempt, not the closed one.
    again = service.start_attempt(world.quiz.id, world.trainee.id)
    assert again.id != attempt.id and again.number == 2


def test_only_the_owner_saves_and_submits(learning_world: LearningWorld) -> None:
    world = learning_world
    other = UserFactory(roles=["trainee"])
    attempt = service.start_attempt(world.quiz.id, world.trainee.id)
    with pytest.raises(ValidationError):
        service.save_responses(attempt.id, other.id, {"0": 0})
    with pytest.raises(ValidationError):
        service.submit_attempt(attempt.id, other.id)
    assert attempt.in_progress and attempt.responses == {}


# Draws and shuffles ---------------------------------------------------------------------------

DRAW_GIFT = "\n\n".join(
    [
        "$CATEGORY: 甲",
        *(f"::甲{i}:: 甲题{i} {{=对{i} ~错{i}a ~错{i}b ~错{i}c}}" for i in range(6)),
        "$CATEGORY: 甲/子类",
        "::甲子:: 子类题 {~%50%对a ~%50%对b ~错c}",
        "$CATEGORY: 乙",
        *(f"::乙{i}:: 乙题{i} {{=甲{i} -> 一 =乙{i} -> 二 =丙{i} -> 三}}" for i in range(3)),
        "说明：下面没有题目了。",
    ]
)


def test_a_draw_picks_the_right_number_and_marks_right(learning_world: LearningWorld) -> None:
    world = learning_world
    quiz = quiz_with(
        world,
        DRAW_GIFT,
        draw=[{"category": "甲", "count": 3}, {"category": "乙", "count": 2}],
        shuffle_questions=True,
        shuffle_answers=True,
    )
    assert service.questions_per_attempt(quiz) == 5
    seen_orders = set()
    for seed in range(12):
        questions = service.build_snapshot(quiz, random.Random(seed))
        categories = [q["category"] for q in questions]
        assert len(questions) == 5
        assert sum(c.startswith("甲") for c in categories) == 3 and categories.count("乙") == 2
        assert len({q["ref"] for q in questions}) == 5
        assert all(q["kind"] != "description" for q in questions)
        seen_orders.add(tuple(q["ref"] for q in questions))
        for q in questions:  # the snapshot's answers are the quiz's, reordered
            original = quiz.questions[q["ref"]]
            assert sorted(a["text"] for a in q["answers"]) == sorted(
                a["text"] for a in original["answers"]
            )
    assert len(seen_orders) > 1


def test_shuffled_answers_still_mark_right(learning_world: LearningWorld) -> None:
    world = learning_world
    quiz = quiz_with(world, DRAW_GIFT, shuffle_questions=True, shuffle_answers=True, max_attempts=0)
    orders = set()
    for _ in range(5):
        attempt = service.start_attempt(quiz.id, world.trainee.id)
        assert len(attempt.questions) == 11  # every question, the description too
        orders.add(tuple(a["text"] for a in attempt.questions[0]["answers"]))
        service.submit_attempt(attempt.id, world.trainee.id, right_responses(attempt.questions))
        assert attempt.score == attempt.max_score == Decimal("10.000")
        assert attempt.passed is True
    assert len(orders) > 1


def test_without_shuffling_the_file_order_stays(learning_world: LearningWorld) -> None:
    world = learning_world
    quiz = quiz_with(world, DRAW_GIFT, shuffle_questions=False, shuffle_answers=False)
    questions = service.build_snapshot(quiz)
    assert [q["ref"] for q in questions] == list(range(11))
    assert [a["text"] for a in questions[0]["answers"]] == ["对0", "错0a", "错0b", "错0c"]
    # Matching choices are never shown in pairing order.
    assert questions[7]["choices"] == sorted(["一", "二", "三"])


# Marking essays -------------------------------------------------------------------------------


def submitted_attempt(world: LearningWorld, responses: str = "right") -> QuizAttempt:
    attempt = service.start_attempt(world.quiz.id, world.trainee.id)
    given = (
        right_responses(attempt.questions)
        if responses == "right"
        else wrong_responses(attempt.questions)
    )
    service.submit_attempt(attempt.id, world.trainee.id, given)
    return attempt


def test_marking_the_essay_sets_the_result_and_completes_the_course(
    learning_world: LearningWorld,
) -> None:
    world = learning_world
    finish_other_requirements(world)
    attempt = submitted_attempt(world)
    assert completion_of(world) is None  # the essay still waits
    essay = position_of(attempt, "essay")
    service.grade_essays(
        attempt.id, world.instructor, {essay: service.EssayGrade(Decimal("0.5"), " 不错 ")}
    )
    assert attempt.pending_review is False and attempt.passed is True
    assert attempt.score == Decimal("6.500") and attempt.percent == Decimal("92.86")
    assert attempt.graded_by_id == world.instructor.id and attempt.graded_at is not None
    assert attempt.marks[str(essay)]["score"] == 0.5
    assert attempt.marks[str(essay)]["comment"] == "不错"
    completion = completion_of(world)
    assert completion is not None
    assert [q[0] for q in completion.evidence["quizzes"]] == [world.quiz.id]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "attempt.graded"))
    assert (
        entry is not None
        and entry.entity_id == attempt.id
        and entry.actor_id == world.instructor.id
    )
    assert entry.before["passed"] is None and entry.after["passed"] is True


def test_marking_again_changes_the_grade_and_the_completion(
    learning_world: LearningWorld,
) -> None:
    world = learning_world
    world.quiz.pass_mark = 100
    finish_other_requirements(world)
    attempt = submitted_attempt(world)
    essay = position_of(attempt, "essay")
    service.grade_essays(attempt.id, world.instructor, {essay: service.EssayGrade(Decimal(1))})
    assert attempt.passed is True and completion_of(world) is not None
    service.grade_essays(
        attempt.id, world.instructor, {essay: service.EssayGrade(Decimal("0.75"), "再想想")}
    )
    assert attempt.passed is False and attempt.percent == Decimal("96.43")
    assert completion_of(world) is None
    entries = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "attempt.graded").order_by(AuditEntry.id)
    ).all()
    assert len(entries) == 2
    assert entries[1].before["passed"] is True and entries[1].after["passed"] is False


def test_a_failed_attempt_stays_failed_after_marking(learning_world: LearningWorld) -> None:
    world = learning_world
    attempt = submitted_attempt(world, "wrong")
    essay = position_of(attempt, "essay")
    service.grade_essays(attempt.id, world.instructor, {essay: service.EssayGrade(Decimal(1))})
    assert attempt.passed is False and attempt.percent == Decimal("14.29")


def test_marks_out_of_range_or_on_other_questions_are_refused(
    learning_world: LearningWorld, english: None
) -> None:
    world = learning_world
    attempt = submitted_attempt(world)
    essay = position_of(attempt, "essay")
    with pytest.raises(ValidationError) as error:
        service.grade_essays(attempt.id, world.instructor, {essay: service.EssayGrade(Decimal(2))})
    assert error.value.errors == {f"score_{essay}": "Give a mark from 0 to 1."}
    with pytest.raises(ValidationError):
        service.grade_essays(attempt.id, world.instructor, {essay: service.EssayGrade(Decimal(-1))})
    choice = position_of(attempt, "multiple_choice")
    with pytest.raises(ValidationError, match="Only essays"):
        service.grade_essays(attempt.id, world.instructor, {choice: service.EssayGrade(Decimal(0))})
    assert attempt.pending_review is True
    unsubmitted = quiz_with(world, "一 {}")
    in_progress = service.start_attempt(unsubmitted.id, world.trainee.id)
    with pytest.raises(ValidationError, match="submitted"):
        service.grade_essays(in_progress.id, world.instructor, {0: service.EssayGrade(Decimal(1))})


def test_an_empty_mark_leaves_the_essay_waiting(learning_world: LearningWorld) -> None:
    world = learning_world
    attempt = submitted_attempt(world)
    essay = position_of(attempt, "essay")
    service.grade_essays(attempt.id, world.instructor, {essay: service.EssayGrade(None, "稍后")})
    assert attempt.pending_review is True and attempt.passed is None
    assert attempt.marks[str(essay)]["comment"] == "稍后"
