"""The GIFT parser: every construct Moodle documents, the problems it reports, and robustness."""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lms.assessments.gift import (
    BLANK,
    KINDS,
    Answer,
    GiftProblem,
    GiftResult,
    Question,
    parse_gift,
)


def one(text: str) -> Question:
    """The only question of ``text``, which must have no problem."""
    result = parse_gift(text)
    assert result.problems == []
    assert result.ok
    assert len(result.questions) == 1
    return result.questions[0]


def lines_of(text: str) -> list[int]:
    """The lines of the problems found in ``text``."""
    return [problem.line for problem in parse_gift(text).problems]


def only_problem(text: str) -> GiftProblem:
    """The only problem in ``text`` (whose question is then left out)."""
    result = parse_gift(text)
    assert len(result.problems) == 1, result.problems
    assert not result.ok
    return result.problems[0]


def numeric(text: str, fraction: float, value: int, tolerance: int, feedback: str = "") -> Answer:
    """A numerical answer in whole numbers, with min and max derived from value and tolerance."""
    return Answer(
        text, fraction, feedback, value, tolerance, min=value - tolerance, max=value + tolerance
    )


# --- Question kinds -------------------------------------------------------------------------


def test_multiple_choice_has_one_right_answer() -> None:
    question = one("Who's buried in Grant's tomb?{~Grant ~Jefferson =no one}")
    assert question == Question(
        kind="multiple_choice",
        name="Who's buried in Grant's tomb?",
        text="Who's buried in Grant's tomb?",
        text_format="moodle",
        category="",
        answers=[Answer("Grant", 0.0), Answer("Jefferson", 0.0), Answer("no one", 1.0)],
        general_feedback="",
        line=1,
        id_number=None,
        tags=[],
    )


def test_missing_word_keeps_a_blank_where_the_answers_were() -> None:
    question = one("Grant is {~buried =entombed ~living} in Grant's tomb.")
    assert question.kind == "multiple_choice"
    assert question.text == f"Grant is {BLANK} in Grant's tomb."
    assert question.text == "Grant is _____ in Grant's tomb."
    assert [a.fraction for a in question.answers] == [0.0, 1.0, 0.0]


def test_answers_after_the_text_leave_no_blank_but_closing_punctuation_does() -> None:
    assert one("Two plus two equals {=four =4}").text == "Two plus two equals"
    assert one("Two plus two equals {=four =4}.").text == "Two plus two equals _____."


def test_multiple_answers_need_weights_that_add_up_to_100() -> None:
    question = one(
        "What two people are entombed in Grant's tomb? {\n"
        "    ~%-50%No one\n"
        "    ~%50%Grant\n"
        "    ~%50%Grant's wife\n"
        "    ~%-50%Grant's father }"
    )
    assert question.kind == "multiple_answer"
    assert question.answers == [
        Answer("No one", -0.5),
        Answer("Grant", 0.5),
        Answer("Grant's wife", 0.5),
        Answer("Grant's father", -0.5),
    ]


@pytest.mark.parametrize(
    ("weight", "fraction"), [("33.333", 0.33333), ("33.33", 0.3333), ("33.3", 0.333)]
)
def test_multiple_answer_weights_may_be_rounded(weight: str, fraction: float) -> None:
    question = one(f"Pick three {{~%{weight}%a ~%{weight}%b ~%{weight}%c ~%-100%d}}")
    assert question.kind == "multiple_answer"
    assert [a.fraction for a in question.answers] == [fraction] * 3 + [-1.0]


def test_partial_credit_in_multiple_choice() -> None:
    question = one(
        "::Jesus' hometown::Jesus Christ was from {\n"
        "    ~Jerusalem#This was an important city, but the wrong answer.\n"
        "    ~%25%Bethlehem#He was born here, but not raised here.\n"
        "    ~%50%Galilee#You need to be more specific.\n"
        "    =Nazareth#Yes! That's right!}."
    )
    assert question.kind == "multiple_choice"
    assert question.name == "Jesus' hometown"
    assert question.text == "Jesus Christ was from _____."
    assert question.answers == [
        Answer("Jerusalem", 0.0, "This was an important city, but the wrong answer."),
        Answer("Bethlehem", 0.25, "He was born here, but not raised here."),
        Answer("Galilee", 0.5, "You need to be more specific."),
        Answer("Nazareth", 1.0, "Yes! That's right!"),
    ]


