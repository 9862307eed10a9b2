"""Bad input to the importers (issue 7, item 3): the GIFT parser, the course files, the CSVs.

Hostile text (Chinese, emoji, control characters, NUL, lone surrogates where a ``str`` is
passed, huge values, GBK, UTF-16 and broken bytes) must give problems with a line, row or
``path:line``, or a complete import: never another exception, never a partial save.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lms import jobs
from lms.assessments.gift import KINDS, GiftResult, parse_gift
from lms.auth.models import RoleAssignment, User
from lms.catalog.importer import TreeInvalid, check_tree, import_tree
from lms.catalog.models import Course, CourseAsset, Lesson, LessonVersion, Module, Quiz
from lms.extensions import db
from lms.learning import enrolment_csv
from lms.learning.models import Enrolment
from lms.people import roster
from tests import factories
from tests.conftest import run_queued_jobs
from tests.security.hostile import hostile_str, hostile_text

pytestmark = pytest.mark.usefixtures("english")

FIXTURES = Path(__file__).parent.parent / "fixtures" / "courses"
FIXTURE = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def counts(*models: Any) -> dict[str, int]:
    """Rows per table: equal before and after an import that was refused."""
    return {
        model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in models
    }


# GIFT --------------------------------------------------------------------------------------------

GIFT_PIECES = st.sampled_from(
    [
        "{",
        "}",
        "\\{",
        "\\}",
        "\\",
        "\\n",
        "\\:",
        "::",
        "::标题::",
        "$CATEGORY: 发展",
        "$category:",
        "#",
        "####",
        "=",
        "~",
        "->",
        "%50%",
        "%-100%",
        "%abc%",
        "T",
        "FALSE",
        "#3.14:0.01",
        "#1..2",
        "#1e99999",
        "#nan",
        "[html]",
        "[Markdown]",
        "// [id:x]",
        "// [tag:y]",
        "\n",
        "\n\n",
        "\r",
        "\r\n",
        " ",
        "｛",
        "｝",
        "张",
        "😀",
        "\x00",
        "\u202e",
        "\ufeff",
    ]
)
gift_text = st.one_of(
    hostile_str,
    st.lists(st.one_of(GIFT_PIECES, hostile_text), max_size=40).map("".join),
)


def assert_well_formed(result: GiftResult, text: str) -> None:
    lines = len(text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    assert isinstance(result, GiftResult)
    for problem in result.problems:
        assert 1 <= problem.line <= max(lines, 1), problem
        assert problem.message.strip()
    for question in result.questions:
        assert question.kind in KINDS
        question.to_dict()


@settings(max_examples=200, deadline=None)
@given(gift_text)
@example("::a::{")
@example("{=a -> b =c -> d =e -> f}")
@example("Q {#1e-99999999999999999999}")
@example("\ud800 {T}")
def test_gift_parser_returns_questions_or_problems_with_lines(text: str) -> None:
    assert_well_formed(parse_gift(text), text)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200) | gift_text.map(lambda t: t.encode("utf-8", "surrogatepass")))
@example("问题 {T}".encode("gbk"))
@example("问题 {T}".encode("utf-16"))
def test_gift_parser_reads_bytes_in_any_encoding_without_raising(data: bytes) -> None:
    result = parse_gift(data)
    for problem in result.problems:
        assert problem.line >= 1 and problem.message


def test_a_huge_gift_file_is_read_in_reasonable_time() -> None:
    text = "\n\n".join(f"::Q{n}:: 婴儿{'长' * 500} {{=对 ~错}}" for n in range(2000))
    result = parse_gift(text + "\n\n" + "{" * 10_000 + "[id:" * 10_000)
    assert len(result.questions) == 2000
    assert result.problems


# Course files ------------------------------------------------------------------------------------

CATALOG = (Course, Module, Lesson, LessonVersion, Quiz, CourseAsset)


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string (control characters escaped, NUL included)."""
    out = []
    for char in value:
        if char in '"\\' or ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "gbk", "utf-16", "latin-1"])


def encode(text: str, encoding: str) -> bytes:
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode("utf-8")


