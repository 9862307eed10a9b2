"""Taking a quiz: start (or resume) an attempt, save answers, submit once, mark essays.

An attempt keeps a snapshot of the questions the trainee was shown: ``Question.to_dict()`` in
display order, plus ``"ref"`` (the index in ``Quiz.questions``), ``"points"`` and, for
matching, ``"choices"`` (the right-hand items in display order). Marks are only ever
computed here, on the server, from that snapshot and the stored responses.

Two database rules make the flow safe under double clicks, two tabs and several servers: a
partial unique index allows one attempt in progress per person and quiz (a concurrent start
finds the other one), and submitting is ``UPDATE ... WHERE status = 'in_progress'`` (only the
request whose update changed the row marks it). Services flush; the caller commits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, joinedload

from lms.assessments.models import AttemptStatus, QuizAttempt
from lms.assessments.scoring import MANUAL_KINDS, UNMARKED_KINDS, mark_all, totals
from lms.audit.services import record
from lms.auth.models import User
from lms.auth.roles import Role
from lms.catalog.models import Course, Module, Quiz
from lms.catalog.models.course import CourseStatus
from lms.db import utcnow
from lms.extensions import db
from lms.learning.access import is_enrolled_in_course
from lms.learning.completion import recompute_course
from lms.learning.policy import teaches_person
from lms.validation import ValidationError

#: Saves and answers sent this long after the deadline still count (network latency).
GRACE = timedelta(seconds=30)
#: What each marked question is worth.
POINTS = 1.0


# Loading --------------------------------------------------------------------------------------


def get_quiz(quiz_id: int) -> Quiz | None:
    """The quiz with its module and course (and the course's owners), in one query."""
    return db.session.scalar(
        sa.select(Quiz)
        .join(Quiz.module)
        .join(Module.course)
        .options(
            joinedload(Quiz.module)
            .joinedload(Module.course)
            .options(defer(Course.search_text), joinedload(Course.owners)),
        )
        .where(Quiz.id == quiz_id)
    )


def get_attempt(attempt_id: int) -> QuizAttempt | None:
    """The attempt with its person, quiz, module and course, in one query (the quiz's source
    and questions are left out: an attempt shows its own snapshot)."""
    return db.session.scalar(
        sa.select(QuizAttempt)
        .options(
            joinedload(QuizAttempt.user),
            joinedload(QuizAttempt.graded_by),
            joinedload(QuizAttempt.quiz)
            .options(defer(Quiz.source), defer(Quiz.questions))
            .joinedload(Quiz.module)
            .joinedload(Module.course)
            .options(defer(Course.search_text), joinedload(Course.owners)),
        )
        .where(QuizAttempt.id == attempt_id)
    )


def attempts_of(user_id: int, quiz_id: int) -> list[QuizAttempt]:
    """A person's attempts at a quiz, first to last."""
    return list(
        db.session.scalars(
            sa.select(QuizAttempt)
            .where(QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == quiz_id)
            .order_by(QuizAttempt.number)
        )
    )


def quiz_is_open(quiz: Quiz) -> bool:
    """Whether trainees may see and take the quiz: current, in a current module of a
    published course."""
    module = quiz.module
    return (
        not quiz.archived and not module.archived and module.course.status == CourseStatus.PUBLISHED
    )


def attempts_left(quiz: Quiz, attempts: list[QuizAttempt]) -> int | None:
    """How many more attempts may be started; None when unlimited."""
    if quiz.max_attempts == 0:
        return None
    return max(0, quiz.max_attempts - len(attempts))


# Permission -----------------------------------------------------------------------------------


def can_preview_quiz(actor: User, quiz: Quiz) -> bool:
    """Administrators and the course's owners see the questions with their right answers."""
    if actor.has_role(Role.ADMIN):
        return True
    return actor.has_role(Role.INSTRUCTOR) and quiz.module.course.is_owned_by(actor)


def can_grade(actor: User, attempt: QuizAttempt) -> bool:
    """Administrators, the instructors teaching the person and the course's owners mark
    essays."""
    if actor.has_role(Role.ADMIN):
        return True
    if not actor.has_role(Role.INSTRUCTOR):
        return False
    return attempt.quiz.module.course.is_owned_by(actor) or teaches_person(actor, attempt.user_id)


# The snapshot ---------------------------------------------------------------------------------


def _in_category(question: dict[str, Any], category: str) -> bool:
    name = question.get("category", "")
    return name == category or name.startswith(category + "/")


def draw_questions(quiz: Quiz, rng: random.Random) -> list[tuple[int, dict[str, Any]]]:
    """(index in ``Quiz.questions``, question) of the questions an attempt shows, in order.

    Without a ``draw`` every question, descriptions included; with one, ``count`` questions
    picked at random from each category (or its subcategories), kept in file order unless
    the quiz shuffles. A question is drawn once even if two categories name it.
    """
    questions = list(enumerate(quiz.questions))
    if quiz.draw:
        chosen: set[int] = set()
        for rule in quiz.draw:
            pool = [
                i
                for i, q in questions
                if i not in chosen
                and q["kind"] not in UNMARKED_KINDS
                and _in_category(q, rule["category"])
            ]
            chosen.update(rng.sample(pool, min(int(rule["count"]), len(pool))))
        questions = [(i, q) for i, q in questions if i in chosen]
    if quiz.shuffle_questions:
        rng.shuffle(questions)
    return questions


def snapshot_question(
    ref: int, question: dict[str, Any], shuffle_answers: bool, rng: random.Random
) -> dict[str, Any]:
    """The question as an attempt keeps it, answers in display order.

    Choice answers are shuffled when the quiz says so; the right-hand items of a matching
    question are always shown out of their pairing order (shuffled, or sorted when the quiz
    does not shuffle), else the order would give the answer away.
    """
    item = {**question, "answers": [dict(a) for a in question.get("answers", [])]}
    item["ref"] = ref
    item["points"] = 0.0 if question["kind"] in UNMARKED_KINDS else POINTS
    if shuffle_answers and question["kind"] in ("multiple_choice", "multiple_answer"):
        rng.shuffle(item["answers"])
    if question["kind"] == "matching":
        choices = list(dict.fromkeys(a["match"] for a in item["answers"]))
        if shuffle_answers:
            rng.shuffle(choices)
        else:
            choices.sort()
        item["choices"] = choices
    return item


def questions_per_attempt(quiz: Quiz) -> int:
    """How many questions an attempt shows (a draw picks the same number every time)."""
    return len(draw_questions(quiz, random.Random(0)))  # noqa: S311  (only counted)


def build_snapshot(quiz: Quiz, rng: random.Random | None = None) -> list[dict[str, Any]]:
    """The questions of a new attempt (see :func:`draw_questions`)."""
    rng = rng or random.SystemRandom()
    return [
        snapshot_question(ref, question, quiz.shuffle_answers, rng)
        for ref, question in draw_questions(quiz, rng)
    ]


# Starting -------------------------------------------------------------------------------------


def _in_progress(user_id: int, quiz_id: int) -> QuizAttempt | None:
    return db.session.scalar(
        sa.select(QuizAttempt).where(
            QuizAttempt.user_id == user_id,
            QuizAttempt.quiz_id == quiz_id,
            QuizAttempt.status == AttemptStatus.IN_PROGRESS,
        )
    )


def start_attempt(
    quiz_id: int,
    user_id: int,
    *,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> QuizAttempt:
    """The person's attempt in progress, or a new one.

    An attempt whose time ran out is closed and marked first. Refused (``ValidationError``)
    when the quiz is not open, the person is not enrolled in its course, or no attempts are
    left. Two concurrent starts make one attempt: the loser of the unique index gets the
    winner's.
    """
    now = now or utcnow()
    quiz = get_quiz(quiz_id)
    if quiz is None or not quiz_is_open(quiz):
        raise ValidationError(_("This quiz is not available."))
    course_id = quiz.module.course_id
    if not is_enrolled_in_course(user_id, course_id):
        raise ValidationError(_("Only trainees enrolled in this course can take its quizzes."))
    current = _in_progress(user_id, quiz_id)
    if current is not None and not close_if_overdue(current, now=now):
        return current
    used, last = db.session.execute(
        sa.select(sa.func.count(QuizAttempt.id), sa.func.max(QuizAttempt.number)).where(
            QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == quiz_id
        )
    ).one()
    if quiz.max_attempts and used >= quiz.max_attempts:
        raise ValidationError(
            _("You have used all %(num)d attempts at this quiz.", num=quiz.max_attempts)
        )
    attempt = QuizAttempt(
        quiz_id=quiz_id,
        user_id=user_id,
        number=(last or 0) + 1,
        status=AttemptStatus.IN_PROGRESS,
        started_at=now,
        deadline_at=now + timedelta(minutes=quiz.time_limit) if quiz.time_limit else None,
        questions=build_snapshot(quiz, rng),
        responses={},
        marks={},
    )
    return add_attempt(attempt)


def add_attempt(attempt: QuizAttempt) -> QuizAttempt:
    """Insert a new attempt, or return the one in progress that another request inserted
    between our look-up and our insert (the unique index refuses a second one)."""
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:
        current = _in_progress(attempt.user_id, attempt.quiz_id)
        if current is None:
            raise ValidationError(_("The quiz could not be started; please try again.")) from None
        return current
    return attempt


# Answering ------------------------------------------------------------------------------------


def is_overdue(attempt: QuizAttempt, now: datetime | None = None) -> bool:
    """Whether the attempt's time (and its grace) has run out."""
    if attempt.deadline_at is None:
        return False
    return (now or utcnow()) > attempt.deadline_at + GRACE


def seconds_left(attempt: QuizAttempt, now: datetime | None = None) -> int | None:
    """Whole seconds until the deadline (0 when past); None without a time limit."""
    if attempt.deadline_at is None:
        return None
    return max(0, int((attempt.deadline_at - (now or utcnow())).total_seconds()))


def save_responses(
    attempt_id: int, user_id: int, responses: dict[str, Any], *, now: datetime | None = None
) -> QuizAttempt:
    """Store the person's answers so far (they replace what was saved).

    Refused when the attempt is not the person's, is no longer in progress, or its time has
    run out. ``responses`` must already be cleaned against the snapshot (see
    :func:`lms.assessments.quiz_forms.responses_from_form`).
    """
    now = now or utcnow()
    attempt = db.session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != user_id:
        raise ValidationError(_("This attempt is not yours."))
    if is_overdue(attempt, now):
        raise ValidationError(
            _("The time limit has passed: your answers were not saved after the deadline.")
        )
    result = db.session.execute(
        sa.update(QuizAttempt)
        .where(
            QuizAttempt.id == attempt_id,
            QuizAttempt.user_id == user_id,
            QuizAttempt.status == AttemptStatus.IN_PROGRESS,
        )
        .values(responses=responses, saved_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(attempt)
    if result.rowcount != 1:
        raise ValidationError(_("This attempt has already been submitted."))
    return attempt


def _apply_marks(attempt: QuizAttempt, marks: dict[str, Any], pass_mark: int) -> None:
    """Set the marks and the totals. While an essay awaits its mark, ``score`` counts what
    is marked and ``percent``/``passed`` stay empty."""
    result = totals(marks, pass_mark)
    attempt.marks = marks
    attempt.score = result.score
    attempt.max_score = result.max_score
    attempt.pending_review = result.pending_review
    attempt.percent = None if result.pending_review else result.percent
    attempt.passed = result.passed


def _course_id(attempt: QuizAttempt) -> int:
    return db.session.scalar(
        sa.select(Module.course_id)
        .join(Quiz, Quiz.module_id == Module.id)
        .where(Quiz.id == attempt.quiz_id)
    )


def _close(attempt: QuizAttempt, now: datetime) -> bool:
    """Submit and mark, once: True only for the call whose conditional update won."""
    result = db.session.execute(
        sa.update(QuizAttempt)
        .where(QuizAttempt.id == attempt.id, QuizAttempt.status == AttemptStatus.IN_PROGRESS)
        .values(status=AttemptStatus.SUBMITTED, submitted_at=now)
        .execution_options(synchronize_session=False)
    )
    # Read the row again: its responses as they stand now that it is no longer in progress.
    db.session.refresh(attempt)
    if result.rowcount != 1:
        return False
    pass_mark = db.session.scalar(sa.select(Quiz.pass_mark).where(Quiz.id == attempt.quiz_id))
    _apply_marks(attempt, mark_all(attempt.questions, attempt.responses), pass_mark or 0)
    db.session.flush()
    recompute_course(attempt.user_id, _course_id(attempt))
    return True


def submit_attempt(
    attempt_id: int,
    user_id: int,
    responses: dict[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> bool:
    """Submit the person's attempt and mark it; True if this call submitted it.

    ``responses`` (the form sent with the submit button) are saved first when the time has
    not run out; after the deadline only what was saved in time is marked. A second submit
    (double click, another tab) changes nothing and returns False.
    """
    now = now or utcnow()
    attempt = db.session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != user_id:
        raise ValidationError(_("This attempt is not yours."))
    if responses is not None and attempt.in_progress and not is_overdue(attempt, now):
        db.session.execute(
            sa.update(QuizAttempt)
            .where(QuizAttempt.id == attempt_id, QuizAttempt.status == AttemptStatus.IN_PROGRESS)
            .values(responses=responses, saved_at=now)
            .execution_options(synchronize_session=False)
        )
    return _close(attempt, now)


def close_if_overdue(attempt: QuizAttempt, *, now: datetime | None = None) -> bool:
    """Submit and mark an attempt in progress whose time has run out; True if it did."""
    now = now or utcnow()
    if not attempt.in_progress or not is_overdue(attempt, now):
        return False
    return _close(attempt, now)


# Marking essays -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EssayGrade:
    """An instructor's mark of one essay: ``score`` None leaves it as it is."""

    score: Decimal | None
    comment: str = ""


def essay_positions(attempt: QuizAttempt) -> list[int]:
    """Positions (in the snapshot) of the attempt's essays."""
    return [i for i, q in enumerate(attempt.questions) if q["kind"] in MANUAL_KINDS]


def _grade_state(attempt: QuizAttempt) -> dict[str, Any]:
    """What the audit log keeps of a grade."""
    essays = {
        str(i): {
            "score": attempt.marks.get(str(i), {}).get("score"),
            "comment": attempt.marks.get(str(i), {}).get("comment", ""),
        }
        for i in essay_positions(attempt)
    }
    return {
        "essays": essays,
        "score": None if attempt.score is None else str(attempt.score),
        "percent": None if attempt.percent is None else str(attempt.percent),
        "passed": attempt.passed,
        "pending_review": attempt.pending_review,
    }


def grade_essays(
    attempt_id: int, actor: User, grades: dict[int, EssayGrade], *, now: datetime | None = None
) -> QuizAttempt:
    """Mark the essays of a submitted attempt (again, if need be).

    Scores go from 0 to the question's points, decimals allowed. Once every essay has a
    mark, the attempt's totals and pass are set and it leaves the review queue; a later
    change re-marks it and recomputes the person's completion. Audited as ``attempt.graded``.
    """
    attempt = db.session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.in_progress:
        raise ValidationError(_("Only submitted attempts can be marked."))
    marks = {key: dict(value) for key, value in attempt.marks.items()}
    errors: dict[str, str] = {}
    positions = set(essay_positions(attempt))
    for position, grade in grades.items():
        if position not in positions:
            errors[""] = _("Only essays are marked by hand.")
            continue
        mark = marks[str(position)]
        top = Decimal(repr(mark["max"]))
        if grade.score is not None and not 0 <= grade.score <= top:
            errors[f"score_{position}"] = _(
                "Give a mark from 0 to %(max)s.", max=f"{top.normalize():f}"
            )
            continue
        if grade.score is not None:
            mark["score"] = float(grade.score.quantize(Decimal("0.001")))
        mark["comment"] = grade.comment.strip()
    if errors:
        raise ValidationError(errors)
    before = _grade_state(attempt)
    pass_mark = db.session.scalar(sa.select(Quiz.pass_mark).where(Quiz.id == attempt.quiz_id))
    _apply_marks(attempt, marks, pass_mark or 0)
    if not attempt.pending_review:
        attempt.graded_at = now or utcnow()
        attempt.graded_by_id = actor.id
    after = _grade_state(attempt)
    record(actor.id, "attempt.graded", "quiz_attempt", attempt.id, before, after)
    db.session.flush()
    recompute_course(attempt.user_id, _course_id(attempt), actor_id=actor.id)
    return attempt