@pytest.mark.parametrize(
    ("block", "truth"), [("{T}", True), ("{TRUE}", True), ("{F}", False), ("{FALSE}", False)]
)
def test_true_false(block: str, truth: bool) -> None:
    question = one(f"The sun rises in the east.{block}")
    assert question.kind == "true_false"
    assert question.text == "The sun rises in the east."
    assert question.answers == [
        Answer("true", 1.0 if truth else 0.0),
        Answer("false", 0.0 if truth else 1.0),
    ]


def test_true_false_feedback_first_for_a_wrong_answer_then_for_a_right_one() -> None:
    question = one(
        "Grant is buried in Grant's tomb.{FALSE#Wrong, no one is buried there.#Right, well done.}"
    )
    # Each answer carries the feedback shown to whoever picks it.
    assert question.answers == [
        Answer("true", 0.0, "Wrong, no one is buried there."),
        Answer("false", 1.0, "Right, well done."),
    ]
    only_wrong = one("The sun rises in the east.{T#No, it does.}")
    assert only_wrong.answers == [Answer("true", 1.0, ""), Answer("false", 0.0, "No, it does.")]


def test_short_answer() -> None:
    question = one(
        "::Jesus' hometown:: Jesus Christ was from {\n"
        "    =Nazareth#Yes! That's right!\n"
        "    =%75%Nazereth#Right, but misspelled.\n"
        "    =%25%Bethlehem#He was born here, but not raised here.}"
    )
    assert question.kind == "short_answer"
    assert question.text == "Jesus Christ was from"
    assert question.answers == [
        Answer("Nazareth", 1.0, "Yes! That's right!"),
        Answer("Nazereth", 0.75, "Right, but misspelled."),
        Answer("Bethlehem", 0.25, "He was born here, but not raised here."),
    ]


def test_a_single_short_answer_may_omit_the_equal_sign() -> None:
    question = one("Japanese characters originally came from what country? {China}")
    assert question.kind == "short_answer"
    assert question.answers == [Answer("China", 1.0)]


def test_matching() -> None:
    question = one(
        "Match the following countries with their corresponding capitals. {\n"
        "    =Canada -> Ottawa\n"
        "    =Italy  -> Rome\n"
        "    =Japan  -> Tokyo\n"
        "    =India  -> New Delhi\n"
        "    }"
    )
    assert question.kind == "matching"
    assert question.answers == [
        Answer("Canada", 1.0, match="Ottawa"),
        Answer("Italy", 1.0, match="Rome"),
        Answer("Japan", 1.0, match="Tokyo"),
        Answer("India", 1.0, match="New Delhi"),
    ]


def test_matching_pair_with_an_empty_left_side_is_a_distractor() -> None:
    question = one("Capitals. {=Canada->Ottawa =Italy->Rome =Japan->Tokyo = -> Sydney}")
    assert question.answers[-1] == Answer("", 0.0, match="Sydney")


@pytest.mark.parametrize(
    ("block", "answer"),
    [
        ("{#1822}", numeric("1822", 1.0, 1822, 0)),
        ("{#3.1415:0.0005}", Answer("3.1415:0.0005", 1.0, "", 3.1415, 0.0005, 3.141, 3.142)),
        ("{#-5:1}", numeric("-5:1", 1.0, -5, 1)),
        ("{#2.5e3:10}", numeric("2.5e3:10", 1.0, 2500, 10)),
        ("{#3.141..3.142}", Answer("3.141..3.142", 1.0, "", 3.1415, 0.0005, 3.141, 3.142)),
        ("{#-5..-1}", Answer("-5..-1", 1.0, "", -3, 2, -5, -1)),
        ("{#1..5#Between one and five}", Answer("1..5", 1.0, "Between one and five", 3, 2, 1, 5)),
    ],
)
def test_numerical(block: str, answer: Answer) -> None:
    question = one(f"What is it? {block}")
    assert question.kind == "numerical"
    assert question.answers == [answer]


def test_numerical_with_several_weighted_answers_and_feedback() -> None:
    question = one(
        "//this comment will be ignored by the filter\n"
        "::Numerical example::\n"
        "When was Ulysses S. Grant born? {#\n"
        "     =1822:0      #Correct! 100% credit\n"
        "     =%50%1822:2  #He was born in 1822.\n"
        "                  You get 50% credit for being close.\n"
        "}"
    )
    assert question.kind == "numerical"
    assert question.line == 2
    assert question.answers == [
        numeric("1822:0", 1.0, 1822, 0, "Correct! 100% credit"),
        numeric(
            "1822:2", 0.5, 1822, 2, "He was born in 1822.\nYou get 50% credit for being close."
        ),
    ]


