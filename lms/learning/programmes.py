"""Programmes and the competency standard: what their pages read, and the admins' changes.

Reading: :func:`programme_rows` (the list, with course counts), :func:`programme_by_code`
(one programme with its courses and practicals), :func:`competencies_of` and
:func:`competency_map` (the standard and where each competency is evidenced), each in a fixed
number of queries whatever the data size.

Changing: :func:`create_programme`, :func:`update_programme` and :func:`set_archived`
validate everything before changing anything, record the change in the audit log and flush;
the caller commits. A programme from ``courses/programmes.toml`` (``origin="files"``) may be
edited here too: the import leaves the edits alone until the programme's entry in the file
changes (see ``Programme.source_hash``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from lms.assessments.models import Practical
from lms.audit import services as audit
from lms.catalog.models import Course, Lesson, LessonVersion, Module, Quiz
from lms.catalog.models.course import CourseStatus, Track
from lms.certificates.types import refresh_from_programme
from lms.extensions import db
from lms.learning.models import (
    Competency,
    Cycle,
    Dimension,
    Programme,
    ProgrammeCourse,
    Tier,
    lesson_competencies,
)
from lms.validation import ValidationError

CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}")  # use with fullmatch; the column holds 32
TITLE_MAX = 200
SUMMARY_MAX = 5000
MAX_CE_HOURS = Decimal(999)
ONE_DECIMAL = Decimal("0.1")

CYCLE_LABELS = {
    Cycle.ONCE: _l("Once"),
    Cycle.ANNUAL: _l("Every calendar year (continuing education)"),
}


def track_label(track: str) -> str:
    return Track(track).label


def cycle_label(cycle: str) -> str:
    return str(CYCLE_LABELS[Cycle(cycle)])


def tier_label(tier: str) -> str:
    return Tier(tier).label


def dimension_label(dimension: str) -> str:
    return Dimension(dimension).label


# Reading ---------------------------------------------------------------------------------------


@dataclass
class ProgrammeRow:
    """A programme in the list, with the number of its required and elective courses."""

    programme: Programme
    required: int
    electives: int


def _course_count(required: bool) -> sa.ScalarSelect[int]:
    return (
        sa.select(sa.func.count())
        .where(ProgrammeCourse.programme_id == Programme.id, ProgrammeCourse.required == required)
        .correlate(Programme)
        .scalar_subquery()
    )


def programme_rows(include_archived: bool) -> list[ProgrammeRow]:
    """Programmes by track and code, archived ones only when asked for (one query)."""
    stmt = sa.select(Programme, _course_count(True), _course_count(False)).order_by(
        Programme.archived, Programme.track, Programme.code
    )
    if not include_archived:
        stmt = stmt.where(Programme.archived.is_(False))
    return [
        ProgrammeRow(p, required, electives) for p, required, electives in db.session.execute(stmt)
    ]


def programme_by_code(code: str) -> Programme | None:
    """A programme with its courses and practicals (and their courses) loaded."""
    if not CODE.fullmatch(code):
        return None
    return db.session.scalar(
        sa.select(Programme)
        .where(Programme.code == code)
        .options(
            selectinload(Programme.courses).selectinload(ProgrammeCourse.course),
            selectinload(Programme.practicals).selectinload(Practical.course),
        )
    )


def competencies_of(dimensions: Iterable[str]) -> dict[str, list[Competency]]:
    """The (non-archived) competencies of each dimension asked for, in the standard's order."""
    wanted = [d for d in Dimension if d.value in set(dimensions)]
    found: dict[str, list[Competency]] = {d.value: [] for d in wanted}
    if wanted:
        rows = db.session.scalars(
            sa.select(Competency)
            .where(Competency.dimension.in_(found), Competency.archived.is_(False))
            .order_by(Competency.position, Competency.code)
        )
        for competency in rows:
            found[competency.dimension].append(competency)
    return found


@dataclass
class LessonUse:
    course_code: str
    lesson_id: int
    title: str
    title_en: str

    def display_title(self, locale: str) -> str:
        return self.title_en if locale.startswith("en") and self.title_en else self.title


@dataclass
class QuizUse:
    course_code: str
    quiz_title: str
    category: str


@dataclass
class CriterionUse:
    course_code: str
    practical: Practical
    title: str
    title_en: str

    def display_title(self, locale: str) -> str:
        return self.title_en if locale.startswith("en") and self.title_en else self.title


