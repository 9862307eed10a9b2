"""Course files for learning and assessment: quiz settings, practicals, lesson competencies,
and ``programmes.toml`` beside the courses (read, checked, imported; see courses/README.md).

:func:`learning_tree` is the fixture tree plus a ``programmes.toml`` and the competencies its
lessons, quiz categories and rubric criteria name; the exporter and CLI tests use it too.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.assessments.models import Practical
from lms.audit.models import AuditEntry
from lms.catalog.importer import TreeInvalid, check_tree, import_tree
from lms.catalog.models import Module, Quiz
from lms.extensions import db
from lms.learning.models import (
    Competency,
    Programme,
    lesson_competencies,
)
from tests.catalog import FIXTURES, copy_fixtures, edit, lesson, line_of, row_counts, snapshot

BASICS = "TEST-BASICS-1"

PROGRAMMES_TOML = """\
# The programmes of the test courses.

[[competencies]]
code = "E-RESP"
dimension = "ethics"
title = "尊重婴幼儿"
title_en = "Respects children"

[[competencies]]
code = "K-DEV"
dimension = "knowledge"
title = "掌握发展规律"
title_en = "Knows how children develop"

[[competencies]]
code = "S-OBS"
dimension = "skills"
title = "观察记录"
title_en = "Observes and records"

[[programmes]]
code = "TEST-QUAL"
title = "测试资格项目"
title_en = "Test qualification"
summary = "测试用的职前项目。"
track = "pre_service"
tier = "talent_pool"
cycle = "once"
min_ce_hours = 2.5
required_courses = ["TEST-BASICS-1"]
practicals = ["TEST-BASICS-1:observation"]
required_dimensions = ["skills"]
certificate = "测试证书"
certificate_en = "Test certificate"

[[programmes]]
code = "TEST-CE"
title = "测试继续教育"
title_en = "Test continuing education"
track = "in_service"
cycle = "annual"
min_ce_hours = 4
elective_courses = ["TEST-ADV-2", "TEST-BASICS-1"]
min_electives = 1
"""


def learning_tree(dest: Path) -> Path:
    """The fixtures with a programmes.toml and competencies named by lessons, a quiz
    category and a rubric criterion, at ``dest/courses``."""
    tree = copy_fixtures(dest)
    (tree / "programmes.toml").write_text(PROGRAMMES_TOML, "utf-8")
    basics = tree / "mini-basics"
    edit(
        basics / "01-intro/01-welcome.md",
        "]\n+++",
        ']\ncompetencies = ["E-RESP", "K-DEV"]\n+++',
    )
    edit(
        basics / "course.toml",
        'draw = [{category = "入门", count = 2}]\n',
        'draw = [{category = "入门", count = 2}]\ncompetencies = {"入门" = ["K-DEV"]}\n',
    )
    edit(
        basics / "course.toml",
        'title_en = "Facts only"\n',
        'title_en = "Facts only"\ncompetencies = ["S-OBS"]\n',
    )
    return tree


def import_and_commit(path: Path):
    result = import_tree(path)
    db.session.commit()
    return result


def messages(path: Path) -> list[str]:
    return [str(p) for p in check_tree(path).problems]


def competency_codes(lesson_id: int) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(Competency.code)
            .join(lesson_competencies, lesson_competencies.c.competency_id == Competency.id)
            .where(lesson_competencies.c.lesson_id == lesson_id)
            .order_by(Competency.code)
        )
    )


def practical(key: str) -> Practical:
    found = db.session.scalar(sa.select(Practical).where(Practical.key == key))
    assert found is not None, key
    return found


def intro_quiz() -> Quiz:
    return db.session.scalar(
        sa.select(Quiz).join(Module).where(Module.key == "01-intro", Quiz.key == "quiz")
    )


# Checking ---------------------------------------------------------------------------------------


def test_the_learning_tree_has_no_problems(tmp_path: Path):
    tree = check_tree(learning_tree(tmp_path))
    assert tree.problems == []
    assert [c.code for c in tree.programmes.competencies] == ["E-RESP", "K-DEV", "S-OBS"]
    assert [p.code for p in tree.programmes.programmes] == ["TEST-QUAL", "TEST-CE"]


def test_a_folder_without_programmes_toml_is_valid_and_has_none():
    tree = check_tree(FIXTURES)
    assert tree.problems == []
    assert tree.programmes is None


BROKEN_PROGRAMMES = """\
colour = "red"

[[competencies]]
code = "E-RESP"
dimension = "ethics"
title = "尊重婴幼儿"
title_en = "Respects children"

