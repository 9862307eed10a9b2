"""``lms courses check / import / export``, and the repository's own courses/ folder."""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.assessments.gift import parse_gift
from lms.catalog.models import Course, Lesson, LessonVersion, Module, Quiz
from lms.extensions import db
from tests.catalog import REPOSITORY_COURSES, copy_fixtures, course, edit, row_counts, snapshot
from tests.catalog.test_learning_content import learning_tree


@pytest.fixture
def in_tmp(tmp_path: Path) -> Path:
    """Work in a temporary folder holding a copy of the fixtures as ``courses/``."""
    copy_fixtures(tmp_path)
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


def test_check_a_valid_tree(runner, in_tmp, english):
    result = runner.invoke(args=["courses", "check", "courses"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "2 course(s), 4 lesson(s), 3 quiz(zes): no problems.\n"
    assert result.stderr == ""


def test_check_reports_problems_with_paths_as_given_and_writes_nothing(runner, in_tmp, english):
    edit(in_tmp / "courses/mini-basics/course.toml", '"pre_service"', '"weekend"')
    edit(in_tmp / "courses/mini-advanced/01-deeper/01-deeper.md", "minutes = 30", "minutes = 0")
    counts = row_counts()

    for command in ("check", "import"):
        result = runner.invoke(args=["courses", command, "courses/"])
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            "courses/mini-advanced/01-deeper/01-deeper.md:4: minutes must be between 1 and 240",
            "courses/mini-basics/course.toml:10: unknown track weekend (use pre_service, "
            "in_service, lead_trainer)",
            "2 problem(s) found; nothing was changed.",
        ]
        assert row_counts() == counts


def test_import_prints_what_it_did_and_a_second_import_nothing(runner, in_tmp, english):
    result = runner.invoke(args=["courses", "import", "courses"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "TEST-ADV-2: created (1 lessons, 1 new versions, 0 archived)",
        "TEST-BASICS-1: created (3 lessons, 3 new versions, 0 archived)",
    ]
    before = snapshot()

    result = runner.invoke(args=["courses", "import", "courses"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "TEST-ADV-2: unchanged (1 lessons, 0 new versions, 0 archived)",
        "TEST-BASICS-1: unchanged (3 lessons, 0 new versions, 0 archived)",
    ]
    assert snapshot() == before


def test_one_course_folder_at_a_time_and_missing_folders_left_alone(runner, in_tmp, english):
    assert runner.invoke(args=["courses", "import", "courses/mini-basics"]).exit_code == 0
    assert runner.invoke(args=["courses", "import", "courses/mini-advanced"]).exit_code == 0
    shutil.rmtree(in_tmp / "courses/mini-advanced")
    edit(in_tmp / "courses/mini-basics/01-intro/02-routines.md", "游戏", "户外活动")

    result = runner.invoke(args=["courses", "import", "courses"])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "TEST-BASICS-1: updated (3 lessons, 1 new versions, 0 archived)",
        "TEST-ADV-2: not in courses (folder mini-advanced), left as it is",
    ]
    advanced = course("TEST-ADV-2")
    assert advanced.status == "published"
    assert not any(m.archived for m in advanced.modules)


def test_export_then_import_with_the_commands(runner, in_tmp, english):
    runner.invoke(args=["courses", "import", "courses"])
    before = snapshot()

    result = runner.invoke(args=["courses", "export", "TEST-BASICS-1", "out"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "TEST-BASICS-1: written to out/mini-basics (3 lessons, 2 quizzes, 2 images)\n"
    )
    again = runner.invoke(args=["courses", "export", "TEST-BASICS-1", "out"])
    assert again.exit_code == 1
    assert "already exists" in again.stderr
    assert (
        runner.invoke(args=["courses", "export", "TEST-BASICS-1", "out", "--replace"]).exit_code
        == 0
    )

    result = runner.invoke(args=["courses", "import", "out/mini-basics"])
    assert result.stdout == "TEST-BASICS-1: unchanged (3 lessons, 0 new versions, 0 archived)\n"
    assert snapshot() == before


def test_import_prints_competencies_and_programmes(runner, tmp_path, english):
    tree = learning_tree(tmp_path)
    result = runner.invoke(args=["courses", "import", str(tree)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-3:] == [
        "Competencies: 3 (3 created, 0 updated, 0 archived)",
        "Programme TEST-QUAL: created",
        "Programme TEST-CE: created",
    ]
    edit(tree / "programmes.toml", 'title = "测试继续教育"', 'title = "改名"')
    edit(tree / "programmes.toml", 'title_en = "Observes and records"', 'title_en = "Observes"')

    result = runner.invoke(args=["courses", "import", str(tree)])

    assert result.stdout.splitlines() == [
        "TEST-ADV-2: unchanged (1 lessons, 0 new versions, 0 archived)",
        "TEST-BASICS-1: unchanged (3 lessons, 0 new versions, 0 archived)",
        "Competencies: 3 (0 created, 1 updated, 0 archived)",
        "Programme TEST-QUAL: unchanged",
        "Programme TEST-CE: updated from programmes.toml",
    ]


def test_export_an_unknown_course(runner, tmp_path, english):
    result = runner.invoke(args=["courses", "export", "NOPE-1", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == "No course has the code NOPE-1.\n"


# The repository's courses/ ------------------------------------------------------------------------

COURSE_FOLDERS = (
    "infant-development",
    "safety-hygiene",
    "parent-guidance",
    "medical-education",
    "lead-trainer",
)


def test_the_repository_courses_check_clean(runner, english):
    result = runner.invoke(args=["courses", "check", str(REPOSITORY_COURSES)])
    assert result.stderr == ""
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == (
        "programmes.toml: 12 competencies, 3 programme(s); 2 practical assessment(s) in the "
        "courses."
    )


def test_the_repository_has_five_courses_with_quizzes_in_every_module():
    """What the course format's README promises about courses/ (issue 3, item 6)."""
    for name in COURSE_FOLDERS:
        folder = REPOSITORY_COURSES / name
        data = tomllib.loads((folder / "course.toml").read_text("utf-8"))
        assert data["title"] and data["title_en"], name
        assert len(data["modules"]) >= 3, name
        for module in data["modules"]:
            quizzes = sorted((folder / module["dir"]).glob("*.gift"))
            assert len(quizzes) == 1, (name, module["dir"])
            questions = parse_gift(quizzes[0].read_text("utf-8")).questions
            assert len(questions) >= 8, quizzes[0]
            assert len({q.kind for q in questions}) >= 3, quizzes[0]  # mixed types


def test_the_repository_courses_import_quickly_and_twice_changes_nothing(
    runner, count_queries, english
):
    result = runner.invoke(args=["courses", "import", str(REPOSITORY_COURSES)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(": created (" in line for line in lines[: len(COURSE_FOLDERS)])
    assert lines[len(COURSE_FOLDERS) :] == [
        "Competencies: 12 (12 created, 0 updated, 0 archived)",
        "Programme PRE-QUAL: created",
        "Programme INS-CE: created",
        "Programme LT-PROG: created",
    ]
    courses = db.session.scalar(sa.select(sa.func.count()).select_from(Course))
    assert courses >= len(COURSE_FOLDERS)
    lessons = db.session.scalar(sa.select(sa.func.count()).select_from(Lesson))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LessonVersion)) == lessons
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Quiz)) == db.session.scalar(
        sa.select(sa.func.count()).select_from(Module)
    )
    before = snapshot()

    with count_queries as queries:
        result = runner.invoke(args=["courses", "import", str(REPOSITORY_COURSES)])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(": unchanged (" in line for line in lines[: len(COURSE_FOLDERS)])
    assert lines[len(COURSE_FOLDERS) :] == [
        "Competencies: 12 (0 created, 0 updated, 0 archived)",
        "Programme PRE-QUAL: unchanged",
        "Programme INS-CE: unchanged",
        "Programme LT-PROG: unchanged",
    ]
    assert snapshot() == before
    # Loading what is stored takes a fixed number of queries, whatever the number of lessons,
    # competencies, practicals, programmes and certificate types (two per course refresh
    # its search text).
    assert queries.count <= 29, queries.statements
