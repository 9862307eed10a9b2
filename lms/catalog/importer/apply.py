"""Writing a checked tree into the database, changing only what differs.

The caller has already read and validated the tree (no problems); this flushes, the caller
commits once. Everything is compared with what is stored before it is set, so importing the
same files again writes nothing: no new versions, no updated timestamps, no audit entries.

- A lesson whose content differs from its published version becomes a new published version
  (``origin="files"``); one equal to an unpublished draft publishes that draft.
- Lessons, modules and quizzes missing from the files are archived, never deleted (progress
  and history point at them); when they come back they are un-archived.
- Images go to the file store before the lessons are stored, so their URLs resolve; a new
  version keeps the HTML the reader rendered (every image it shows was checked).
- Courses missing from a full tree are left alone: folders may be imported one at a time.
- Quiz settings are set on the quizzes; practicals are matched by (course, key) and, like
  lessons, archived when they leave the files; the competencies a lesson's front matter names
  replace its links (``lesson_competencies``), which are not part of its versions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from lms.assessments.models import Practical
from lms.audit import services as audit
from lms.catalog import files as images
from lms.catalog.importer.lesson_source import same_content
from lms.catalog.importer.reader import CourseSpec, ModuleSpec, Tree
from lms.catalog.models import Course, CourseAsset, Lesson, Module, Quiz
from lms.catalog.models.course import CourseStatus
from lms.catalog.services import (
    LessonContent,
    latest_version,
    publish_version,
    refresh_search_text,
    save_version,
)
from lms.extensions import db
from lms.learning.models import Competency, lesson_competencies

ORIGIN = "files"


@dataclass
class CourseOutcome:
    """What an import did to one course."""

    code: str
    created: bool = False
    lessons: int = 0  # lessons of the course in the files
    new_versions: int = 0
    archived: int = 0  # lessons, modules and quizzes archived by this import
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> str:
        if self.created:
            return "created"
        return "updated" if self.changes else "unchanged"

    def count(self, what: str, n: int = 1) -> None:
        self.changes[what] = self.changes.get(what, 0) + n


@dataclass
class ImportResult:
    courses: list[CourseOutcome]
    # Courses from files that a full-tree import did not find: (code, source folder).
    untouched: list[tuple[str, str | None]] = field(default_factory=list)
    # Set by :func:`lms.catalog.importer.import_tree` when the tree has a programmes.toml.
    competencies: Any = None  # lms.learning.programme_files_apply.CompetencyOutcome
    programmes: list[Any] = field(default_factory=list)  # ...ProgrammeOutcome


def apply_tree(tree: Tree, actor_id: int | None = None) -> ImportResult:
    """Bring the database in line with ``tree`` (already validated). Flushes, never commits."""
    codes = [c.code for c in tree.courses]
    existing = {
        c.code: c
        for c in db.session.scalars(
            sa.select(Course)
            .where(Course.code.in_(codes))
            .options(
                selectinload(Course.modules)
                .selectinload(Module.lessons)
                .selectinload(Lesson.published_version),
                selectinload(Course.modules).selectinload(Module.quizzes),
                selectinload(Course.prerequisites),
            )
        )
    }
    outcomes: dict[str, CourseOutcome] = {}
    courses: dict[str, Course] = {}
    for spec in tree.courses:
        outcome = CourseOutcome(code=spec.code, lessons=spec.lesson_count)
        course = existing.get(spec.code)
        if course is None:
            course = Course(code=spec.code, origin=ORIGIN, modules=[], prerequisites=[])
            db.session.add(course)
            outcome.created = True
        _set_fields(course, spec, outcome)
        courses[spec.code] = course
        outcomes[spec.code] = outcome
    db.session.flush()

    _set_prerequisites(tree, courses, outcomes)
    course_ids = [c.id for c in courses.values()]
    assets = _assets_by_course(course_ids)
    practicals = _practicals_by_course(course_ids)
    links = _competency_links(course_ids)
    competency_ids = _competency_ids(tree)
    for spec in tree.courses:
        course, outcome = courses[spec.code], outcomes[spec.code]
        _apply_assets(course, spec, assets.get(course.id, {}), outcome)
        _apply_modules(course, spec, outcome, actor_id)
        _apply_practicals(course, spec, practicals.get(course.id, {}), outcome)
        db.session.flush()
        _apply_competency_links(course, spec, links, competency_ids, outcome)
        before = course.search_text
        refresh_search_text(course)
        if course.search_text != before and not outcome.created:
            outcome.count("search_text")
        if outcome.created or outcome.changes:
            summary: dict[str, Any] = {"source_dir": spec.source_dir, "created": outcome.created}
            summary.update(outcome.changes)
            summary["new_versions"] = outcome.new_versions
            summary["archived"] = outcome.archived
            audit.record(actor_id, "course.imported", "course", course.id, after=summary)
    db.session.flush()

    result = ImportResult(courses=[outcomes[c.code] for c in tree.courses])
    if tree.full:
        result.untouched = _untouched(codes)
    return result


def _set(obj: Any, name: str, value: Any, outcome: CourseOutcome, label: str) -> bool:
    """Set ``obj.name`` only when it differs, counting the change under ``label``."""
    if getattr(obj, name) == value:
        return False
    setattr(obj, name, value)
    outcome.count(label)
    return True


def _set_fields(course: Course, spec: CourseSpec, outcome: CourseOutcome) -> None:
    wanted = {
        "title": spec.title,
        "title_en": spec.title_en,
        "summary": spec.summary,
        "summary_en": spec.summary_en,
        "track": spec.track,
        "level": spec.level,
        "ce_hours": spec.ce_hours,
        "partner_code": spec.partner_code,
        "origin": ORIGIN,
        "source_dir": spec.source_dir,
        "status": CourseStatus.PUBLISHED.value,
    }
    changed = []
    for name, value in wanted.items():
        if getattr(course, name) != value:
            setattr(course, name, value)
            changed.append(name)
    if changed and not outcome.created:
        outcome.changes["fields"] = changed


def _set_prerequisites(
    tree: Tree, courses: dict[str, Course], outcomes: dict[str, CourseOutcome]
) -> None:
    others = {p for s in tree.courses for p in s.prerequisites} - courses.keys()
    by_code = dict(courses)
    if others:
        by_code.update(
            (c.code, c)
            for c in db.session.scalars(sa.select(Course).where(Course.code.in_(others)))
        )
    for spec in tree.courses:
        course = courses[spec.code]
        wanted = sorted(spec.prerequisites)
        if sorted(c.code for c in course.prerequisites) != wanted:
            course.prerequisites = [by_code[code] for code in wanted]
            if not outcomes[spec.code].created:
                outcomes[spec.code].changes["prerequisites"] = wanted


def _assets_by_course(course_ids: list[int]) -> dict[int, dict[str, CourseAsset]]:
    found: dict[int, dict[str, CourseAsset]] = {}
    if course_ids:
        for asset in db.session.scalars(
            sa.select(CourseAsset).where(CourseAsset.course_id.in_(course_ids))
        ):
            found.setdefault(asset.course_id, {})[asset.path] = asset
    return found


def _apply_assets(
    course: Course, spec: CourseSpec, stored: dict[str, CourseAsset], outcome: CourseOutcome
) -> None:
    """Store the images' bytes (once per content) and their rows, before the lessons.

    Images no longer in the files keep their rows: older lesson versions still show them.
    """
    for path, asset in sorted(spec.assets.items()):
        images.store(asset.data, asset.sha256)
        row = stored.get(path)
        if row is None:
            db.session.add(
                CourseAsset(
                    course_id=course.id,
                    path=path,
                    content_type=asset.content_type,
                    size=asset.size,
                    sha256=asset.sha256,
                )
            )
            outcome.count("images")
        elif (row.sha256, row.content_type, row.size) != (
            asset.sha256,
            asset.content_type,
            asset.size,
        ):
            row.sha256, row.content_type, row.size = asset.sha256, asset.content_type, asset.size
            outcome.count("images")
    db.session.flush()


def _apply_modules(
    course: Course, spec: CourseSpec, outcome: CourseOutcome, actor_id: int | None
) -> None:
    by_key = {m.key: m for m in course.modules}
    wanted = {m.key for m in spec.modules}
    for position, module_spec in enumerate(spec.modules):
        module = by_key.get(module_spec.key)
        if module is None:
            module = Module(
                course=course,
                key=module_spec.key,
                title=module_spec.title,
                title_en=module_spec.title_en,
                position=position,
                lessons=[],
                quizzes=[],
            )
            db.session.add(module)
            outcome.count("new_modules")
        else:
            _set(module, "title", module_spec.title, outcome, "modules")
            _set(module, "title_en", module_spec.title_en, outcome, "modules")
            _set(module, "position", position, outcome, "positions")
            _set(module, "archived", False, outcome, "restored")
        _apply_lessons(module, module_spec, outcome, actor_id)
        _apply_quizzes(module, module_spec, outcome)
    for module in course.modules:
        if module.key in wanted:
            continue
        # A module removed from the files takes its lessons and quizzes with it.
        for item in [*module.lessons, *module.quizzes]:
            if not item.archived:
                item.archived = True
                outcome.archived += 1
                outcome.count(
                    "archived_lessons" if isinstance(item, Lesson) else "archived_quizzes"
                )
        if not module.archived:
            module.archived = True
            outcome.archived += 1
            outcome.count("archived_modules")


def _apply_lessons(
    module: Module, spec: ModuleSpec, outcome: CourseOutcome, actor_id: int | None
) -> None:
    by_key = {lesson.key: lesson for lesson in module.lessons}
    wanted = {lesson.key for lesson in spec.lessons}
    for position, lesson_spec in enumerate(spec.lessons):
        lesson = by_key.get(lesson_spec.key)
        if lesson is None:
            lesson = Lesson(module=module, key=lesson_spec.key, position=position)
            db.session.add(lesson)
            outcome.count("new_lessons")
        else:
            _set(lesson, "position", position, outcome, "positions")
            _set(lesson, "archived", False, outcome, "restored")
            published = lesson.published_version
            if published is not None and same_content(
                LessonContent.of(published), lesson_spec.content
            ):
                continue
        latest = latest_version(lesson) if lesson.id else None
        if latest is not None and same_content(LessonContent.of(latest), lesson_spec.content):
            publish_version(latest, actor_id)  # a draft equal to the file: publish it as is
        else:
            save_version(
                lesson,
                lesson_spec.content,
                author_id=actor_id,
                origin=ORIGIN,
                publish=True,
                rendered=lesson_spec.rendered,
            )
            outcome.new_versions += 1
        outcome.count("published")
    for lesson in module.lessons:
        if lesson.key not in wanted and not lesson.archived:
            lesson.archived = True
            outcome.archived += 1
            outcome.count("archived_lessons")


def _json(value: Any) -> Any:
    """``value`` as it reads back from a JSON column, to compare like with like."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def _apply_quizzes(module: Module, spec: ModuleSpec, outcome: CourseOutcome) -> None:
    by_key = {quiz.key: quiz for quiz in module.quizzes}
    wanted = {quiz.key for quiz in spec.quizzes}
    for position, quiz_spec in enumerate(spec.quizzes):
        values = {
            "title": quiz_spec.title,
            "position": position,
            "source": quiz_spec.source,
            "source_hash": quiz_spec.source_hash,
            "questions": quiz_spec.questions,
            "archived": False,
            **quiz_spec.settings.as_columns(),
        }
        quiz = by_key.get(quiz_spec.key)
        if quiz is None:
            db.session.add(Quiz(module=module, key=quiz_spec.key, **_json(values)))
            outcome.count("new_quizzes")
            continue
        if _update(quiz, values):
            outcome.count("quizzes")
    for quiz in module.quizzes:
        if quiz.key not in wanted and not quiz.archived:
            quiz.archived = True
            outcome.archived += 1
            outcome.count("archived_quizzes")


