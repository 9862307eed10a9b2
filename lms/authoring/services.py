"""Writing courses in the browser: courses, owners, modules, lessons, versions and images.

Every function validates before it changes anything (raising ``ValidationError``), flushes,
and leaves the commit to the caller. Lesson versions go through :mod:`lms.catalog.services`
(the importer uses the same functions), so a lesson written here and one imported from
``courses/`` are stored alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, joinedload

from lms.audit import services as audit
from lms.auth.models import RoleAssignment, User
from lms.auth.roles import Role
from lms.catalog import files as images
from lms.catalog import services as catalog
from lms.catalog.models import Course, CourseAsset, Lesson, LessonVersion, Module
from lms.catalog.models.course import CourseStatus, Level, Track, course_owners
from lms.catalog.models.course import course_prerequisites as prerequisites_table
from lms.catalog.queries import course_stats
from lms.catalog.services import MAX_MINUTES, MIN_MINUTES, LessonContent
from lms.extensions import db
from lms.orgs.models import Organisation, OrgKind
from lms.validation import ValidationError

# The course file format's rules (courses/README.md) come from lms.catalog.services, shared
# with the importer, so that what is written in the browser can be exported and imported back.
MAX_CE_HOURS = Decimal(catalog.MAX_CE_HOURS)
MAX_OBJECTIVES = 20
MAX_OBJECTIVE_LENGTH = 300
MAX_MARKDOWN = 200_000  # characters; a long lesson is a few tens of thousands
MAX_IMAGE_BYTES = images.MAX_IMAGE_BYTES


# Courses ---------------------------------------------------------------------------------------


@dataclass
class CourseData:
    """The course form's values (``code`` is only read when creating: it names the files)."""

    title: str
    track: str
    level: str
    code: str = ""
    title_en: str = ""
    summary: str = ""
    summary_en: str = ""
    ce_hours: Decimal | None = None
    partner_code: str | None = None
    prerequisite_ids: list[int] = field(default_factory=list)


def _clean_line(value: str) -> str:
    return " ".join((value or "").split())


def _check_text(
    value: str, key: str, errors: dict[str, str], *, required: bool = False, limit: int = 200
) -> str:
    value = _clean_line(value)
    if required and not value:
        errors[key] = _("This is required.")
    elif len(value) > limit:
        errors[key] = _("At most %(n)d characters.", n=limit)
    return value


def university_partners(current: str | None = None) -> list[Organisation]:
    """Active university partners, and the course's current partner whatever its state."""
    condition = sa.and_(Organisation.kind == OrgKind.UNIVERSITY, Organisation.active)
    if current:
        condition = sa.or_(condition, Organisation.code == current)
    return list(db.session.scalars(sa.select(Organisation).where(condition).order_by("code")))


def prerequisite_choices(course: Course | None = None) -> list[Course]:
    """Courses that may be required before ``course`` (every other one)."""
    stmt = sa.select(Course).order_by(Course.code)
    if course is not None:
        stmt = stmt.where(Course.id != course.id)
    return list(db.session.scalars(stmt))


def _requires(start_ids: Iterable[int], target_id: int) -> bool:
    """Whether ``target_id`` is among ``start_ids`` or any course they require, transitively."""
    edges: dict[int, list[int]] = {}
    for course_id, required_id in db.session.execute(
        sa.select(prerequisites_table.c.course_id, prerequisites_table.c.required_id)
    ):
        edges.setdefault(course_id, []).append(required_id)
    seen: set[int] = set()
    todo = list(start_ids)
    while todo:
        current = todo.pop()
        if current == target_id:
            return True
        if current in seen:
            continue
        seen.add(current)
        todo.extend(edges.get(current, ()))
    return False


