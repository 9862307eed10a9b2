"""Practical assessments (技能考核): who assesses whom, the pass rule, and recording a result.

An instructor observes a trainee and picks a level of the rubric for every criterion. The
server alone turns those levels into a total and a pass or fail: a total of at least
``pass_points`` and no criterion below ``min_points``. Results are never edited; a correction
is a new result and the latest one counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from lms.assessments import results as practical_results
from lms.assessments.models import Practical, PracticalResult
from lms.assessments.queue import cohort_courses, taught_cohort_ids
from lms.audit.services import record
from lms.auth.models import User
from lms.auth.roles import Role
from lms.extensions import db
from lms.i18n import locale_code
from lms.learning.completion import recompute_course
from lms.learning.models import Enrolment, EnrolmentStatus
from lms.validation import ValidationError


def score_field(key: str) -> str:
    """The form field (and error key) of a criterion's level."""
    return f"score-{key}"


def comment_field(key: str) -> str:
    """The form field of a criterion's comment."""
    return f"comment-{key}"


def criterion_title(criterion: Mapping[str, Any], locale: str) -> str:
    english = locale.startswith("en") and criterion.get("title_en")
    return str(criterion["title_en"] if english else criterion["title"])


def level_label(level: Mapping[str, Any], locale: str) -> str:
    english = locale.startswith("en") and level.get("label_en")
    return str(level["label_en"] if english else level["label"])


@dataclass(frozen=True)
class Outcome:
    total: int
    max_total: int
    passed: bool


def apply_pass_rule(practical: Practical, scores: Mapping[str, int]) -> Outcome:
    """Total, maximum and pass of complete ``scores`` (criterion key -> points)."""
    points = [int(scores[c["key"]]) for c in practical.criteria]
    total = sum(points)
    passed = total >= practical.pass_points and all(p >= practical.min_points for p in points)
    return Outcome(total=total, max_total=practical.max_points, passed=passed)


@dataclass
class Observation:
    """What the assessor saw: a level (its points) per criterion key, and remarks."""

    scores: Mapping[str, int | None]
    observed_on: date | None
    comments: str = ""
    criterion_comments: Mapping[str, str] = field(default_factory=dict)


def _is_owner(actor: User, practical: Practical) -> bool:
    return actor.has_role(Role.INSTRUCTOR) and practical.course.is_owned_by(actor)


def _enrolment_cohorts(practical: Practical) -> sa.Select[tuple[int, int]]:
    """``(user_id, cohort_id)`` of the active enrolments in the practical's course, directly
    or through a programme."""
    courses = cohort_courses()
    return (
        sa.select(Enrolment.user_id, Enrolment.cohort_id)
        .join(courses, courses.c.cohort_id == Enrolment.cohort_id)
        .where(
            Enrolment.status == EnrolmentStatus.ENROLLED,
            courses.c.course_id == practical.course_id,
        )
    )


def _limit_to_teacher(actor: User, practical: Practical, stmt: sa.Select[Any]) -> sa.Select[Any]:
    """Limit enrolments to the cohorts ``actor`` teaches, unless they may assess everyone in
    the course (administrators and the course's owners)."""
    taught = taught_cohort_ids(actor)
    if taught is None or _is_owner(actor, practical):
        return stmt
    return stmt.where(Enrolment.cohort_id.in_(taught))


def assessing_cohort_id(actor: User, practical: Practical, user_id: int) -> int | None:
    """The cohort in which ``actor`` assesses ``user_id`` on ``practical``, or None when they
    may not: the trainee must be actively enrolled in the practical's course (or a programme
    containing it), in a cohort the actor teaches unless the actor is an administrator or
    owns the course."""
    stmt = _enrolment_cohorts(practical).where(Enrolment.user_id == user_id)
    stmt = _limit_to_teacher(actor, practical, stmt)
    row = db.session.execute(stmt.order_by(Enrolment.cohort_id).limit(1)).first()
    return row.cohort_id if row else None


