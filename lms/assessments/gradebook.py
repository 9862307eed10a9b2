"""The gradebook of a cohort: its people × the assessments of its course or programme.

A course cohort shows, per person, lessons done, each quiz (best percent, attempts used,
essays awaiting a mark), each practical (the latest result), the completion date and the CE
hours the completion earned. A programme cohort shows, per course of the programme, the
progress and completion date, then the programme's practicals. Everything is loaded in a fixed
number of queries, whatever the size of the cohort.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import to_user_timezone
from sqlalchemy.orm import contains_eager, selectinload

from lms.assessments.models import AttemptStatus, Practical, PracticalResult, QuizAttempt
from lms.assessments.results import latest_results
from lms.auth.models import User
from lms.auth.policy import visible_users
from lms.catalog.models import Course, Quiz
from lms.extensions import db
from lms.learning.completion import CourseParts, CourseProgress, course_parts
from lms.learning.models import (
    Cohort,
    CourseCompletion,
    Enrolment,
    LessonProgress,
    ProgrammeCourse,
    programme_practicals,
)
from lms.learning.policy import can_teach_cohort


@dataclass
class QuizCell:
    """A person's standing in a quiz: the best percent of their submitted attempts."""

    best_percent: Decimal | None = None
    attempts: int = 0
    pending: int = 0  # submitted attempts whose essays await a mark
    passed: bool = False


@dataclass
class GradebookRow:
    enrolment: Enrolment
    progress: dict[int, CourseProgress]  # by course id
    quizzes: dict[int, QuizCell]  # by quiz id
    results: dict[int, PracticalResult]  # latest result by practical id
    ce_hours: Decimal = Decimal(0)

    @property
    def person(self) -> User:
        return self.enrolment.user


@dataclass
class Gradebook:
    cohort: Cohort
    courses: list[Course]
    quizzes: list[Quiz]  # course cohorts only
    practicals: list[Practical]
    rows: list[GradebookRow] = field(default_factory=list)

    @property
    def is_programme(self) -> bool:
        return self.cohort.programme_id is not None


def _enrolments(actor: User, cohort: Cohort) -> list[Enrolment]:
    """The cohort's enrolments (withdrawn ones too) by name; HR officers and coordinators who
    do not teach the cohort get only the people they may see."""
    stmt = (
        sa.select(Enrolment)
        .join(User, User.id == Enrolment.user_id)
        .options(contains_eager(Enrolment.user))
        .where(Enrolment.cohort_id == cohort.id)
        .order_by(User.name, User.id)
    )
    if not can_teach_cohort(actor, cohort):
        stmt = visible_users(actor, stmt)  # type: ignore[arg-type]
    return list(db.session.scalars(stmt))


def _courses(cohort: Cohort) -> list[Course]:
    if cohort.course_id is not None:
        return [db.session.get_one(Course, cohort.course_id)]
    stmt = (
        sa.select(Course)
        .join(ProgrammeCourse, ProgrammeCourse.course_id == Course.id)
        .where(ProgrammeCourse.programme_id == cohort.programme_id)
        .order_by(ProgrammeCourse.position, Course.code)
    )
    return list(db.session.scalars(stmt))


def _practicals(cohort: Cohort, parts: dict[int, CourseParts]) -> list[Practical]:
    stmt = sa.select(Practical).options(selectinload(Practical.course))
    if cohort.programme_id is not None:
        chosen = sa.select(programme_practicals.c.practical_id).where(
            programme_practicals.c.programme_id == cohort.programme_id
        )
        stmt = stmt.where(Practical.id.in_(chosen)).order_by(Practical.course_id)
    else:
        stmt = stmt.where(Practical.id.in_([i for p in parts.values() for i in p.practical_ids]))
    return list(db.session.scalars(stmt.order_by(Practical.position, Practical.id)))


def _quizzes(parts: dict[int, CourseParts]) -> list[Quiz]:
    order = [i for p in parts.values() for i in p.quiz_ids]
    if not order:
        return []
    quizzes = {q.id: q for q in db.session.scalars(sa.select(Quiz).where(Quiz.id.in_(order)))}
    return [quizzes[i] for i in order]