def validate_course(data: CourseData, existing: Course | None = None) -> dict[str, Any]:
    """Check a course form; the values to store, or ``ValidationError`` naming each field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "title": _check_text(data.title, "title", errors, required=True),
        "title_en": _check_text(data.title_en, "title_en", errors),
        "summary": (data.summary or "").strip(),
        "summary_en": (data.summary_en or "").strip(),
    }
    for key in ("summary", "summary_en"):
        if len(values[key]) > 4000:
            errors[key] = _("At most %(n)d characters.", n=4000)
    if existing is None:
        code = (data.code or "").strip().upper()
        if not catalog.COURSE_CODE.fullmatch(code):
            errors["code"] = _("Use 1 to 32 capital letters, digits or dashes.")
        elif db.session.scalar(sa.select(Course.id).where(Course.code == code)) is not None:
            errors["code"] = _("Another course already has this code.")
        values["code"] = code
    if data.track not in {t.value for t in Track}:
        errors["track"] = _("Choose a track.")
    values["track"] = data.track
    if data.level not in {level.value for level in Level}:
        errors["level"] = _("Choose a level.")
    values["level"] = data.level
    hours = data.ce_hours if data.ce_hours is not None else Decimal(0)
    try:
        valid_hours = hours.is_finite() and 0 <= hours <= MAX_CE_HOURS and (hours * 2) % 1 == 0
    except InvalidOperation:
        valid_hours = False
    if not valid_hours:
        errors["ce_hours"] = _("From 0 to %(n)d hours, in halves.", n=int(MAX_CE_HOURS))
    else:
        values["ce_hours"] = hours.quantize(Decimal("0.1"))
    partner = (data.partner_code or "").strip() or None
    if partner is not None and (existing is None or partner != existing.partner_code):
        known = db.session.scalar(
            sa.select(Organisation.id).where(
                Organisation.code == partner,
                Organisation.kind == OrgKind.UNIVERSITY,
                Organisation.active,
            )
        )
        if known is None:
            errors["partner"] = _("Choose a university partner from the list.")
    values["partner_code"] = partner
    wanted = sorted(set(data.prerequisite_ids))
    required: list[Course] = []
    if wanted:
        required = list(db.session.scalars(sa.select(Course).where(Course.id.in_(wanted))))
        if len(required) != len(wanted):
            errors["prerequisites"] = _("Unknown course.")
        elif existing is not None and existing.id in wanted:
            errors["prerequisites"] = _("A course cannot require itself.")
        elif existing is not None and _requires(wanted, existing.id):
            errors["prerequisites"] = _(
                "These prerequisites would make a loop: one of them already requires this course."
            )
    values["prerequisites"] = required
    if errors:
        raise ValidationError(errors)
    return values


def snapshot(course: Course) -> dict[str, Any]:
    """The audited fields of a course."""
    return {
        "code": course.code,
        "title": course.title,
        "title_en": course.title_en,
        "summary": course.summary,
        "summary_en": course.summary_en,
        "track": course.track,
        "level": course.level,
        "ce_hours": str(course.ce_hours),
        "partner_code": course.partner_code,
        "prerequisites": sorted(c.code for c in course.prerequisites),
        "status": course.status,
    }


def create_course(actor: User, data: CourseData) -> Course:
    """A new draft course written in the browser; an instructor who creates it owns it."""
    values = validate_course(data)
    course = Course(status=CourseStatus.DRAFT, origin="browser", **values)
    if actor.has_role(Role.INSTRUCTOR):
        course.owners.append(actor)
    db.session.add(course)
    db.session.flush()
    catalog.refresh_search_text(course)
    audit.record(actor.id, "course.created", "course", course.id, after=snapshot(course))
    return course


def update_course(actor: User, course: Course, data: CourseData) -> Course:
    """Change a course's description (its code is fixed: it names its files and URLs)."""
    values = validate_course(data, existing=course)
    before = snapshot(course)
    for key, value in values.items():
        setattr(course, key, value)
    catalog.refresh_search_text(course)
    db.session.flush()
    audit.record(actor.id, "course.updated", "course", course.id, before, snapshot(course))
    return course


def published_lesson_count(course: Course) -> int:
    """Live lessons of a course: published, not archived, in a module not archived."""
    stats = course_stats([course.id]).get(course.id)
    return stats.lessons if stats is not None else 0


