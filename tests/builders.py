"""A small learning world for the learning and assessment tests, built straight in the database.

:func:`build_learning_world` makes a published course with two modules, three lessons, a quiz
with one question of every GIFT kind, a practical assessment with a rubric, a competency in
each dimension, a programme that requires the course and leads to certificate type ``WQ``,
and an open cohort with an instructor and one enrolled trainee. The ``learning_world``
fixture in ``tests/conftest.py`` returns it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from lms.assessments.gift import parse_gift
from lms.assessments.models import Practical
from lms.auth.models import User
from lms.catalog.models import Course, Lesson, Module, Quiz
from lms.catalog.services import LessonContent, save_version
from lms.certificates.models import CertificateType
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import (
    Cohort,
    Competency,
    Enrolment,
    Programme,
    ProgrammeCourse,
    lesson_competencies,
)
from lms.orgs.models import Organisation
from tests.factories import OrganisationFactory, UserFactory

#: One question of every kind; categories name the competencies the quiz evidences.
WORLD_GIFT = """\
// title: 综合测验
$CATEGORY: 发展知识

::单选:: 婴儿通常在几个月左右会翻身？ {
  =4-6个月#正确。
  ~1个月#太早了。
  ~12个月#太晚了。
}

::多选:: 以下哪些属于发展领域？ {
  ~%50%语言#对。
  ~%50%认知#对。
  ~%-100%血型#血型不是发展领域。
}