def test_numerical_feedback_for_every_other_answer() -> None:
    question = one("Two plus two? {#=4 =%50%3..5 ~#Count again.}")
    assert question.answers == [
        numeric("4", 1.0, 4, 0),
        numeric("3..5", 0.5, 4, 1),
        Answer("*", 0.0, "Count again."),
    ]


def test_essay() -> None:
    question = one("Write a short biography of Ulysses S. Grant {}")
    assert (question.kind, question.text, question.answers) == (
        "essay",
        "Write a short biography of Ulysses S. Grant",
        [],
    )


def test_description() -> None:
    question = one("The next set of questions will concern arithmetic")
    assert question.kind == "description"
    assert question.answers == []
    assert question.text == "The next set of questions will concern arithmetic"


# --- Options ----------------------------------------------------------------------------------


def test_title_and_multi_line_text() -> None:
    question = one(
        "::Kanji Origins::Japanese characters originally\ncame from what country? {=China}"
    )
    assert question.name == "Kanji Origins"
    assert question.text == "Japanese characters originally\ncame from what country?"


def test_name_defaults_to_the_first_40_characters_of_the_text() -> None:
    question = one(
        "The American holiday of Thanksgiving is celebrated on the {\n"
        "    ~second\n    ~third\n    =fourth\n} Thursday of November."
    )
    assert (
        question.text
        == "The American holiday of Thanksgiving is celebrated on the _____ Thursday of November."
    )
    assert question.name == "The American holiday of Thanksgiving is"
    assert one("婴" * 50 + "{T}").name == "婴" * 40
    assert question.answers == [Answer("second", 0.0), Answer("third", 0.0), Answer("fourth", 1.0)]
    html = one("[html]<p>A <b>bold</b>\nquestion</p>{T}")
    assert html.name == "A bold question"


def test_comments_are_ignored_wherever_they_are() -> None:
    result = parse_gift(
        "// Subheading: Numerical questions below\n"
        "What's 2 plus 2? {#4}\n"
        "\n"
        "// a comment alone\n"
        "\n"
        "Pick one {\n"
        "  // comment inside the answers\n"
        "  =right\n"
        "  ~wrong  // not a comment: it does not start the line\n"
        "}\n"
    )
    assert result.problems == []
    first, second = result.questions
    assert (first.kind, first.text, first.line) == ("numerical", "What's 2 plus 2?", 2)
    assert second.line == 6
    assert second.answers == [
        Answer("right", 1.0),
        Answer("wrong  // not a comment: it does not start the line", 0.0),
    ]


def test_categories_apply_to_the_questions_after_them() -> None:
    result = parse_gift(
        "Before any category {T}\n\n"
        "$CATEGORY: tom/dick/harry\n\n"
        "::A:: First {T}\n\n"
        "::B:: Second {F}\n\n"
        "// title: a comment right above the category is fine\n"
        "$CATEGORY: 发展里程碑\n\n"
        "::C:: Third {T}\n"
    )
    assert result.problems == []
    assert [(q.name, q.category) for q in result.questions] == [
        ("Before any category", ""),
        ("A", "tom/dick/harry"),
        ("B", "tom/dick/harry"),
        ("C", "发展里程碑"),
    ]


@pytest.mark.parametrize("text_format", ["html", "moodle", "markdown", "plain"])
def test_text_formats(text_format: str) -> None:
    question = one(f"::Q::[{text_format}]Who's buried in **Grant's tomb**?{{=no one}}")
    assert question.text_format == text_format
    assert question.text == "Who's buried in **Grant's tomb**?"


def test_text_format_defaults_to_moodle_and_answers_may_carry_their_own() -> None:
    question = one("Which tag makes text bold? {=[html]&lt;b&gt;#[html]<i>Yes</i> ~[plain]<i>}")
    assert question.text_format == "moodle"
    assert question.answers == [Answer("&lt;b&gt;", 1.0, "<i>Yes</i>"), Answer("<i>", 0.0)]


