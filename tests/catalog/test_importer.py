"""Reading, checking and importing course files (``lms.catalog.importer``)."""

from __future__ import annotations

import hashlib
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from lms.audit.models import AuditEntry
from lms.catalog.files import MAX_IMAGE_BYTES, sniff, stored_path, svg_problems
from lms.catalog.importer import TreeInvalid, check_tree, import_tree
from lms.catalog.importer.lesson_source import parse_lesson, write_lesson
from lms.catalog.models import Course, CourseAsset, LessonVersion, Module, Quiz
from lms.catalog.services import LessonContent, asset_url, render_lesson, save_version
from lms.extensions import db
from tests.catalog import (
    FIXTURES,
    copy_fixtures,
    course,
    edit,
    lesson,
    line_of,
    row_counts,
    snapshot,
)

BASICS, ADVANCED = "TEST-BASICS-1", "TEST-ADV-2"


def import_and_commit(path: Path):
    result = import_tree(path)
    db.session.commit()
    return result


def messages(path: Path) -> list[str]:
    return [str(p) for p in check_tree(path).problems]


# The valid fixture ----------------------------------------------------------------------------


def test_the_fixture_tree_has_no_problems():
    tree = check_tree(FIXTURES)
    assert tree.problems == []
    assert [c.code for c in tree.courses] == [ADVANCED, BASICS]
    assert tree.full


def test_import_creates_courses_modules_lessons_quizzes_and_images(app: Flask):
    result = import_and_commit(FIXTURES)

    assert {o.code: o.state for o in result.courses} == {BASICS: "created", ADVANCED: "created"}
    basics = course(BASICS)
    assert basics.title == "测试基础课程"
    assert basics.title_en == "Test basics"
    assert basics.summary == "一门只用于测试的小课程。\n第二行。\n"
    assert basics.track == "pre_service"
    assert basics.level == "foundation"
    assert basics.ce_hours == Decimal("2.5")
    # The partner is not registered: not an error, the code is kept for later.
    assert basics.partner_code == "TESTU"
    assert basics.partner is None
    assert basics.status == "published"
    assert basics.origin == "files"
    assert basics.source_dir == "mini-basics"
    assert [m.key for m in basics.modules] == ["01-intro", "02-practice"]
    assert [m.position for m in basics.modules] == [0, 1]
    assert [lsn.key for lsn in basics.modules[0].lessons] == ["01-welcome", "02-routines"]
    assert [p.code for p in course(ADVANCED).prerequisites] == [BASICS]

    welcome = lesson(BASICS, "01-intro", "01-welcome")
    version = welcome.published_version
    assert version is not None and version.number == 1
    assert version.origin == "files"
    assert version.title == "欢迎" and version.title_en == "Welcome"
    assert version.minutes == 10
    assert version.objectives == ["说出课程的目标", "找到课程的资料"]
    assert version.markdown.startswith("## 课程目标\n")
    assert version.published_at is not None
    # Images were stored before the lesson was rendered, so their URLs are in the HTML.
    assert f'src="{asset_url(BASICS, "01-intro/images/dot.png")}"' in version.html
    assert f'src="{asset_url(BASICS, "01-intro/images/shape.svg")}"' in version.html
    assert "<table>" in version.html
    assert "婴幼儿照护从观察开始" in basics.search_text

    assets = {a.path: a for a in db.session.scalars(sa.select(CourseAsset))}
    assert set(assets) == {"01-intro/images/dot.png", "01-intro/images/shape.svg"}
    png = FIXTURES / "mini-basics/01-intro/images/dot.png"
    assert assets["01-intro/images/dot.png"].content_type == "image/png"
    assert assets["01-intro/images/dot.png"].size == png.stat().st_size
    assert stored_path(assets["01-intro/images/dot.png"].sha256).read_bytes() == png.read_bytes()
    assert assets["01-intro/images/shape.svg"].content_type == "image/svg+xml"

    quizzes = {(q.module.key, q.key): q for q in db.session.scalars(sa.select(Quiz))}
    intro_quiz = quizzes[("01-intro", "quiz")]
    assert intro_quiz.title == "入门测验"  # from the `// title:` comment
    assert len(intro_quiz.questions) == 3
    assert intro_quiz.source == (FIXTURES / "mini-basics/01-intro/quiz.gift").read_text()
    assert quizzes[("02-practice", "check")].title == "check"  # no comment: the file name

    entries = list(
        db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "course.imported"))
    )
    assert sorted(e.entity_id for e in entries) == sorted([basics.id, course(ADVANCED).id])
    assert all(e.after["created"] for e in entries)