def publish_course(actor: User, course: Course) -> bool:
    """Put a course in the catalogue; refused while none of its lessons is published.

    Returns False when it was already published.
    """
    if course.status == CourseStatus.PUBLISHED:
        return False
    if published_lesson_count(course) == 0:
        raise ValidationError(_("Publish at least one lesson before publishing the course."))
    _set_status(actor, course, CourseStatus.PUBLISHED, "course.published")
    return True


def unpublish_course(actor: User, course: Course) -> bool:
    """Take a course out of the catalogue (back to draft); its records are kept."""
    if course.status == CourseStatus.DRAFT:
        return False
    _set_status(actor, course, CourseStatus.DRAFT, "course.unpublished")
    return True


def _set_status(actor: User, course: Course, status: str, action: str) -> None:
    before = course.status
    course.status = status
    catalog.refresh_search_text(course)
    db.session.flush()
    audit.record(actor.id, action, "course", course.id, {"status": before}, {"status": status})


@dataclass
class CourseRow:
    """A line of the authoring index."""

    course: Course
    lessons: int
    published_lessons: int
    last_change: datetime


def editable_courses_select(actor: User) -> sa.Select[tuple[Course]]:
    """The courses ``actor`` may edit: all of them for an admin, else the ones they own."""
    stmt = sa.select(Course).order_by(Course.code)
    if not actor.has_role(Role.ADMIN):
        owned = sa.select(course_owners.c.course_id).where(course_owners.c.user_id == actor.id)
        stmt = stmt.where(Course.id.in_(owned))
    return stmt


def course_rows(courses: list[Course]) -> list[CourseRow]:
    """Lesson counts and the time of the last change, for a page of courses in one query."""
    if not courses:
        return []
    stmt = (
        sa.select(
            Module.course_id,
            sa.func.count(sa.distinct(Lesson.id)),
            sa.func.count(sa.distinct(Lesson.published_version_id)),
            sa.func.max(LessonVersion.created_at),
        )
        .join(Lesson, Lesson.module_id == Module.id)
        .outerjoin(LessonVersion, LessonVersion.lesson_id == Lesson.id)
        .where(Module.course_id.in_([c.id for c in courses]), ~Module.archived, ~Lesson.archived)
        .group_by(Module.course_id)
    )
    stats = {row[0]: row[1:] for row in db.session.execute(stmt)}
    rows = []
    for course in courses:
        lessons, published, last_version = stats.get(course.id, (0, 0, None))
        last = course.updated_at if last_version is None else max(course.updated_at, last_version)
        rows.append(CourseRow(course, lessons, published, last))
    return rows


# Owners ----------------------------------------------------------------------------------------


def instructors() -> list[User]:
    """Active holders of the instructor role, by name."""
    stmt = (
        sa.select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == Role.INSTRUCTOR, User.active)
        .order_by(User.name, User.id)
    )
    return list(db.session.scalars(stmt))


def add_owner(actor: User, course: Course, user_id: int | None) -> User:
    """Let an instructor edit ``course``."""
    person = db.session.get(User, user_id) if user_id else None
    if person is None or not person.has_role(Role.INSTRUCTOR) or not person.active:
        raise ValidationError({"user_id": _("Choose an active instructor.")})
    if course.is_owned_by(person):
        raise ValidationError(
            {"user_id": _("%(name)s already owns this course.", name=person.name)}
        )
    before = _owner_ids(course)
    course.owners.append(person)
    _record_owners(actor, course, "course.owner_added", before)
    return person


def remove_owner(actor: User, course: Course, user_id: int | None) -> User:
    """Stop an instructor editing ``course`` (their versions stay, with their name)."""
    person = next((o for o in course.owners if o.id == user_id), None)
    if person is None:
        raise ValidationError(_("This person does not own the course."))
    before = _owner_ids(course)
    course.owners.remove(person)
    _record_owners(actor, course, "course.owner_removed", before)
    return person