def test_general_feedback() -> None:
    multiple = one("Pick one {=a#Right ~b#Wrong ####Letters come in order.}")
    assert multiple.general_feedback == "Letters come in order."
    assert multiple.answers == [Answer("a", 1.0, "Right"), Answer("b", 0.0, "Wrong")]
    essay = one("Write about your day. {####[markdown]Mention *one* event.}")
    assert (essay.kind, essay.general_feedback) == ("essay", "Mention *one* event.")
    truth = one("1 + 1 = 2 {T#No.#Yes.####Basic arithmetic.}")
    assert truth.general_feedback == "Basic arithmetic."
    assert truth.answers == [Answer("true", 1.0, "Yes."), Answer("false", 0.0, "No.")]


def test_escaped_control_characters_are_text() -> None:
    question = one(
        "::GIFT Control Characters\\: a list::\n"
        "Which of the following is NOT a control character for the GIFT import format? {\n"
        "   ~ \\~     # \\~ is a control character.\n"
        "   ~ \\=     # \\= is a control character.\n"
        "   ~ \\#     # \\# is a control character.\n"
        "   ~ \\{     # \\{ is a control character.\n"
        "   ~ \\}     # \\} is a control character.\n"
        "   = \\\\     # Correct! \\\\ (backslash) is not a control character.\n"
        "}"
    )
    assert question.name == "GIFT Control Characters: a list"
    assert question.answers == [
        Answer("~", 0.0, "~ is a control character."),
        Answer("=", 0.0, "= is a control character."),
        Answer("#", 0.0, "# is a control character."),
        Answer("{", 0.0, "{ is a control character."),
        Answer("}", 0.0, "} is a control character."),
        Answer("\\", 1.0, "Correct! \\ (backslash) is not a control character."),
    ]


def test_escaped_newline_and_other_backslashes() -> None:
    question = one("Line one\\nline two: x\\=1, \\{set\\}, ratio 2\\:1, C:\\path, \\(x^2\\) {T}")
    assert question.text == "Line one\nline two: x=1, {set}, ratio 2:1, C:\\path, \\(x^2\\)"
    assert one("Which equals 5? {~ \\= 2 + 2 = \\= 2 + 3}").answers == [
        Answer("= 2 + 2", 0.0),
        Answer("= 2 + 3", 1.0),
    ]


def test_id_number_and_tags_come_from_the_comment_above() -> None:
    question = one(
        "// question: 12 [id:DEV-01] [tag:sleep] [tag:safety\\]net]\n"
        "Infants sleep on their backs. {T}"
    )
    assert question.id_number == "DEV-01"
    assert question.tags == ["sleep", "safety]net"]
    assert question.line == 2
    assert one("// no id here\nQ {T}").id_number is None


def test_windows_and_old_mac_line_endings_count_as_one_line() -> None:
    for newline in ("\r\n", "\r"):
        result = parse_gift(newline.join(["Q1 {T}", "", "// c", "Q2 {T}", "", "Q3 {"]))
        assert [q.line for q in result.questions] == [1, 4]
        assert [p.line for p in result.problems] == [6]


def test_full_width_punctuation_and_braces_are_text() -> None:
    question = one("小明问：“这是｛什么｝？”请填写。 {=苹果 =%50%水果#接近了。}")
    assert question.kind == "short_answer"
    assert question.text == "小明问：“这是｛什么｝？”请填写。"
    assert question.answers == [Answer("苹果", 1.0), Answer("水果", 0.5, "接近了。")]


def test_emoji_control_characters_and_a_byte_order_mark() -> None:
    question = one("\ufeff::表情 😀:: Is 😀 a smile?\x00 {T#\x07bell}")
    assert question.name == "表情 😀"
    assert question.text == "Is 😀 a smile?\x00"
    assert question.answers[1].feedback == "\x07bell"


CHINESE_QUIZ = """\
// title: 第一单元测验：发展里程碑
$CATEGORY: 托育/发展里程碑

// [id:M1-Q1] [tag:领域]
::Q1 发展领域:: 以下哪一项属于婴幼儿发展的五个领域？ {
  =情感与社会性#正确。
  ~身高#身高属于体格生长指标，不是发展领域。
  ~体重#体重属于体格生长指标。
}

::Q2 独立行走:: 所有健康婴儿都在12个月整时学会独立行走。 {F#个体差异很大。#对，存在个体差异。}

::Q3 社会性微笑:: “社会性微笑”通常在大约几个月时出现？请填一个数字。 {#2:1}

::Q4 预警征象:: 一名12个月的孩子出现下列哪些情况，应当建议进一步评估？（多选） {
  ~%50%呼唤名字无反应
  ~%50%不会扶物站立
  ~%-100%还不会独立行走#12个月尚未独走在正常范围内。
}

::Q5 矫正月龄:: 早产儿的实际月龄减去早出生的时间叫什么？ {=矫正月龄 =矫正年龄 =%50%纠正月龄}

::Q6 领域配对:: 请把发展领域与日常表现配对。 {
  =大运动 -> 趴着时把头抬起来看玩具
  =精细动作 -> 用拇指和食指捏起一粒小馒头
  =语言 -> 听到“灯呢？”会抬头看灯
}

::Q7 托小班:: 托小班接收{~6-12个月 =12-24个月 ~24-36个月}的孩子。

::Q8 案例分析:: 小宇22个月，很少说话。请写出观察计划。 {####[markdown]写**时间**与**情境**。}

下面的题目与喂养有关。

::Q9 饥饿信号:: 婴儿大哭是最早的饥饿信号。 {FALSE}

::Q10 范围:: 婴儿一般在几个月到几个月之间开始独坐？ {#4..9}
"""