def test_imported_lessons_keep_the_html_the_reader_rendered():
    """The reader renders every lesson (to check its images); the import stores that HTML,
    which must be what rendering the stored lesson gives."""
    import_and_commit(FIXTURES)
    versions = db.session.scalars(sa.select(LessonVersion)).all()
    assert len(versions) == 4
    for version in versions:
        module = version.lesson.module
        rendered = render_lesson(module.course, module, version.markdown)
        assert (version.html, version.toc_html, version.plain_text) == (
            rendered.html,
            rendered.toc_html,
            rendered.text,
        )


def test_importing_the_same_tree_twice_changes_nothing():
    import_and_commit(FIXTURES)
    before = snapshot()

    result = import_and_commit(FIXTURES)

    assert [o.state for o in result.courses] == ["unchanged", "unchanged"]
    assert all(o.new_versions == 0 and o.archived == 0 for o in result.courses)
    assert snapshot() == before  # every row and column, timestamps and audit log included


def test_a_changed_lesson_becomes_a_new_version_and_the_old_one_stays(tmp_path: Path):
    tree = copy_fixtures(tmp_path)
    import_and_commit(tree)
    first = lesson(BASICS, "01-intro", "02-routines").published_version
    assert first is not None
    first_id, first_html = first.id, first.html
    audit_before = row_counts()["audit_entries"]

    edit(tree / "mini-basics/01-intro/02-routines.md", "入园、进餐", "入园、晨检、进餐")
    result = import_and_commit(tree)

    outcome = {o.code: o for o in result.courses}
    assert outcome[BASICS].state == "updated"
    assert outcome[BASICS].new_versions == 1
    assert outcome[ADVANCED].state == "unchanged"
    routines = lesson(BASICS, "01-intro", "02-routines")
    assert [v.number for v in routines.versions] == [1, 2]
    assert routines.published_version.number == 2
    assert routines.published_version.origin == "files"
    assert "晨检" in routines.published_version.html
    old = db.session.get(LessonVersion, first_id)
    assert old.html == first_html and "晨检" not in old.markdown
    assert "晨检" in course(BASICS).search_text
    # One entry for the course (plus the lesson's publication), none for the other course.
    imported = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "course.imported").order_by(AuditEntry.id)
    ).all()
    assert imported[-1].entity_id == course(BASICS).id
    assert imported[-1].after["new_versions"] == 1
    assert row_counts()["audit_entries"] == audit_before + 2


def test_a_removed_lesson_is_archived_with_its_versions_and_comes_back(tmp_path: Path):
    tree = copy_fixtures(tmp_path)
    import_and_commit(tree)
    routines = lesson(BASICS, "01-intro", "02-routines")
    version_ids = [v.id for v in routines.versions]

    (tree / "mini-basics/01-intro/02-routines.md").unlink()
    edit(tree / "mini-basics/course.toml", '["01-welcome", "02-routines"]', '["01-welcome"]')
    result = import_and_commit(tree)

    outcome = {o.code: o for o in result.courses}[BASICS]
    assert (outcome.state, outcome.lessons, outcome.archived) == ("updated", 2, 1)
    db.session.expire_all()
    routines = lesson(BASICS, "01-intro", "02-routines")
    assert routines.archived
    assert [v.id for v in routines.versions] == version_ids
    assert routines.published_version_id == version_ids[-1]
    assert "入园、进餐" not in course(BASICS).search_text

    # Put it back (first this time): un-archived, same row, same versions, new position.
    shutil.copy(FIXTURES / "mini-basics/01-intro/02-routines.md", tree / "mini-basics/01-intro")
    edit(tree / "mini-basics/course.toml", '["01-welcome"]', '["02-routines", "01-welcome"]')
    import_and_commit(tree)
    db.session.expire_all()
    routines = lesson(BASICS, "01-intro", "02-routines")
    assert not routines.archived
    assert [v.id for v in routines.versions] == version_ids
    assert routines.position == 0
    assert lesson(BASICS, "01-intro", "01-welcome").position == 1