@dataclass
class CompetencyUses:
    """Where one competency is evidenced."""

    competency: Competency
    lessons: list[LessonUse] = field(default_factory=list)
    quizzes: list[QuizUse] = field(default_factory=list)
    criteria: list[CriterionUse] = field(default_factory=list)

    @property
    def evidenced(self) -> bool:
        return bool(self.lessons or self.quizzes or self.criteria)


def competency_map() -> dict[str, list[CompetencyUses]]:
    """Every dimension with its competencies and where each is evidenced, in four queries.

    Only published courses and their non-archived lessons, quizzes and practicals count.
    """
    uses: dict[str, list[CompetencyUses]] = {d.value: [] for d in Dimension}
    by_id: dict[int, CompetencyUses] = {}
    by_code: dict[str, CompetencyUses] = {}
    competencies = db.session.scalars(
        sa.select(Competency)
        .where(Competency.archived.is_(False))
        .order_by(Competency.position, Competency.code)
    )
    for competency in competencies:
        entry = CompetencyUses(competency)
        uses.setdefault(competency.dimension, []).append(entry)
        by_id[competency.id] = by_code[competency.code] = entry

    published = Course.status == CourseStatus.PUBLISHED.value
    lessons = db.session.execute(
        sa.select(
            lesson_competencies.c.competency_id,
            Course.code,
            Lesson.id,
            LessonVersion.title,
            LessonVersion.title_en,
        )
        .join(Lesson, Lesson.id == lesson_competencies.c.lesson_id)
        .join(LessonVersion, LessonVersion.id == Lesson.published_version_id)
        .join(Module, Module.id == Lesson.module_id)
        .join(Course, Course.id == Module.course_id)
        .where(published, Lesson.archived.is_(False), Module.archived.is_(False))
        .order_by(Course.code, Module.position, Lesson.position)
    )
    for competency_id, course_code, lesson_id, title, title_en in lessons:
        if entry := by_id.get(competency_id):
            entry.lessons.append(LessonUse(course_code, lesson_id, title, title_en))

    quizzes = db.session.execute(
        sa.select(Course.code, Quiz.title, Quiz.category_competencies)
        .join(Module, Module.id == Quiz.module_id)
        .join(Course, Course.id == Module.course_id)
        .where(published, Quiz.archived.is_(False), Module.archived.is_(False))
        .order_by(Course.code, Module.position, Quiz.position)
    )
    for course_code, quiz_title, categories in quizzes:
        for category, codes in (categories or {}).items():
            for code in codes or []:
                if entry := by_code.get(code):
                    entry.quizzes.append(QuizUse(course_code, quiz_title, category))

    practicals = db.session.execute(
        sa.select(Practical, Course.code)
        .join(Course, Course.id == Practical.course_id)
        .where(published, Practical.archived.is_(False))
        .order_by(Course.code, Practical.position)
    )
    for practical, course_code in practicals:
        for criterion in practical.criteria or []:
            for code in criterion.get("competencies") or []:
                if entry := by_code.get(code):
                    entry.criteria.append(
                        CriterionUse(
                            course_code,
                            practical,
                            criterion.get("title", ""),
                            criterion.get("title_en", ""),
                        )
                    )
    return uses


def course_choices() -> list[Course]:
    """Published courses, by code: what a programme may list."""
    return list(
        db.session.scalars(
            sa.select(Course)
            .where(Course.status == CourseStatus.PUBLISHED.value)
            .order_by(Course.code)
        )
    )


def practical_choices(include: Iterable[int] = ()) -> list[Practical]:
    """Non-archived practicals of published courses (and those in ``include``), by course."""
    include = list(include)
    condition = sa.and_(
        Course.status == CourseStatus.PUBLISHED.value, Practical.archived.is_(False)
    )
    if include:
        condition = sa.or_(condition, Practical.id.in_(include))
    return list(
        db.session.scalars(
            sa.select(Practical)
            .join(Course, Course.id == Practical.course_id)
            .where(condition)
            .options(selectinload(Practical.course))
            .order_by(Course.code, Practical.position, Practical.key)
        )
    )


# Changing --------------------------------------------------------------------------------------


@dataclass
class ProgrammeData:
    """What an administrator may set on a programme (``code`` only when creating it)."""

    title: str
    track: str
    cycle: str
    code: str = ""
    title_en: str = ""
    summary: str = ""
    summary_en: str = ""
    tier: str | None = None
    requires_tier: str | None = None
    min_ce_hours: Decimal | None = Decimal(0)
    min_electives: int | None = 0
    required_course_ids: list[int] = field(default_factory=list)
    elective_course_ids: list[int] = field(default_factory=list)
    practical_ids: list[int] = field(default_factory=list)
    required_dimensions: list[str] = field(default_factory=list)
    certificate_title: str = ""
    certificate_title_en: str = ""


