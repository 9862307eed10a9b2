"""Reading a tree of course folders into plain dataclasses, with every problem found.

Nothing here touches the database (see :mod:`lms.catalog.importer.validate` for the checks
that do) and nothing is written. Problems are collected, never raised, so one run reports
all of them, each as ``path:line: message`` with the path as the user gave it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from lms.catalog import files as images
from lms.catalog.importer import toml_text
from lms.catalog.importer.fields import Fields
from lms.catalog.importer.lesson_source import LessonSource, parse_lesson
from lms.catalog.importer.practicals import PracticalSpec, read_practicals
from lms.catalog.importer.problems import Problem, Problems, Reference
from lms.catalog.importer.quiz_settings import QuizSettings, read_quiz_settings
from lms.catalog.models.course import Level, Track
from lms.catalog.services import (
    COURSE_CODE,
    KEY,
    MAX_CE_HOURS,
    LessonContent,
    image_resolver,
    resolve_asset_path,
)
from lms.markdown import Rendered, render

COURSE_FILE = "course.toml"
COURSE_KEYS = (
    "code",
    "title",
    "title_en",
    "summary",
    "summary_en",
    "track",
    "ce_hours",
    "partner",
    "level",
    "prerequisites",
    "modules",
    "practicals",
)
MODULE_KEYS = ("dir", "title", "title_en", "lessons", "quizzes")
MAX_ASSET_PATH = 300


@dataclass
class LessonSpec:
    key: str
    content: LessonContent
    # The body rendered with the course's image URLs; stored as it is when the lesson gets a
    # new version (every image it references is checked and imported before that).
    rendered: Rendered = field(repr=False)
    competencies: list[str] = field(default_factory=list)  # codes, as in the front matter


@dataclass
class QuizSpec:
    key: str
    title: str
    source: str
    source_hash: str
    questions: list[dict[str, Any]]
    settings: QuizSettings = field(default_factory=QuizSettings)


@dataclass
class AssetSpec:
    path: str  # relative to the course folder, with forward slashes
    content_type: str
    size: int
    sha256: str
    data: bytes = field(repr=False)


@dataclass
class ModuleSpec:
    key: str
    title: str
    title_en: str
    lessons: list[LessonSpec] = field(default_factory=list)
    quizzes: list[QuizSpec] = field(default_factory=list)


@dataclass
class CourseSpec:
    """One course folder as read: what the database should hold for it."""

    folder: Path
    source_dir: str
    code: str
    title: str
    title_en: str
    summary: str
    summary_en: str
    track: str
    level: str
    ce_hours: Decimal
    partner_code: str | None
    prerequisites: list[str]
    lines: toml_text.TomlLines = field(repr=False)  # where each key is in course.toml
    modules: list[ModuleSpec] = field(default_factory=list)
    assets: dict[str, AssetSpec] = field(default_factory=dict)
    practicals: list[PracticalSpec] = field(default_factory=list)
    # Every competency code named by its lessons, quiz settings and rubrics, and where.
    competency_refs: list[Reference] = field(default_factory=list)

    @property
    def toml_file(self) -> Path:
        return self.folder / COURSE_FILE

    @property
    def lesson_count(self) -> int:
        return sum(len(m.lessons) for m in self.modules)


@dataclass
class Tree:
    """The courses read from PATH; ``full`` when PATH was a folder of course folders."""

    root: Path
    full: bool
    courses: list[CourseSpec]
    problems: list[Problem]
    # ``programmes.toml`` of a full tree (lms.learning.programme_files.ProgrammesSpec), set
    # by :func:`lms.catalog.importer.check_tree`; None when there is none.
    programmes: Any = None


def read_tree(root: Path) -> Tree:
    """Read PATH: one course folder (it has a course.toml) or a folder of course folders."""
    problems = Problems()
    if (root / COURSE_FILE).is_file():
        folders, full = [root], False
    else:
        folders = [
            d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith((".", "_"))
        ]
        full = True
        if not folders:
            problems.add(
                root / COURSE_FILE,
                1,
                _("no course.toml here and no course folders in %(path)s", path=str(root)),
            )
    courses = []
    for folder in folders:
        if not (folder / COURSE_FILE).is_file():
            problems.add(
                folder / COURSE_FILE,
                1,
                _("missing: every course folder needs a course.toml"),
            )
            continue
        course = read_course(folder, problems)
        if course is not None:
            courses.append(course)
    _check_unique_codes(courses, problems)
    return Tree(root=root, full=full, courses=courses, problems=problems.items)


def _folder_name(folder: Path) -> str:
    return folder.name or folder.resolve().name


def _check_unique_codes(courses: list[CourseSpec], problems: Problems) -> None:
    first: dict[str, CourseSpec] = {}
    for course in courses:
        if not course.code:
            continue
        other = first.setdefault(course.code, course)
        if other is not course:
            problems.add(
                course.toml_file,
                course.lines.key("code"),
                _(
                    "course code %(code)s is already used by %(other)s",
                    code=course.code,
                    other=str(other.toml_file),
                ),
            )


def read_text(file: Path, problems: Problems) -> str | None:
    """A file's text as UTF-8 without BOM, or None after reporting why it cannot be read."""
    try:
        data = file.read_bytes()
    except OSError as error:
        problems.add(file, 1, _("cannot read the file: %(error)s", error=error.strerror or ""))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.add(file, line, _("the file is not UTF-8 text"))
        return None
    if "\x00" in text:  # a binary file; the database could not store it as text either
        line = text.count("\n", 0, text.index("\x00")) + 1
        problems.add(file, line, _("the file contains a NUL character: it is not a text file"))
        return None
    return text.removeprefix("\ufeff")


