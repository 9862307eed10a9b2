"""The grading queue: what waits for an instructor's mark, oldest first.

Two kinds of work share one list: submitted quiz attempts whose essays await a mark, and
practical assessments not yet passed by the trainees of the cohorts an instructor teaches
(never assessed, or failed last time). The list is one SQL ``UNION ALL`` ordered by the time
each item has been waiting, so that a page, its counts and its objects take a fixed number of
queries however long the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import aliased, selectinload

from lms.assessments.models import AttemptStatus, Practical, PracticalResult, QuizAttempt
from lms.assessments.results import latest_result_ids
from lms.auth.models import User
from lms.auth.roles import Role
from lms.catalog.models import Module, Quiz, course_owners
from lms.db import UTCDateTime
from lms.extensions import db
from lms.learning.models import (
    Cohort,
    CohortStatus,
    Enrolment,
    EnrolmentStatus,
    ProgrammeCourse,
    cohort_instructors,
)
from lms.pagination import paginate

ESSAY = "essay"
PRACTICAL = "practical"
KINDS = (ESSAY, PRACTICAL)


def cohort_courses() -> sa.Subquery:
    """``(cohort_id, course_id)``: the course of each course cohort, and every course of the
    programme of each programme cohort."""
    direct = sa.select(Cohort.id.label("cohort_id"), Cohort.course_id.label("course_id")).where(
        Cohort.course_id.is_not(None)
    )
    through_programme = sa.select(
        Cohort.id.label("cohort_id"), ProgrammeCourse.course_id.label("course_id")
    ).join(ProgrammeCourse, ProgrammeCourse.programme_id == Cohort.programme_id)
    return sa.union_all(direct, through_programme).subquery("cohort_courses")


def taught_cohort_ids(actor: User) -> sa.Select[tuple[int]] | None:
    """The ids of the cohorts ``actor`` grades in, as a subquery; None for every cohort
    (administrators). Mirrors :func:`lms.learning.policy.can_teach_cohort`: the cohort's
    instructors and the owners of its course."""
    if actor.has_role(Role.ADMIN):
        return None
    if not actor.has_role(Role.INSTRUCTOR):
        return sa.select(Cohort.id).where(sa.false())
    taught = sa.select(cohort_instructors.c.cohort_id).where(
        cohort_instructors.c.user_id == actor.id
    )
    owned = sa.select(course_owners.c.course_id).where(course_owners.c.user_id == actor.id)
    return sa.select(Cohort.id).where(sa.or_(Cohort.id.in_(taught), Cohort.course_id.in_(owned)))


def teaching_cohorts(actor: User) -> list[Cohort]:
    """The cohorts (not archived) whose trainees ``actor`` grades, for the queue's filter."""
    stmt = sa.select(Cohort).where(Cohort.status != CohortStatus.ARCHIVED)
    taught = taught_cohort_ids(actor)
    if taught is not None:
        stmt = stmt.where(Cohort.id.in_(taught))
    return list(db.session.scalars(stmt.order_by(Cohort.code)))