def _done_lessons(user_ids: sa.Select[Any], lesson_ids: list[int]) -> dict[int, set[int]]:
    """The lessons each person has completed, among ``lesson_ids``."""
    done: dict[int, set[int]] = defaultdict(set)
    if not lesson_ids:
        return done
    rows = db.session.execute(
        sa.select(LessonProgress.user_id, LessonProgress.lesson_id).where(
            LessonProgress.user_id.in_(user_ids),
            LessonProgress.lesson_id.in_(lesson_ids),
            LessonProgress.completed_at.is_not(None),
        )
    )
    for user_id, lesson_id in rows:
        done[user_id].add(lesson_id)
    return done


def _quiz_cells(user_ids: sa.Select[Any], quiz_ids: list[int]) -> dict[tuple[int, int], QuizCell]:
    """Each person's best percent, attempts, pending essays and pass, per quiz, in one query."""
    if not quiz_ids:
        return {}
    submitted = QuizAttempt.status == AttemptStatus.SUBMITTED
    pending = sa.and_(submitted, QuizAttempt.pending_review.is_(True))
    passed = sa.and_(submitted, QuizAttempt.passed.is_(True), QuizAttempt.pending_review.is_(False))
    stmt = (
        sa.select(
            QuizAttempt.user_id,
            QuizAttempt.quiz_id,
            sa.func.max(sa.case((submitted, QuizAttempt.percent))),
            sa.func.count(),
            sa.func.sum(sa.case((pending, 1), else_=0)),
            sa.func.max(sa.case((passed, 1), else_=0)),
        )
        .where(QuizAttempt.user_id.in_(user_ids), QuizAttempt.quiz_id.in_(quiz_ids))
        .group_by(QuizAttempt.user_id, QuizAttempt.quiz_id)
    )
    return {
        (user_id, quiz_id): QuizCell(
            best_percent=Decimal(best).quantize(Decimal("0.01")) if best is not None else None,
            attempts=count,
            pending=int(waiting or 0),
            passed=bool(ok),
        )
        for user_id, quiz_id, best, count, waiting, ok in db.session.execute(stmt)
    }


def _completions(
    user_ids: sa.Select[Any], course_ids: list[int]
) -> dict[tuple[int, int], CourseCompletion]:
    stmt = sa.select(CourseCompletion).where(
        CourseCompletion.user_id.in_(user_ids), CourseCompletion.course_id.in_(course_ids)
    )
    return {(c.user_id, c.course_id): c for c in db.session.scalars(stmt)}


def build_gradebook(actor: User, cohort: Cohort) -> Gradebook:
    """The gradebook of ``cohort`` as ``actor`` may see it (a fixed number of queries)."""
    enrolments = _enrolments(actor, cohort)
    courses = _courses(cohort)
    course_ids = [c.id for c in courses]
    parts = course_parts(course_ids)
    practicals = _practicals(cohort, parts)
    quizzes = _quizzes(parts) if cohort.course_id is not None else []
    user_ids = sa.select(Enrolment.user_id).where(Enrolment.cohort_id == cohort.id)
    lessons = [i for p in parts.values() for i in p.lesson_ids]
    done = _done_lessons(user_ids, lessons)
    cells = _quiz_cells(user_ids, [i for p in parts.values() for i in p.quiz_ids])
    results = latest_results(
        user_ids,
        sorted({i for p in parts.values() for i in p.practical_ids} | {p.id for p in practicals}),
    )
    completions = _completions(user_ids, course_ids)
    book = Gradebook(cohort=cohort, courses=courses, quizzes=quizzes, practicals=practicals)
    for enrolment in enrolments:
        user_id = enrolment.user_id
        progress = {
            course_id: _progress(
                p, done[user_id], cells, results, completions.get((user_id, course_id)), user_id
            )
            for course_id, p in parts.items()
        }
        book.rows.append(
            GradebookRow(
                enrolment=enrolment,
                progress=progress,
                quizzes={q.id: cells.get((user_id, q.id), QuizCell()) for q in quizzes},
                results={
                    p.id: results[(user_id, p.id)] for p in practicals if (user_id, p.id) in results
                },
                ce_hours=sum(
                    (pr.completion.ce_hours for pr in progress.values() if pr.completion),
                    Decimal(0),
                ),
            )
        )
    return book


