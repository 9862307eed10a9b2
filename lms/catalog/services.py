"""Lesson versions, rendering on save, publishing, restoring, and who may edit a course.

Used alike by the importer (``lms courses import``) and the authoring pages. Functions flush;
the caller commits.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Container
from dataclasses import dataclass, field
from urllib.parse import quote

import sqlalchemy as sa

from lms.audit import services as audit
from lms.auth.models import User
from lms.auth.roles import Role
from lms.catalog.models import Course, CourseAsset, Lesson, LessonVersion, Module
from lms.db import utcnow
from lms.extensions import db
from lms.markdown import ImageResolver, Rendered, render

# The course file format's rules (courses/README.md), shared by the importer, the exporter and
# the authoring pages so that what is written in the browser exports and imports back.
COURSE_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}")  # use with fullmatch
KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")  # module folders, lesson and quiz file names
MAX_CE_HOURS = 200
MIN_MINUTES, MAX_MINUTES = 1, 240


@dataclass
class LessonContent:
    """What an author writes: the front matter's fields and the Markdown body."""

    title: str
    markdown: str
    minutes: int = 10
    title_en: str = ""
    objectives: list[str] = field(default_factory=list)

    def digest(self) -> str:
        """A fingerprint of the content: equal content, equal digest."""
        canonical = json.dumps(
            [self.title, self.title_en, self.minutes, self.objectives, self.markdown],
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    @classmethod
    def of(cls, version: LessonVersion) -> LessonContent:
        """The content a stored version holds."""
        return cls(
            title=version.title,
            title_en=version.title_en or "",
            minutes=version.minutes,
            objectives=list(version.objectives or []),
            markdown=version.markdown,
        )


def resolve_asset_path(module_key: str, reference: str) -> str | None:
    """The course-relative path of an image referenced from a lesson of ``module_key``.

    None for anything that is not a plain relative path inside the course folder (URLs,
    absolute paths, ``..`` escaping the course).
    """
    if not reference or "://" in reference or reference.startswith(("/", "\\", "data:")):
        return None
    if ":" in reference.split("/", 1)[0]:
        return None
    path = posixpath.normpath(posixpath.join(module_key, reference))
    if path.startswith("../") or path == ".." or path.startswith("/"):
        return None
    return path


def asset_url(course_code: str, path: str) -> str:
    """Where a course file is served (the route ``catalog.asset``).

    Built by hand, not with ``url_for``, because lessons are also rendered by commands and
    jobs, outside any request; the stored HTML keeps this path.
    """
    return f"/courses/{quote(course_code)}/files/{quote(path)}"


def image_resolver(
    course_code: str, module_key: str, known: Container[str] | None = None
) -> ImageResolver:
    """How a lesson of ``module_key`` points at images: the app's ``/static/`` files as they
    are, the course's files (those in ``known``; any path inside the course when None) at
    their URLs, nothing else."""

    def resolve(reference: str) -> str | None:
        if reference.startswith("/static/"):
            return reference
        path = resolve_asset_path(module_key, reference)
        if path is None or (known is not None and path not in known):
            return None
        return asset_url(course_code, path)

    return resolve


def render_lesson(course: Course, module: Module, markdown_text: str) -> Rendered:
    """Render a lesson of ``module``, pointing its images at the course's stored files."""
    known = set(
        db.session.scalars(sa.select(CourseAsset.path).where(CourseAsset.course_id == course.id))
    )
    return render(markdown_text, image_resolver(course.code, module.key, known))


def latest_version(lesson: Lesson) -> LessonVersion | None:
    return db.session.scalar(
        sa.select(LessonVersion)
        .where(LessonVersion.lesson_id == lesson.id)
        .order_by(LessonVersion.number.desc())
        .limit(1)
    )


def save_version(
    lesson: Lesson,
    content: LessonContent,
    *,
    author_id: int | None,
    origin: str = "browser",
    publish: bool = False,
    rendered: Rendered | None = None,
) -> LessonVersion:
    """Store ``content`` as the lesson's next version, rendering its HTML now, once.

    Content equal to the latest version's makes no new version (saving or importing twice
    changes nothing); with ``publish`` that version then becomes the live one. ``rendered``
    is the body already rendered as :func:`render_lesson` would (the importer renders every
    lesson to check its images), so it is not rendered again.
    """
    digest = content.digest()
    latest = latest_version(lesson) if lesson.id else None
    if latest is not None and latest.source_hash == digest:
        version = latest
    else:
        if rendered is None:
            module = lesson.module
            rendered = render_lesson(module.course, module, content.markdown)
        version = LessonVersion(
            lesson=lesson,
            number=(latest.number + 1) if latest else 1,
            title=content.title,
            title_en=content.title_en,
            minutes=content.minutes,
            objectives=list(content.objectives),
            markdown=content.markdown,
            html=rendered.html,
            toc_html=rendered.toc_html,
            plain_text=rendered.text,
            source_hash=digest,
            origin=origin,
            author_id=author_id,
        )
        db.session.add(version)
        db.session.flush()
    if publish:
        publish_version(version, author_id)
    return version


def publish_version(version: LessonVersion, actor_id: int | None) -> None:
    """Make ``version`` the one trainees read."""
    lesson = version.lesson
    if lesson.published_version_id == version.id:
        return
    previous = lesson.published_version_id
    if version.published_at is None:
        version.published_at = utcnow()
    lesson.published_version = version
    db.session.flush()
    audit.record(
        actor_id,
        "lesson.published",
        "lesson",
        lesson.id,
        before={"version_id": previous},
        after={"version_id": version.id, "number": version.number},
    )


def restore_version(version: LessonVersion, author_id: int | None) -> LessonVersion:
    """Copy an old version into a new draft (history is never rewritten)."""
    return save_version(version.lesson, LessonContent.of(version), author_id=author_id)


def refresh_search_text(course: Course) -> None:
    """Rebuild the text the catalogue searches: titles, summaries, published lessons."""
    parts = [course.code, course.title, course.title_en, course.summary, course.summary_en]
    rows = db.session.execute(
        sa.select(Module.title, Module.title_en, LessonVersion.title, LessonVersion.plain_text)
        .join(Lesson, Lesson.module_id == Module.id)
        .join(LessonVersion, LessonVersion.id == Lesson.published_version_id)
        .where(Module.course_id == course.id, ~Module.archived, ~Lesson.archived)
        .order_by(Module.position, Lesson.position)
    )
    for row in rows:
        parts.extend(row)
    course.search_text = "\n".join(p for p in parts if p)


def can_edit_course(user: User, course: Course) -> bool:
    """Administrators edit every course; instructors the courses they own."""
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.INSTRUCTOR) and course.is_owned_by(user)