@dataclass
class _Checked:
    """Validated values: the columns, and the courses and practicals to link."""

    values: dict[str, Any]
    required: list[Course]
    electives: list[Course]
    practicals: list[Practical]


def _text(value: str, key: str, limit: int, errors: dict[str, str], required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        errors[key] = _("This field is required.")
    elif len(value) > limit:
        errors[key] = _("At most %(n)d characters.", n=limit)
    return value


def _check_code(code: str, errors: dict[str, str]) -> str:
    code = code.strip().upper()
    if not CODE.fullmatch(code):
        errors["code"] = _(
            "Use 1 to 32 capital letters, digits or dashes, starting with a letter or digit."
        )
    elif db.session.scalar(sa.select(Programme.id).where(Programme.code == code)) is not None:
        errors["code"] = _("Another programme already has this code.")
    return code


def _check_choice(
    value: str | None, allowed: Iterable[str], key: str, errors: dict[str, str]
) -> None:
    if value is not None and value not in set(allowed):
        errors[key] = _("Not a valid choice.")


def _check_hours(hours: Decimal | None, errors: dict[str, str]) -> Decimal:
    if hours is None:
        errors["min_ce_hours"] = _("Enter a number of hours, 0 if none are required.")
        return Decimal(0)
    if not hours.is_finite() or not 0 <= hours <= MAX_CE_HOURS:
        errors["min_ce_hours"] = _("Between 0 and %(max)d hours.", max=MAX_CE_HOURS)
    elif hours != hours.quantize(ONE_DECIMAL):
        errors["min_ce_hours"] = _("At most one decimal, such as 7.5.")
    return hours


def _courses(ids: list[int], key: str, allowed: set[int], errors: dict[str, str]) -> list[Course]:
    """The courses behind ``ids``, in order; ``allowed`` are ids that may be listed even if no
    longer published (those the programme already has)."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    found = {
        course.id: course
        for course in db.session.scalars(sa.select(Course).where(Course.id.in_(ids)))
    }
    usable = [
        i for i in ids if i in found and (found[i].status == CourseStatus.PUBLISHED or i in allowed)
    ]
    if len(usable) != len(ids):
        errors[key] = _("Choose published courses only.")
    return [found[i] for i in usable]


def validate_programme(data: ProgrammeData, existing: Programme | None = None) -> _Checked:
    """Check ``data`` (for a new programme when ``existing`` is None) or raise
    ``ValidationError`` naming each wrong field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "title": _text(data.title, "title", TITLE_MAX, errors, required=True),
        "title_en": _text(data.title_en, "title_en", TITLE_MAX, errors),
        "summary": _text(data.summary, "summary", SUMMARY_MAX, errors),
        "summary_en": _text(data.summary_en, "summary_en", SUMMARY_MAX, errors),
        "certificate_title": _text(data.certificate_title, "certificate_title", TITLE_MAX, errors),
        "certificate_title_en": _text(
            data.certificate_title_en, "certificate_title_en", TITLE_MAX, errors
        ),
        "track": data.track,
        "tier": data.tier or None,
        "requires_tier": data.requires_tier or None,
        "cycle": data.cycle,
        "min_ce_hours": _check_hours(data.min_ce_hours, errors),
    }
    if existing is None:
        values["code"] = _check_code(data.code, errors)
    _check_choice(data.track, (t.value for t in Track), "track", errors)
    _check_choice(values["tier"], (t.value for t in Tier), "tier", errors)
    _check_choice(values["requires_tier"], (t.value for t in Tier), "requires_tier", errors)
    if (
        "requires_tier" not in errors
        and values["requires_tier"]
        and values["requires_tier"] == values["tier"]
    ):
        errors["requires_tier"] = _("A programme cannot require the tier it leads to.")
    _check_choice(data.cycle, (c.value for c in Cycle), "cycle", errors)
    dimensions = list(dict.fromkeys(data.required_dimensions))
    if any(d not in {x.value for x in Dimension} for d in dimensions):
        errors["required_dimensions"] = _("Not a valid choice.")
    values["required_dimensions"] = [d.value for d in Dimension if d.value in dimensions]

    kept = {link.course_id for link in existing.courses} if existing else set()
    required = _courses(data.required_course_ids, "required_courses", kept, errors)
    electives = _courses(data.elective_course_ids, "elective_courses", kept, errors)
    if "required_courses" not in errors and "elective_courses" not in errors:
        both = {c.id for c in required} & {c.id for c in electives}
        if both:
            codes = ", ".join(sorted(c.code for c in electives if c.id in both))
            errors["elective_courses"] = _(
                "A course is either required or elective, not both: %(codes)s.", codes=codes
            )
        elif not required and not electives:
            errors["required_courses"] = _("Choose at least one course.")

    if data.min_electives is None or data.min_electives < 0:
        errors["min_electives"] = _("Enter a whole number, 0 if no elective is required.")
    elif "elective_courses" not in errors and data.min_electives > len(electives):
        errors["min_electives"] = _(
            "At most the number of elective courses (%(n)d).", n=len(electives)
        )
    values["min_electives"] = data.min_electives or 0

    practicals: list[Practical] = []
    if "required_courses" not in errors and "elective_courses" not in errors:
        practicals = _practicals(data.practical_ids, {c.id for c in required + electives}, errors)
    if errors:
        raise ValidationError(errors)
    return _Checked(values, required, electives, practicals)


