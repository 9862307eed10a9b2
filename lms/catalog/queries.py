"""Read-only queries behind the catalogue pages: the course list, a course, a lesson, a file.

Kept apart from :mod:`lms.catalog.services` (which changes things) so that the pages' query
counts can be kept small and flat without touching the write path. Nothing here renders
Markdown: lesson pages show the HTML stored when the version was saved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import contains_eager, defer, joinedload

from lms.auth.models import User
from lms.catalog import files
from lms.catalog.models import (
    Course,
    CourseAsset,
    Lesson,
    LessonVersion,
    Module,
    Quiz,
    course_prerequisites,
)
from lms.catalog.models.course import CourseStatus
from lms.catalog.services import can_edit_course
from lms.extensions import db
from lms.orgs.models import Organisation

# Hours filter: bucket -> (more than, at most); None leaves that side open.
HOURS_BUCKETS: dict[str, tuple[Decimal | None, Decimal | None]] = {
    "short": (None, Decimal(8)),
    "medium": (Decimal(8), Decimal(16)),
    "long": (Decimal(16), None),
}
HOURS_LABELS = {
    "short": _l("Up to 8 hours"),
    "medium": _l("8 to 16 hours"),
    "long": _l("More than 16 hours"),
}
# A search of more words than this only uses the first ones (each word is one more LIKE).
MAX_SEARCH_TERMS = 8
MAX_SEARCH_LENGTH = 200
MAX_CODE_LENGTH = 32

_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# The course list -------------------------------------------------------------------------------


@dataclass
class CatalogFilters:
    """What the catalogue is narrowed to; empty values mean "any"."""

    q: str = ""
    track: str | None = None
    partner: str | None = None
    level: str | None = None
    hours: str | None = None


def search_terms(q: str) -> list[str]:
    """The words of a search, each matched as a substring (all must match).

    Control characters are dropped: PostgreSQL refuses a NUL in a string outright.
    """
    text = _CONTROL.sub(" ", q[:MAX_SEARCH_LENGTH])
    return text.split()[:MAX_SEARCH_TERMS]


def courses_select(filters: CatalogFilters) -> sa.Select[tuple[Course]]:
    """Published courses matching ``filters``, with their partner loaded, by code.

    Every word of the search must be a substring of the course's code, titles or
    ``search_text`` (titles, summaries and the text of its published lessons), case blind.
    ``lower(...) LIKE`` works for Chinese on SQLite and PostgreSQL alike; ``%`` and ``_``
    typed by the person match themselves.
    """
    stmt = (
        sa.select(Course)
        .options(joinedload(Course.partner), defer(Course.search_text))
        .where(Course.status == CourseStatus.PUBLISHED)
    )
    for term in search_terms(filters.q):
        stmt = stmt.where(
            sa.or_(
                Course.search_text.icontains(term, autoescape=True),
                Course.code.icontains(term, autoescape=True),
                Course.title.icontains(term, autoescape=True),
                Course.title_en.icontains(term, autoescape=True),
            )
        )
    if filters.track:
        stmt = stmt.where(Course.track == filters.track)
    if filters.level:
        stmt = stmt.where(Course.level == filters.level)
    if filters.partner:
        stmt = stmt.where(Course.partner_code == filters.partner)
    if filters.hours in HOURS_BUCKETS:
        above, at_most = HOURS_BUCKETS[filters.hours]
        if above is not None:
            stmt = stmt.where(Course.ce_hours > above)
        if at_most is not None:
            stmt = stmt.where(Course.ce_hours <= at_most)
    return stmt.order_by(Course.code, Course.id)


@dataclass(frozen=True)
class CourseStats:
    """How many lessons a trainee can read in a course and how long they take."""

    lessons: int = 0
    minutes: int = 0


# Built once, as the catalogue runs them on every page: see ``_LESSON_SEQUENCE``.
_COURSE_STATS = (
    sa.select(
        Module.course_id,
        sa.func.count(Lesson.id),
        sa.func.coalesce(sa.func.sum(LessonVersion.minutes), 0),
    )
    .join(Lesson, Lesson.module_id == Module.id)
    .join(LessonVersion, LessonVersion.id == Lesson.published_version_id)
    .where(
        Module.course_id.in_(sa.bindparam("ids", expanding=True)),
        Module.archived.is_(False),
        Lesson.archived.is_(False),
    )
    .group_by(Module.course_id)
)
_PARTNERS = (
    sa.select(Course.partner_code, Organisation.name, Organisation.name_en)
    .outerjoin(Organisation, Organisation.code == Course.partner_code)
    .where(Course.status == CourseStatus.PUBLISHED, Course.partner_code.is_not(None))
    .distinct()
    .order_by(Course.partner_code)
)


def course_stats(course_ids: Iterable[int]) -> dict[int, CourseStats]:
    """Published, current lessons and their minutes per course, in one grouped query."""
    ids = list(course_ids)
    if not ids:
        return {}
    rows = db.session.execute(_COURSE_STATS, {"ids": ids})
    return {course_id: CourseStats(int(n), int(m)) for course_id, n, m in rows.tuples()}


def partner_choices(locale: str) -> list[tuple[str, str]]:
    """The partners of published courses as ``(code, label)``, by code.

    The label is the organisation's name when it is registered, else the bare code (course
    files may name a partner before it is registered).
    """
    choices = []
    for code, name, name_en in db.session.execute(_PARTNERS).tuples():
        label = (name_en if locale.startswith("en") and name_en else name) or code
        choices.append((code, label))
    return choices


# One course -----------------------------------------------------------------------------------


def can_see_course(user: User, course: Course) -> bool:
    """Published courses are for every signed-in person; drafts for their owners and admins.

    Until enrolment exists (the learning feature), anyone signed in reads published courses.
    """
    return course.status == CourseStatus.PUBLISHED or can_edit_course(user, course)


def plausible_code(code: str) -> bool:
    """Whether ``code`` could be a course code; others (a NUL, which PostgreSQL refuses to
    compare, or a long string) are not looked up at all."""
    return 0 < len(code) <= MAX_CODE_LENGTH and _CONTROL.search(code) is None


def course_by_code(code: str) -> Course | None:
    """The course with its partner (not its search text: all of its lessons' words)."""
    if not plausible_code(code):
        return None
    return db.session.scalar(
        sa.select(Course)
        .options(joinedload(Course.partner), defer(Course.search_text))
        .where(Course.code == code)
    )


@dataclass
class LessonEntry:
    """A readable lesson in a course's outline: its published title and minutes."""

    id: int
    module_id: int
    title: str
    title_en: str
    minutes: int

    def display_title(self, locale: str) -> str:
        return self.title_en if locale.startswith("en") and self.title_en else self.title


@dataclass
class QuizEntry:
    id: int
    title: str
    questions: int


@dataclass
class ModuleOutline:
    module: Module
    lessons: list[LessonEntry] = field(default_factory=list)
    quizzes: list[QuizEntry] = field(default_factory=list)

    @property
    def minutes(self) -> int:
        return sum(lesson.minutes for lesson in self.lessons)


# The readable lessons of the course ``course_id`` (a bind parameter), in order. Every
# lesson page runs it: built once, it keeps its cache key.
_LESSON_SEQUENCE = (
    sa.select(
        Lesson.id,
        Lesson.module_id,
        LessonVersion.title,
        LessonVersion.title_en,
        LessonVersion.minutes,
    )
    .join(Module, Module.id == Lesson.module_id)
    .join(LessonVersion, LessonVersion.id == Lesson.published_version_id)
    .where(
        Module.course_id == sa.bindparam("course_id", type_=sa.Integer),
        Module.archived.is_(False),
        Lesson.archived.is_(False),
    )
    .order_by(Module.position, Module.id, Lesson.position, Lesson.id)
)


def lesson_sequence(course_id: int) -> list[LessonEntry]:
    """The lessons a trainee reads, in course order, in one query.

    Archived lessons, lessons of archived modules and lessons with no published version are
    left out, so previous/next links skip them.
    """
    rows = db.session.execute(_LESSON_SEQUENCE, {"course_id": course_id})
    return [LessonEntry(*row) for row in rows.tuples()]


def course_outline(course: Course) -> list[ModuleOutline]:
    """The current modules in order, each with its readable lessons and its quizzes.

    Three queries whatever the size of the course; quiz questions are counted from the
    stored JSON.
    """
    modules = db.session.scalars(
        sa.select(Module)
        .where(Module.course_id == course.id, Module.archived.is_(False))
        .order_by(Module.position, Module.id)
    )
    outline = {m.id: ModuleOutline(m) for m in modules}
    for entry in lesson_sequence(course.id):
        if entry.module_id in outline:
            outline[entry.module_id].lessons.append(entry)
    if outline:
        quizzes = db.session.execute(
            sa.select(Quiz.id, Quiz.module_id, Quiz.title, Quiz.questions)
            .where(Quiz.module_id.in_(list(outline)), Quiz.archived.is_(False))
            .order_by(Quiz.position, Quiz.id)
        )
        for quiz_id, module_id, title, questions in quizzes.tuples():
            count = len(questions) if isinstance(questions, list) else 0
            outline[module_id].quizzes.append(QuizEntry(quiz_id, title, count))
    return list(outline.values())


def prerequisites_of(course: Course) -> list[Course]:
    """The courses to complete first, by code (drafts included: the page shows no link)."""
    return list(
        db.session.scalars(
            sa.select(Course)
            .join(course_prerequisites, course_prerequisites.c.required_id == Course.id)
            .where(course_prerequisites.c.course_id == course.id)
            .options(defer(Course.search_text))
            .order_by(Course.code)
        )
    )


# One lesson -----------------------------------------------------------------------------------


def lesson_in_course_select(
    code: str | sa.BindParameter[str], lesson_id: int | sa.BindParameter[int]
) -> sa.Select[tuple[Lesson]]:
    """A lesson of the course ``code`` with its module, course and published version, as a
    select (the lesson page adds its reader's progress to it: see
    :func:`lms.learning.progress.lesson_with_state`).

    The version's Markdown and plain text are not loaded: the page shows the stored HTML.
    Check the code with :func:`plausible_code` first.
    """
    return (
        sa.select(Lesson)
        .join(Lesson.module)
        .join(Module.course)
        .options(
            contains_eager(Lesson.module).contains_eager(Module.course).defer(Course.search_text),
            joinedload(Lesson.published_version).options(
                defer(LessonVersion.markdown), defer(LessonVersion.plain_text)
            ),
        )
        .where(Lesson.id == lesson_id, Course.code == code)
    )


def is_readable(lesson: Lesson) -> bool:
    """A lesson a trainee may open: current, in a current module, with a published version."""
    return (
        not lesson.archived and not lesson.module.archived and lesson.published_version is not None
    )


def neighbours(
    sequence: list[LessonEntry], lesson_id: int
) -> tuple[LessonEntry | None, LessonEntry | None]:
    """The lessons before and after ``lesson_id`` in the course order."""
    ids = [entry.id for entry in sequence]
    if lesson_id not in ids:
        return None, None
    i = ids.index(lesson_id)
    return (sequence[i - 1] if i > 0 else None), (
        sequence[i + 1] if i + 1 < len(sequence) else None
    )


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def content_language(*texts: str) -> str | None:
    """``zh-Hans-CN`` when the text is Chinese, else None (the page's language applies)."""
    return "zh-Hans-CN" if any(_CJK.search(t[:4000]) for t in texts if t) else None


# Course files ---------------------------------------------------------------------------------


def is_safe_asset_path(path: str) -> bool:
    """A plain relative path inside the course folder: no ``..``, no absolute or odd paths.

    Assets are looked up by their exact stored path, and the bytes by their hash, so a bad
    path could never reach another file; refusing it early keeps that obvious.
    """
    if not path or len(path) > 300 or "\\" in path or "\x00" in path:
        return False
    if path.startswith("/") or ":" in path:
        return False
    parts = path.split("/")
    return all(part not in ("", ".", "..") for part in parts)


def course_asset(course_id: int, path: str) -> CourseAsset | None:
    return db.session.scalar(
        sa.select(CourseAsset).where(CourseAsset.course_id == course_id, CourseAsset.path == path)
    )


def asset_file(sha256: str) -> Path | None:
    """Where the file store keeps the bytes with this hash, if it has them."""
    if not _SHA256.fullmatch(sha256 or ""):
        return None
    path = files.stored_path(sha256)
    return path if path.is_file() else None