def _owner_ids(course: Course) -> list[int]:
    return sorted(o.id for o in course.owners)


def _record_owners(actor: User, course: Course, action: str, before: list[int]) -> None:
    db.session.flush()
    audit.record(
        actor.id, action, "course", course.id, {"owners": before}, {"owners": _owner_ids(course)}
    )


# Modules and lessons ---------------------------------------------------------------------------


def _slug(text: str, limit: int) -> str:
    """Lower-case ASCII letters, digits and single dashes (empty for Chinese-only text)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")


def _check_titles(title: str, title_en: str) -> tuple[str, str]:
    """A module's or lesson's titles, cleaned; ``ValidationError`` when they do not fit."""
    errors: dict[str, str] = {}
    title = _check_text(title, "title", errors, required=True)
    title_en = _check_text(title_en, "title_en", errors)
    if errors:
        raise ValidationError(errors)
    return title, title_en


def _new_place(siblings: list[Any], wanted: str, suggestion: str) -> tuple[int, str]:
    """The position (last) and the folder or file name of a new module or lesson.

    A key the author typed is used as it is (and must be free); otherwise one is made from
    the position and the English title, e.g. ``03-hand-washing``, made unique if needed.
    """
    position = max((s.position for s in siblings), default=0) + 1
    taken = {s.key for s in siblings}
    wanted = (wanted or "").strip()
    if wanted:
        if not catalog.KEY.fullmatch(wanted):
            raise ValidationError(
                {"key": _("Use lower-case letters, digits and dashes (at most 64).")}
            )
        if wanted in taken:
            raise ValidationError({"key": _("This name is already used here.")})
        return position, wanted
    base = f"{position:02d}-{_slug(suggestion, 40) or 'part'}"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return position, key


def create_module(
    actor: User, course: Course, title: str, title_en: str = "", key: str = ""
) -> Module:
    """Add a module at the end of the course."""
    title, title_en = _check_titles(title, title_en)
    siblings = list(db.session.scalars(sa.select(Module).where(Module.course_id == course.id)))
    position, key = _new_place(siblings, key, title_en)
    module = Module(course=course, key=key, title=title, title_en=title_en, position=position)
    db.session.add(module)
    db.session.flush()
    return module


def rename_module(module: Module, title: str, title_en: str = "") -> None:
    """Change a module's titles (its key stays: it names its folder and image paths)."""
    module.title, module.title_en = _check_titles(title, title_en)
    catalog.refresh_search_text(module.course)
    db.session.flush()


def _move(items: list[Any], item: Any, direction: str) -> bool:
    """Move ``item`` one place among the visible (not archived) ``items``; renumber all.

    Returns False when it cannot move further that way.
    """
    visible = [i for i in items if not i.archived]
    if item not in visible or direction not in ("up", "down"):
        return False
    index = visible.index(item)
    target = index - 1 if direction == "up" else index + 1
    if not 0 <= target < len(visible):
        return False
    other = visible[target]
    a, b = items.index(item), items.index(other)
    items[a], items[b] = items[b], items[a]
    for position, each in enumerate(items, start=1):
        each.position = position
    db.session.flush()
    return True


def move_module(module: Module, direction: str) -> bool:
    siblings = list(
        db.session.scalars(
            sa.select(Module)
            .where(Module.course_id == module.course_id)
            .order_by(Module.position, Module.id)
        )
    )
    return _move(siblings, module, direction)


def move_lesson(lesson: Lesson, direction: str) -> bool:
    siblings = list(
        db.session.scalars(
            sa.select(Lesson)
            .where(Lesson.module_id == lesson.module_id)
            .order_by(Lesson.position, Lesson.id)
        )
    )
    return _move(siblings, lesson, direction)