[[competencies]]
code = "E-RESP"
dimension = "ethics"
title = "重复"
title_en = "Twice"

[[competencies]]
code = "k dev"
dimension = "wisdom"
title = "掌握发展规律"
title_en = "Knows how children develop"
level = 3

[[competencies]]
code = "S-OBS"
dimension = "skills"
title = "观察记录"
title_en = "Observes and records"

[[programmes]]
code = "TEST-QUAL"
title = "测试资格项目"
title_en = "Test qualification"
track = "weekend"
tier = "gold"
cycle = "monthly"
min_ce_hours = -1
required_courses = ["TEST-BASICS-1", "TEST-NOPE-9"]
elective_courses = ["TEST-BASICS-1"]
min_electives = 2
practicals = ["TEST-BASICS-1:nothing", "TEST-GONE-8:observation", "observation"]
required_dimensions = ["knowledge", "beauty"]

[[programmes]]
code = "TEST-CE"
title = "测试继续教育"
title_en = "Test continuing education"
track = "in_service"
tier = "talent_pool"
requires_tier = "talent_pool"
cycle = "annual"
hours = 12

[[programmes]]
code = "TEST-CE"
title = "又一个"
title_en = "Again"
track = "in_service"
"""


def test_every_problem_of_programmes_toml_with_its_line(tmp_path: Path, english):
    tree = learning_tree(tmp_path)
    file = tree / "programmes.toml"
    file.write_text(BROKEN_PROGRAMMES, "utf-8")
    edit(tree / "mini-basics/01-intro/01-welcome.md", '["E-RESP", "K-DEV"]', '["E-RESP"]')
    edit(tree / "mini-basics/course.toml", '["K-DEV"]', '["S-OBS"]')

    def at(needle: str, message: str) -> str:
        return f"{file}:{line_of(file, needle)}: {message}"

    found = messages(tree)

    assert found == [
        at("colour", "unknown key colour (expected one of: competencies, programmes)"),
        f"{file}:10: competency E-RESP is defined twice",
        at("k dev", "code k dev: use capitals, digits and dashes (A-Z 0-9 -), at most 32"),
        at("wisdom", "unknown dimension wisdom (use ethics, knowledge, skills)"),
        at("level = 3", "unknown key level (expected one of: code, dimension, title, title_en)"),
        at("weekend", "unknown track weekend (use pre_service, in_service, lead_trainer)"),
        at("gold", "unknown tier gold (use talent_pool, lead_trainer)"),
        at("monthly", "unknown cycle monthly (use once, annual)"),
        at("= -1", "min_ce_hours must be between 0 and 1000, in steps of 0.5"),
        at(
            "TEST-NOPE-9",
            "TEST-NOPE-9 is not a course (neither in these files nor in the database)",
        ),
        at(
            'elective_courses = ["TEST-BASICS-1"]',
            "course TEST-BASICS-1 cannot be both required and elective",
        ),
        at("min_electives = 2", "min_electives 2 is more than the 0 elective course(s)"),
        at(
            "TEST-BASICS-1:nothing",
            "practical observation: write the course code and the practical's key, e.g. "
            "PRE-SAFE-102:handwashing",
        ),
        at("TEST-BASICS-1:nothing", "course TEST-BASICS-1 has no practical nothing"),
        at(
            "TEST-BASICS-1:nothing",
            "practical TEST-GONE-8:observation: TEST-GONE-8 is not a course (neither in these "
            "files nor in the database)",
        ),
        at("beauty", "unknown dimension beauty (use ethics, knowledge, skills)"),
        at("beauty", "required dimension knowledge has no competency in this file"),
        at('requires_tier = "talent_pool"', "a programme cannot require the tier it leads to"),
        at(
            "hours = 12",
            "unknown key hours (expected one of: certificate, certificate_en, certificate_type, "
            "code, cycle, elective_courses, min_ce_hours, min_electives, practicals, "
            "required_courses, required_dimensions, requires_tier, summary, summary_en, tier, "
            "title, title_en, track)",
        ),
        f"{file}:{BROKEN_PROGRAMMES.count(chr(10)) - 3}: programme TEST-CE is defined twice",
    ]


def test_codes_named_by_the_courses_must_be_competencies_of_programmes_toml(
    tmp_path: Path, english
):
    tree = learning_tree(tmp_path)
    welcome, toml = tree / "mini-basics/01-intro/01-welcome.md", tree / "mini-basics/course.toml"
    edit(welcome, '["E-RESP", "K-DEV"]', '["E-RESP", "K-NOPE", "bad code"]')
    edit(toml, '{"入门" = ["K-DEV"]}', '{"入门" = ["K-GONE"]}')
    edit(toml, 'competencies = ["S-OBS"]', 'competencies = ["S-MISSING"]')

    assert messages(tree) == [
        f"{welcome}:{line_of(welcome, 'K-NOPE')}: bad code is not a competency code (A-Z 0-9 -)",
        f"{welcome}:{line_of(welcome, 'K-NOPE')}: unknown competency K-NOPE (not in "
        "programmes.toml)",
        f"{toml}:{line_of(toml, 'K-GONE')}: unknown competency K-GONE (not in programmes.toml)",
        f"{toml}:{line_of(toml, 'S-MISSING')}: unknown competency S-MISSING (not in "
        "programmes.toml)",
    ]


def test_without_programmes_toml_the_competencies_must_be_in_the_database(tmp_path: Path, english):
    tree = learning_tree(tmp_path)
    (tree / "programmes.toml").unlink()
    welcome = tree / "mini-basics/01-intro/01-welcome.md"

    found = [m for m in messages(tree) if "01-welcome" in m]
    assert len(found) == 2
    assert found[-1] == (
        f"{welcome}:{line_of(welcome, 'K-DEV')}: unknown competency K-DEV (there is no "
        "programmes.toml here and the database does not have it)"
    )

    # Imported once with its programmes.toml, the competencies are known; one course folder
    # alone then checks against the database.
    import_and_commit(learning_tree(tmp_path / "first"))
    assert messages(tree) == []
    assert messages(tree / "mini-basics") == []


def test_quiz_settings_problems(tmp_path: Path, english):
    tree = learning_tree(tmp_path)
    toml = tree / "mini-basics/course.toml"
    edit(toml, "pass_mark = 70", 'pass_mark = 120\nmax_attempts = -1\ncolour = "red"')
    edit(toml, "time_limit = 10", 'time_limit = 0\nshuffle_answers = "yes"')
    edit(
        toml,
        'draw = [{category = "入门", count = 2}]',
        'draw = [{category = "入门", count = 4}, {category = "进阶", count = 1}]',
    )
    edit(toml, '{"入门" = ["K-DEV"]}', '{"入门" = ["K-DEV"], "高级" = ["K-DEV"]}')
    edit(
        toml,
        'lessons = ["01-practice"]',
        'lessons = ["01-practice"]\n\n[modules.quizzes.final]\npass_mark = 60\n\n'
        "[modules.quizzes.check]\ntime_limit = 5",
    )

    def at(needle: str, message: str) -> str:
        return f"{toml}:{line_of(toml, needle)}: {message}"

    assert messages(tree) == [
        at("pass_mark = 120", "pass_mark must be between 0 and 100"),
        at("max_attempts", "max_attempts must be between 0 and 100"),
        at(
            "colour",
            "unknown key colour (expected one of: competencies, draw, max_attempts, pass_mark, "
            "shuffle_answers, shuffle_questions, time_limit)",
        ),
        at("time_limit = 0", "time_limit must be between 1 and 600"),
        at("shuffle_answers", "shuffle_answers must be true or false"),
        at("count = 4", "cannot draw 4 questions from category 入门: it has 3"),
        at("count = 4", "the quiz has no category 进阶 (its $CATEGORY names: 入门)"),
        at('"高级"', "the quiz has no category 高级 (its $CATEGORY names: 入门)"),
        at(
            "[modules.quizzes.final]",
            "settings for quiz final, but there is no final.gift in the module",
        ),
    ]


def test_practical_problems(tmp_path: Path, english):
    tree = learning_tree(tmp_path)
    toml = tree / "mini-basics/course.toml"
    edit(toml, '{points = 1, label = "达到"', '{points = 0, label = "达到"')
    edit(toml, "pass_points = 2", "pass_points = 5")
    edit(toml, "min_points = 0", "min_points = 3\nweight = 2")
    edit(toml, 'key = "times"', 'key = "facts"')
    with toml.open("a", encoding="utf-8") as out:
        out.write(
            '\n[[practicals]]\nkey = "observation"\ntitle = "重复"\ntitle_en = "Again"\n'
            'levels = [{points = 1, label = "好", label_en = "Good"}]\npass_points = 0\n'
        )

    def at(needle: str, message: str, nth: int = 0) -> str:
        text = toml.read_text("utf-8").split("\n")
        lines = [n for n, line in enumerate(text, 1) if needle in line]
        return f"{toml}:{lines[nth]}: {message}"

    assert messages(tree) == [
        at("levels = [", "the levels' points must rise from one level to the next (0, 0)"),
        at("pass_points = 5", "pass_points 5 is more than the maximum, 0 (1 criteria at 0 points)"),
        at("min_points = 3", "min_points 3 is above the top level, 0"),
        at(
            "weight",
            "unknown key weight (expected one of: criteria, instructions, key, levels, "
            "min_points, pass_points, title, title_en)",
        ),
        at('key = "facts"', "criterion facts is listed twice", 1),
        at(
            "[[practicals]]",
            "a practical needs at least one [[practicals.criteria]] table",
            1,
        ),
        at('key = "observation"', "practical observation is defined twice", 1),
        at("levels = [{points = 1", "a rubric needs at least two levels"),
    ]


def test_the_check_command_checks_programmes_toml(runner, tmp_path: Path, english):
    tree = learning_tree(tmp_path)
    result = runner.invoke(args=["courses", "check", str(tree)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "programmes.toml: 3 competencies, 2 programme(s); 1 practical assessment(s) in the courses."
    )

    edit(tree / "programmes.toml", 'cycle = "annual"', 'cycle = "weekly"')
    counts = row_counts()
    for command in ("check", "import"):
        result = runner.invoke(args=["courses", command, str(tree)])
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [
            f"{tree}/programmes.toml:{line_of(tree / 'programmes.toml', 'weekly')}: unknown "
            "cycle weekly (use once, annual)",
            "1 problem(s) found; nothing was changed.",
        ]
        assert row_counts() == counts
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Competency)) == 0


# Importing --------------------------------------------------------------------------------------


def test_import_creates_the_learning_content_and_twice_changes_nothing(tmp_path: Path):
    tree = learning_tree(tmp_path)
    result = import_and_commit(tree)

    assert result.competencies.created == ["E-RESP", "K-DEV", "S-OBS"]
    assert [(p.code, p.state) for p in result.programmes] == [
        ("TEST-QUAL", "created"),
        ("TEST-CE", "created"),
    ]
    competencies = db.session.scalars(sa.select(Competency).order_by(Competency.position)).all()
    assert [(c.code, c.dimension, c.position) for c in competencies] == [
        ("E-RESP", "ethics", 0),
        ("K-DEV", "knowledge", 1),
        ("S-OBS", "skills", 2),
    ]
    assert competency_codes(lesson(BASICS, "01-intro", "01-welcome").id) == ["E-RESP", "K-DEV"]
    assert competency_codes(lesson(BASICS, "01-intro", "02-routines").id) == []
    quiz = intro_quiz()
    assert (quiz.pass_mark, quiz.max_attempts, quiz.time_limit) == (70, 3, 10)
    assert (quiz.shuffle_questions, quiz.shuffle_answers) == (True, True)
    assert quiz.draw == [{"category": "入门", "count": 2}]
    assert quiz.category_competencies == {"入门": ["K-DEV"]}
    check = db.session.scalar(sa.select(Quiz).where(Quiz.key == "check"))
    assert (check.pass_mark, check.time_limit, check.draw, check.category_competencies) == (
        60,
        None,
        [],
        {},
    )
    observation = practical("observation")
    assert observation.course.code == BASICS
    assert observation.title == "观察记录考核"
    assert observation.levels == [
        {"points": 0, "label": "未达到", "label_en": "Not yet"},
        {"points": 1, "label": "达到", "label_en": "Meets"},
    ]
    assert observation.criteria == [
        {
            "key": "facts",
            "title": "只记录事实",
            "title_en": "Facts only",
            "competencies": ["S-OBS"],
        },
        {"key": "times", "title": "记下时间", "title_en": "Times noted", "competencies": []},
    ]
    assert (observation.pass_points, observation.min_points, observation.max_points) == (2, 0, 2)

    qual = db.session.scalar(sa.select(Programme).where(Programme.code == "TEST-QUAL"))
    assert (qual.origin, qual.track, qual.tier, qual.cycle) == (
        "files",
        "pre_service",
        "talent_pool",
        "once",
    )
    assert qual.min_ce_hours == Decimal("2.5")
    assert [(link.course.code, link.required) for link in qual.courses] == [(BASICS, True)]
    assert [p.key for p in qual.practicals] == ["observation"]
    assert qual.required_dimensions == ["skills"]
    assert (qual.certificate_title, qual.certificate_title_en) == ("测试证书", "Test certificate")
    assert len(qual.source_hash) == 64
    ce = db.session.scalar(sa.select(Programme).where(Programme.code == "TEST-CE"))
    assert (ce.tier, ce.cycle, ce.min_electives, ce.min_ce_hours) == (None, "annual", 1, 4)
    assert [(link.course.code, link.required) for link in ce.courses] == [
        ("TEST-ADV-2", False),
        (BASICS, False),
    ]
    actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert actions.count("programme.imported") == 2
    assert actions.count("competencies.imported") == 1
    before = snapshot()

    again = import_and_commit(tree)

    assert not again.competencies.changed
    assert [p.state for p in again.programmes] == ["unchanged", "unchanged"]
    assert [o.state for o in again.courses] == ["unchanged", "unchanged"]
    assert snapshot() == before


def test_changed_settings_practicals_and_links_are_updated(tmp_path: Path):
    tree = learning_tree(tmp_path)
    import_and_commit(tree)
    observation_id = practical("observation").id
    toml = tree / "mini-basics/course.toml"
    edit(toml, "pass_mark = 70", "pass_mark = 80")
    edit(toml, 'title = "记下时间"', 'title = "记下开始和结束时间"')
    edit(tree / "mini-basics/01-intro/01-welcome.md", '["E-RESP", "K-DEV"]', '["S-OBS"]')

    result = import_and_commit(tree)

    outcome = {o.code: o for o in result.courses}[BASICS]
    assert outcome.state == "updated"
    assert outcome.changes["quizzes"] == 1
    assert outcome.changes["practicals"] == 1
    assert outcome.changes["lesson_competencies"] == 1
    assert intro_quiz().pass_mark == 80
    assert practical("observation").id == observation_id
    assert practical("observation").criteria[1]["title"] == "记下开始和结束时间"
    assert competency_codes(lesson(BASICS, "01-intro", "01-welcome").id) == ["S-OBS"]


def test_removed_practicals_and_competencies_are_archived_and_come_back(tmp_path: Path):
    tree = learning_tree(tmp_path)
    import_and_commit(tree)
    toml, programmes = tree / "mini-basics/course.toml", tree / "programmes.toml"
    original_toml, original_programmes = toml.read_text("utf-8"), programmes.read_text("utf-8")
    observation_id = practical("observation").id
    resp_id = db.session.scalar(sa.select(Competency.id).where(Competency.code == "E-RESP"))

    text = toml.read_text("utf-8")
    toml.write_text(text[: text.index("[[practicals]]")], "utf-8")
    edit(programmes, 'practicals = ["TEST-BASICS-1:observation"]\n', "")
    text = programmes.read_text("utf-8")
    start = text.index('[[competencies]]\ncode = "E-RESP"')
    programmes.write_text(text[:start] + text[text.index("[[competencies]]", start + 1) :])
    edit(tree / "mini-basics/01-intro/01-welcome.md", '["E-RESP", "K-DEV"]', '["K-DEV"]')
    result = import_and_commit(tree)

    assert result.competencies.archived == ["E-RESP"]
    outcome = {o.code: o for o in result.courses}[BASICS]
    assert outcome.changes["archived_practicals"] == 1
    assert [(p.code, p.state) for p in result.programmes] == [
        ("TEST-QUAL", "updated"),
        ("TEST-CE", "unchanged"),
    ]
    db.session.expire_all()
    observation = db.session.get(Practical, observation_id)
    assert observation.archived and observation.criteria  # the row and its rubric stay
    resp = db.session.get(Competency, resp_id)
    assert resp.archived and resp.title == "尊重婴幼儿"
    qual = db.session.scalar(sa.select(Programme).where(Programme.code == "TEST-QUAL"))
    assert qual.practicals == []

    toml.write_text(original_toml, "utf-8")
    programmes.write_text(original_programmes, "utf-8")
    edit(tree / "mini-basics/01-intro/01-welcome.md", '["K-DEV"]', '["E-RESP", "K-DEV"]')
    result = import_and_commit(tree)

    db.session.expire_all()
    assert result.competencies.updated == ["E-RESP", "K-DEV", "S-OBS"]  # positions too
    assert not db.session.get(Practical, observation_id).archived
    assert not db.session.get(Competency, resp_id).archived
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Practical)) == 1


def test_a_broken_learning_tree_changes_nothing(tmp_path: Path, english):
    tree = learning_tree(tmp_path)
    import_and_commit(tree)
    before = snapshot()
    edit(tree / "programmes.toml", 'title = "测试继续教育"', 'title = "改过的标题"')
    edit(tree / "mini-basics/course.toml", "pass_mark = 70", "pass_mark = 75")
    edit(tree / "mini-basics/course.toml", "count = 2", "count = 9")

    with pytest.raises(TreeInvalid):
        import_tree(tree)
    db.session.rollback()

    assert snapshot() == before