::判断:: 所有婴儿都在12个月整时学会走路。 {F#个体差异很大。####每个孩子的节奏不同。}

::填空:: 婴儿独坐大约在几个月？用汉字写月数，如“六”。 {=六 =6#对。}

::数值:: 新生儿每天大约睡多少小时？ {#16:2}

::配对:: 把月龄和里程碑配对。 {
  =3个月 -> 抬头
  =6个月 -> 独坐
  =12个月 -> 独站
}

$CATEGORY: 职业道德

::论述:: 请简述回应性照护的含义。 {}
"""


@dataclass
class LearningWorld:
    """Everything :func:`build_learning_world` made, by name."""

    partner: Organisation
    centre: Organisation
    employer: Organisation
    course: Course
    modules: list[Module]
    lessons: list[Lesson]
    quiz: Quiz
    practical: Practical
    competencies: dict[str, Competency]
    programme: Programme
    cohort: Cohort
    instructor: User
    trainee: User
    enrolment: Enrolment
    certificate_type: CertificateType
    extra: dict[str, object] = field(default_factory=dict)


def add_world_lesson(
    module: Module, key: str, position: int, title: str, competencies: list[Competency]
) -> Lesson:
    lesson = Lesson(module=module, key=key, position=position)
    db.session.add(lesson)
    db.session.flush()
    content = LessonContent(
        title=title, title_en="", minutes=10, objectives=["说出要点"], markdown="## 要点\n\n正文。"
    )
    save_version(lesson, content, author_id=None, origin="files", publish=True)
    for competency in competencies:
        db.session.execute(
            lesson_competencies.insert().values(lesson_id=lesson.id, competency_id=competency.id)
        )
    return lesson


def build_learning_world() -> LearningWorld:
    """Build the world (flushed, not committed: the test's transaction rolls it back)."""
    partner = OrganisationFactory(
        code="WORLDU", kind="university", name="世界测试大学", name_en="World Test University"
    )
    centre = OrganisationFactory(kind="centre", name="测试指导中心")
    employer = OrganisationFactory(kind="nursery", name="测试育儿园")
    competencies = {
        code: Competency(code=code, dimension=dimension, title=title, title_en=title_en, position=i)
        for i, (code, dimension, title, title_en) in enumerate(
            [
                ("E-RESP", "ethics", "尊重与关爱婴幼儿", "Respect and care"),
                ("K-DEV", "knowledge", "掌握婴幼儿发展规律", "Child development"),
                ("S-HYG", "skills", "规范完成卫生操作", "Hygiene routines"),
            ]
        )
    }
    db.session.add_all(competencies.values())
    course = Course(
        code="WORLD-101",
        title="照护基础",
        title_en="Care basics",
        summary="测试课程。",
        summary_en="A test course.",
        track="pre_service",
        level="foundation",
        ce_hours=Decimal(8),
        partner_code="WORLDU",
        status="published",
        origin="files",
    )
    instructor = UserFactory(roles=["instructor"], name="王讲师")
    course.owners.append(instructor)
    db.session.add(course)
    modules = [
        Module(course=course, key="01-basics", title="基础", title_en="Basics", position=1),
        Module(course=course, key="02-practice", title="实践", title_en="Practice", position=2),
    ]
    db.session.add_all(modules)
    db.session.flush()
    lessons = [
        add_world_lesson(modules[0], "01-intro", 1, "导论", [competencies["K-DEV"]]),
        add_world_lesson(modules[0], "02-ethics", 2, "职业伦理", [competencies["E-RESP"]]),
        add_world_lesson(modules[1], "01-hygiene", 1, "卫生操作", []),
    ]
    parsed = parse_gift(WORLD_GIFT)
    assert parsed.ok, parsed.problems
    quiz = Quiz(
        module=modules[0],
        key="quiz",
        title="综合测验",
        position=1,
        source=WORLD_GIFT,
        source_hash="1" * 64,
        questions=[q.to_dict() for q in parsed.questions],
        pass_mark=60,
        max_attempts=3,
        category_competencies={"发展知识": ["K-DEV"], "职业道德": ["E-RESP"]},
    )
    db.session.add(quiz)
    practical = Practical(
        course=course,
        key="handwashing",
        title="七步洗手法示范",
        title_en="Seven-step handwashing",
        instructions="在指导老师面前完整示范七步洗手法。",
        levels=[
            {"points": 0, "label": "未达到", "label_en": "Not yet"},
            {"points": 1, "label": "基本达到", "label_en": "Meets"},
            {"points": 2, "label": "熟练", "label_en": "Proficient"},
        ],
        criteria=[
            {"key": "steps", "title": "步骤完整", "title_en": "Steps", "competencies": ["S-HYG"]},
            {"key": "time", "title": "时长足够", "title_en": "Long enough", "competencies": []},
        ],
        pass_points=2,
        min_points=1,
        position=1,
    )
    db.session.add(practical)
    programme = Programme(
        code="WORLD-QUAL",
        title="照护人员职前资格",
        title_en="Carer pre-service qualification",
        summary="测试项目。",
        track="pre_service",
        tier="talent_pool",
        cycle="once",
        min_ce_hours=Decimal(8),
        required_dimensions=["skills"],
        certificate_title="婴幼儿照护专业人才证书",
        certificate_title_en="Certificate of the infant-care talent pool",
        origin="files",
    )
    programme.courses.append(ProgrammeCourse(course=course, required=True, position=1))
    programme.practicals.append(practical)
    db.session.add(programme)
    certificate_type = CertificateType(
        programme=programme,
        serial_code="WQ",
        title=programme.certificate_title,
        title_en=programme.certificate_title_en,
        tier="talent_pool",
        validity_years=3,
        renew_ce_hours=Decimal(24),
        issuer_name="南京市卫生健康委员会",
        issuer_name_en="Nanjing Municipal Health Commission",
        signatory_name="周建国",
        signatory_title="主任",
    )
    db.session.add(certificate_type)
    today = date.today()
    cohort = Cohort(
        code="WORLD-101-2026-01",
        title="照护基础 2026 第1期",
        course=course,
        partner=partner,
        location=centre,
        starts_on=today - timedelta(days=7),
        ends_on=today + timedelta(days=60),
        capacity=30,
        self_enrolment=True,
        status="open",
    )
    cohort.instructors.append(instructor)
    db.session.add(cohort)
    trainee = UserFactory(roles=["trainee"], name="张小明", employer=employer)
    db.session.flush()
    enrolment = Enrolment(cohort=cohort, user_id=trainee.id, source="staff", enrolled_at=utcnow())
    db.session.add(enrolment)
    db.session.flush()
    return LearningWorld(
        partner=partner,
        centre=centre,
        employer=employer,
        course=course,
        modules=modules,
        lessons=lessons,
        quiz=quiz,
        practical=practical,
        competencies=competencies,
        programme=programme,
        cohort=cohort,
        instructor=instructor,
        trainee=trainee,
        enrolment=enrolment,
        certificate_type=certificate_type,
    )