def create_lesson(
    actor: User, module: Module, title: str, title_en: str = "", key: str = ""
) -> Lesson:
    """Add a lesson at the end of ``module``, with a first, empty draft holding its title."""
    title, title_en = _check_titles(title, title_en)
    siblings = list(db.session.scalars(sa.select(Lesson).where(Lesson.module_id == module.id)))
    position, key = _new_place(siblings, key, title_en)
    lesson = Lesson(module=module, key=key, position=position)
    db.session.add(lesson)
    db.session.flush()
    catalog.save_version(
        lesson,
        LessonContent(title=title, title_en=title_en, markdown=""),
        author_id=actor.id,
        origin="browser",
    )
    return lesson


def set_lesson_archived(actor: User, lesson: Lesson, archived: bool) -> bool:
    """Archive a lesson (hidden from trainees, never deleted: progress may refer to it)."""
    if lesson.archived == archived:
        return False
    lesson.archived = archived
    db.session.flush()
    catalog.refresh_search_text(lesson.module.course)
    audit.record(
        actor.id,
        "lesson.archived" if archived else "lesson.unarchived",
        "lesson",
        lesson.id,
        {"archived": not archived},
        {"archived": archived},
    )
    return True


@dataclass
class LessonRow:
    """A lesson on the course page: its latest title and its versions' state."""

    lesson: Lesson
    title: str
    title_en: str
    latest_number: int | None
    published_number: int | None

    @property
    def has_draft(self) -> bool:
        """Whether a version newer than the published one is waiting."""
        if self.latest_number is None:
            return False
        return self.published_number is None or self.latest_number > self.published_number

    def display_title(self, locale: str) -> str:
        return self.title_en if locale.startswith("en") and self.title_en else self.title


@dataclass
class ModuleOutline:
    module: Module
    lessons: list[LessonRow]


def course_outline(course: Course) -> list[ModuleOutline]:
    """Modules with their lessons and version numbers, in two queries however many lessons."""
    modules = list(
        db.session.scalars(
            sa.select(Module)
            .where(Module.course_id == course.id)
            .order_by(Module.position, Module.id)
        )
    )
    latest = (
        sa.select(
            LessonVersion.lesson_id.label("lesson_id"),
            sa.func.max(LessonVersion.number).label("number"),
        )
        .join(Lesson, Lesson.id == LessonVersion.lesson_id)
        .join(Module, Module.id == Lesson.module_id)
        .where(Module.course_id == course.id)
        .group_by(LessonVersion.lesson_id)
        .subquery()
    )
    last = aliased(LessonVersion)
    live = aliased(LessonVersion)
    stmt = (
        sa.select(Lesson, last.title, last.title_en, last.number, live.number)
        .join(Module, Module.id == Lesson.module_id)
        .outerjoin(latest, latest.c.lesson_id == Lesson.id)
        .outerjoin(last, sa.and_(last.lesson_id == Lesson.id, last.number == latest.c.number))
        .outerjoin(live, live.id == Lesson.published_version_id)
        .where(Module.course_id == course.id)
        .order_by(Lesson.position, Lesson.id)
    )
    by_module: dict[int, list[LessonRow]] = {m.id: [] for m in modules}
    for lesson, title, title_en, number, published in db.session.execute(stmt):
        by_module[lesson.module_id].append(
            LessonRow(lesson, title or lesson.key, title_en or "", number, published)
        )
    return [ModuleOutline(m, by_module[m.id]) for m in modules]


# Lesson versions -------------------------------------------------------------------------------


@dataclass
class LessonInput:
    """The lesson editor's fields as sent."""

    title: str
    markdown: str
    minutes: int | None = 10
    title_en: str = ""
    objectives: str = ""  # one per line


