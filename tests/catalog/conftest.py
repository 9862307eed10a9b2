"""Catalogue fixtures: published courses with modules, lessons, versions, a quiz and an image.

Lessons get their versions through ``lms.catalog.services.save_version`` (rendered once, as
the importer and the authoring pages do). Fixture names are specific (``sample_course``,
``make_catalog_course``...) because other test modules share this folder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from lms.auth.models import User
from lms.catalog.models import Course, CourseAsset, Lesson, Module, Quiz
from lms.catalog.services import LessonContent, refresh_search_text, save_version
from lms.extensions import db
from lms.orgs.models import Organisation
from tests.factories import OrganisationFactory, UserFactory

SAMPLE_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<rect width="10" height="10" fill="teal"/></svg>'
)

FIRST_LESSON_MARKDOWN = """\
## 发展的五个领域

婴幼儿的发育包括大运动、精细动作、语言、认知和社会情绪五个领域。

| 月龄 | 大运动 |
|---|---|
| 3个月 | 俯卧抬头 |

![生长曲线示意图](images/chart.svg)

### 个体差异

每个孩子的节奏不同[^1]。

[^1]: 参见课程参考资料。
"""


def store_asset_bytes(app: Flask, data: bytes) -> str:
    """Put ``data`` in the file store as the importer does; returns its SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    path = Path(app.config["FILES_DIR"]) / "assets" / sha[:2] / sha
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return sha


def add_asset(app: Flask, course: Course, path: str, data: bytes, content_type: str) -> CourseAsset:
    asset = CourseAsset(
        course_id=course.id,
        path=path,
        content_type=content_type,
        size=len(data),
        sha256=store_asset_bytes(app, data),
    )
    db.session.add(asset)
    db.session.flush()
    return asset


def add_lesson(
    module: Module,
    key: str,
    position: int,
    title: str,
    markdown: str,
    *,
    minutes: int = 10,
    title_en: str = "",
    objectives: list[str] | None = None,
    publish: bool = True,
    archived: bool = False,
) -> Lesson:
    """A lesson with one version (published unless ``publish=False``)."""
    lesson = Lesson(module=module, key=key, position=position, archived=archived)
    db.session.add(lesson)
    db.session.flush()
    content = LessonContent(
        title=title,
        title_en=title_en,
        minutes=minutes,
        objectives=objectives or ["说出本课要点"],
        markdown=markdown,
    )
    save_version(lesson, content, author_id=None, origin="files", publish=publish)
    return lesson


def new_course(code: str, **kwargs: Any) -> Course:
    values: dict[str, Any] = {
        "title": f"测试课程{code}",
        "title_en": f"Test course {code}",
        "summary": "测试用的课程简介。",
        "summary_en": "A course for the tests.",
        "track": "pre_service",
        "level": "foundation",
        "ce_hours": Decimal(4),
        "status": "published",
        "origin": "files",
    }
    values.update(kwargs)
    course = Course(code=code, **values)
    db.session.add(course)
    db.session.flush()
    return course


@dataclass
class SampleCourse:
    """A published course and its parts, by name."""

    course: Course
    owner: User
    partner: Organisation
    prerequisite: Course
    modules: list[Module]
    lessons: dict[str, Lesson] = field(default_factory=dict)
    asset: CourseAsset | None = None
    quiz: Quiz | None = None

    @property
    def reading_order(self) -> list[Lesson]:
        """The lessons a trainee reads, in order (archived and unpublished ones left out)."""
        return [self.lessons[k] for k in ("what", "differences", "routines")]


@pytest.fixture
def sample_course(app: Flask) -> SampleCourse:
    """``TEST-DEV-101``, published, partner ``TESTUNI``, owned by an instructor.

    Module 1 (``01-milestones``): lessons "what" (with an image, a table, headings and the
    word 发育 only in its body), "old" (archived), "differences"; a quiz of three
    questions; the image ``01-milestones/images/chart.svg``.
    Module 2 (``02-care``): lessons "draft" (no published version) and "routines".
    Prerequisite: ``TEST-BASE-100`` (published).
    """
    partner = OrganisationFactory(
        code="TESTUNI", kind="university", name="南京测试大学", name_en="Nanjing Test University"
    )
    owner = UserFactory(roles=["instructor"])
    prerequisite = new_course("TEST-BASE-100", title="入门课程", title_en="Starter course")
    course = new_course(
        "TEST-DEV-101",
        title="婴幼儿成长基础",
        title_en="Foundations of Early Growth",
        summary="面向新入职照护人员的基础课程。",
        summary_en="A foundation course for new care staff.",
        ce_hours=Decimal("12.5"),
        partner_code="TESTUNI",
    )
    course.owners.append(owner)
    course.prerequisites.append(prerequisite)
    m1 = Module(course=course, key="01-milestones", title="发展里程碑", title_en="Milestones")
    m1.position = 1
    m2 = Module(course=course, key="02-care", title="回应性照护", title_en="Responsive care")
    m2.position = 2
    db.session.add_all([m1, m2])
    db.session.flush()
    asset = add_asset(app, course, "01-milestones/images/chart.svg", SAMPLE_SVG, "image/svg+xml")
    sample = SampleCourse(course, owner, partner, prerequisite, [m1, m2], asset=asset)
    sample.lessons["what"] = add_lesson(
        m1,
        "01-what",
        1,
        "什么是早期发展",
        FIRST_LESSON_MARKDOWN,
        minutes=20,
        title_en="What development means",
        objectives=["说出婴幼儿发展的五个领域", "解释发展的个体差异"],
    )
    sample.lessons["old"] = add_lesson(m1, "02-old", 2, "已归档的课", "旧内容。", archived=True)
    sample.lessons["differences"] = add_lesson(
        m1, "03-differences", 3, "个体差异", "## 节奏\n\n每个孩子都不同。", minutes=15
    )
    sample.lessons["draft"] = add_lesson(
        m2, "01-draft", 1, "尚未发布的课", "草稿内容。", publish=False
    )
    sample.lessons["routines"] = add_lesson(
        m2, "02-routines", 2, "一日生活中的回应", "## 进餐\n\n回应孩子的信号。", minutes=25
    )
    sample.quiz = Quiz(
        module=m1,
        key="quiz",
        title="第一单元测验",
        position=1,
        source="// title: 第一单元测验\n",
        source_hash="0" * 64,
        questions=[{"type": "truefalse"}, {"type": "multichoice"}, {"type": "essay"}],
    )
    db.session.add(sample.quiz)
    db.session.flush()
    refresh_search_text(prerequisite)
    refresh_search_text(course)
    db.session.commit()
    return sample


@pytest.fixture
def make_catalog_course(app: Flask) -> Callable[..., Course]:
    """Make a small course (one module, one published lesson) and commit it."""

    def make(code: str, *, lesson_text: str = "正文。", minutes: int = 10, **kwargs: Any) -> Course:
        course = new_course(code, **kwargs)
        module = Module(course=course, key="01-intro", title="导论", position=1)
        db.session.add(module)
        db.session.flush()
        add_lesson(module, "01-start", 1, f"{code} 第一课", lesson_text, minutes=minutes)
        refresh_search_text(course)
        db.session.commit()
        return course

    return make