def test_removed_modules_and_quizzes_are_archived_and_changed_quizzes_updated(tmp_path: Path):
    tree = copy_fixtures(tmp_path)
    import_and_commit(tree)
    versions_before = row_counts()["lesson_versions"]

    shutil.rmtree(tree / "mini-basics/02-practice")
    toml = tree / "mini-basics/course.toml"
    text = toml.read_text()
    cut = text.index('[[modules]]\ndir = "02-practice"'), text.index("[[practicals]]")
    toml.write_text(text[: cut[0]] + text[cut[1] :])
    quiz_file = tree / "mini-basics/01-intro/quiz.gift"
    quiz_file.write_text(
        quiz_file.read_text().replace("// title: 入门测验", "// title: 新的测验")
        + "\n::Q4:: 说说你的想法。 {}\n"
    )
    result = import_and_commit(tree)

    outcome = {o.code: o for o in result.courses}[BASICS]
    assert outcome.archived == 3  # the module, its lesson and its quiz
    db.session.expire_all()
    practice = db.session.scalar(sa.select(Module).where(Module.key == "02-practice"))
    assert practice.archived
    assert all(item.archived for item in [*practice.lessons, *practice.quizzes])
    assert practice.lessons[0].published_version is not None  # kept, only archived
    quiz = db.session.scalar(
        sa.select(Quiz).join(Module).where(Module.key == "01-intro", Quiz.key == "quiz")
    )
    assert quiz.title == "新的测验"
    assert len(quiz.questions) == 4
    assert "Q4" in quiz.source
    assert row_counts()["lesson_versions"] == versions_before


# A broken copy ---------------------------------------------------------------------------------

TINY_PNG = (FIXTURES / "mini-basics/01-intro/images/dot.png").read_bytes()


def break_tree(tree: Path) -> list[str]:
    """Break a copy of the fixtures in many ways at once; the problems expected, in order."""
    basics, advanced = tree / "mini-basics", tree / "mini-advanced"
    toml, adv_toml = basics / "course.toml", advanced / "course.toml"
    intro, practice = basics / "01-intro", basics / "02-practice"
    shutil.copytree(advanced, tree / "mini-advanced-copy")  # the same course code twice
    copy_toml = tree / "mini-advanced-copy/course.toml"

    edit(toml, 'track = "pre_service"', 'track = "weekend"')
    edit(toml, "ce_hours = 2.5", "ce_hours = 2.3")
    edit(toml, 'lessons = ["01-practice"]', 'lessons = ["01-practice", "02-missing"]')
    (intro / "03-extra.md").write_text((intro / "02-routines.md").read_text())
    edit(intro / "01-welcome.md", "minutes = 10", "minutes = = 10")
    edit(intro / "02-routines.md", "minutes = 15", "minutes = 500")
    edit(intro / "02-routines.md", 'objectives = ["描述一日生活的环节"]\n', "")
    edit(
        practice / "01-practice.md",
        "记录一名",
        "![缺](images/nope.png)\n\n![外](https://example.com/x.png)\n\n记录一名",
    )
    edit(intro / "quiz.gift", "学会走路。 {F}", "学会走路。 {F")
    (practice / "check.gift").write_text("// nothing here yet\n")
    edit(intro / "images/shape.svg", "<circle", "<script>alert(1)</script>\n  <circle")
    (intro / "images/big.png").write_bytes(TINY_PNG + b"\0" * MAX_IMAGE_BYTES)
    (intro / "images/fake.png").write_bytes(b"hello, not a picture")
    edit(
        adv_toml,
        'prerequisites = ["TEST-BASICS-1"]',
        'prerequisites = ["TEST-BASICS-1", "TEST-NOPE-9"]',
    )
    edit(adv_toml, 'lessons = ["01-deeper"]', 'lessons = ["01-deeper", "02-no-front"]')
    (advanced / "01-deeper/02-no-front.md").write_text("## 没有前言\n\n正文。\n")
    (tree / "broken-toml").mkdir()
    (tree / "broken-toml/course.toml").write_text('code = "TEST-X"\ntitle = \n')

    welcome, routines = intro / "01-welcome.md", intro / "02-routines.md"
    lesson_file, svg = practice / "01-practice.md", intro / "images/shape.svg"
    return [
        f"{tree}/broken-toml/course.toml:2: invalid TOML: Invalid value",
        f"{advanced}/01-deeper/02-no-front.md:1: a lesson must start with a front matter",
        f"{adv_toml}:{line_of(adv_toml, 'NOPE')}: prerequisite TEST-NOPE-9 is not a course",
        f"{copy_toml}:{line_of(copy_toml, 'code =')}: course code TEST-ADV-2 is already used "
        f"by {adv_toml}",
        f"{toml}:{line_of(toml, 'weekend')}: unknown track weekend",
        f"{toml}:{line_of(toml, 'ce_hours')}: ce_hours must be between 0 and 200, in steps of 0.5",
        f"{toml}:{line_of(toml, '02-missing')}: lesson file {practice}/02-missing.md not found",
        f"{welcome}:{line_of(welcome, '= = 10')}: invalid TOML",
        f"{routines}:{line_of(routines, 'minutes')}: minutes must be between 1 and 240",
        f"{routines}:2: objectives is required",
        f"{intro}/03-extra.md:1: lesson not listed in course.toml",
        f"{intro}/quiz.gift:{line_of(intro / 'quiz.gift', '{F')}: ",
        f"{lesson_file}:{line_of(lesson_file, 'nope.png')}: image {practice}/images/nope.png "
        "not found",
        f"{lesson_file}:{line_of(lesson_file, 'example.com')}: image https://example.com/x.png "
        "is not a file of the course",
        f"{practice}/check.gift:1: the quiz has no questions",
        f"{intro}/images/big.png:1: the image is larger than 2 MB",
        f"{intro}/images/fake.png:1: not an image",
        f"{svg}:{line_of(svg, '<script>')}: SVG images must not contain <script>",
    ]


