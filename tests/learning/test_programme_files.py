"""Programmes from ``courses/programmes.toml``: browser edits and the file, and the real folder."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from lms.assessments.models import Practical
from lms.audit.models import AuditEntry
from lms.catalog.importer import check_tree, import_tree
from lms.catalog.models import Course, Lesson, Module, Quiz
from lms.certificates.models import CertificateType
from lms.extensions import db
from lms.learning.models import (
    Competency,
    Programme,
    ProgrammeCourse,
    lesson_competencies,
)
from tests.catalog import REPOSITORY_COURSES, edit, snapshot
from tests.catalog.test_learning_content import learning_tree


def programme(code: str) -> Programme:
    db.session.expire_all()
    found = db.session.scalar(sa.select(Programme).where(Programme.code == code))
    assert found is not None, code
    return found


def import_and_commit(path: Path):
    result = import_tree(path)
    db.session.commit()
    return result


def edit_in_the_browser(code: str) -> None:
    """What an administrator's programme page would change (the service is not ours)."""
    row = programme(code)
    row.title = "管理员改过的标题"
    row.min_ce_hours = Decimal(30)
    row.required_dimensions = []
    row.courses = [link for link in row.courses if link.required]
    db.session.commit()


def test_browser_edits_survive_until_the_entry_in_the_file_changes(tmp_path: Path):
    tree = learning_tree(tmp_path)
    import_and_commit(tree)
    edit_in_the_browser("TEST-QUAL")
    edit_in_the_browser("TEST-CE")
    before = snapshot()

    result = import_and_commit(tree)  # the file is unchanged: the edits stay

    assert [(p.code, p.state) for p in result.programmes] == [
        ("TEST-QUAL", "unchanged"),
        ("TEST-CE", "unchanged"),
    ]
    assert snapshot() == before
    assert programme("TEST-QUAL").title == "管理员改过的标题"
    assert programme("TEST-CE").courses == []

    # Comments and layout are not the entry; its values are.
    edit(tree / "programmes.toml", "# The programmes", "# 测试项目\n# The programmes")
    edit(tree / "programmes.toml", "min_ce_hours = 4\n", "min_ce_hours   =   4   # hours\n")
    assert [p.state for p in import_and_commit(tree).programmes] == ["unchanged"] * 2

    edit(tree / "programmes.toml", 'title = "测试继续教育"', 'title = "测试继续教育（新）"')
    result = import_and_commit(tree)

    assert [(p.code, p.state) for p in result.programmes] == [
        ("TEST-QUAL", "unchanged"),
        ("TEST-CE", "updated"),
    ]
    ce = programme("TEST-CE")
    assert ce.title == "测试继续教育（新）"
    assert ce.min_ce_hours == Decimal(4)  # every field comes from the file again
    assert [(link.course.code, link.required) for link in ce.courses] == [
        ("TEST-ADV-2", False),
        ("TEST-BASICS-1", False),
    ]
    assert programme("TEST-QUAL").title == "管理员改过的标题"
    entry = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.action == "programme.imported", AuditEntry.entity_id == ce.id)
        .order_by(AuditEntry.id)
    ).all()[-1]
    assert entry.after["title"] == "测试继续教育（新）"


def test_a_programme_removed_from_the_file_is_archived_and_comes_back(tmp_path: Path):
    tree = learning_tree(tmp_path)
    import_and_commit(tree)
    file = tree / "programmes.toml"
    original = file.read_text("utf-8")
    qual_id = programme("TEST-QUAL").id
    browser = Programme(
        code="WEB-PROG", title="网页项目", track="in_service", origin="browser", courses=[]
    )
    db.session.add(browser)
    db.session.commit()

    text = original
    start = text.index('[[programmes]]\ncode = "TEST-QUAL"')
    file.write_text(text[:start] + text[text.index("[[programmes]]", start + 1) :], "utf-8")
    result = import_and_commit(tree)

    assert [(p.code, p.state) for p in result.programmes] == [
        ("TEST-CE", "unchanged"),
        ("TEST-QUAL", "archived"),
    ]
    qual = programme("TEST-QUAL")
    assert qual.id == qual_id and qual.archived
    assert [link.course.code for link in qual.courses] == ["TEST-BASICS-1"]  # kept as it was
    assert not programme("WEB-PROG").archived  # made in the browser: not the file's business

    file.write_text(original, "utf-8")
    result = import_and_commit(tree)
    assert ("TEST-QUAL", "unchanged") in [(p.code, p.state) for p in result.programmes]
    # The entry is the one last imported: the row, archived since, is left as it is.
    assert programme("TEST-QUAL").archived
    edit(file, 'title = "测试资格项目"', 'title = "测试资格项目（恢复）"')
    import_and_commit(tree)
    assert not programme("TEST-QUAL").archived