def parse_objectives(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def validate_lesson(data: LessonInput) -> LessonContent:
    """Check the editor's fields; a ``LessonContent`` ready to save."""
    errors: dict[str, str] = {}
    title = _check_text(data.title, "title", errors, required=True)
    title_en = _check_text(data.title_en, "title_en", errors)
    minutes = data.minutes
    if minutes is None or not MIN_MINUTES <= minutes <= MAX_MINUTES:
        errors["minutes"] = _("From %(a)d to %(b)d minutes.", a=MIN_MINUTES, b=MAX_MINUTES)
    objectives = [" ".join(o.split()) for o in parse_objectives(data.objectives)]
    if len(objectives) > MAX_OBJECTIVES:
        errors["objectives"] = _("At most %(n)d objectives.", n=MAX_OBJECTIVES)
    elif any(len(o) > MAX_OBJECTIVE_LENGTH for o in objectives):
        errors["objectives"] = _(
            "An objective has more than %(n)d characters.", n=MAX_OBJECTIVE_LENGTH
        )
    markdown = (data.markdown or "").replace("\r\n", "\n").replace("\r", "\n")
    if len(markdown) > MAX_MARKDOWN:
        errors["markdown"] = _("At most %(n)d characters.", n=MAX_MARKDOWN)
    if errors:
        raise ValidationError(errors)
    return LessonContent(
        title=title,
        title_en=title_en,
        minutes=minutes or 10,
        objectives=objectives,
        markdown=markdown.rstrip() + "\n" if markdown.strip() else "",
    )


def check_publishable(content: LessonContent | LessonVersion) -> None:
    """A lesson goes live only with a body and at least one objective (as in the files)."""
    errors = {}
    if not content.objectives:
        errors["objectives"] = _("Write at least one objective before publishing.")
    if not content.markdown.strip():
        errors["markdown"] = _("Write the lesson before publishing it.")
    if errors:
        raise ValidationError(errors)


@dataclass
class SaveResult:
    version: LessonVersion
    created: bool  # a new version was made (False: the content had not changed)
    published: bool  # the save made a version live


def save_lesson(
    actor: User,
    lesson: Lesson,
    data: LessonInput,
    *,
    publish: bool = False,
    base_number: int | None = None,
) -> SaveResult:
    """Save the editor's content as a new draft version, and publish it if asked.

    ``base_number`` is the version the editor was opened on: when someone else saved a
    different version since, the save is refused (once) so that their work is not
    overwritten unseen.
    """
    content = validate_lesson(data)
    if publish:
        check_publishable(content)
    latest = catalog.latest_version(lesson)
    if (
        latest is not None
        and base_number is not None
        and latest.number != base_number
        and latest.source_hash != content.digest()
    ):
        author = latest.author.name if latest.author else _("the course files")
        raise ValidationError(
            _(
                "Version %(n)d was saved by %(name)s after you opened this page. Your text is "
                "kept below: compare it with the history, then save again to replace it.",
                n=latest.number,
                name=author,
            )
        )
    was_live = lesson.published_version_id
    version = catalog.save_version(
        lesson, content, author_id=actor.id, origin="browser", publish=publish
    )
    created = latest is None or version.id != latest.id
    published = publish and lesson.published_version_id != was_live
    if published:
        catalog.refresh_search_text(lesson.module.course)
    return SaveResult(version, created, published)


def publish_lesson_version(actor: User, version: LessonVersion) -> bool:
    """Make an existing version live; False when it already was."""
    lesson = version.lesson
    if lesson.published_version_id == version.id:
        return False
    check_publishable(version)
    catalog.publish_version(version, actor.id)
    catalog.refresh_search_text(lesson.module.course)
    return True


def restore_lesson_version(
    actor: User, version: LessonVersion, *, publish: bool = False
) -> SaveResult:
    """A new draft with an old version's content (history is never rewritten)."""
    lesson = version.lesson
    if publish:
        check_publishable(version)
    latest = catalog.latest_version(lesson)
    restored = catalog.restore_version(version, actor.id)
    created = latest is None or restored.id != latest.id
    published = False
    if publish:
        published = publish_lesson_version(actor, restored)
    return SaveResult(restored, created, published)


def lesson_versions(lesson: Lesson) -> list[LessonVersion]:
    """Every version of a lesson, newest first, with its author, in one query."""
    return list(
        db.session.scalars(
            sa.select(LessonVersion)
            .options(joinedload(LessonVersion.author))
            .where(LessonVersion.lesson_id == lesson.id)
            .order_by(LessonVersion.number.desc())
        )
    )


def get_version(lesson: Lesson, number: int) -> LessonVersion | None:
    return db.session.scalar(
        sa.select(LessonVersion)
        .options(joinedload(LessonVersion.author))
        .where(LessonVersion.lesson_id == lesson.id, LessonVersion.number == number)
    )


def preview_html(lesson: Lesson, markdown: str) -> str:
    """What the editor's text will look like, rendered by the same code as on save."""
    module = lesson.module
    return catalog.render_lesson(module.course, module, markdown[:MAX_MARKDOWN]).html


# Images ----------------------------------------------------------------------------------------

# File name extension for each accepted type (the type is judged by the bytes, by the same
# checks as the importer's: lms.catalog.files).
EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/svg+xml": "svg",
}