def _practicals(ids: list[int], course_ids: set[int], errors: dict[str, str]) -> list[Practical]:
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    found = {p.id: p for p in db.session.scalars(sa.select(Practical).where(Practical.id.in_(ids)))}
    if any(i not in found or found[i].course_id not in course_ids for i in ids):
        errors["practicals"] = _("Choose practical assessments of the programme's courses only.")
        return []
    return [found[i] for i in ids]


def snapshot(programme: Programme) -> dict[str, Any]:
    """The audited facts of a programme, as plain JSON values (courses by code)."""
    return {
        "code": programme.code,
        "title": programme.title,
        "title_en": programme.title_en,
        "summary": programme.summary,
        "summary_en": programme.summary_en,
        "track": programme.track,
        "tier": programme.tier,
        "requires_tier": programme.requires_tier,
        "cycle": programme.cycle,
        "min_ce_hours": f"{Decimal(programme.min_ce_hours):.1f}",
        "min_electives": programme.min_electives,
        "required_courses": [link.course.code for link in programme.courses if link.required],
        "elective_courses": [link.course.code for link in programme.courses if not link.required],
        "practicals": sorted(f"{p.course.code}:{p.key}" for p in programme.practicals),
        "required_dimensions": list(programme.required_dimensions),
        "certificate_title": programme.certificate_title,
        "certificate_title_en": programme.certificate_title_en,
        "archived": programme.archived,
    }


def _apply(programme: Programme, checked: _Checked) -> None:
    for key, value in checked.values.items():
        setattr(programme, key, value)
    wanted = [(course, True) for course in checked.required] + [
        (course, False) for course in checked.electives
    ]
    links = {link.course_id: link for link in programme.courses}
    kept: list[ProgrammeCourse] = []
    for position, (course, required) in enumerate(wanted, 1):
        link = links.get(course.id) or ProgrammeCourse(course=course)
        link.required, link.position = required, position
        kept.append(link)
    programme.courses = kept
    programme.practicals = checked.practicals


def create_programme(actor_id: int | None, data: ProgrammeData) -> Programme:
    """A new programme written in the browser."""
    checked = validate_programme(data)
    programme = Programme(origin="browser")
    _apply(programme, checked)
    db.session.add(programme)
    db.session.flush()
    audit.record(
        actor_id, "programme.created", "programme", programme.id, after=snapshot(programme)
    )
    return programme


def update_programme(actor_id: int | None, programme: Programme, data: ProgrammeData) -> Programme:
    """Change everything but the code."""
    checked = validate_programme(data, existing=programme)
    before = snapshot(programme)
    _apply(programme, checked)
    db.session.flush()
    refresh_from_programme(programme)  # the certificate type follows titles and tier
    audit.record(
        actor_id,
        "programme.updated",
        "programme",
        programme.id,
        before=before,
        after=snapshot(programme),
    )
    return programme


def set_archived(actor_id: int | None, programme: Programme, archived: bool) -> None:
    """Archive (hidden from the list and from new cohorts; records kept) or bring back."""
    if programme.archived == archived:
        return
    before = snapshot(programme)
    programme.archived = archived
    db.session.flush()
    action = "programme.archived" if archived else "programme.unarchived"
    audit.record(
        actor_id, action, "programme", programme.id, before=before, after=snapshot(programme)
    )