def test_realistic_chinese_quiz_parses_without_problems() -> None:
    result = parse_gift(CHINESE_QUIZ)
    assert result.problems == []
    assert [(q.kind, q.line) for q in result.questions] == [
        ("multiple_choice", 5),
        ("true_false", 11),
        ("numerical", 13),
        ("multiple_answer", 15),
        ("short_answer", 21),
        ("matching", 23),
        ("multiple_choice", 29),
        ("essay", 31),
        ("description", 33),
        ("true_false", 35),
        ("numerical", 37),
    ]
    q1, q2, q3, q4, q5, q6, q7, q8, q9, *_ = result.questions
    assert {q.category for q in result.questions} == {"托育/发展里程碑"}
    assert (q1.name, q1.id_number, q1.tags) == ("Q1 发展领域", "M1-Q1", ["领域"])
    assert q1.answers[0] == Answer("情感与社会性", 1.0, "正确。")
    assert q2.answers == [
        Answer("true", 0.0, "个体差异很大。"),
        Answer("false", 1.0, "对，存在个体差异。"),
    ]
    assert q3.answers == [numeric("2:1", 1.0, 2, 1)]
    assert [a.fraction for a in q4.answers] == [0.5, 0.5, -1.0]
    assert [(a.text, a.fraction) for a in q5.answers] == [
        ("矫正月龄", 1.0),
        ("矫正年龄", 1.0),
        ("纠正月龄", 0.5),
    ]
    assert q6.answers[2] == Answer("语言", 1.0, match="听到“灯呢？”会抬头看灯")
    assert q7.text == "托小班接收_____的孩子。"
    assert q8.general_feedback == "写**时间**与**情境**。"
    assert (q9.name, q9.text) == ("下面的题目与喂养有关。", "下面的题目与喂养有关。")


def test_to_dict_is_json_and_round_trips_through_from_dict() -> None:
    questions = parse_gift(CHINESE_QUIZ).questions
    stored = json.loads(json.dumps([q.to_dict() for q in questions], allow_nan=False))
    assert [Question.from_dict(data) for data in stored] == questions
    assert stored[2]["answers"][0] == {
        "text": "2:1",
        "fraction": 1.0,
        "feedback": "",
        "value": 2.0,
        "tolerance": 1.0,
        "min": 1.0,
        "max": 3.0,
        "match": None,
    }
    assert set(stored[0]) >= {
        "kind",
        "name",
        "text",
        "text_format",
        "category",
        "answers",
        "general_feedback",
        "line",
        "id_number",
    }


def test_result_is_ok_only_without_problems() -> None:
    assert GiftResult([], []).ok
    assert not GiftResult([], [GiftProblem(1, "x")]).ok
    assert parse_gift("").ok
    assert parse_gift("\n\n// only comments\n\n").questions == []


# --- Problems -----------------------------------------------------------------------------------


TEN_LINES = """\
// A quiz of ten lines
::Q1:: First question {T}

::Q2:: Second question {
  =right
  ~wrong
  ~%25%partly right
}

::Q3:: Third question {F}"""


