"""Lesson progress: "mark complete" and the time a trainee spends on a lesson page.

Only people enrolled in the course (directly or through a programme) record progress. A
lesson is completed once: a second "mark complete" changes nothing. Time is reported by the
lesson page (``lms/static/js/lesson.js``) while it is visible and added up, capped per report
so that a page forgotten in a tab cannot claim a day of study.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload

from lms.catalog.models import Course, Lesson, LessonVersion, Module
from lms.catalog.models.course import CourseStatus
from lms.catalog.queries import is_readable, lesson_in_course_select, plausible_code
from lms.db import utcnow
from lms.extensions import db
from lms.learning.access import enrolled_course_ids
from lms.learning.completion import recompute_course
from lms.learning.models import LessonProgress

#: The most seconds one report of the lesson page may add (two hours).
MAX_SECONDS_PER_REPORT = 2 * 3600


@dataclass(frozen=True)
class LessonState:
    """What the lesson page shows its reader: whether they may mark it complete, and when
    they did."""

    enrolled: bool
    completed_at: datetime | None

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


def _lesson_with_state_select() -> sa.Select[tuple[Lesson, bool, datetime | None]]:
    """The lesson page's one query, with bind parameters ``code``, ``lesson_id`` and
    ``user_id``: the lesson (:func:`lms.catalog.queries.lesson_in_course_select`), whether
    the reader is enrolled in its course and when they completed it."""
    user_id = sa.bindparam("user_id", type_=sa.Integer)
    lesson_id = sa.bindparam("lesson_id", type_=sa.Integer)
    ids = enrolled_course_ids(user_id).subquery()
    enrolled = sa.exists(sa.select(ids.c[0]).where(ids.c[0] == Course.id)).label("enrolled")
    completed_at = (
        sa.select(LessonProgress.completed_at)
        .where(LessonProgress.user_id == user_id, LessonProgress.lesson_id == lesson_id)
        .scalar_subquery()
    )
    lesson = lesson_in_course_select(sa.bindparam("code", type_=sa.String), lesson_id)
    return lesson.add_columns(enrolled, completed_at)


# Built once: the page runs it on every view, and a built statement keeps its cache key.
_LESSON_WITH_STATE = _lesson_with_state_select()


def lesson_with_state(code: str, lesson_id: int, user_id: int) -> tuple[Lesson, LessonState] | None:
    """The lesson page's lesson (:func:`lms.catalog.queries.lesson_in_course_select`) and
    its reader's :class:`LessonState`, in one query; None when the course has no such
    lesson."""
    if not plausible_code(code):
        return None
    row = db.session.execute(
        _LESSON_WITH_STATE, {"code": code, "lesson_id": lesson_id, "user_id": user_id}
    ).first()
    if row is None:
        return None
    return row[0], LessonState(enrolled=bool(row[1]), completed_at=row[2])


def readable_lesson(lesson_id: int) -> Lesson | None:
    """A lesson a trainee may read and record progress on, with its module and course.

    None when it does not exist, is not readable (:func:`lms.catalog.queries.is_readable`)
    or its course is not published.
    """
    lesson = db.session.scalar(
        sa.select(Lesson)
        .join(Lesson.module)
        .join(Module.course)
        .options(
            contains_eager(Lesson.module).contains_eager(Module.course).defer(Course.search_text),
            joinedload(Lesson.published_version).load_only(LessonVersion.id),
        )
        .where(Lesson.id == lesson_id)
    )
    if lesson is None or not is_readable(lesson):
        return None
    if lesson.module.course.status != CourseStatus.PUBLISHED:
        return None
    return lesson


def _progress_row(user_id: int, lesson_id: int) -> LessonProgress:
    """The person's progress row for the lesson, created when missing.

    Two requests at once (a double click, the page's time report) may both try to create it:
    the loser of the unique constraint reads the winner's row.
    """
    stmt = sa.select(LessonProgress).where(
        LessonProgress.user_id == user_id, LessonProgress.lesson_id == lesson_id
    )
    row = db.session.scalar(stmt)
    if row is not None:
        return row
    now = utcnow()
    try:
        with db.session.begin_nested():
            row = LessonProgress(
                user_id=user_id, lesson_id=lesson_id, first_opened_at=now, last_opened_at=now
            )
            db.session.add(row)
    except IntegrityError:
        row = db.session.scalars(stmt.execution_options(populate_existing=True)).one()
    return row


def complete_lesson(user_id: int, lesson: Lesson) -> tuple[LessonProgress, bool]:
    """Record that ``user_id`` finished reading ``lesson`` (the caller checked enrolment).

    Keeps the published version that was read and recomputes the course's completion.
    Returns the progress row and whether this call completed it: a repeat changes nothing,
    and of two requests at once only one completes (a conditional update).
    """
    row = _progress_row(user_id, lesson.id)
    if row.completed_at is not None:
        return row, False
    now = utcnow()
    done = db.session.execute(
        sa.update(LessonProgress)
        .where(LessonProgress.id == row.id, LessonProgress.completed_at.is_(None))
        .values(completed_at=now, last_opened_at=now, version_id=lesson.published_version_id)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(row)
    if done.rowcount == 0:  # type: ignore[attr-defined]
        return row, False
    recompute_course(user_id, lesson.module.course_id)
    return row, True


def add_time(user_id: int, lesson_id: int, seconds: int) -> LessonProgress:
    """Add the seconds a lesson page was visible (capped per report) and note when it was
    last open; the first report also sets when it was first opened."""
    seconds = max(0, min(int(seconds), MAX_SECONDS_PER_REPORT))
    row = _progress_row(user_id, lesson_id)
    db.session.execute(
        sa.update(LessonProgress)
        .where(LessonProgress.id == row.id)
        .values(seconds_spent=LessonProgress.seconds_spent + seconds, last_opened_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(row)
    return row