def test_a_browser_programme_with_a_code_the_file_then_uses_is_taken_over(tmp_path: Path):
    db.session.add(
        Programme(code="TEST-CE", title="网页项目", track="lead_trainer", origin="browser")
    )
    db.session.commit()

    result = import_and_commit(learning_tree(tmp_path))

    assert ("TEST-CE", "updated") in [(p.code, p.state) for p in result.programmes]
    ce = programme("TEST-CE")
    assert (ce.origin, ce.title, ce.track) == ("files", "测试继续教育", "in_service")


# The repository's courses/ ------------------------------------------------------------------------


def test_the_real_folder_checks_and_imports_with_three_programmes(runner, english):
    tree = check_tree(REPOSITORY_COURSES)
    assert tree.problems == []
    result = runner.invoke(args=["courses", "import", str(REPOSITORY_COURSES)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-4:] == [
        "Competencies: 12 (12 created, 0 updated, 0 archived)",
        "Programme PRE-QUAL: created",
        "Programme INS-CE: created",
        "Programme LT-PROG: created",
    ]

    hours = dict(db.session.execute(sa.select(Course.code, Course.ce_hours)).tuples().all())
    qual = programme("PRE-QUAL")
    assert (qual.track, qual.tier, qual.requires_tier, qual.cycle) == (
        "pre_service",
        "talent_pool",
        None,
        "once",
    )
    required = [link.course.code for link in qual.courses if link.required]
    assert required == ["PRE-DEV-101", "PRE-SAFE-102"]
    assert qual.min_ce_hours == sum(hours[code] for code in required)
    assert [(p.course.code, p.key) for p in qual.practicals] == [("PRE-SAFE-102", "handwashing")]
    assert qual.required_dimensions == ["skills"]
    assert qual.certificate_title and qual.certificate_title_en

    ce = programme("INS-CE")
    assert (ce.track, ce.tier, ce.cycle, ce.min_ce_hours, ce.min_electives) == (
        "in_service",
        None,
        "annual",
        Decimal(12),
        1,
    )
    assert [(link.course.code, link.required) for link in ce.courses] == [
        ("INS-PARENT-201", False),
        ("INS-MEDEDU-202", False),
    ]

    lead = programme("LT-PROG")
    assert (lead.track, lead.tier, lead.requires_tier) == (
        "lead_trainer",
        "lead_trainer",
        "talent_pool",
    )
    assert [link.course.code for link in lead.courses if link.required] == ["LT-MENTOR-301"]
    assert [(p.course.code, p.key) for p in lead.practicals] == [
        ("LT-MENTOR-301", "demonstration-session")
    ]
    assert lead.required_dimensions == ["ethics"]


def test_the_real_content_evidences_every_competency_and_has_realistic_rubrics(runner):
    assert runner.invoke(args=["courses", "import", str(REPOSITORY_COURSES)]).exit_code == 0

    competencies = db.session.scalars(sa.select(Competency).order_by(Competency.position)).all()
    by_dimension: dict[str, int] = {}
    for competency in competencies:
        by_dimension[competency.dimension] = by_dimension.get(competency.dimension, 0) + 1
        assert competency.title and competency.title_en
    assert by_dimension == {"ethics": 4, "knowledge": 4, "skills": 4}

    evidenced = set(
        db.session.scalars(
            sa.select(Competency.code).join(
                lesson_competencies, lesson_competencies.c.competency_id == Competency.id
            )
        )
    )
    quizzes = db.session.scalars(sa.select(Quiz)).all()
    for quiz in quizzes:
        assert 60 <= quiz.pass_mark <= 80, quiz.key
        assert quiz.category_competencies, quiz.module.key
        evidenced |= {code for codes in quiz.category_competencies.values() for code in codes}
    assert any(quiz.time_limit for quiz in quizzes)
    assert [quiz.draw for quiz in quizzes if quiz.draw] == [
        [{"category": "发展里程碑", "count": 10}]
    ]
    practicals = db.session.scalars(sa.select(Practical).order_by(Practical.key)).all()
    assert [(p.course.code, p.key) for p in practicals] == [
        ("LT-MENTOR-301", "demonstration-session"),
        ("PRE-SAFE-102", "handwashing"),
    ]
    for practical in practicals:
        assert 4 <= len(practical.criteria) <= 5
        assert 0 < practical.pass_points <= practical.max_points
        evidenced |= {code for c in practical.criteria for code in c["competencies"]}
    assert evidenced == {c.code for c in competencies}

    # A programme requiring a dimension can be completed from its own lessons and practicals.
    for code, dimension in (("PRE-QUAL", "skills"), ("LT-PROG", "ethics")):
        row = programme(code)
        course_ids = [link.course_id for link in row.courses]
        evidence = set(
            db.session.scalars(
                sa.select(Competency.code)
                .join(lesson_competencies, lesson_competencies.c.competency_id == Competency.id)
                .join(Lesson, Lesson.id == lesson_competencies.c.lesson_id)
                .join(Module, Module.id == Lesson.module_id)
                .where(Module.course_id.in_(course_ids))
            )
        )
        evidence |= {code for p in row.practicals for c in p.criteria for code in c["competencies"]}
        wanted = {c.code for c in competencies if c.dimension == dimension}
        assert wanted <= evidence, (code, wanted - evidence)


def test_the_programme_courses_of_the_real_folder_are_in_order():
    import_and_commit(REPOSITORY_COURSES)
    rows = db.session.execute(
        sa.select(Programme.code, Course.code, ProgrammeCourse.position)
        .join(ProgrammeCourse, ProgrammeCourse.programme_id == Programme.id)
        .join(Course, Course.id == ProgrammeCourse.course_id)
        .order_by(Programme.code, ProgrammeCourse.position)
    ).all()
    assert [tuple(r) for r in rows] == [
        ("INS-CE", "INS-PARENT-201", 0),
        ("INS-CE", "INS-MEDEDU-202", 1),
        ("LT-PROG", "LT-MENTOR-301", 0),
        ("PRE-QUAL", "PRE-DEV-101", 0),
        ("PRE-QUAL", "PRE-SAFE-102", 1),
    ]


def test_the_real_programmes_lead_to_their_certificate_types(runner):
    assert runner.invoke(args=["courses", "import", str(REPOSITORY_COURSES)]).exit_code == 0
    rows = db.session.execute(
        sa.select(Programme.code, CertificateType)
        .join(CertificateType, CertificateType.programme_id == Programme.id)
        .order_by(Programme.code)
    ).all()
    found = {code: (t.serial_code, t.tier, t.validity_years, t.renew_ce_hours) for code, t in rows}
    assert found == {
        "INS-CE": ("CE", None, 1, None),
        "LT-PROG": ("LT", "lead_trainer", 3, Decimal(48)),
        "PRE-QUAL": ("TP", "talent_pool", 3, Decimal(36)),
    }
    for code, ctype in rows:
        owner = programme(code)
        assert (ctype.title, ctype.title_en) == (
            owner.certificate_title,
            owner.certificate_title_en,
        )
        assert ctype.issuer_name == "南京市卫生健康委员会"
        assert ctype.issuer_name_en == "Nanjing Municipal Health Commission"
        assert ctype.signatory_name and ctype.signatory_title and ctype.active

    before = snapshot(), db.session.scalars(sa.select(CertificateType.updated_at)).all()
    result = runner.invoke(args=["courses", "import", str(REPOSITORY_COURSES)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert (snapshot(), db.session.scalars(sa.select(CertificateType.updated_at)).all()) == before