def test_problems_in_a_ten_line_file_name_their_line() -> None:
    assert len(TEN_LINES.splitlines()) == 10
    assert [q.line for q in parse_gift(TEN_LINES).questions] == [2, 4, 10]
    problem = only_problem(TEN_LINES.replace("%25%partly", "%25 %partly"))
    assert problem == GiftProblem(7, "%25 % is not a weight: write a percentage such as %50%.")
    problem = only_problem(TEN_LINES.replace("right\n}", "right\n~more"))
    assert problem == GiftProblem(4, "This { is never closed: add } after the last answer.")
    problem = only_problem(TEN_LINES.replace("{F}", "{F"))
    assert problem.line == 10
    problem = only_problem(TEN_LINES.replace("{F}", "F}"))
    assert problem == GiftProblem(10, "This } closes nothing: add the { before it, or write \\}.")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        # Structure.
        ("Q {=a\n~b", 1, "never closed"),
        ("\n\nQ\n=a ~b}", 4, "closes nothing"),
        ("Q {\n=a\n{~b}", 3, "second {"),
        ("Q {=a ~b}\nand {=c ~d}", 2, "one answer block"),
        ("::Q1 no end\n{=a ~b}", 1, "title is not closed"),
        ("::Q1::\n{=a ~b}", 2, "no text"),
        ("\n[HTML]Question {=a ~b}", 2, "[HTML] is not a text format"),
        ("\n\n[htm] Question {T}", 3, "[htm] is not a text format"),
        # Multiple choice and multiple answers.
        ("Q {\n~a\n~b\n}", 1, "No answer is right"),
        ("Q {\n=%50%a\n~b\n}", 1, "No answer is fully right"),
        ("Q {~%50%a ~%40%b ~c}", 1, "add up to 90%"),
        ("Q {~%60%a ~%60%b ~%-100%c}", 1, "add up to 120%"),
        ("Q {=only}\n\nQ2 {~%100%only}", 3, "at least two answers"),
        ("Q {\n=a\n~%abc%b\n}", 3, "%abc% is not a weight"),
        ("Q {\n=a\n~%150%b\n}", 3, "outside -100% to 100%"),
        ("Q {\n=a\n~%25b\n~c\n}", 3, "The weight %25 is not closed: write %25%."),
        ("Q {a\n=b\n~c}", 1, '"a" comes before the first answer'),
        ("Q {=a\n~\n~c}", 2, "answer is empty"),
        # Short answers, true/false.
        ("Q {=%50%a =%25%b}", 1, "No answer gives full marks"),
        ("Q {\n=a\n=\n}", 3, "answer is empty"),
        ("Q {true}", 1, "{TRUE}"),
        ("Q {\nfalse}", 2, "{TRUE}"),
        # Numerical.
        ("Q {#\n=1822:0\n=%50%abc\n}", 3, '"abc" is not a number'),
        ("Q {#3,14}", 1, "use a dot for decimals"),
        ("Q {#nan}", 1, '"nan" is not a number'),
        ("Q {#１２}", 1, '"１２" is not a number'),
        ("Q {#1e999}", 1, "not a number"),
        ("Q {#\n5:-1}", 2, "tolerance in 5:-1 is negative"),
        ("Q {#\n\n", 1, "never closed"),
        ("Q {#5..1}", 1, "range 5..1 starts above its end"),
        ("Q {#}", 1, "needs an answer after #"),
        ("Q {#=%50%5:1}", 1, "No answer gives full marks"),
        ("Q {#5\n~4#no}", 2, "no ~wrong answers"),
        # Matching.
        ("Match {\n=a -> 1\n=b -> 2\n}", 1, "at least 3 pairs; this one has 2"),
        ("Match {\n=a -> 1\n=b 2\n=c -> 3\n}", 3, '"=b 2" has no ->'),
        ("Match {\n=a -> 1\n=b -> 2\n=c ->\n}", 4, "nothing after ->"),
        ("Match {\n=a -> 1\n=b -> 2#good\n=c -> 3\n}", 3, "no #feedback"),
        ("Match {=a -> 1 =%50%b -> 2 =c -> 3}", 1, "no %weights%"),
        ("Match {=a -> 1 = -> 2 = -> 3}", 1, "two pairs with a left side"),
        # Categories and full-width braces.
        ("$CATEGORY:\n\nQ {T}", 1, "needs the name of a category"),
        ("$category: x\n\nQ {T}", 1, "in capitals"),
        ("Q {T}\n$CATEGORY: x", 2, "line of its own"),
        ("\n孩子哭了怎么办？｛=抱起来 ~不理｝", 2, "Full-width braces"),
    ],
)
def test_problems_are_reported_on_the_right_line(text: str, line: int, words: str) -> None:
    problem = only_problem(text)
    assert problem.line == line
    assert words in problem.message


