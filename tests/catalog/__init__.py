"""Catalogue tests; helpers shared by the importer, exporter and CLI tests."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lms.assessments.models import Practical
from lms.audit.models import AuditEntry
from lms.catalog.models import (
    Course,
    CourseAsset,
    Lesson,
    LessonVersion,
    Module,
    Quiz,
    course_owners,
    course_prerequisites,
)
from lms.extensions import db
from lms.learning.models import (
    Competency,
    Programme,
    ProgrammeCourse,
    lesson_competencies,
    programme_practicals,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "courses"
REPOSITORY_COURSES = Path(__file__).resolve().parents[2] / "courses"

CATALOG_TABLES = [
    Course.__table__,
    Module.__table__,
    Lesson.__table__,
    LessonVersion.__table__,
    Quiz.__table__,
    CourseAsset.__table__,
    course_prerequisites,
    course_owners,
    Competency.__table__,
    lesson_competencies,
    Practical.__table__,
    Programme.__table__,
    ProgrammeCourse.__table__,
    programme_practicals,
    AuditEntry.__table__,
]


def copy_fixtures(dest: Path, name: str = "courses") -> Path:
    """A writable copy of the fixture tree (two valid courses) at ``dest/name``."""
    target = dest / name
    shutil.copytree(FIXTURES, target)
    return target


def row_counts() -> dict[str, int]:
    """The number of rows of every catalogue and learning content table (and the audit log)."""
    return {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in CATALOG_TABLES
    }


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every catalogue table, every column (timestamps included)."""
    db.session.expire_all()
    result = {}
    for table in CATALOG_TABLES:
        order = list(table.primary_key.columns) or list(table.columns)
        rows = db.session.execute(sa.select(table).order_by(*order))
        result[table.name] = [tuple(row) for row in rows]
    return result


def edit(file: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) by ``new`` in a text file."""
    text = file.read_text("utf-8")
    assert old in text, f"{old!r} not in {file}"
    file.write_text(text.replace(old, new, 1), "utf-8")


def line_of(file: Path, needle: str) -> int:
    """The 1-based line of the first line of ``file`` containing ``needle``."""
    for number, line in enumerate(file.read_text("utf-8").split("\n"), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {file}")


def course(code: str) -> Course:
    found = db.session.scalar(sa.select(Course).where(Course.code == code))
    assert found is not None, code
    return found


def lesson(code: str, module_key: str, key: str) -> Lesson:
    found = db.session.scalar(
        sa.select(Lesson)
        .join(Module)
        .join(Course)
        .where(Course.code == code, Module.key == module_key, Lesson.key == key)
    )
    assert found is not None, (code, module_key, key)
    return found