def read_course(folder: Path, problems: Problems) -> CourseSpec | None:
    """Read one course folder; None when course.toml cannot be parsed at all."""
    toml_file = folder / COURSE_FILE
    text = read_text(toml_file, problems)
    if text is None:
        return None
    data, error_line, error = toml_text.parse(text)
    if data is None:
        problems.add(toml_file, error_line, _("invalid TOML: %(error)s", error=error))
        return None
    where = toml_text.TomlLines(text)

    def report(key: str, message: str) -> None:
        problems.add(toml_file, where.key(key), message)

    fields = Fields(data, report)
    fields.unknown(COURSE_KEYS)
    code = fields.text(
        "code",
        max_length=32,
        pattern=COURSE_CODE,
        pattern_hint=_("use capitals, digits and dashes (A-Z 0-9 -), at most 32"),
    )
    title = fields.text("title")
    title_en = fields.text("title_en")
    summary = fields.text("summary", required=False, max_length=5000)
    summary_en = fields.text("summary_en", required=False, max_length=5000)
    track = fields.text("track", max_length=32)
    if track and track not in {t.value for t in Track}:
        report(
            "track",
            _(
                "unknown track %(value)s (use %(choices)s)",
                value=track,
                choices=", ".join(t.value for t in Track),
            ),
        )
    level = fields.text("level", max_length=32)
    if level and level not in {v.value for v in Level}:
        report(
            "level",
            _(
                "unknown level %(value)s (use %(choices)s)",
                value=level,
                choices=", ".join(v.value for v in Level),
            ),
        )
    ce_hours = _ce_hours(data, report)
    partner = fields.text("partner", required=False, max_length=32) or None
    prerequisites = fields.text_list("prerequisites", required=False)
    for prerequisite in prerequisites:
        if prerequisite and not COURSE_CODE.fullmatch(prerequisite):
            problems.add(
                toml_file,
                where.value("prerequisites", prerequisite),
                _("prerequisite %(code)s is not a course code", code=prerequisite),
            )
    course = CourseSpec(
        folder=folder,
        source_dir=_folder_name(folder),
        code=code,
        title=title,
        title_en=title_en,
        summary=summary,
        summary_en=summary_en,
        track=track,
        level=level,
        ce_hours=ce_hours,
        partner_code=partner,
        prerequisites=list(dict.fromkeys(prerequisites)),
        lines=where,
    )
    if len(course.source_dir) > 200:
        problems.add(toml_file, 1, _("the course folder name is longer than 200 characters"))

    modules = data.get("modules")
    if modules is None:
        report("modules", _("at least one [[modules]] table is required"))
        modules = []
    elif not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        report("modules", _("modules must be [[modules]] tables"))
        modules = []
    elif not modules:
        report("modules", _("at least one [[modules]] table is required"))

    references: dict[str, tuple[Path, int]] = {}  # asset path -> first lesson line using it
    seen_dirs: set[str] = set()
    for index, table in enumerate(modules):
        module = _read_module(course, table, index, where, seen_dirs, references, problems)
        if module is not None:
            course.modules.append(module)
    _check_stray_folders(folder, seen_dirs, problems)
    _read_assets(course, seen_dirs, references, problems)
    course.practicals = read_practicals(
        fields.tables("practicals"), toml_file, where, problems, course.competency_refs
    )
    return course