def test_a_blank_line_inside_the_answers_is_one_problem_on_that_line() -> None:
    result = parse_gift("::Q1:: Pick {\n=a\n\n~b\n}\n\n::Q2:: Next {T}")
    assert result.problems == [
        GiftProblem(
            3,
            "Blank line inside the answers opened on line 1: a question cannot contain "
            "blank lines (write \\n for a line break).",
        )
    ]
    assert [q.name for q in result.questions] == ["Q2"]


def test_duplicate_names_and_id_numbers() -> None:
    result = parse_gift(
        "::Same:: First {T}\n\n"
        "Untitled {T}\n\n"
        "::Same:: Second {F}\n\n"
        "Untitled {F}\n\n"
        "// [id:X1]\n::Other:: Third {T}\n\n"
        "// [id:X1]\n::Another:: Fourth {T}\n"
    )
    assert [(p.line, p.message) for p in result.problems] == [
        (5, 'The question on line 1 is also named "Same": give each question its own ::title::.'),
        (
            7,
            'The question on line 3 is also named "Untitled": '
            "give each question its own ::title::.",
        ),
        (13, "The question on line 10 has the same [id:X1]: id numbers must differ."),
    ]
    assert [q.name for q in result.questions] == ["Same", "Untitled", "Other"]


def test_every_problem_of_a_file_is_reported_in_one_pass() -> None:
    text = """\
$CATEGORY: 测验

::Q1:: Good question {T}

::Q2:: Unclosed {
  =a
  ~b

::Q3:: No right answer {~a ~b}

::Q4:: Good numerical {#5:1}

::Q5:: Bad number {#
  =five
}

::Q6:: Weights {~%50%a ~%20%b}

::Q1:: Duplicate name {F}

::Q7:: Matching {
  =a -> 1
  =b -> 2
}

[foo] Unknown format {T}

::Q8:: Last good one {=yes}
"""
    result = parse_gift(text)
    assert [p.line for p in result.problems] == [5, 9, 14, 17, 19, 21, 26]
    assert [q.name for q in result.questions] == ["Q1", "Q4", "Q8"]
    assert all(q.category == "测验" for q in result.questions)


def test_a_question_with_a_problem_is_left_out() -> None:
    result = parse_gift("Good {T}\n\nBad {~a ~b}\n\nAlso good {F}")
    assert [q.text for q in result.questions] == ["Good", "Also good"]
    assert lines_of("Good {T}\n\nBad {~a ~b}\n\nAlso good {F}") == [3]


# --- Files as bytes ---------------------------------------------------------------------------


def test_bytes_must_be_utf8() -> None:
    assert parse_gift("\ufeffQ {T}".encode()).questions[0].text == "Q"
    gbk = "::Q1:: 第一题 {T}\n\n::Q2:: 第二题 {F}".encode("gbk")
    result = parse_gift(gbk)
    assert result.problems[0].line == 1
    assert "UTF-8" in result.problems[0].message
    late = "Q1 {T}\n\nQ2 {F}\n\n第三题 {T}".encode("gbk")
    assert parse_gift(late).problems[0].line == 5
    utf16 = parse_gift("Q {T}".encode("utf-16"))
    assert utf16.problems == [GiftProblem(1, "The file is saved as UTF-16: save it as UTF-8.")]


# --- Robustness -------------------------------------------------------------------------------

FUZZ_ALPHABET = [
    *"~=#{}:\\%->.[]/$ \t\n\n\n\r",
    *"aTF019",
    *"中文题目答案｛｝：，。",
    "\x00",
    "\x0b",
    "\x1c",
    "\u2028",
    "\ufeff",
    "\U0001f600",
    "::",
    "//",
    "{#",
    "####",
    "$CATEGORY:",
    "[html]",
    "..",
    "%50%",
    "%-33.3%",
    "\\n",
    "TRUE",
    "->",
    "e",
    "-",
    "99999999999999999999999",
]


def file_lines(text: str) -> int:
    """How many lines ``text`` has, counted as the parser counts them."""
    return len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def test_random_text_never_raises_and_problems_stay_inside_the_file() -> None:
    rng = random.Random(20240611)
    for _ in range(4000):
        text = "".join(rng.choice(FUZZ_ALPHABET) for _ in range(rng.randint(0, 80)))
        result = parse_gift(text)
        assert all(1 <= p.line <= file_lines(text) for p in result.problems), text
        assert result.ok == (not result.problems)
        for question in result.questions:
            assert question.kind in KINDS
            assert 1 <= question.line <= file_lines(text)
            data = json.loads(json.dumps(question.to_dict(), allow_nan=False))
            assert Question.from_dict(data) == question