def test_a_broken_copy_reports_every_problem_and_changes_nothing(tmp_path: Path, english):
    import_and_commit(FIXTURES)  # the database has the courses already
    before, counts = snapshot(), row_counts()
    tree = copy_fixtures(tmp_path)
    expected = break_tree(tree)

    with pytest.raises(TreeInvalid) as raised:
        import_tree(tree)
    db.session.rollback()

    found = [str(p) for p in raised.value.problems]
    for prefix in expected:
        assert any(line.startswith(prefix) for line in found), (prefix, found)
    assert len(found) == len(expected), found
    assert row_counts() == counts
    assert snapshot() == before


def test_problems_are_sorted_by_file_and_line(tmp_path: Path):
    tree = copy_fixtures(tmp_path)
    break_tree(tree)
    problems = check_tree(tree).problems
    assert [(p.path, p.line) for p in problems] == sorted((p.path, p.line) for p in problems)


# Course files, one check at a time --------------------------------------------------------------


def test_course_toml_problems_point_at_their_lines(tmp_path: Path, english):
    tree = copy_fixtures(tmp_path)
    toml = tree / "mini-basics/course.toml"
    edit(toml, 'code = "TEST-BASICS-1"', 'code = "test basics"')
    edit(toml, 'level = "foundation"', 'level = "expert"\ncolour = "red"')
    edit(toml, 'title_en = "Introduction"\n', "")
    edit(toml, 'dir = "02-practice"', 'dir = "02-nowhere"')
    found = messages(tree / "mini-basics")
    assert found == [
        f"{tree}/mini-basics/02-practice/01-practice.md:1: folder 02-practice is not a module "
        "listed in course.toml",
        f"{toml}:2: code test basics: use capitals, digits and dashes (A-Z 0-9 -), at most 32",
        f"{toml}:13: unknown level expert (use foundation, intermediate, advanced)",
        f"{toml}:14: unknown key colour (expected one of: ce_hours, code, level, modules, "
        "partner, practicals, prerequisites, summary, summary_en, title, title_en, track)",
        f"{toml}:17: title_en is required",
        f"{toml}:{line_of(toml, '02-nowhere')}: module folder {tree}/mini-basics/02-nowhere "
        "not found",
    ]