def _ce_hours(data: dict[str, Any], report: Any) -> Decimal:
    if "ce_hours" not in data:
        report("ce_hours", _("%(key)s is required", key="ce_hours"))
        return Decimal(0)
    value = data["ce_hours"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        report("ce_hours", _("ce_hours must be a number"))
        return Decimal(0)
    if not 0 <= value <= MAX_CE_HOURS or not float(value * 2).is_integer():
        report(
            "ce_hours",
            _("ce_hours must be between 0 and %(max)d, in steps of 0.5", max=MAX_CE_HOURS),
        )
        return Decimal(0)
    return Decimal(str(value)).quantize(Decimal("0.1"))


def _read_module(
    course: CourseSpec,
    table: dict[str, Any],
    index: int,
    where: toml_text.TomlLines,
    seen_dirs: set[str],
    references: dict[str, tuple[Path, int]],
    problems: Problems,
) -> ModuleSpec | None:
    toml_file = course.toml_file

    def report(key: str, message: str) -> None:
        problems.add(toml_file, where.key(key, "modules", index), message)

    fields = Fields(table, report)
    fields.unknown(MODULE_KEYS)
    key = fields.text(
        "dir",
        max_length=64,
        pattern=KEY,
        pattern_hint=_("use lower-case letters, digits and dashes"),
    )
    title = fields.text("title")
    title_en = fields.text("title_en")
    names = fields.text_list("lessons", min_items=1)
    if not key or not KEY.fullmatch(key):
        return None
    if key in seen_dirs:
        report("dir", _("module folder %(dir)s is listed twice", dir=key))
        return None
    seen_dirs.add(key)
    module = ModuleSpec(key=key, title=title, title_en=title_en)
    module_dir = course.folder / key
    if not module_dir.is_dir():
        report("dir", _("module folder %(dir)s not found", dir=str(module_dir)))
        return module

    listed: set[str] = set()
    for name in names:
        line = where.value("lessons", name, "modules", index)
        if not KEY.fullmatch(name):
            problems.add(
                toml_file,
                line,
                _(
                    "lesson name %(name)s: use lower-case letters, digits and dashes "
                    "(the file name without .md)",
                    name=name,
                ),
            )
            continue
        if name in listed:
            problems.add(toml_file, line, _("lesson %(name)s is listed twice", name=name))
            continue
        listed.add(name)
        file = module_dir / f"{name}.md"
        if not file.is_file():
            problems.add(toml_file, line, _("lesson file %(file)s not found", file=str(file)))
            continue
        lesson = _read_lesson(course, key, file, references, problems)
        if lesson is not None:
            module.lessons.append(lesson)

    for file in sorted(module_dir.glob("*.md")):
        if file.stem not in listed and file.stem not in names:
            problems.add(
                file,
                1,
                _(
                    "lesson not listed in course.toml (add %(name)s to the lessons of "
                    "module %(dir)s, or remove the file)",
                    name=file.stem,
                    dir=key,
                ),
            )
    parsed: dict[str, QuizSpec | None] = {}
    for file in sorted(module_dir.glob("*.gift")):
        quiz = parsed[file.stem] = _read_quiz(file, problems)
        if quiz is not None:
            module.quizzes.append(quiz)
    _read_quiz_settings(course, fields.table("quizzes"), index, where, parsed, problems)
    return module


def _read_quiz_settings(
    course: CourseSpec,
    tables: dict[str, Any],
    index: int,
    where: toml_text.TomlLines,
    parsed: dict[str, QuizSpec | None],
    problems: Problems,
) -> None:
    """The ``[modules.quizzes.<stem>]`` tables of the ``index``-th module."""
    toml_file = course.toml_file
    for stem, table in tables.items():
        name = f"modules.quizzes.{stem}"
        sub = where.child("modules", index, name)

        def line(key: str, sub: int | None = sub, name: str = name) -> int:
            if sub is None:
                return where.key("quizzes", "modules", index)
            return where.key(key, name, sub)

        def value_line(key: str, text: str, sub: int | None = sub, name: str = name) -> int:
            if sub is None:
                return where.value("quizzes", text, "modules", index)
            return where.value(key, text, name, sub)

        header = where.table(name, sub) if sub is not None else line("quizzes")
        if not isinstance(table, dict):
            problems.add(toml_file, header, _("quizzes.%(name)s must be a table", name=stem))
            continue
        if stem not in parsed:
            problems.add(
                toml_file,
                header,
                _(
                    "settings for quiz %(name)s, but there is no %(name)s.gift in the module",
                    name=stem,
                ),
            )
            continue
        quiz = parsed[stem]
        settings = read_quiz_settings(
            table,
            quiz.questions if quiz is not None else None,
            toml_file,
            line,
            value_line,
            problems,
            course.competency_refs,
        )
        if quiz is not None:
            quiz.settings = settings


def _read_lesson(
    course: CourseSpec,
    module_key: str,
    file: Path,
    references: dict[str, tuple[Path, int]],
    problems: Problems,
) -> LessonSpec | None:
    text = read_text(file, problems)
    if text is None:
        return None
    source = parse_lesson(text)
    for line, message in source.problems:
        problems.add(file, line, message)
    if source.content is None:
        return None
    course.competency_refs += [
        Reference(code, str(file), line) for code, line in source.competencies
    ]
    rendered = render(source.content.markdown, image_resolver(course.code, module_key))
    if "<h1" in rendered.html:
        problems.add(
            file,
            _h1_line(source),
            _("headings start at ## (the lesson title is the page's only # heading)"),
        )
    for reference in rendered.images:
        line = source.line_of(reference)
        if reference.startswith("/static/"):
            continue
        path = resolve_asset_path(module_key, reference)
        if path is None:
            if "://" in reference or reference.startswith(("data:", "//")):
                message = _(
                    "image %(ref)s is not a file of the course: images from other sites "
                    "are removed; put the image in the course folder",
                    ref=reference,
                )
            elif not reference:
                message = _("image without a file name")
            else:
                message = _("image %(ref)s is outside the course folder", ref=reference)
            problems.add(file, line, message)
            continue
        references.setdefault(path, (file, line))
    if source.problems:
        return None
    return LessonSpec(
        key=file.stem,
        content=source.content,
        rendered=rendered,
        competencies=[code for code, _line in source.competencies],
    )


def _h1_line(source: LessonSource) -> int:
    """The file line of the first ``# heading`` (or ``===``-underlined one) outside code."""
    lines = source.content.markdown.split("\n") if source.content else []
    fence = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            marker = stripped[:3]
            fence = None if fence == marker else (fence or marker)
            continue
        if fence:
            continue
        if re.match(r"^ {0,3}#(\s|$)", line):
            return source.body_first_line + i
        if i and re.match(r"^ {0,3}=+\s*$", line) and lines[i - 1].strip():
            return source.body_first_line + i - 1
    return source.body_first_line


def _read_quiz(file: Path, problems: Problems) -> QuizSpec | None:
    from lms.assessments.gift import parse_gift

    text = read_text(file, problems)
    if text is None:
        return None
    text = text.replace("\r\n", "\n")
    if len(file.stem) > 64:
        problems.add(file, 1, _("the quiz file name is longer than 64 characters"))
    result = parse_gift(text)
    for problem in result.problems:
        problems.add(file, problem.line, problem.message)
    if not result.problems and not result.questions:
        problems.add(file, 1, _("the quiz has no questions"))
    if result.problems or not result.questions:
        return None
    return QuizSpec(
        key=file.stem,
        title=quiz_title(text, file.stem),
        source=text,
        source_hash=hashlib.sha256(text.encode()).hexdigest(),
        questions=[q.to_dict() for q in result.questions],
    )


_TITLE_COMMENT = re.compile(r"^\s*//\s*title\s*:\s*(.*?)\s*$", re.IGNORECASE)


def quiz_title(source: str, default: str) -> str:
    """The quiz's title: a first-line comment ``// title: ...``, else ``default``."""
    first = source.split("\n", 1)[0]
    match = _TITLE_COMMENT.match(first)
    return (match.group(1) if match and match.group(1) else default)[:200]


def _check_stray_folders(folder: Path, module_dirs: set[str], problems: Problems) -> None:
    """A folder with lessons or quizzes that course.toml does not list is a mistake."""
    for sub in sorted(folder.iterdir()):
        if not sub.is_dir() or sub.name in module_dirs or sub.name.startswith("."):
            continue
        stray = sorted([*sub.glob("*.md"), *sub.glob("*.gift")])
        if stray:
            problems.add(
                stray[0],
                1,
                _(
                    "folder %(dir)s is not a module listed in course.toml",
                    dir=sub.name,
                ),
            )


def _read_assets(
    course: CourseSpec,
    module_dirs: set[str],
    references: dict[str, tuple[Path, int]],
    problems: Problems,
) -> None:
    """Check every referenced image and every image file in the module folders."""
    base = course.folder.resolve()
    paths: dict[str, tuple[Path, int] | None] = {}
    for key in sorted(module_dirs):
        module_dir = course.folder / key
        if not module_dir.is_dir():
            continue
        for file in sorted(module_dir.rglob("*")):
            if file.is_file() and file.suffix.lower() in images.IMAGE_SUFFIXES:
                if any(part.startswith(".") for part in file.relative_to(course.folder).parts):
                    continue
                paths[file.relative_to(course.folder).as_posix()] = None
    paths.update(references)
    for path, where in paths.items():
        file = course.folder / path
        if where is not None and not file.is_file():
            problems.add(where[0], where[1], _("image %(path)s not found", path=str(file)))
            continue
        try:
            inside = file.resolve().is_relative_to(base)
        except OSError:
            inside = False
        if not inside:
            target = where or (file, 1)
            problems.add(
                target[0], target[1], _("image %(path)s is outside the course folder", path=path)
            )
            continue
        if len(path) > MAX_ASSET_PATH:
            problems.add(file, 1, _("the image path is longer than 300 characters"))
            continue
        data = file.read_bytes()
        content_type, found = images.image_problems(data, file.suffix)
        for line, message in found:
            problems.add(file, line, message)
        if content_type is None:
            continue
        course.assets[path] = AssetSpec(
            path=path,
            content_type=content_type,
            size=len(data),
            sha256=images.sha256(data),
            data=data,
        )
