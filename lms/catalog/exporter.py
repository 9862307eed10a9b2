"""Writing a course back into the file format of ``courses/`` (``lms courses export``).

Which version of a lesson is written: the **published** one, since that is what the course
teaches; a lesson that was never published (written in the browser, still a draft) is
written from its **latest draft**, so no work is lost, and the result lists it, because
importing the folder will publish it. Archived modules, lessons and quizzes are left out.
Quizzes are written as their stored GIFT source and images from the file store; their
settings (those that differ from the defaults) as ``[modules.quizzes.<key>]`` tables, the
course's practical assessments (archived ones left out) as ``[[practicals]]`` tables, and the
competencies linked to each lesson in its front matter.

Importing an exported folder changes nothing (the round trip is stable): the lesson files are
written with :func:`lms.catalog.importer.lesson_source.write_lesson`, which reads back into
equal content.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from lms.assessments.models import Practical
from lms.catalog import files as images
from lms.catalog.importer import toml_text
from lms.catalog.importer.lesson_source import write_lesson
from lms.catalog.importer.quiz_settings import DEFAULTS
from lms.catalog.importer.reader import COURSE_FILE
from lms.catalog.models import Course, CourseAsset, Lesson, Module, Quiz
from lms.catalog.services import KEY, LessonContent, latest_version
from lms.extensions import db
from lms.learning.models import Competency, lesson_competencies


class ExportError(Exception):
    """The course cannot be written (nothing was written)."""


@dataclass
class ExportResult:
    folder: Path
    lessons: int = 0
    quizzes: int = 0
    images: int = 0
    practicals: int = 0
    drafts: list[str] = field(default_factory=list)  # "module/lesson" written from a draft
    skipped: list[str] = field(default_factory=list)  # lessons without any version


def folder_name(course: Course) -> str:
    """The course's folder: where it was imported from, else its code in lower case."""
    return course.source_dir or course.code.lower()


def find_course(code: str) -> Course | None:
    return db.session.scalar(
        sa.select(Course)
        .where(Course.code == code)
        .options(
            selectinload(Course.modules)
            .selectinload(Module.lessons)
            .selectinload(Lesson.published_version),
            selectinload(Course.modules).selectinload(Module.quizzes),
            selectinload(Course.prerequisites),
        )
    )


def export_course(course: Course, dest: Path, *, replace: bool = False) -> ExportResult:
    """Write ``course`` into ``dest/<folder>``; with ``replace`` an existing folder is replaced.

    The files are written into a temporary folder beside the target first and moved into
    place at the end, so a failure leaves no half-written course.
    """
    target = dest / folder_name(course)
    if target.exists() and (not target.is_dir() or any(target.iterdir())) and not replace:
        raise ExportError(
            _("%(path)s already exists (use --replace to overwrite it)", path=str(target))
        )
    dest.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=dest))
    try:
        result = _write(course, work)
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    result.folder = target
    return result


def _safe_name(name: str, what: str) -> str:
    if not KEY.fullmatch(name):
        raise ExportError(
            _("%(what)s %(name)s cannot be used as a file name", what=what, name=name)
        )
    return name


def _write(course: Course, folder: Path) -> ExportResult:
    result = ExportResult(folder=folder)
    out = [
        f"code = {toml_text.string(course.code)}",
        f"title = {toml_text.string(course.title)}",
        f"title_en = {toml_text.string(course.title_en or '')}",
        f"summary = {toml_text.string(course.summary or '', multiline=True)}",
        f"summary_en = {toml_text.string(course.summary_en or '', multiline=True)}",
        f"track = {toml_text.string(course.track)}",
        f"ce_hours = {toml_text.value(course.ce_hours)}",
    ]
    if course.partner_code:
        out.append(f"partner = {toml_text.string(course.partner_code)}")
    out.append(f"level = {toml_text.string(course.level)}")
    out.append(f"prerequisites = {toml_text.value(sorted(c.code for c in course.prerequisites))}")
    competencies = _lesson_competencies(course)

    for module in sorted(course.modules, key=lambda m: m.position):
        if module.archived:
            continue
        key = _safe_name(module.key, _("module"))
        module_dir = folder / key
        module_dir.mkdir()
        names = []
        for lesson in sorted(module.lessons, key=lambda item: item.position):
            if lesson.archived:
                continue
            name = _safe_name(lesson.key, _("lesson"))
            version = lesson.published_version or latest_version(lesson)
            if version is None:
                result.skipped.append(f"{key}/{name}")
                continue
            if lesson.published_version is None:
                result.drafts.append(f"{key}/{name}")
            text = write_lesson(LessonContent.of(version), competencies.get(lesson.id, []))
            (module_dir / f"{name}.md").write_text(text, "utf-8")
            names.append(name)
            result.lessons += 1
        out += [
            "",
            "[[modules]]",
            f"dir = {toml_text.string(key)}",
            f"title = {toml_text.string(module.title)}",
            f"title_en = {toml_text.string(module.title_en or '')}",
            f"lessons = {toml_text.string_list(names)}",
        ]
        for quiz in sorted(module.quizzes, key=lambda q: (q.position, q.key)):
            if quiz.archived:
                continue
            quiz_name = _safe_name(quiz.key, _("quiz"))
            source = quiz.source if quiz.source.endswith("\n") else quiz.source + "\n"
            (module_dir / f"{quiz_name}.gift").write_text(source, "utf-8")
            out += _quiz_settings(key, quiz)
            result.quizzes += 1
    for practical in _practicals(course):
        out += _practical(practical)
        result.practicals += 1
    (folder / COURSE_FILE).write_text("\n".join(out) + "\n", "utf-8")
    result.images = _write_assets(course, folder)
    return result