def taught_enrolments(actor: User, cohort_id: int | None = None) -> sa.Subquery:
    """``(user_id, cohort_id, course_id, enrolled_at)`` for every active enrolment in a cohort
    ``actor`` grades in (optionally one cohort), once per course the cohort covers."""
    courses = cohort_courses()
    stmt = (
        sa.select(
            Enrolment.user_id,
            Enrolment.cohort_id,
            courses.c.course_id,
            Enrolment.enrolled_at,
        )
        .join(courses, courses.c.cohort_id == Enrolment.cohort_id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(
            Enrolment.status == EnrolmentStatus.ENROLLED,
            Cohort.status != CohortStatus.ARCHIVED,
        )
    )
    taught = taught_cohort_ids(actor)
    if taught is not None:
        stmt = stmt.where(Enrolment.cohort_id.in_(taught))
    if cohort_id is not None:
        stmt = stmt.where(Enrolment.cohort_id == cohort_id)
    return stmt.subquery("taught")


def queue_select(actor: User, cohort_id: int | None = None) -> sa.Select[Any]:
    """The queue as rows ``(kind, item_id, user_id, cohort_id, since)``, oldest first.

    ``item_id`` is the attempt id for an essay and the practical id for a practical. A person
    enrolled in two of the actor's cohorts covering the same course appears once.
    """
    taught = taught_enrolments(actor, cohort_id)
    essays = (
        sa.select(
            sa.literal_column(f"'{ESSAY}'").label("kind"),
            QuizAttempt.id.label("item_id"),
            QuizAttempt.user_id.label("user_id"),
            sa.func.min(taught.c.cohort_id).label("cohort_id"),
            QuizAttempt.submitted_at.label("since"),
        )
        .join(Quiz, Quiz.id == QuizAttempt.quiz_id)
        .join(Module, Module.id == Quiz.module_id)
        .join(
            taught,
            sa.and_(
                taught.c.user_id == QuizAttempt.user_id, taught.c.course_id == Module.course_id
            ),
        )
        .where(
            QuizAttempt.status == AttemptStatus.SUBMITTED,
            QuizAttempt.pending_review.is_(True),
        )
        .group_by(QuizAttempt.id, QuizAttempt.user_id, QuizAttempt.submitted_at)
    )
    latest = latest_result_ids()
    last = aliased(PracticalResult, name="last_result")
    waiting_since = sa.case(
        (last.created_at > taught.c.enrolled_at, last.created_at), else_=taught.c.enrolled_at
    )
    practicals = (
        sa.select(
            sa.literal_column(f"'{PRACTICAL}'").label("kind"),
            Practical.id.label("item_id"),
            taught.c.user_id.label("user_id"),
            sa.func.min(taught.c.cohort_id).label("cohort_id"),
            sa.func.min(waiting_since).label("since"),
        )
        .join(Practical, Practical.course_id == taught.c.course_id)
        .outerjoin(
            latest,
            sa.and_(latest.c.practical_id == Practical.id, latest.c.user_id == taught.c.user_id),
        )
        .outerjoin(last, last.id == latest.c.result_id)
        .where(Practical.archived.is_(False))
        .where(sa.or_(last.id.is_(None), last.passed.is_(False)))
        .group_by(Practical.id, taught.c.user_id)
    )
    both = sa.union_all(essays, practicals).subquery("queue")
    since = sa.type_coerce(both.c.since, UTCDateTime()).label("since")
    return sa.select(both.c.kind, both.c.item_id, both.c.user_id, both.c.cohort_id, since).order_by(
        both.c.since, both.c.kind, both.c.item_id, both.c.user_id
    )


def queue_counts(actor: User, cohort_id: int | None = None) -> dict[str, int]:
    """How many items of each kind wait (with the same filter as the list)."""
    rows = queue_select(actor, cohort_id).order_by(None).subquery()
    stmt = sa.select(rows.c.kind, sa.func.count()).group_by(rows.c.kind)
    counts = dict.fromkeys(KINDS, 0)
    counts.update(dict(db.session.execute(stmt).tuples().all()))
    return counts


@dataclass
class QueueItem:
    """One line of the queue, with the objects it shows."""

    kind: str
    since: datetime
    person: User
    cohort: Cohort | None
    attempt: QuizAttempt | None = None
    practical: Practical | None = None


def queue_page(actor: User, cohort_id: int | None = None) -> Pagination:
    """The page of the queue named by ``?page=``, its rows turned into :class:`QueueItem`."""
    pagination = paginate(queue_select(actor, cohort_id), rows=True)
    pagination.items = _load_items(pagination.items)
    return pagination


def _load_items(rows: list[Any]) -> list[QueueItem]:
    """The people, cohorts, attempts and practicals of a page of rows: one query each."""
    people = _by_id(User, {r.user_id for r in rows})
    cohorts = _by_id(Cohort, {r.cohort_id for r in rows if r.cohort_id is not None})
    attempt_ids = {r.item_id for r in rows if r.kind == ESSAY}
    attempts = _by_id(
        QuizAttempt,
        attempt_ids,
        selectinload(QuizAttempt.quiz).selectinload(Quiz.module).selectinload(Module.course),
    )
    practicals = _by_id(
        Practical,
        {r.item_id for r in rows if r.kind == PRACTICAL},
        selectinload(Practical.course),
    )
    return [
        QueueItem(
            kind=r.kind,
            since=r.since,
            person=people[r.user_id],
            cohort=cohorts.get(r.cohort_id),
            attempt=attempts.get(r.item_id) if r.kind == ESSAY else None,
            practical=practicals.get(r.item_id) if r.kind == PRACTICAL else None,
        )
        for r in rows
    ]


def _by_id(model: Any, ids: set[int], *options: Any) -> dict[int, Any]:
    if not ids:
        return {}
    stmt = sa.select(model).where(model.id.in_(ids)).options(*options)
    return {obj.id: obj for obj in db.session.scalars(stmt)}