def test_random_bytes_never_raise() -> None:
    rng = random.Random(7)
    for _ in range(500):
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 60)))
        for problem in parse_gift(data).problems:
            assert problem.line >= 1


def test_a_one_megabyte_file() -> None:
    question = "::Q{n}:: 第{n}题：哪一个是对的？ {{\n  =对#好\n  ~错#不对\n  ~%0%也许\n}}\n\n"
    text = "".join(question.format(n=n) for n in range(12000))
    assert len(text.encode()) > 1_000_000
    result = parse_gift(text)
    assert result.ok
    assert len(result.questions) == 12000
    assert result.questions[-1].line == 1 + 6 * 11999


@pytest.mark.parametrize(
    "text",
    [
        "{" * 1_000_000,
        "}" * 1_000_000,
        "Q {" + "~a " * 300_000 + "}",
        "Q {" + "\\~" * 400_000 + "}",
        "::" + "\\::" * 300_000,
        "\n" * 1_000_000,
        "中" * 1_000_000,
    ],
    ids=["opening", "closing", "answers", "escapes", "titles", "newlines", "chinese"],
)
def test_huge_unbalanced_input_never_raises(text: str) -> None:
    result = parse_gift(text)
    assert all(1 <= p.line <= file_lines(text) for p in result.problems)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("1e99999999999999999999999", "is not a number"),
        ("1.7e308:1.7e308", "too large"),
        ("1e-99999999999999999999999..1", None),
        ("+.5", None),
        ("5.", None),
        (".", "is not a number"),
        ("1.2.3", "is not a number"),
        ("1e", "is not a number"),
    ],
)
def test_extreme_numbers(spec: str, problem: str | None) -> None:
    result = parse_gift(f"Q {{#{spec}}}")
    if problem is None:
        assert result.ok
        answer = result.questions[0].answers[0]
        assert answer.min is not None and answer.max is not None
        assert answer.min <= answer.max
    else:
        assert problem in only_problem(f"Q {{#{spec}}}").message


@pytest.mark.parametrize(
    "text",
    [
        "{\n\n}{" * 20000,
        "[html]" + "<" * 200_000,
        "// " + "[id:" * 100_000 + "\nQ {T}",
        "Q {#" + "1" * 500_000 + "}",
        "Q {=a " + "\\####" * 100_000 + "}",
    ],
    ids=["blank lines in braces", "html tags", "id comments", "digits", "escaped hashes"],
)
def test_pathological_input_takes_linear_time(text: str) -> None:
    # Each takes well under a second; a quadratic regression would take minutes.
    started = time.perf_counter()
    parse_gift(text)
    assert time.perf_counter() - started < 5


def test_messages_quote_at_most_40_characters_of_the_file() -> None:
    problem = only_problem("Q {#" + "1" * 500 + "}")
    assert problem.message.startswith('"' + "1" * 39 + '…" is not a number')


GIFT_PIECES = [
    "::", "{", "}", "=", "~", "#", "####", "%50%", "%-100%", "->", "$CATEGORY: ", "//", "\n",
    "\n\n", "[html]", "[markdown]", "\\", "\\:", "\\{", "#3.14:0.01", "#1..5", "T", "F", ":",
    "题目", "答案", "｛", "｝", " ", "\t", "\x00", "\u200b",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from(GIFT_PIECES), st.text(max_size=6)), min_size=0, max_size=60
    ).map("".join)
)
def test_hypothesis_finds_no_crash_and_lines_stay_in_the_file(text: str) -> None:
    result = parse_gift(text)
    last_line = len(re.split(r"\r\n|\r|\n", text))  # a lone \r ends a line too
    for problem in result.problems:
        assert 1 <= problem.line <= last_line, (text, problem)
    for question in result.questions:
        assert Question.from_dict(json.loads(json.dumps(question.to_dict()))) == question


@pytest.mark.parametrize(
    "path", sorted((Path(__file__).resolve().parents[2] / "courses").glob("*/*/*.gift")), ids=str
)
def test_our_course_quizzes_parse_cleanly_and_round_trip(path: Path) -> None:
    result = parse_gift(path.read_text("utf-8"))
    assert result.problems == []
    assert len(result.questions) >= 8
    for question in result.questions:
        assert Question.from_dict(json.loads(json.dumps(question.to_dict()))) == question