def _lesson_competencies(course: Course) -> dict[int, list[str]]:
    """The codes linked to each lesson of the course, in the standard's order."""
    rows = db.session.execute(
        sa.select(lesson_competencies.c.lesson_id, Competency.code)
        .join(Competency, Competency.id == lesson_competencies.c.competency_id)
        .join(Lesson, Lesson.id == lesson_competencies.c.lesson_id)
        .join(Module, Module.id == Lesson.module_id)
        .where(Module.course_id == course.id)
        .order_by(Competency.position, Competency.code)
    )
    found: dict[int, list[str]] = {}
    for lesson_id, code in rows:
        found.setdefault(lesson_id, []).append(code)
    return found


def _inline(items: dict[str, object]) -> str:
    """A TOML inline table; keys are always quoted (category names are Chinese)."""
    return "{" + ", ".join(f"{toml_text.string(k)} = {_value(v)}" for k, v in items.items()) + "}"


def _value(item: object) -> str:
    if isinstance(item, dict):
        return _inline(item)
    if isinstance(item, list) and any(isinstance(i, dict) for i in item):
        return "[" + ", ".join(_value(i) for i in item) + "]"
    return toml_text.value(item)


def _quiz_settings(module_key: str, quiz: Quiz) -> list[str]:
    """The ``[modules.quizzes.<key>]`` table: the settings that are not the defaults."""
    names = {"category_competencies": "competencies"}
    lines = []
    for column, default in DEFAULTS.items():
        value = getattr(quiz, column)
        if value == default:
            continue
        if column == "draw":
            value = [{"category": d["category"], "count": int(d["count"])} for d in value]
        lines.append(f"{names.get(column, column)} = {_value(value)}")
    return ["", f"[modules.quizzes.{quiz.key}]", *lines] if lines else []


def _practicals(course: Course) -> list[Practical]:
    return list(
        db.session.scalars(
            sa.select(Practical)
            .where(Practical.course_id == course.id, Practical.archived.is_(False))
            .order_by(Practical.position, Practical.key)
        )
    )


def _practical(practical: Practical) -> list[str]:
    """A ``[[practicals]]`` table and its ``[[practicals.criteria]]``."""
    _safe_name(practical.key, _("practical"))
    levels = [
        {"points": int(level["points"]), "label": level["label"], "label_en": level["label_en"]}
        for level in practical.levels
    ]
    out = [
        "",
        "[[practicals]]",
        f"key = {toml_text.string(practical.key)}",
        f"title = {toml_text.string(practical.title)}",
        f"title_en = {toml_text.string(practical.title_en or '')}",
    ]
    if practical.instructions:
        out.append(f"instructions = {toml_text.string(practical.instructions, multiline=True)}")
    out.append("levels = [")
    out += [f"  {_inline(level)}," for level in levels]
    out.append("]")
    out.append(f"pass_points = {int(practical.pass_points)}")
    out.append(f"min_points = {int(practical.min_points)}")
    for criterion in practical.criteria:
        out += [
            "",
            "[[practicals.criteria]]",
            f"key = {toml_text.string(criterion['key'])}",
            f"title = {toml_text.string(criterion['title'])}",
            f"title_en = {toml_text.string(criterion.get('title_en') or '')}",
        ]
        if criterion.get("competencies"):
            out.append(f"competencies = {toml_text.value(list(criterion['competencies']))}")
    return out


def _write_assets(course: Course, folder: Path) -> int:
    missing = []
    count = 0
    for asset in db.session.scalars(
        sa.select(CourseAsset).where(CourseAsset.course_id == course.id).order_by(CourseAsset.path)
    ):
        parts = PurePosixPath(asset.path).parts
        if not parts or asset.path.startswith("/") or ".." in parts or "\\" in asset.path:
            raise ExportError(_("image path %(path)s is not inside the course", path=asset.path))
        try:
            data = images.load(asset.sha256)
        except FileNotFoundError:
            missing.append(asset.path)
            continue
        file = folder.joinpath(*parts)
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(data)
        count += 1
    if missing:
        raise ExportError(
            _("images missing from the file store: %(paths)s", paths=", ".join(missing))
        )
    return count