def _progress(
    parts: CourseParts,
    done: set[int],
    cells: dict[tuple[int, int], QuizCell],
    results: dict[tuple[int, int], PracticalResult],
    completion: CourseCompletion | None,
    user_id: int,
) -> CourseProgress:
    """A person's progress in a course, counted as :func:`lms.learning.completion.course_progress`
    counts it, from data loaded for the whole cohort."""
    passed_results = [
        results[(user_id, i)]
        for i in parts.practical_ids
        if (user_id, i) in results and results[(user_id, i)].passed
    ]
    return CourseProgress(
        lessons_total=len(parts.lesson_ids),
        lessons_done=sum(1 for i in parts.lesson_ids if i in done),
        quizzes_total=len(parts.quiz_ids),
        quizzes_passed=sum(1 for i in parts.quiz_ids if cells.get((user_id, i), QuizCell()).passed),
        practicals_total=len(parts.practical_ids),
        practicals_passed=len(passed_results),
        next_lesson_id=next((i for i in parts.lesson_ids if i not in done), None),
        completion=completion,
    )


# --- Showing values -------------------------------------------------------------------------


def local_date(moment: datetime | None) -> date | None:
    """The calendar day of ``moment`` in the page's time zone."""
    return to_user_timezone(moment).date() if moment is not None else None


def number_text(value: Decimal | None) -> str:
    """``85.50`` -> ``85.5``, ``8.0`` -> ``8``; None -> empty."""
    if value is None:
        return ""
    return format(value.normalize(), "f")


def result_text(result: PracticalResult | None) -> str:
    if result is None:
        return ""
    return _("Passed") if result.passed else _("Not passed")


# --- CSV ------------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs: a value starting with one of
    ``= + - @`` (or a tab or carriage return) gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_header(book: Gradebook, locale: str) -> list[str]:
    header = [_("Name"), _("Email"), _("Enrolment")]
    if book.is_programme:
        for course in book.courses:
            title = course.display_title(locale)
            header += [
                _("%(course)s: progress (%%)", course=title),
                _("%(course)s: completed on", course=title),
            ]
    else:
        header += [_("Lessons done"), _("Lessons in the course")]
        for quiz in book.quizzes:
            header += [
                _("%(quiz)s: best (%%)", quiz=quiz.title),
                _("%(quiz)s: attempts", quiz=quiz.title),
                _("%(quiz)s: essays awaiting a mark", quiz=quiz.title),
            ]
    for practical in book.practicals:
        title = practical.display_title(locale)
        header += [
            _("%(practical)s: result", practical=title),
            _("%(practical)s: points (of %(max)d)", practical=title, max=practical.max_points),
        ]
    if not book.is_programme:
        header.append(_("Completed on"))
    header.append(_("CE hours"))
    return header


def csv_row(book: Gradebook, row: GradebookRow) -> list[object]:
    cells: list[object] = [row.person.name, row.person.email, row.enrolment.status_label]
    if book.is_programme:
        for course in book.courses:
            progress = row.progress[course.id]
            completion = progress.completion
            cells += [progress.percent, local_date(completion.completed_at) if completion else ""]
    else:
        course_id = book.courses[0].id
        progress = row.progress[course_id]
        cells += [progress.lessons_done, progress.lessons_total]
        for quiz in book.quizzes:
            cell = row.quizzes[quiz.id]
            cells += [number_text(cell.best_percent), cell.attempts, cell.pending]
    for practical in book.practicals:
        result = row.results.get(practical.id)
        cells += [result_text(result), result.total if result else ""]
    if not book.is_programme:
        completion = row.progress[book.courses[0].id].completion
        cells.append(local_date(completion.completed_at) if completion else "")
    cells.append(number_text(row.ce_hours))
    return cells


def gradebook_csv(book: Gradebook, locale: str) -> bytes:
    """The gradebook as UTF-8 CSV with a byte-order mark, so that Excel reads the Chinese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    rows: Iterable[list[object]] = [csv_header(book, locale)] + [
        csv_row(book, row) for row in book.rows
    ]
    for cells in rows:
        writer.writerow([safe_cell(cell) for cell in cells])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
