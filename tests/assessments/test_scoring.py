"""Marking each kind of question: partial credit, penalties, Chinese input, tolerances."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lms.assessments.attempts import snapshot_question
from lms.assessments.gift import parse_gift
from lms.assessments.scoring import (
    best_response,
    mark_all,
    mark_question,
    normalise_text,
    parse_number,
    totals,
)


def question(gift: str, **extra: Any) -> dict[str, Any]:
    """The one question of ``gift`` as an attempt snapshots it (worth one point)."""
    parsed = parse_gift(gift)
    assert parsed.ok, parsed.problems
    (only,) = parsed.questions
    return {**only.to_dict(), "ref": 0, "points": 1.0, **extra}


def score(q: dict[str, Any], response: Any) -> float | None:
    mark = mark_question(q, response)
    assert mark is not None
    return mark.score


MULTIPLE_CHOICE = question("几个月会翻身？ {=4-6个月#正确。 ~1个月#太早了。 ~%50%3个月#接近。}")
MULTIPLE_ANSWER = question(
    "发展领域？ {~%50%语言#对。 ~%50%认知#对。 ~%-100%血型#不是。 ~%-50%身高}"
)
TRUE_FALSE = question("所有婴儿12个月会走路。 {F#个体差异很大。#答对了。####每个孩子不同。}")
SHORT = question("写出英文缩写。 {=ABC#对。 =%50%AB C D#一半。 =婴儿*护理#通配。}")
NUMERICAL = question("新生儿每天睡多少小时？ {#=16:2#对。 =%50%10..13#少了一些。 ~#再想想。}")
MATCHING = question(
    "配对。 {=3个月 -> 抬头 =6个月 -> 独坐 =12个月 -> 独站 = -> 跑步}",
    choices=["独站", "跑步", "抬头", "独坐"],
)
ESSAY = question("请简述回应性照护。 {}")


def test_multiple_choice_gives_the_chosen_answers_fraction_and_feedback() -> None:
    mark = mark_question(MULTIPLE_CHOICE, 0)
    assert mark is not None and mark.score == 1.0 and mark.feedback == "正确。"
    assert score(MULTIPLE_CHOICE, 1) == 0.0
    assert score(MULTIPLE_CHOICE, 2) == 0.5
    assert mark_question(MULTIPLE_CHOICE, 2).feedback == "接近。"  # type: ignore[union-attr]


@pytest.mark.parametrize("response", [None, 3, -1, "0", True, [0], {"0": 0}, 1.5])
def test_multiple_choice_ignores_responses_of_the_wrong_shape(response: Any) -> None:
    assert score(MULTIPLE_CHOICE, response) == 0.0


def test_multiple_answers_add_their_weights_and_penalties_clamped() -> None:
    assert score(MULTIPLE_ANSWER, [0, 1]) == 1.0
    assert score(MULTIPLE_ANSWER, [0]) == 0.5
    assert score(MULTIPLE_ANSWER, [0, 3]) == 0.0  # 50% - 50%
    assert score(MULTIPLE_ANSWER, [0, 1, 3]) == 0.5
    assert score(MULTIPLE_ANSWER, [2]) == 0.0  # -100% is clamped to nothing, not below
    assert score(MULTIPLE_ANSWER, [0, 1, 2, 3]) == 0.0
    # Repeating an index (an edited form) counts it once.
    assert score(MULTIPLE_ANSWER, [0, 0, 0]) == 0.5
    assert score(MULTIPLE_ANSWER, [0, 9, "1"]) == 0.5
    assert score(MULTIPLE_ANSWER, 0) == 0.0
    mark = mark_question(MULTIPLE_ANSWER, [0, 2])
    assert mark is not None and mark.feedback == "对。\n不是。"


def test_true_false_feedback_depends_on_the_answer() -> None:
    right = mark_question(TRUE_FALSE, "false")
    wrong = mark_question(TRUE_FALSE, "true")
    assert right is not None and right.score == 1.0 and right.feedback == "答对了。"
    assert wrong is not None and wrong.score == 0.0 and wrong.feedback == "个体差异很大。"
    assert score(TRUE_FALSE, "yes") == 0.0
    assert score(TRUE_FALSE, None) == 0.0


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ABC", 1.0),
        ("abc", 1.0),
        ("ＡＢＣ", 1.0),  # full-width letters
        ("  ａｂｃ\u3000", 1.0),  # and a full-width space
        ("ab  c   d", 0.5),  # repeated white space counts once
        ("ＡＢ　Ｃ　Ｄ", 0.5),
        ("AB CD", 0.0),
        ("婴儿日常护理", 1.0),  # "婴儿*护理": * matches anything
        ("护理婴儿", 0.0),
        ("", 0.0),
        ("   ", 0.0),
    ],
)
def test_short_answers_ignore_case_width_and_spacing(typed: str, expected: float) -> None:
    assert score(SHORT, typed) == expected


def test_short_answer_full_width_digits_and_punctuation() -> None:
    q = question("婴儿独坐大约在几个月？ {=六 =6#对。 =3，5}")
    assert score(q, "６") == 1.0
    assert score(q, "六") == 1.0
    assert score(q, "3，5") == 1.0
    assert score(q, "3,5") == 1.0  # half-width comma matches the full-width answer
    assert score(q, "3, 5") == 0.0


def test_a_star_written_with_a_backslash_is_a_star() -> None:
    q = {**SHORT, "answers": [{"text": "a\\*b", "fraction": 1.0, "feedback": ""}]}
    assert score(q, "a*b") == 1.0
    assert score(q, "axb") == 0.0


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("16", 1.0),
        ("14", 1.0),  # 16 +- 2, edges included
        ("18", 1.0),
        ("18.01", 0.0),
        ("１７", 1.0),  # full-width digits
        ("15,5", 1.0),  # decimal comma
        ("１５．５", 1.0),
        (" 17 ", 1.0),
        ("12", 0.5),  # the 10..13 range
        ("13", 0.5),
        ("9.99", 0.0),
        ("sixteen", 0.0),
        ("", 0.0),
        ("nan", 0.0),
        ("1e999", 0.0),
    ],
)
def test_numerical_answers_with_tolerance_and_ranges(typed: str, expected: float) -> None:
    assert score(NUMERICAL, typed) == expected


def test_numerical_other_answers_get_the_star_feedback_only() -> None:
    mark = mark_question(NUMERICAL, "3")
    assert mark is not None and mark.score == 0.0 and mark.feedback == "再想想。"
    best = mark_question(NUMERICAL, "16.5")
    assert best is not None and best.feedback == "对。"


def test_numerical_bounds_survive_float_rounding() -> None:
    q = question("π？ {#3.141..3.142}")
    assert score(q, "3.142") == 1.0
    assert score(q, "3.141") == 1.0
    q = question("0.3? {#0.1:0.2}")
    assert score(q, "0.3") == 1.0
    assert score(q, "-0.1") == 1.0
    assert score(q, "−0.1") == 1.0  # a typographic minus


def test_matching_gives_the_share_of_pairs_right() -> None:
    # choices: 0 独站, 1 跑步, 2 抬头, 3 独坐
    assert score(MATCHING, {"0": 2, "1": 3, "2": 0}) == 1.0
    assert score(MATCHING, {"0": 2, "1": 3, "2": 1}) == 0.667
    assert score(MATCHING, {"0": 2}) == 0.333
    assert score(MATCHING, {"0": 1, "1": 1, "2": 1}) == 0.0
    # The distractor (index 3) has no left side: an answer for it counts nothing.
    assert score(MATCHING, {"0": 2, "1": 3, "2": 0, "3": 1}) == 1.0
    assert score(MATCHING, {"0": 9, "1": "3", "2": -1}) == 0.0
    assert score(MATCHING, [2, 3, 0]) == 0.0


def test_essays_wait_for_an_instructor_and_descriptions_are_not_marked() -> None:
    mark = mark_question(ESSAY, "回应性照护是……")
    assert mark is not None and mark.score is None and mark.max == 1.0
    description = question("请阅读下面的材料。")
    assert description["kind"] == "description"
    assert mark_question(description, "anything") is None


def test_points_scale_the_mark() -> None:
    assert score({**MULTIPLE_ANSWER, "points": 2.0}, [0]) == 1.0


def test_normalisation_and_number_reading() -> None:
    assert normalise_text("  Ｈｅｌｌｏ，\u3000 World ") == "hello, world"
    assert parse_number("３,５") == 3.5
    assert parse_number("1,000.5") is None
    assert parse_number("1 000") == 1000
    assert parse_number("inf") is None


def test_totals_pass_mark_and_pending_essays() -> None:
    questions = [MULTIPLE_CHOICE, MULTIPLE_ANSWER, TRUE_FALSE]
    marks = mark_all(questions, {"0": 0, "1": [0], "2": "true"})
    result = totals(marks, 50)
    assert result.score == Decimal("1.500") and result.max_score == Decimal("3.000")
    assert result.percent == Decimal("50.00") and result.passed is True
    assert totals(marks, 51).passed is False
    with_essay = mark_all([*questions, ESSAY], {"0": 0, "1": [0], "2": "false", "3": "..."})
    pending = totals(with_essay, 50)
    assert pending.pending_review is True and pending.passed is None
    assert pending.max_score == Decimal("4.000")
    with_essay["3"]["score"] = 0.5
    done = totals(with_essay, 60)
    assert done.pending_review is False and done.percent == Decimal("75.00") and done.passed


REPOSITORY_QUIZZES = sorted((Path(__file__).resolve().parents[2] / "courses").glob("*/*/*.gift"))


@pytest.mark.parametrize(
    "path", REPOSITORY_QUIZZES, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}"
)
def test_the_best_response_to_every_course_question_earns_full_marks(path: Path) -> None:
    parsed = parse_gift(path.read_bytes())
    assert parsed.ok
    for ref, question in enumerate(parsed.questions):
        for seed in range(3):  # shuffled answers and matching choices in three orders
            shown = snapshot_question(ref, question.to_dict(), True, random.Random(seed))
            mark = mark_question(shown, best_response(shown, essay="示范作答"))
            if question.kind == "essay":
                assert mark is not None and mark.score is None
            elif question.kind != "description":
                assert mark is not None and mark.score == mark.max, (path, question.name)
