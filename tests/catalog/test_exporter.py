"""``lms.catalog.exporter``: a course back into the file format; export then import is a no-op."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.assessments.models import Practical
from lms.catalog.exporter import ExportError, export_course, find_course
from lms.catalog.importer import check_tree, import_tree
from lms.catalog.models import Course, Module, Quiz
from lms.extensions import db
from tests.catalog import FIXTURES, course, lesson, snapshot
from tests.catalog.conftest import SAMPLE_SVG, add_lesson
from tests.catalog.test_learning_content import learning_tree


def files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_export_writes_the_files_that_were_imported(tmp_path: Path):
    import_tree(FIXTURES)
    db.session.commit()

    for code, name in (("TEST-BASICS-1", "mini-basics"), ("TEST-ADV-2", "mini-advanced")):
        result = export_course(find_course(code), tmp_path / "out")
        assert result.folder == tmp_path / "out" / name
        original, exported = files(FIXTURES / name), files(result.folder)
        assert set(exported) == set(original)
        assert tomllib.loads(exported["course.toml"].decode()) == tomllib.loads(
            original["course.toml"].decode()
        )
        for path, data in original.items():
            if path != "course.toml":  # lessons, quizzes and images: the very same bytes
                assert exported[path] == data, path
    assert result.lessons == 1 and result.quizzes == 1 and result.drafts == []


def test_export_then_import_changes_nothing(tmp_path: Path):
    import_tree(FIXTURES)
    db.session.commit()
    for code in ("TEST-BASICS-1", "TEST-ADV-2"):
        export_course(find_course(code), tmp_path / "out")
    before = snapshot()

    assert check_tree(tmp_path / "out").problems == []
    result = import_tree(tmp_path / "out")
    db.session.commit()

    assert [o.state for o in result.courses] == ["unchanged", "unchanged"]
    assert snapshot() == before


def test_a_course_written_in_the_browser_round_trips(tmp_path: Path, app):
    made = Course(
        code="WEB-1",
        title="网页课程",
        title_en="Web course",
        summary="多行\n简介",
        summary_en='With "quotes" and \\ backslash',
        track="lead_trainer",
        level="advanced",
        ce_hours=Decimal("7.5"),
        status="draft",
        origin="browser",
    )
    db.session.add(made)
    db.session.flush()
    module = Module(course=made, key="01-start", title="开始", title_en="Start", position=0)
    db.session.add(module)
    db.session.flush()
    add_lesson(module, "01-one", 0, "第一课", "## 一\n\n内容", objectives=["目标"])
    draft = add_lesson(
        module, "02-two", 1, "第二课", "草稿内容", objectives=["目标"], publish=False
    )
    db.session.commit()

    result = export_course(find_course("WEB-1"), tmp_path)

    assert result.folder == tmp_path / "web-1"
    assert result.drafts == ["01-start/02-two"]  # never published: its latest draft is written
    data = tomllib.loads((result.folder / "course.toml").read_text())
    assert data["summary"] == "多行\n简介"
    assert data["summary_en"] == 'With "quotes" and \\ backslash'
    assert data["ce_hours"] == 7.5
    assert "partner" not in data
    assert check_tree(result.folder).problems == []

    versions = {key: len(lesson("WEB-1", "01-start", key).versions) for key in ("01-one", "02-two")}
    outcome = import_tree(result.folder).courses[0]
    db.session.commit()
    # The course now lives in files; its lessons gained no version, the draft got published.
    assert outcome.new_versions == 0
    assert course("WEB-1").origin == "files" and course("WEB-1").source_dir == "web-1"
    for key, count in versions.items():
        assert len(lesson("WEB-1", "01-start", key).versions) == count
    assert db.session.get(type(draft), draft.id).published_version is not None


def test_export_leaves_out_archived_lessons_and_writes_images(tmp_path: Path, sample_course):
    result = export_course(find_course("TEST-DEV-101"), tmp_path)

    folder = tmp_path / "test-dev-101"
    assert result.folder == folder
    assert sorted(files(folder)) == [
        "01-milestones/01-what.md",
        "01-milestones/03-differences.md",
        "01-milestones/images/chart.svg",
        "01-milestones/quiz.gift",
        "02-care/01-draft.md",
        "02-care/02-routines.md",
        "course.toml",
    ]
    assert (folder / "01-milestones/images/chart.svg").read_bytes() == SAMPLE_SVG
    data = tomllib.loads((folder / "course.toml").read_text())
    assert data["prerequisites"] == ["TEST-BASE-100"]
    assert data["partner"] == "TESTUNI"
    assert data["ce_hours"] == 12.5
    assert [m["lessons"] for m in data["modules"]] == [
        ["01-what", "03-differences"],
        ["01-draft", "02-routines"],
    ]
    assert result.drafts == ["02-care/01-draft"]


def test_export_refuses_to_overwrite_unless_asked(tmp_path: Path, english):
    import_tree(FIXTURES)
    db.session.commit()
    target = tmp_path / "mini-basics"
    target.mkdir()
    (target / "stale.md").write_text("old")

    with pytest.raises(ExportError, match="already exists"):
        export_course(find_course("TEST-BASICS-1"), tmp_path)
    assert sorted(p.name for p in target.iterdir()) == ["stale.md"]

    export_course(find_course("TEST-BASICS-1"), tmp_path, replace=True)
    assert not (target / "stale.md").exists()
    assert (target / "course.toml").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["mini-basics"]  # no temporary folder left


def test_an_image_missing_from_the_file_store_fails_the_export(tmp_path: Path, english):
    import_tree(FIXTURES)
    db.session.commit()
    from lms.catalog.models import CourseAsset

    asset = db.session.scalar(sa.select(CourseAsset).where(CourseAsset.path.endswith("dot.png")))
    asset.sha256 = "f" * 64
    db.session.commit()

    with pytest.raises(ExportError, match="missing from the file store"):
        export_course(find_course("TEST-BASICS-1"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_quiz_settings_practicals_and_lesson_competencies_round_trip(tmp_path: Path):
    tree = learning_tree(tmp_path)
    import_tree(tree)
    db.session.commit()
    before = snapshot()

    result = export_course(find_course("TEST-BASICS-1"), tmp_path / "out")

    assert result.practicals == 1
    original, exported = files(tree / "mini-basics"), files(result.folder)
    assert set(exported) == set(original)
    data = tomllib.loads(exported["course.toml"].decode())
    assert data == tomllib.loads(original["course.toml"].decode())
    assert data["modules"][0]["quizzes"]["quiz"] == {
        "pass_mark": 70,
        "time_limit": 10,
        "shuffle_questions": True,
        "draw": [{"category": "入门", "count": 2}],
        "competencies": {"入门": ["K-DEV"]},
    }
    assert "quizzes" not in data["modules"][1]  # every setting is the default
    assert data["practicals"][0]["criteria"][0]["competencies"] == ["S-OBS"]
    # The lesson naming competencies is written back byte for byte.
    assert exported["01-intro/01-welcome.md"] == original["01-intro/01-welcome.md"]

    (tmp_path / "out/programmes.toml").write_bytes((tree / "programmes.toml").read_bytes())
    export_course(find_course("TEST-ADV-2"), tmp_path / "out")
    assert check_tree(tmp_path / "out").problems == []
    result = import_tree(tmp_path / "out")
    db.session.commit()

    assert [o.state for o in result.courses] == ["unchanged", "unchanged"]
    assert snapshot() == before


def test_a_browser_quiz_setting_and_an_archived_practical_are_exported_as_they_are(
    tmp_path: Path,
):
    tree = learning_tree(tmp_path)
    import_tree(tree)
    db.session.commit()
    quiz = db.session.scalar(sa.select(Quiz).where(Quiz.key == "check"))
    quiz.max_attempts, quiz.shuffle_answers = 0, False
    db.session.add(
        Practical(
            course_id=course("TEST-BASICS-1").id,
            key="old",
            title="旧考核",
            levels=[],
            criteria=[],
            archived=True,
        )
    )
    db.session.commit()

    result = export_course(find_course("TEST-BASICS-1"), tmp_path / "out")

    data = tomllib.loads((result.folder / "course.toml").read_text("utf-8"))
    assert data["modules"][1]["quizzes"]["check"] == {"max_attempts": 0, "shuffle_answers": False}
    assert [p["key"] for p in data["practicals"]] == ["observation"]
