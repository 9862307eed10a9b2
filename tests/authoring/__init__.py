"""Helpers for the authoring tests: courses, modules and lessons built through the services."""

from __future__ import annotations

import struct
import zlib
from typing import Any

from lms.auth.models import User
from lms.catalog import services as catalog
from lms.catalog.models import Course, Lesson, LessonVersion, Module
from lms.catalog.services import LessonContent
from lms.extensions import db

OLD_TEXT = "## 第一部分\n\n旧的内容。\n"


def make_course(
    code: str = "TEST-101", owners: tuple[User, ...] = (), status: str = "published", **kw: Any
) -> Course:
    values = {
        "title": "测试课程",
        "title_en": "Test course",
        "track": "pre_service",
        "level": "foundation",
        "origin": "browser",
    }
    values.update(kw)
    course = Course(code=code, status=status, **values)
    course.owners.extend(owners)
    db.session.add(course)
    db.session.flush()
    return course


def make_module(course: Course, key: str = "01-basics", position: int = 1) -> Module:
    module = Module(course=course, key=key, title="基础", title_en="Basics", position=position)
    db.session.add(module)
    db.session.flush()
    return module


def make_lesson(
    module: Module,
    key: str = "01-first",
    *,
    markdown: str = OLD_TEXT,
    title: str = "第一课",
    publish: bool = True,
    author: User | None = None,
    position: int = 1,
) -> Lesson:
    lesson = Lesson(module=module, key=key, position=position)
    db.session.add(lesson)
    db.session.flush()
    catalog.save_version(
        lesson,
        LessonContent(title=title, markdown=markdown, objectives=["说出要点"]),
        author_id=author.id if author else None,
        origin="files" if author is None else "browser",
        publish=publish,
    )
    return lesson


def build(owner: User | None = None, **kw: Any) -> tuple[Course, Module, Lesson]:
    """A published course with one module and one published lesson; committed."""
    course = make_course(owners=(owner,) if owner else (), **kw)
    module = make_module(course)
    lesson = make_lesson(module)
    catalog.refresh_search_text(course)
    db.session.commit()
    return course, module, lesson


def versions_of(lesson_id: int) -> list[LessonVersion]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            db.select(LessonVersion)
            .where(LessonVersion.lesson_id == lesson_id)
            .order_by(LessonVersion.number)
        )
    )


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A real, valid PNG image (grey pixels), built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