def detect_image(original_name: str, data: bytes) -> tuple[str | None, list[str]]:
    """(content type, problems) for an uploaded file, judged by its content, not its name.

    PNG, JPEG, GIF and WebP are recognised by their first bytes; anything else must be an
    SVG drawing that runs and loads nothing.
    """
    looks_like_xml = data.lstrip()[:1] == b"<"
    suffix = ".svg" if looks_like_xml or original_name.lower().endswith(".svg") else ""
    content_type, problems = images.image_problems(data, suffix)
    messages = [message[:1].upper() + message[1:] for _line, message in problems]
    if content_type is None and not messages:
        messages = [_("This is not an image.")]
    return content_type, messages


def safe_file_name(original: str, extension: str) -> str:
    """A file name of lower-case letters, digits, dashes and one dot, ending in ``extension``."""
    stem = (original or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    stem = _slug(stem, 60) or "image"
    return f"{stem}.{extension}"


@dataclass
class UploadedImage:
    asset: CourseAsset
    name: str  # the file name in the module's images folder

    @property
    def reference(self) -> str:
        """The reference to write in a lesson of the module."""
        return f"images/{self.name}"


def store_image(actor: User, module: Module, original_name: str, data: bytes) -> UploadedImage:
    """Add an image beside a module's lessons, checking its real type and its size.

    The same picture uploaded again is found, not stored twice; another picture with a
    name already used gets a new name (``chart-2.png``) so that published lessons showing
    the first keep showing it.
    """
    if not data:
        raise ValidationError({"file": _("The file is empty.")})
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationError(
            {"file": _("The image is larger than %(n)d MB.", n=MAX_IMAGE_BYTES // 2**20)}
        )
    content_type, problems = detect_image(original_name, data)
    if content_type is None or problems:
        raise ValidationError({"file": " ".join(problems)})
    extension = EXTENSIONS[content_type]
    digest = images.sha256(data)
    existing = {image.name: image.asset for image in module_images(module)}
    name = safe_file_name(original_name, extension)
    stem, n = name.rsplit(".", 1)[0], 2
    while name in existing and existing[name].sha256 != digest:
        name, n = f"{stem}-{n}.{extension}", n + 1
    asset = existing.get(name)
    if asset is None:
        images.store(data, digest)
        asset = CourseAsset(
            course_id=module.course_id,
            path=_images_folder(module) + name,
            content_type=content_type,
            size=len(data),
            sha256=digest,
        )
        db.session.add(asset)
        db.session.flush()
        audit.record(
            actor.id,
            "course.image_added",
            "course",
            module.course_id,
            after={"path": asset.path, "size": asset.size, "sha256": digest},
        )
    return UploadedImage(asset, name)


def _images_folder(module: Module) -> str:
    return f"{module.key}/images/"


def module_images(module: Module) -> list[UploadedImage]:
    """The images beside a module's lessons, by name."""
    prefix = _images_folder(module)
    assets = db.session.scalars(
        sa.select(CourseAsset)
        .where(
            CourseAsset.course_id == module.course_id,
            CourseAsset.path.startswith(prefix, autoescape=True),
        )
        .order_by(CourseAsset.path)
    )
    return [UploadedImage(a, a.path.removeprefix(prefix)) for a in assets]