@st.composite
def course_folders(draw: st.DrawFn) -> dict[str, Any]:
    """Changes to make to a copy of the valid ``mini-basics`` course."""
    return {
        "title": draw(hostile_text),
        "raw_title": draw(st.booleans()),
        "summary": draw(hostile_text),
        "lesson_title": draw(hostile_text),
        "body": draw(
            st.one_of(
                hostile_text,
                st.sampled_from(
                    [
                        "<script>alert(1)</script>",
                        '<img src="javascript:alert(1)" onerror="x()">',
                        "[x](javascript:alert(1))",
                        "![a](../../../../etc/passwd)",
                        "![a](images/none.png)",
                        "<iframe src=//evil></iframe>",
                        '<a href="data:text/html,<script>">x</a>',
                        "+++\ntitle = 1\n+++",
                    ]
                ),
            )
        ),
        "gift": draw(gift_text),
        "encoding": draw(ENCODINGS),
    }


def write_course(root: Path, change: dict[str, Any]) -> Path:
    folder = root / "mini-basics"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(FIXTURES / "mini-basics", folder)
    toml = (folder / "course.toml").read_text("utf-8")
    title = change["title"] if change["raw_title"] else toml_string(change["title"])
    toml = toml.replace('title = "测试基础课程"', f"title = {title}", 1)
    toml = toml.replace(
        '"""\n一门只用于测试的小课程。\n第二行。\n"""', toml_string(change["summary"])
    )
    (folder / "course.toml").write_bytes(encode(toml, change["encoding"]))
    lesson = folder / "01-intro" / "01-welcome.md"
    text = lesson.read_text("utf-8").replace('"欢迎"', toml_string(change["lesson_title"]), 1)
    lesson.write_bytes(encode(text + "\n" + change["body"] + "\n", change["encoding"]))
    gift = folder / "01-intro" / "quiz.gift"
    gift.write_bytes(gift.read_bytes() + b"\n\n" + change["gift"].encode("utf-8", "surrogatepass"))
    return folder


PROBLEM_LINE = re.compile(r"^(?P<path>.+?):(?P<line>[0-9]+): (?P<message>.+)$", re.DOTALL)


@settings(FIXTURE, max_examples=10)
@given(change=course_folders())
def test_course_import_reports_problems_by_path_and_line_or_imports_everything(
    app: Flask, tmp_path: Path, change: dict[str, Any]
) -> None:
    folder = write_course(tmp_path, change)
    tree = check_tree(folder)
    db.session.rollback()
    for problem in tree.problems:
        match = PROBLEM_LINE.match(str(problem))
        assert match, problem
        assert Path(match["path"]).is_relative_to(folder)
        assert int(match["line"]) >= 1
    before = counts(*CATALOG)
    try:
        import_tree(folder)
    except TreeInvalid as invalid:
        assert invalid.problems == tree.problems
        db.session.rollback()
        assert counts(*CATALOG) == before
        return
    db.session.commit()
    assert not tree.problems
    course = db.session.scalar(sa.select(Course).where(Course.code == "TEST-BASICS-1"))
    assert course is not None
    assert course.title == change["title"] or change["raw_title"]  # stored as written


def test_course_import_through_the_cli_is_all_or_nothing(runner: Any, tmp_path: Path) -> None:
    bad = {
        "title": "标题\x00",
        "raw_title": False,
        "summary": "😀" * 10_000,
        "lesson_title": "\x1b\u202e",
        "body": "<script>alert(1)</script>",
        "gift": "::a:: {\x00",
        "encoding": "utf-8",
    }
    folder = write_course(tmp_path, bad)
    before = counts(*CATALOG)
    for command in ("check", "import"):
        result = runner.invoke(args=["courses", command, str(folder)])
        assert result.exit_code == 1, result.output
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert all(PROBLEM_LINE.match(line) for line in lines[:-1]), lines
    assert counts(*CATALOG) == before


# CSV files ---------------------------------------------------------------------------------------

PEOPLE = (User, RoleAssignment)


def csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@st.composite
def roster_files(draw: st.DrawFn) -> bytes:
    """A roster: a header (possibly odd), rows of hostile or valid cells, in some encoding."""
    header = draw(
        st.sampled_from(
            [
                "name,email,phone,employer,district,roles",
                "姓名,邮箱,手机,单位,区,角色",
                "姓名\t邮箱",
                "name;email",
                "name,email,email",
                "",
            ]
        )
        | hostile_text
    )
    rows = []
    for n in range(draw(st.integers(0, 4))):
        valid = draw(st.booleans())
        name = "张晓燕" if valid else draw(hostile_text)
        email = f"hostile{n}-{draw(st.integers(0, 3))}@example.org" if valid else draw(hostile_text)
        rest = [draw(hostile_text) if not valid else "" for _ in range(draw(st.integers(0, 5)))]
        cells = [name, email, *rest]
        quote = draw(st.booleans())
        rows.append(",".join(csv_cell(c) if quote else c for c in cells))
    text = "\r\n".join([header, *rows])
    data = encode(text, draw(ENCODINGS))
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=8)) + data[cut:]
    return data


def assert_row_errors(errors: list[roster.RowError]) -> None:
    assert errors
    for error in errors:
        assert error.message.strip()
        assert error.row is None or error.row >= 1
        assert str(error)


@FIXTURE
@given(data=roster_files())
@example(data="name,email\n张三,a@example.org\n".encode("gbk"))
@example(data="name,email\n张三,a@example.org\n".encode("utf-16"))
@example(data=b"name,email\n\xff\xfe\x00,a@example.org\n")
@example(data=b"name,email\na\x00,b@example.org\n")
@example(data=b"name,email\n\"=cmd|' /C calc'!A0\",f@example.org\n")
@example(data=b"name,email\n" + b"x" * 300 + b",g@example.org\n")
@example(data=b"PK\x03\x04zip")
def test_roster_import_is_all_or_nothing(app: Flask, data: bytes) -> None:
    before = counts(*PEOPLE)
    try:
        result = roster.import_roster(data, None)
    except roster.RosterInvalid as invalid:
        db.session.rollback()
        assert_row_errors(invalid.row_errors)
        assert counts(*PEOPLE) == before
        return
    db.session.commit()
    after = counts(*PEOPLE)
    assert after["users"] == before["users"] + result.created


@FIXTURE
@given(cells=st.lists(hostile_str, min_size=1, max_size=6))
def test_roster_import_of_decoded_text_with_any_code_points(app: Flask, cells: list[str]) -> None:
    """The CLI and tests may pass ``str``: lone surrogates and NUL are refused by row."""
    text = "name,email\n" + "".join(f"{csv_cell(c)},{csv_cell(c)}\n" for c in cells)
    before = counts(*PEOPLE)
    with pytest.raises(roster.RosterInvalid) as invalid:
        roster.import_roster(text, None)
    db.session.rollback()
    assert_row_errors(invalid.value.row_errors)
    assert counts(*PEOPLE) == before


@pytest.fixture
def cohort_world(learning_world: Any) -> Any:
    learning_world.hr = factories.UserFactory(roles=[("hr", learning_world.employer)])
    learning_world.people = [
        factories.UserFactory(
            roles=["trainee"],
            employer=learning_world.employer,
            email=f"hostile-csv{n}@example.org",
            phone=f"1390000000{n}",
        )
        for n in range(2)
    ]
    db.session.commit()
    return learning_world


@st.composite
def enrolment_files(draw: st.DrawFn, emails: list[str]) -> bytes:
    header = draw(st.sampled_from(["email", "邮箱", "手机", "phone,email", "name"]) | hostile_text)
    cells = [draw(st.sampled_from(emails) | hostile_text) for _ in range(draw(st.integers(0, 4)))]
    text = header + "\n" + "\n".join(csv_cell(c) if draw(st.booleans()) else c for c in cells)
    data = encode(text, draw(ENCODINGS))
    if draw(st.booleans()):
        data += draw(st.binary(max_size=6))
    return data


def enrolled(world: Any) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Enrolment)
        .where(Enrolment.cohort_id == world.cohort.id)
    )


@FIXTURE
@given(data=st.data())
def test_enrolment_file_is_all_or_nothing(
    app: Flask, cohort_world: Any, data: st.DataObject
) -> None:
    world = cohort_world
    content = data.draw(enrolment_files([p.email for p in world.people]))
    before = enrolled(world)
    try:
        result = enrolment_csv.enrol_from_file(content, world.hr.id, world.cohort.id)
    except roster.RosterInvalid as invalid:
        db.session.rollback()
        assert_row_errors(invalid.row_errors)
        assert enrolled(world) == before
        return
    db.session.commit()
    assert enrolled(world) == before + result.enrolled