def test_a_toml_syntax_error_gives_the_line_tomllib_found(tmp_path: Path, english):
    tree = copy_fixtures(tmp_path)
    toml = tree / "mini-advanced/course.toml"
    edit(toml, 'track = "in_service"', "track = in_service")
    assert messages(toml.parent) == [f"{toml}:6: invalid TOML: Invalid value"]


def test_prerequisites_may_be_in_the_database_but_not_unknown_or_circular(tmp_path: Path, english):
    tree = copy_fixtures(tmp_path)
    advanced = tree / "mini-advanced"
    # Alone, the advanced course names a course that is nowhere yet.
    assert messages(advanced) == [
        f"{advanced}/course.toml:9: prerequisite TEST-BASICS-1 is not a course (neither in "
        "these files nor in the database)"
    ]
    import_and_commit(tree / "mini-basics")
    assert messages(advanced) == []  # now it is in the database
    import_and_commit(advanced)
    assert [c.code for c in course(ADVANCED).prerequisites] == [BASICS]

    # The basics course now requires the advanced one, which requires it: a circle.
    edit(tree / "mini-basics/course.toml", "prerequisites = []", 'prerequisites = ["TEST-ADV-2"]')
    assert messages(tree / "mini-basics") == [
        f"{tree}/mini-basics/course.toml:14: prerequisites go round in a circle: "
        "TEST-BASICS-1 -> TEST-ADV-2 -> TEST-BASICS-1"
    ]
    edit(tree / "mini-basics/course.toml", '["TEST-ADV-2"]', '["TEST-BASICS-1"]')
    assert messages(tree / "mini-basics") == [
        f"{tree}/mini-basics/course.toml:14: a course cannot require itself"
    ]


def test_lessons_listed_twice_or_badly_named(tmp_path: Path, english):
    tree = copy_fixtures(tmp_path)
    toml = tree / "mini-advanced/course.toml"
    edit(toml, 'lessons = ["01-deeper"]', 'lessons = ["01-deeper", "01-deeper", "Bad_Name"]')
    assert messages(tree) == [
        f"{toml}:15: lesson 01-deeper is listed twice",
        f"{toml}:15: lesson name Bad_Name: use lower-case letters, digits and dashes (the file "
        "name without .md)",
    ]


def test_a_course_folder_without_course_toml(tmp_path: Path, english):
    tree = copy_fixtures(tmp_path)
    (tree / "notes").mkdir()
    assert messages(tree) == [
        f"{tree}/notes/course.toml:1: missing: every course folder needs a course.toml"
    ]


def test_unknown_partner_is_not_a_problem_and_partner_may_be_left_out(tmp_path: Path):
    tree = copy_fixtures(tmp_path)
    edit(tree / "mini-basics/course.toml", 'partner = "TESTU"\n', "")
    assert messages(tree) == []
    import_and_commit(tree)
    assert course(BASICS).partner_code is None


def test_a_changed_image_is_stored_and_its_row_updated(tmp_path: Path):
    tree = copy_fixtures(tmp_path)
    import_and_commit(tree)
    svg = tree / "mini-basics/01-intro/images/shape.svg"
    edit(svg, 'r="4"', 'r="3"')
    versions = row_counts()["lesson_versions"]

    result = import_and_commit(tree)

    assert {o.code: o.state for o in result.courses}[BASICS] == "updated"
    asset = db.session.scalar(sa.select(CourseAsset).where(CourseAsset.path.endswith("shape.svg")))
    assert asset.sha256 == hashlib.sha256(svg.read_bytes()).hexdigest()
    assert stored_path(asset.sha256).read_bytes() == svg.read_bytes()
    # The lesson's stored HTML links the image by path: no new version is needed.
    assert row_counts()["lesson_versions"] == versions


