"""The readable diff between two lesson versions."""

from __future__ import annotations

from lms.authoring.diff import compare, diff_lines
from lms.catalog.models import LessonVersion


def version(number: int, markdown: str, **fields: object) -> LessonVersion:
    values: dict[str, object] = {
        "title": "第一课",
        "title_en": "",
        "minutes": 10,
        "objectives": ["说出要点"],
    }
    values.update(fields)
    return LessonVersion(number=number, markdown=markdown, **values)


def kinds(old: str, new: str) -> list[str]:
    return [line.kind for line in diff_lines(old, new)]


def test_identical_text_has_no_lines():
    assert diff_lines("a\nb\n", "a\nb\n") == []
    assert compare(version(1, "a\n"), version(2, "a\n")).unchanged


def test_added_and_removed_lines_with_numbers():
    lines = diff_lines("一\n二\n三\n", "一\n三\n四\n")
    assert [(line.kind, line.old_number, line.new_number, line.text) for line in lines] == [
        ("equal", 1, 1, "一"),
        ("delete", 2, None, "二"),
        ("equal", 3, 2, "三"),
        ("insert", None, 3, "四"),
    ]


def test_a_changed_line_marks_the_changed_words():
    [old, new] = diff_lines("婴儿通常在六个月左右独坐。\n", "婴儿通常在七个月左右独坐。\n")
    assert old.kind == "delete" and new.kind == "insert"
    assert [(s.text, s.changed) for s in old.segments] == [
        ("婴儿通常在", False),
        ("六", True),
        ("个月左右独坐。", False),
    ]
    assert [(s.text, s.changed) for s in new.segments if s.changed] == [("七", True)]


def test_a_rewritten_line_is_marked_whole():
    [old, new] = diff_lines("完全不同的一句话\n", "Something else entirely\n")
    assert old.segments[0].changed and len(old.segments) == 1
    assert new.segments[0].changed and len(new.segments) == 1


def test_long_unchanged_stretches_are_folded():
    text = "".join(f"第{i}行\n" for i in range(40))
    changed = text.replace("第20行", "第二十行")
    lines = diff_lines(text, changed)
    assert lines[0].kind == "gap" and lines[0].skipped == 17
    assert lines[-1].kind == "gap" and lines[-1].skipped == 16
    assert sum(1 for line in lines if line.kind == "equal") == 6


def test_metadata_changes_are_listed():
    old = version(1, "正文\n")
    new = version(2, "正文\n", title="新标题", minutes=15, objectives=["说出要点", "举例"])
    result = compare(old, new)
    assert [(c.name, c.old, c.new) for c in result.fields] == [
        ("title", "第一课", "新标题"),
        ("minutes", 10, 15),
        ("objectives", ["说出要点"], ["说出要点", "举例"]),
    ]
    assert result.lines == [] and not result.unchanged


def test_the_first_version_is_all_new():
    result = compare(None, version(1, "一\n二\n"))
    assert result.old_number is None
    assert kinds("", "一\n二\n") == ["insert", "insert"]
    assert result.added == 2 and result.removed == 0
    assert {c.name for c in result.fields} == {"title", "title_en", "minutes", "objectives"}