def _update(row: Any, values: dict[str, Any]) -> bool:
    """Set the columns that differ (JSON compared as it reads back); whether any did."""
    changed = False
    for name, value in values.items():
        if _json(getattr(row, name)) != _json(value):
            setattr(row, name, _json(value))
            changed = True
    return changed


def _practicals_by_course(course_ids: list[int]) -> dict[int, dict[str, Practical]]:
    found: dict[int, dict[str, Practical]] = {}
    if course_ids:
        for practical in db.session.scalars(
            sa.select(Practical).where(Practical.course_id.in_(course_ids))
        ):
            found.setdefault(practical.course_id, {})[practical.key] = practical
    return found


def _apply_practicals(
    course: Course, spec: CourseSpec, stored: dict[str, Practical], outcome: CourseOutcome
) -> None:
    """Practicals by key; one no longer in the files is archived (results point at it)."""
    for position, item in enumerate(spec.practicals):
        values = {
            "title": item.title,
            "title_en": item.title_en,
            "instructions": item.instructions,
            "levels": item.levels,
            "criteria": item.criteria,
            "pass_points": item.pass_points,
            "min_points": item.min_points,
            "position": position,
            "archived": False,
        }
        practical = stored.get(item.key)
        if practical is None:
            db.session.add(Practical(course_id=course.id, key=item.key, **_json(values)))
            outcome.count("new_practicals")
        elif _update(practical, values):
            outcome.count("practicals")
    wanted = {item.key for item in spec.practicals}
    for key, practical in sorted(stored.items()):
        if key not in wanted and not practical.archived:
            practical.archived = True
            outcome.archived += 1
            outcome.count("archived_practicals")