def test_a_lesson_edited_in_the_browser_is_replaced_by_the_files(tmp_path: Path):
    import_and_commit(FIXTURES)
    welcome = lesson(BASICS, "01-intro", "01-welcome")
    browser = save_version(
        welcome,
        LessonContent(title="浏览器里改的", markdown="改过的内容。", minutes=5, objectives=["x"]),
        author_id=None,
        publish=True,
    )
    db.session.commit()

    result = import_and_commit(FIXTURES)

    outcome = {o.code: o for o in result.courses}[BASICS]
    assert (outcome.state, outcome.new_versions) == ("updated", 1)
    welcome = lesson(BASICS, "01-intro", "01-welcome")
    assert [v.number for v in welcome.versions] == [1, 2, 3]
    assert welcome.published_version.number == 3
    assert welcome.published_version.title == "欢迎"
    assert db.session.get(LessonVersion, browser.id).origin == "browser"


def test_a_draft_equal_to_the_changed_file_is_published_without_a_new_version(tmp_path: Path):
    tree = copy_fixtures(tmp_path)
    import_and_commit(tree)
    routines = lesson(BASICS, "01-intro", "02-routines")
    file = tree / "mini-basics/01-intro/02-routines.md"
    edit(file, "入园、进餐", "入园、晨检、进餐")
    draft = save_version(
        routines, parse_lesson(file.read_text()).content, author_id=None, origin="browser"
    )
    db.session.commit()
    assert routines.published_version.number == 1 and draft.number == 2

    result = import_and_commit(tree)

    outcome = {o.code: o for o in result.courses}[BASICS]
    assert (outcome.state, outcome.new_versions) == ("updated", 0)
    routines = lesson(BASICS, "01-intro", "02-routines")
    assert [v.number for v in routines.versions] == [1, 2]
    assert routines.published_version_id == draft.id


def test_a_different_draft_stays_a_draft_when_the_published_version_equals_the_file():
    import_and_commit(FIXTURES)
    welcome = lesson(BASICS, "01-intro", "01-welcome")
    first = welcome.published_version
    draft = save_version(
        welcome,
        LessonContent(title="草稿", markdown="草稿。", minutes=5, objectives=["x"]),
        author_id=None,
    )
    db.session.commit()
    assert welcome.published_version_id == first.id and draft.number == 2

    result = import_and_commit(FIXTURES)

    # The published version already equals the file: nothing to do, the draft stays a draft.
    assert {o.code: o.state for o in result.courses}[BASICS] == "unchanged"
    assert lesson(BASICS, "01-intro", "01-welcome").published_version_id == first.id


# Lesson files -----------------------------------------------------------------------------------


def test_lesson_front_matter_problems(english):
    assert parse_lesson("## 没有前言\n").problems[0][0] == 1
    assert parse_lesson("+++\ntitle = 'x'\n").problems == [
        (1, "the front matter is not closed: add a line +++ after it")
    ]
    source = parse_lesson('+++\ntitle = "x"\nminutes = 0\nobjectives = []\nextra = 1\n+++\n')
    assert sorted(source.problems) == [
        (3, "minutes must be between 1 and 240"),
        (4, "objectives needs at least 1 item(s)"),
        (
            5,
            "unknown key extra (expected one of: competencies, minutes, objectives, title, "
            "title_en)",
        ),
        (6, "the lesson has no text after the front matter"),
    ]
    source = parse_lesson('+++\ntitle = ""\nminutes = "10"\nobjectives = "x"\n+++\n\n正文\n')
    assert sorted(source.problems) == [
        (2, "title must not be empty"),
        (3, "minutes must be a whole number"),
        (4, "objectives must be a list of strings"),
    ]


def test_lesson_headings_start_at_level_two(tmp_path: Path, english):
    tree = copy_fixtures(tmp_path)
    practice = tree / "mini-basics/02-practice/01-practice.md"
    edit(practice, "## 练习", "```\n# 代码里的井号不算\n```\n\n# 一级标题")
    assert messages(tree) == [
        f"{practice}:{line_of(practice, '一级')}: headings start at ## (the lesson title is the "
        "page's only # heading)"
    ]


def test_a_lesson_reads_back_as_it_was_written():
    content = LessonContent(
        title='引号"和\\反斜杠',
        title_en="Quotes",
        minutes=12,
        objectives=["一", '二 "引号"'],
        markdown="## 标题\n\n正文\n\n```\n+++\n```\n",
    )
    source = parse_lesson(write_lesson(content))
    assert source.problems == []
    assert source.content == content
    assert source.body_first_line == 11
    # Windows line ends and blank lines around the body make no difference.
    text = write_lesson(content).replace("\n", "\r\n").replace("+++\r\n\r\n", "+++\r\n\r\n\r\n")
    assert parse_lesson(text + "\r\n\r\n").content == content


