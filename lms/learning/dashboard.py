"""Read-only queries behind "my learning", a person's learning record and the course page.

Everything here runs a fixed number of queries whatever the number of enrolments, except
the requirement checklist of each programme (:func:`lms.learning.completion.programme_progress`,
a few queries per programme; people follow one or two programmes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from lms.assessments.models import Practical, PracticalResult
from lms.catalog.models import Course, Lesson, LessonVersion, Module
from lms.certificates.models import Certificate
from lms.db import utcnow
from lms.extensions import db
from lms.learning.completion import (
    CourseProgress,
    ProgrammeProgress,
    ce_hours,
    course_progress,
    current_cycle,
    programme_progress,
)
from lms.learning.models import (
    Cohort,
    CourseCompletion,
    Enrolment,
    EnrolmentStatus,
    Programme,
    ProgrammeCompletion,
    ProgrammeCourse,
)


@dataclass(frozen=True)
class LessonLink:
    """A lesson to link to: its course code and published titles."""

    id: int
    course_code: str
    title: str
    title_en: str

    def display_title(self, locale: str) -> str:
        return self.title_en if locale.startswith("en") and self.title_en else self.title


@dataclass
class CourseItem:
    """A course someone is learning, with their progress and the next lesson to read."""

    course: Course
    progress: CourseProgress
    next_lesson: LessonLink | None


@dataclass
class EnrolmentItem:
    """An active enrolment: a course cohort (``course``) or a programme cohort
    (``programme`` with its checklist and ``courses``)."""

    enrolment: Enrolment
    course: CourseItem | None = None
    programme: ProgrammeProgress | None = None
    courses: list[CourseItem] = field(default_factory=list)

    @property
    def cohort(self) -> Cohort:
        return self.enrolment.cohort

    @property
    def complete(self) -> bool:
        if self.course is not None:
            return self.course.progress.complete
        return self.programme is not None and self.programme.completion is not None

    @property
    def overdue(self) -> bool:
        """Past the cohort's end date and not complete."""
        return not self.complete and self.cohort.ends_on < utcnow().date()


@dataclass
class LearningOverview:
    """What "my learning" (and a person's learning record) shows."""

    active: list[EnrolmentItem]
    withdrawn: list[Enrolment]
    cycle: int
    ce_hours: Decimal
    course_completions: list[CourseCompletion]
    programme_completions: list[ProgrammeCompletion]
    # The latest certificate issued for each programme completion, by completion id.
    certificates: dict[int, Certificate] = field(default_factory=dict)


def _enrolments(user_id: int) -> list[Enrolment]:
    """Every enrolment of the person with its cohort, course or programme (and the
    programme's courses), newest first."""
    return list(
        db.session.scalars(
            sa.select(Enrolment)
            .join(Enrolment.cohort)
            .options(
                joinedload(Enrolment.cohort).options(
                    joinedload(Cohort.course).defer(Course.search_text),
                    joinedload(Cohort.programme)
                    .selectinload(Programme.courses)
                    .joinedload(ProgrammeCourse.course)
                    .defer(Course.search_text),
                ),
                joinedload(Enrolment.withdrawn_by),
            )
            .where(Enrolment.user_id == user_id)
            .order_by(Cohort.ends_on.desc(), Enrolment.id.desc())
        ).unique()
    )


def lesson_links(lesson_ids: Sequence[int]) -> dict[int, LessonLink]:
    """The course code and published titles of each lesson, in one query."""
    if not lesson_ids:
        return {}
    rows = db.session.execute(
        sa.select(Lesson.id, Course.code, LessonVersion.title, LessonVersion.title_en)
        .join(Module, Module.id == Lesson.module_id)
        .join(Course, Course.id == Module.course_id)
        .join(LessonVersion, LessonVersion.id == Lesson.published_version_id)
        .where(Lesson.id.in_(list(lesson_ids)))
    )
    return {row[0]: LessonLink(*row) for row in rows.tuples()}


def learning_overview(user_id: int, today: date | None = None) -> LearningOverview:
    """A person's enrolments with their progress, CE hours this cycle and completions."""
    enrolments = _enrolments(user_id)
    active = [e for e in enrolments if e.status == EnrolmentStatus.ENROLLED]
    courses: dict[int, Course] = {}
    for enrolment in active:
        cohort = enrolment.cohort
        if cohort.course is not None:
            courses[cohort.course.id] = cohort.course
        elif cohort.programme is not None:
            for link in cohort.programme.courses:
                courses[link.course_id] = link.course
    progress = course_progress(user_id, list(courses)) if courses else {}
    nexts = lesson_links([p.next_lesson_id for p in progress.values() if p.next_lesson_id])

    def item(course: Course) -> CourseItem:
        p = progress[course.id]
        return CourseItem(course, p, nexts.get(p.next_lesson_id) if p.next_lesson_id else None)

    items = []
    for enrolment in active:
        cohort = enrolment.cohort
        if cohort.course is not None:
            items.append(EnrolmentItem(enrolment, course=item(cohort.course)))
        elif cohort.programme is not None:
            items.append(
                EnrolmentItem(
                    enrolment,
                    programme=programme_progress(user_id, cohort.programme.id),
                    courses=[item(link.course) for link in cohort.programme.courses],
                )
            )
    cycle = current_cycle(today)
    return LearningOverview(
        active=items,
        withdrawn=[e for e in enrolments if e.status == EnrolmentStatus.WITHDRAWN],
        cycle=cycle,
        ce_hours=ce_hours(user_id, cycle),
        course_completions=list(
            db.session.scalars(
                sa.select(CourseCompletion)
                .options(joinedload(CourseCompletion.course).defer(Course.search_text))
                .where(CourseCompletion.user_id == user_id)
                .order_by(CourseCompletion.completed_at.desc(), CourseCompletion.id.desc())
            )
        ),
        programme_completions=list(
            db.session.scalars(
                sa.select(ProgrammeCompletion)
                .options(joinedload(ProgrammeCompletion.programme))
                .where(ProgrammeCompletion.user_id == user_id)
                .order_by(ProgrammeCompletion.completed_at.desc(), ProgrammeCompletion.id.desc())
            )
        ),
        certificates={
            c.completion_id: c
            for c in db.session.scalars(
                sa.select(Certificate)
                .where(Certificate.holder_id == user_id, Certificate.completion_id.is_not(None))
                .order_by(Certificate.id)
            )
            if c.completion_id is not None
        },
    )


# The course page ---------------------------------------------------------------------------


@dataclass
class PracticalStatus:
    practical: Practical
    result: PracticalResult | None


@dataclass
class EnrolledCourse:
    """An enrolled person's view of a course: progress, lessons done, quizzes passed and
    the latest result of each practical assessment."""

    progress: CourseProgress
    lessons_done: set[int]
    quizzes_passed: set[int]
    practicals: list[PracticalStatus]


def enrolled_course(user_id: int, course_id: int) -> EnrolledCourse:
    """What the course page shows an enrolled person, in a fixed number of queries: the
    progress (lessons done, quizzes passed, latest practical results as
    :func:`lms.learning.completion.course_progress` counts them) and the practicals."""
    progress = course_progress(user_id, [course_id])[course_id]
    practicals = db.session.scalars(
        sa.select(Practical)
        .where(Practical.course_id == course_id, Practical.archived.is_(False))
        .order_by(Practical.position, Practical.id)
    ).all()
    return EnrolledCourse(
        progress=progress,
        lessons_done=progress.done_lesson_ids,
        quizzes_passed=progress.passed_quiz_ids,
        practicals=[PracticalStatus(p, progress.latest_results.get(p.id)) for p in practicals],
    )