def assesses_practical(actor: User, practical: Practical) -> bool:
    """Whether ``actor`` assesses anyone on ``practical`` (administrators and the course's
    owners always do; instructors when they teach a cohort covering the course)."""
    taught = taught_cohort_ids(actor)
    if taught is None or _is_owner(actor, practical):
        return True
    courses = cohort_courses()
    stmt = (
        sa.select(courses.c.cohort_id)
        .where(courses.c.course_id == practical.course_id, courses.c.cohort_id.in_(taught))
        .limit(1)
    )
    return db.session.scalar(stmt) is not None


def assessable_people(actor: User, practical: Practical) -> sa.Select[tuple[User]]:
    """The people ``actor`` may assess on ``practical``, by name (for pagination)."""
    enrolled = _limit_to_teacher(actor, practical, _enrolment_cohorts(practical))
    ids = enrolled.with_only_columns(Enrolment.user_id)
    return sa.select(User).where(User.id.in_(ids)).order_by(User.name, User.id)


def latest_results_of(practical_id: int, user_ids: list[int]) -> dict[int, PracticalResult]:
    """The result that counts for each of ``user_ids`` on one practical (one query)."""
    found = practical_results.latest_results(user_ids, [practical_id])
    return {user_id: result for (user_id, _practical), result in found.items()}


def results_of(user_id: int, practical_id: int) -> list[PracticalResult]:
    """A person's results on a practical, latest first, with their assessors."""
    stmt = (
        sa.select(PracticalResult)
        .where(PracticalResult.user_id == user_id, PracticalResult.practical_id == practical_id)
        .options(selectinload(PracticalResult.assessor))
        .order_by(PracticalResult.id.desc())
    )
    return list(db.session.scalars(stmt))


def _check(practical: Practical, observation: Observation, today: date) -> dict[str, int]:
    """The points of every criterion, or a ``ValidationError`` naming each problem."""
    allowed = {int(level["points"]) for level in practical.levels}
    errors: dict[str, str] = {}
    scores: dict[str, int] = {}
    for criterion in practical.criteria:
        key = criterion["key"]
        title = criterion_title(criterion, locale_code())
        value = observation.scores.get(key)
        if value is None:
            errors[score_field(key)] = _("Choose a level for “%(criterion)s”.", criterion=title)
        elif value not in allowed:
            errors[score_field(key)] = _(
                "“%(criterion)s”: choose one of the levels of the rubric.", criterion=title
            )
        else:
            scores[key] = value
    if observation.observed_on is None:
        errors["observed_on"] = _("Enter the date of the observation.")
    elif observation.observed_on > today:
        errors["observed_on"] = _("The date of the observation cannot be in the future.")
    if errors:
        raise ValidationError(errors)
    return scores


def record_result(
    actor: User,
    practical: Practical,
    user_id: int,
    observation: Observation,
    *,
    cohort_id: int | None,
    today: date,
) -> PracticalResult:
    """Record a new result (the latest counts), audit it and recompute the trainee's
    completion of the course. The caller has checked that ``actor`` may assess the trainee
    (:func:`assessing_cohort_id`). Flushes, never commits."""
    scores = _check(practical, observation, today)
    outcome = apply_pass_rule(practical, scores)
    keys = {c["key"] for c in practical.criteria}
    remarks = {
        key: text.strip()
        for key, text in observation.criterion_comments.items()
        if key in keys and text.strip()
    }
    result = PracticalResult(
        practical_id=practical.id,
        user_id=user_id,
        assessor_id=actor.id,
        cohort_id=cohort_id,
        observed_on=observation.observed_on,
        scores=scores,
        criterion_comments=remarks,
        comments=observation.comments.strip(),
        total=outcome.total,
        max_total=outcome.max_total,
        passed=outcome.passed,
    )
    db.session.add(result)
    db.session.flush()
    record(
        actor.id,
        "practical.recorded",
        "user",
        user_id,
        after={
            "practical_id": practical.id,
            "result_id": result.id,
            "scores": scores,
            "total": outcome.total,
            "max_total": outcome.max_total,
            "passed": outcome.passed,
            "observed_on": result.observed_on.isoformat(),
        },
    )
    # Programmes read practical results directly, whatever the course's state.
    recompute_course(user_id, practical.course_id, actor_id=actor.id, programmes=True)
    return result