# Images -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (TINY_PNG, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 10, "image/jpeg"),
        (b"GIF89a" + b"\0" * 10, "image/gif"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
        (b"<svg/>", None),
        (b"MZ\x90\0", None),
    ],
)
def test_image_types_come_from_the_bytes(data: bytes, expected: str | None):
    assert sniff(data) == expected


@pytest.mark.parametrize(
    ("svg", "line", "message"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg">\n<script>x</script></svg>', 2, "<script>"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg">\n\n<g onload="x()"/></svg>',
            3,
            "event handlers",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
            b'<image xlink:href="https://example.com/a.png"/></svg>',
            1,
            "link to other files",
        ),
        (b'<svg><rect style="fill: url(http://x/y)"/></svg>', 1, "load anything"),
        (b'<svg><style>@import "http://x";</style></svg>', 1, "load anything"),
        (b'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>', 1, "DOCTYPE"),
        (b"<html><body/></html>", 1, "root element is <html>"),
        (b"<svg>\n<g>\n</svg>", 3, "not a valid SVG"),
        (
            b'<svg><foreignObject><div xmlns="http://www.w3.org/1999/xhtml"/></foreignObject></svg>',
            1,
            "foreignObject",
        ),
    ],
)
def test_unsafe_svgs_are_refused(svg: bytes, line: int, message: str, english):
    problems = svg_problems(svg)
    assert problems, svg
    assert problems[0][0] == line
    assert message in problems[0][1]


def test_a_harmless_svg_is_accepted():
    assert svg_problems((FIXTURES / "mini-basics/01-intro/images/shape.svg").read_bytes()) == []


def test_images_outside_the_course_folder_are_refused(tmp_path: Path, english):
    tree = copy_fixtures(tmp_path)
    (tree / "mini-basics/outside.png").write_bytes(TINY_PNG)
    (tree / "secret.png").write_bytes(TINY_PNG)
    practice = tree / "mini-basics/02-practice/01-practice.md"
    edit(practice, "记录一名", "![a](../outside.png)\n\n![b](../../secret.png)\n\n记录一名")
    assert messages(tree / "mini-basics") == [
        f"{practice}:12: image ../../secret.png is outside the course folder",
    ]
    # ../outside.png is inside the course (beside course.toml): allowed, and imported.
    edit(practice, "![b](../../secret.png)", "")
    import_and_commit(tree / "mini-basics")
    paths = set(db.session.scalars(sa.select(CourseAsset.path)))
    assert "outside.png" in paths


def test_questions_are_stored_as_the_parser_describes_them():
    import_and_commit(FIXTURES)
    quiz = db.session.scalar(sa.select(Quiz).where(Quiz.title == "入门测验"))
    assert [q["kind"] for q in quiz.questions] == ["multiple_choice", "true_false", "numerical"]
    assert json.loads(json.dumps(quiz.questions)) == quiz.questions


def test_course_rows_are_not_duplicated_when_read_in_another_order():
    import_and_commit(FIXTURES / "mini-basics")
    import_and_commit(FIXTURES)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Course)) == 2


def test_a_removed_quiz_is_archived_and_comes_back(tmp_path: Path):
    tree = copy_fixtures(tmp_path)
    import_and_commit(tree)
    check = tree / "mini-basics/02-practice/check.gift"
    source = check.read_text()
    check.unlink()

    result = import_and_commit(tree)

    outcome = {o.code: o for o in result.courses}[BASICS]
    assert (outcome.state, outcome.archived, outcome.new_versions) == ("updated", 1, 0)
    quiz = db.session.scalar(sa.select(Quiz).where(Quiz.key == "check"))
    assert quiz.archived and quiz.source == source

    check.write_text(source)
    import_and_commit(tree)
    db.session.expire_all()
    assert not db.session.scalar(sa.select(Quiz).where(Quiz.key == "check")).archived