# The upload pages and their jobs -----------------------------------------------------------------


def job_of(response: Any) -> jobs.Job:
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    job_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    db.session.expire_all()
    job = db.session.get(jobs.Job, job_id)
    assert job is not None
    return job


UPLOADS = [
    "name,email\n张晓燕,upload-a@example.org\n".encode("gbk"),
    "\ufeffname,email\n😀 李,upload-b@example.org\n".encode("utf-16"),
    b"name,email\n\xff\xfe\xfa,upload-c@example.org\n",
    b"name,email\nnul\x00,upload-d@example.org\n",
    b"name,email\n=1+1,upload-e@example.org\n" + b"x,bad\n",
    b"name,email\n" + b"y" * 100_000 + b",upload-f@example.org\n",
    b"\x00" * 100,
    b"",
]


@pytest.mark.parametrize("data", UPLOADS, ids=range(len(UPLOADS)))
def test_roster_upload_page_reports_or_imports_never_a_500(
    app: Flask, client: Any, make_user: Any, data: bytes
) -> None:
    client.login(make_user("admin"))
    before = counts(*PEOPLE)
    response = client.post(
        "/people/import",
        data={"file": (io.BytesIO(data), "名单.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code < 500
    if response.status_code != 302:  # an empty file is refused by the form
        assert counts(*PEOPLE) == before
        return
    job = job_of(response)
    run_queued_jobs(app)
    db.session.expire_all()
    job = db.session.get(jobs.Job, job.id)
    assert job.state == "finished", job.message
    page = client.get(f"/people/import/{job.id}")
    assert page.status_code == 200
    if job.result["errors"]:
        assert counts(*PEOPLE) == before
        assert all(error["message"] for error in job.result["errors"])
    else:
        assert counts(*PEOPLE)["users"] == before["users"] + job.result["created"]


@pytest.mark.parametrize("data", UPLOADS, ids=range(len(UPLOADS)))
def test_enrolment_upload_page_reports_or_enrols_never_a_500(
    app: Flask, client: Any, cohort_world: Any, data: bytes
) -> None:
    world = cohort_world
    client.login(world.hr)
    before = enrolled(world)
    content = data.replace(b"name,email", b"email").replace(b"upload-a@example.org", b"")
    response = client.post(
        f"/cohorts/{world.cohort.id}/enrol/csv",
        data={"file": (io.BytesIO(content), "报名.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code < 500
    if response.status_code != 302:
        assert enrolled(world) == before
        return
    job = job_of(response)
    run_queued_jobs(app)
    db.session.expire_all()
    job = db.session.get(jobs.Job, job.id)
    assert job.state == "finished", job.message
    assert client.get(f"/cohorts/{world.cohort.id}/enrol/csv/{job.id}").status_code == 200
    if job.result["errors"]:
        assert enrolled(world) == before
    else:
        assert enrolled(world) == before + job.result["enrolled"]


def test_nul_characters_in_course_files_are_problems_on_their_line(tmp_path: Path) -> None:
    """PostgreSQL cannot store NUL in text: the importer refuses it, escaped or raw."""
    change = {
        "title": "标题",
        "raw_title": False,
        "summary": "",
        "lesson_title": "欢\x00迎",
        "body": "",
        "gift": "::N:: 问\x00题 {T}",
        "encoding": "utf-8",
    }
    folder = write_course(tmp_path / "a", change)
    gift_lines = (folder / "01-intro" / "quiz.gift").read_text("utf-8").split("\n")
    gift_line = next(n for n, line in enumerate(gift_lines, 1) if "\x00" in line)
    found = {(Path(p.path).name, p.line) for p in check_tree(folder).problems if "NUL" in p.message}
    assert found == {("01-welcome.md", 2), ("quiz.gift", gift_line)}

    folder = write_course(tmp_path / "b", change | {"title": "标\x00题", "gift": ""})
    found = {(Path(p.path).name, p.line) for p in check_tree(folder).problems if "NUL" in p.message}
    assert found == {("course.toml", 3)}