def _competency_ids(tree: Tree) -> dict[str, int]:
    codes = {ref.code for spec in tree.courses for ref in spec.competency_refs}
    if not codes:
        return {}
    rows = db.session.execute(
        sa.select(Competency.code, Competency.id).where(Competency.code.in_(codes))
    )
    return dict(rows.all())


def _competency_links(course_ids: list[int]) -> dict[int, set[int]]:
    """The competency ids linked to each lesson of these courses."""
    found: dict[int, set[int]] = {}
    if course_ids:
        rows = db.session.execute(
            sa.select(lesson_competencies.c.lesson_id, lesson_competencies.c.competency_id)
            .join(Lesson, Lesson.id == lesson_competencies.c.lesson_id)
            .join(Module, Module.id == Lesson.module_id)
            .where(Module.course_id.in_(course_ids))
        )
        for lesson_id, competency_id in rows:
            found.setdefault(lesson_id, set()).add(competency_id)
    return found


def _apply_competency_links(
    course: Course,
    spec: CourseSpec,
    links: dict[int, set[int]],
    competency_ids: dict[str, int],
    outcome: CourseOutcome,
) -> None:
    """Each lesson of the files is linked to the competencies its front matter names."""
    modules = {module.key: module for module in course.modules}
    table = lesson_competencies
    for module_spec in spec.modules:
        lessons = {lesson.key: lesson for lesson in modules[module_spec.key].lessons}
        for lesson_spec in module_spec.lessons:
            lesson_id = lessons[lesson_spec.key].id
            wanted = {competency_ids[code] for code in lesson_spec.competencies}
            have = links.get(lesson_id, set())
            if wanted == have:
                continue
            if have - wanted:
                db.session.execute(
                    table.delete().where(
                        table.c.lesson_id == lesson_id,
                        table.c.competency_id.in_(have - wanted),
                    )
                )
            for competency_id in sorted(wanted - have):
                db.session.execute(
                    table.insert().values(lesson_id=lesson_id, competency_id=competency_id)
                )
            outcome.count("lesson_competencies")


def _untouched(codes: list[str]) -> list[tuple[str, str | None]]:
    """Courses from files not in this tree: reported, left as they are."""
    rows = db.session.execute(
        sa.select(Course.code, Course.source_dir)
        .where(
            Course.origin == ORIGIN,
            Course.status != CourseStatus.ARCHIVED.value,
            Course.code.not_in(codes),
        )
        .order_by(Course.code)
    )
    return [(code, source_dir) for code, source_dir in rows]
