"""The GIFT parser against every example of Moodle's documentation page "GIFT format".

The examples are copied verbatim from https://docs.moodle.org/500/en/GIFT_format (the page
as of Moodle 5.0; each constant names its section), trailing spaces included. Each code
block of the page is parsed on its own, as a file of its own, the way an author would try it.

Where this project's reader is deliberately stricter than Moodle (see the docstring of
:mod:`lms.assessments.gift`), the test asserts the problem and its line instead of a question,
and says so. The last part breaks documented examples on purpose and checks that every
problem names the line where it is.
"""

from __future__ import annotations

import pytest

from lms.assessments.gift import BLANK, Answer, GiftProblem, GiftResult, Question, parse_gift


def parsed(text: str) -> GiftResult:
    """The result of ``text``, which must have no problem."""
    result = parse_gift(text)
    assert result.problems == [], result.problems
    assert result.ok
    return result


def one(text: str) -> Question:
    """The only question of ``text``, which must have no problem."""
    questions = parsed(text).questions
    assert len(questions) == 1
    return questions[0]


def numeric(
    text: str,
    fraction: float,
    value: float,
    tolerance: float,
    low: float,
    high: float,
    feedback: str = "",
) -> Answer:
    """A numerical answer with every field spelt out."""
    return Answer(text, fraction, feedback, value, tolerance, min=low, max=high)


def problems(text: str) -> list[tuple[int, str]]:
    """(line, message) of every problem in ``text``."""
    return [(problem.line, problem.message) for problem in parse_gift(text).problems]


# --- Format symbols: "Here are some quick examples" ------------------------------------------

QUICK_EXAMPLES = """\
// true/false
::Q1:: 1+1=2 {T}

// multiple choice with specified feedback for right and wrong answers
::Q2:: What's between orange and green in the spectrum? 
{ =yellow # right; good! ~red # wrong, it's yellow ~blue # wrong, it's yellow }

// fill-in-the-blank
::Q3:: Two plus {=two =2} equals four.

// matching
::Q4:: Which animal eats which food? { =cat -> cat food =dog -> dog food }

// math range question
::Q5:: What is a number from 1 to 5? {#3:2}

// math range specified with interval end points
::Q6:: What is a number from 1 to 5? {#1..5}
// translated on import to the same as Q5, but unavailable from Moodle question interface

// multiple numeric answers with partial credit and feedback
::Q7:: When was Ulysses S. Grant born? {#
         =1822:0      # Correct! Full credit.
         =%50%1822:2  # He was born in 1822. Half credit for being close.
}

// essay
::Q8:: How are you? {}
"""  # noqa: W291 (the page has a space after "spectrum?")


def test_quick_examples() -> None:
    result = parse_gift(QUICK_EXAMPLES)
    # Deliberately stricter: the page itself says "There must be at least three matching
    # pairs" (section Matching), so Q4 with two pairs is reported on its line and left out.
    # Moodle's importer accepts two.
    assert problems(QUICK_EXAMPLES) == [
        (12, "A matching question needs at least 3 pairs; this one has 2.")
    ]
    q1, q2, q3, q5, q6, q7, q8 = result.questions
    assert [q.name for q in result.questions] == ["Q1", "Q2", "Q3", "Q5", "Q6", "Q7", "Q8"]
    assert [q.line for q in result.questions] == [2, 5, 9, 15, 18, 22, 28]
    assert all(q.category == "" and q.text_format == "moodle" for q in result.questions)

    # An unescaped = in the text before the answers is text.
    assert (q1.kind, q1.text) == ("true_false", "1+1=2")
    assert q1.answers == [Answer("true", 1.0), Answer("false", 0.0)]

    # The answers may start on the line after the text.
    assert (q2.kind, q2.text) == (
        "multiple_choice",
        "What's between orange and green in the spectrum?",
    )
    assert q2.answers == [
        Answer("yellow", 1.0, "right; good!"),
        Answer("red", 0.0, "wrong, it's yellow"),
        Answer("blue", 0.0, "wrong, it's yellow"),
    ]

    assert (q3.kind, q3.text) == ("short_answer", f"Two plus {BLANK} equals four.")
    assert q3.answers == [Answer("two", 1.0), Answer("2", 1.0)]

    assert (q5.kind, q5.text) == ("numerical", "What is a number from 1 to 5?")
    assert q5.answers == [numeric("3:2", 1.0, 3, 2, 1, 5)]
    # "translated on import to the same as Q5"
    assert q6.answers == [numeric("1..5", 1.0, 3, 2, 1, 5)]
    assert q6.text == q5.text

    assert (q7.kind, q7.text) == ("numerical", "When was Ulysses S. Grant born?")
    assert q7.answers == [
        numeric("1822:0", 1.0, 1822, 0, 1822, 1822, "Correct! Full credit."),
        numeric(
            "1822:2", 0.5, 1822, 2, 1820, 1824, "He was born in 1822. Half credit for being close."
        ),
    ]

    assert (q8.kind, q8.text, q8.answers) == ("essay", "How are you?", [])


def test_quick_example_matching_with_two_pairs_reads_once_a_third_pair_is_added() -> None:
    question = one(
        "::Q4:: Which animal eats which food? { =cat -> cat food =dog -> dog food =bird -> seeds }"
    )
    assert question.kind == "matching"
    assert question.answers[:2] == [
        Answer("cat", 1.0, match="cat food"),
        Answer("dog", 1.0, match="dog food"),
    ]


# --- Format symbols explained -------------------------------------------------------------------

FORMAT_SYMBOLS_EXPLAINED = """\
//Comment line 
::Question title 
:: Question {
=A correct answer
~Wrong answer1
#A response to wrong answer1
~Wrong answer2
#A response to wrong answer2
~Wrong answer3
#A response to wrong answer3
~Wrong answer4
#A response to wrong answer4
}
"""  # noqa: W291 (as on the page)

SHORTEST_MULTIPLE_CHOICE = (
    "Question{= A Correct Answer ~Wrong answer1 ~Wrong answer2 ~Wrong answer3 ~Wrong answer4 }"
)


def test_format_symbols_explained() -> None:
    question = one(FORMAT_SYMBOLS_EXPLAINED)
    # The title may end on the next line; the comment line is not part of the question.
    assert (question.kind, question.name, question.text, question.line) == (
        "multiple_choice",
        "Question title",
        "Question",
        2,
    )
    assert question.answers == [
        Answer("A correct answer", 1.0),
        *(Answer(f"Wrong answer{n}", 0.0, f"A response to wrong answer{n}") for n in range(1, 5)),
    ]


def test_shortest_multiple_choice() -> None:
    question = one(SHORTEST_MULTIPLE_CHOICE)
    # Without a title the text names the question.
    assert (question.kind, question.name, question.text) == (
        "multiple_choice",
        "Question",
        "Question",
    )
    assert question.answers == [
        Answer("A Correct Answer", 1.0),
        *(Answer(f"Wrong answer{n}", 0.0) for n in range(1, 5)),
    ]


# --- Question format examples: Multiple choice --------------------------------------------------

MULTIPLE_CHOICE_SIMPLE = (
    "Who's buried in Grant's tomb?{=Grant ~no one ~Napoleon ~Churchill ~Mother Teresa }"
)

MULTIPLE_CHOICE_LONG = """\
// question: 1 name: Grants tomb
::Grants tomb::Who is buried in Grant's tomb in New York City? {
=Grant
~No one
#Was true for 12 years, but Grant's remains were buried in the tomb in 1897
~Napoleon
#He was buried in France
~Churchill
#He was buried in England
~Mother Teresa
#She was buried in India
}
"""


def test_multiple_choice() -> None:
    simple = one(MULTIPLE_CHOICE_SIMPLE)
    assert (simple.kind, simple.text) == ("multiple_choice", "Who's buried in Grant's tomb?")
    assert simple.answers == [
        Answer("Grant", 1.0),
        Answer("no one", 0.0),
        Answer("Napoleon", 0.0),
        Answer("Churchill", 0.0),
        Answer("Mother Teresa", 0.0),
    ]

    long = one(MULTIPLE_CHOICE_LONG)
    assert (long.kind, long.name, long.line) == ("multiple_choice", "Grants tomb", 2)
    assert long.text == "Who is buried in Grant's tomb in New York City?"
    assert long.id_number is None  # "question: 1" is Moodle's export comment, not an [id:]
    assert long.answers == [
        Answer("Grant", 1.0),
        Answer(
            "No one",
            0.0,
            "Was true for 12 years, but Grant's remains were buried in the tomb in 1897",
        ),
        Answer("Napoleon", 0.0, "He was buried in France"),
        Answer("Churchill", 0.0, "He was buried in England"),
        Answer("Mother Teresa", 0.0, "She was buried in India"),
    ]


# --- Multiple choice with multiple right answers ----------------------------------------------

MULTIPLE_RIGHT_ANSWERS = """\
What two people are entombed in Grant's tomb? {
   ~%-100%No one
   ~%50%Grant
   ~%50%Grant's wife
   ~%-100%Grant's father
}
"""


def test_multiple_choice_with_multiple_right_answers() -> None:
    question = one(MULTIPLE_RIGHT_ANSWERS)
    assert (question.kind, question.text) == (
        "multiple_answer",
        "What two people are entombed in Grant's tomb?",
    )
    assert question.answers == [
        Answer("No one", -1.0),
        Answer("Grant", 0.5),
        Answer("Grant's wife", 0.5),
        Answer("Grant's father", -1.0),
    ]


# --- True-false -----------------------------------------------------------------------------------

TRUE_FALSE = """\
// question: 0 name: TrueStatement using {T} style
::TrueStatement about Grant::Grant was buried in a tomb in New York City.{T}

// question: 0 name: FalseStatement using {FALSE} style
::FalseStatement about sun::The sun rises in the West.{FALSE}
"""


def test_true_false() -> None:
    # Braces in a comment line are not answers.
    first, second = parsed(TRUE_FALSE).questions
    assert (first.kind, first.name, first.text, first.line) == (
        "true_false",
        "TrueStatement about Grant",
        "Grant was buried in a tomb in New York City.",
        2,
    )
    assert first.answers == [Answer("true", 1.0), Answer("false", 0.0)]
    assert (second.kind, second.name, second.text, second.line) == (
        "true_false",
        "FalseStatement about sun",
        "The sun rises in the West.",
        5,
    )
    assert second.answers == [Answer("true", 0.0), Answer("false", 1.0)]


# --- Short answer ---------------------------------------------------------------------------------

SHORT_ANSWER_GRANT = "Who's buried in Grant's tomb?{=Grant =Ulysses S. Grant =Ulysses Grant}"
SHORT_ANSWER_TWO_PLUS_TWO = "Two plus two equals {=four =4}"


def test_short_answer() -> None:
    grant = one(SHORT_ANSWER_GRANT)
    assert (grant.kind, grant.text) == ("short_answer", "Who's buried in Grant's tomb?")
    assert grant.answers == [
        Answer("Grant", 1.0),
        Answer("Ulysses S. Grant", 1.0),
        Answer("Ulysses Grant", 1.0),
    ]
    # The answers close the text: no blank is inserted.
    two = one(SHORT_ANSWER_TWO_PLUS_TWO)
    assert (two.kind, two.text) == ("short_answer", "Two plus two equals")
    assert two.answers == [Answer("four", 1.0), Answer("4", 1.0)]


def test_a_single_short_answer_without_the_equal_sign() -> None:
    # "If there is only one correct Short Answer, it may be written without the equal sign
    # prefix, as long as it cannot be confused as True-False." (the page has no example)
    question = one("Two plus two equals {four}")
    assert (question.kind, question.answers) == ("short_answer", [Answer("four", 1.0)])


# --- Matching -------------------------------------------------------------------------------------

MATCHING = """\
Match the following countries with their corresponding capitals. {
   =Canada -> Ottawa
   =Italy  -> Rome
   =Japan  -> Tokyo
   =India  -> New Delhi
   }
"""


def test_matching() -> None:
    question = one(MATCHING)
    assert (question.kind, question.text) == (
        "matching",
        "Match the following countries with their corresponding capitals.",
    )
    assert question.answers == [
        Answer("Canada", 1.0, match="Ottawa"),
        Answer("Italy", 1.0, match="Rome"),
        Answer("Japan", 1.0, match="Tokyo"),
        Answer("India", 1.0, match="New Delhi"),
    ]


# --- Missing word ---------------------------------------------------------------------------------

MISSING_WORD = "Moodle costs {~lots of money =nothing ~a small amount} to download from moodle.org."

MISSING_WORD_ON_SEPARATE_LINES = """\
Mahatma Gandhi's birthday is an Indian holiday on  {
~15th
~3rd
=2nd
} of October.

Since {
  ~495 AD
  =1066 AD
  ~1215 AD
  ~ 43 AD
}
the town of Hastings England has been "famous with visitors".
"""


def test_missing_word() -> None:
    question = one(MISSING_WORD)
    assert (question.kind, question.text) == (
        "multiple_choice",
        f"Moodle costs {BLANK} to download from moodle.org.",
    )
    assert question.answers == [
        Answer("lots of money", 0.0),
        Answer("nothing", 1.0),
        Answer("a small amount", 0.0),
    ]


def test_missing_word_with_answers_on_separate_lines() -> None:
    gandhi, hastings = parsed(MISSING_WORD_ON_SEPARATE_LINES).questions
    # The text around the blank is kept as written (two spaces before it), as Moodle does.
    assert gandhi.text == f"Mahatma Gandhi's birthday is an Indian holiday on  {BLANK} of October."
    assert gandhi.answers == [Answer("15th", 0.0), Answer("3rd", 0.0), Answer("2nd", 1.0)]
    assert (gandhi.line, hastings.line) == (1, 7)
    assert (
        hastings.text
        == f'Since {BLANK}\nthe town of Hastings England has been "famous with visitors".'
    )
    assert hastings.answers == [
        Answer("495 AD", 0.0),
        Answer("1066 AD", 1.0),
        Answer("1215 AD", 0.0),
        Answer("43 AD", 0.0),
    ]


# --- Numerical questions --------------------------------------------------------------------------

NUMERICAL_TOLERANCE = "When was Ulysses S. Grant born?{#1822:5}"
NUMERICAL_PI = "What is the value of pi (to 3 decimal places)? {#3.14159:0.0005}."
NUMERICAL_PI_SPAN = "What is the value of pi (to 3 decimal places)? {#3.141..3.142}."
NUMERICAL_MULTIPLE = """\
When was Ulysses S. Grant born? {#
   =1822:0
   =%50%1822:2
}
"""


def test_numerical() -> None:
    grant = one(NUMERICAL_TOLERANCE)
    assert (grant.kind, grant.text) == ("numerical", "When was Ulysses S. Grant born?")
    assert grant.answers == [numeric("1822:5", 1.0, 1822, 5, 1817, 1827)]

    pi = one(NUMERICAL_PI)
    assert (pi.kind, pi.text) == (
        "numerical",
        f"What is the value of pi (to 3 decimal places)? {BLANK}.",
    )
    assert pi.answers == [numeric("3.14159:0.0005", 1.0, 3.14159, 0.0005, 3.14109, 3.14209)]
    # "3.141 is not counted as correct and 3.142 is considered in the range."
    answer = pi.answers[0]
    assert answer.min is not None and answer.max is not None
    assert not answer.min <= 3.141 <= answer.max
    assert answer.min <= 3.142 <= answer.max

    span = one(NUMERICAL_PI_SPAN)
    assert span.text == pi.text
    assert span.answers == [numeric("3.141..3.142", 1.0, 3.1415, 0.0005, 3.141, 3.142)]

    several = one(NUMERICAL_MULTIPLE)
    assert several.answers == [
        numeric("1822:0", 1.0, 1822, 0, 1822, 1822),
        numeric("1822:2", 0.5, 1822, 2, 1820, 1824),
    ]


# --- Essay and Description --------------------------------------------------------------------

ESSAY = "Write a short biography of Dag Hammarskjöld. {}"
DESCRIPTION = "You can use your pencil and paper for these next math questions."


def test_essay_and_description() -> None:
    essay = one(ESSAY)
    assert (essay.kind, essay.text, essay.answers) == (
        "essay",
        "Write a short biography of Dag Hammarskjöld.",
        [],
    )
    description = one(DESCRIPTION)
    assert (description.kind, description.text, description.answers) == (
        "description",
        DESCRIPTION,
        [],
    )


# --- Options: line comments -------------------------------------------------------------------

LINE_COMMENT = """\
// Subheading: Numerical questions below
What's 2 plus 2? {#4}
"""

EXPORTED_WITH_COMMENT = """\
// question: 914  name: What's 2 plus 2? 
::What's 2 plus 2?::What's 2 plus 2?{#
    =4:0#
}
"""  # noqa: W291 (as on the page)

ID_AND_TAGS = "//  [id:123] [tag:basic] [tag:set 1]"


def test_line_comments() -> None:
    question = one(LINE_COMMENT)
    assert (question.kind, question.name, question.text, question.line) == (
        "numerical",
        "What's 2 plus 2?",
        "What's 2 plus 2?",
        2,
    )
    assert question.answers == [numeric("4", 1.0, 4, 0, 4, 4)]

    exported = one(EXPORTED_WITH_COMMENT)
    # The same question once exported: a title, and an empty feedback after the #.
    assert (exported.name, exported.text, exported.line) == (question.name, question.text, 2)
    assert exported.answers == [numeric("4:0", 1.0, 4, 0, 4, 4)]


def test_id_number_and_tags() -> None:
    # A comment alone is no question.
    assert parsed(ID_AND_TAGS).questions == []
    # Right above a question it gives the question's id number and tags.
    question = one(f"{ID_AND_TAGS}\n{LINE_COMMENT}")
    assert (question.id_number, question.tags) == ("123", ["basic", "set 1"])


# --- Options: question name -------------------------------------------------------------------

QUESTION_NAME_KANJI = """\
::Kanji Origins::Japanese characters originally
came from what country? {=China}
"""

QUESTION_NAME_THANKSGIVING = """\
::Thanksgiving Date::The American holiday of Thanksgiving is 
celebrated on the {~second ~third =fourth} Thursday of November.
"""  # noqa: W291 (as on the page)


def test_question_name() -> None:
    kanji = one(QUESTION_NAME_KANJI)
    assert (kanji.kind, kanji.name, kanji.text) == (
        "short_answer",
        "Kanji Origins",
        "Japanese characters originally\ncame from what country?",
    )
    assert kanji.answers == [Answer("China", 1.0)]
    thanksgiving = one(QUESTION_NAME_THANKSGIVING)
    assert (thanksgiving.kind, thanksgiving.name, thanksgiving.text) == (
        "multiple_choice",
        "Thanksgiving Date",
        f"The American holiday of Thanksgiving is\ncelebrated on the {BLANK} Thursday of November.",
    )
    assert [a.fraction for a in thanksgiving.answers] == [0.0, 0.0, 1.0]


def test_without_a_name_the_text_names_the_question() -> None:
    # "If no question name is specified, the entire question will be used as the name."
    # Deliberately shorter: the name is the first 40 characters of the text on one line
    # (Moodle's importer also shortens it).
    question = one(MISSING_WORD_ON_SEPARATE_LINES.split("\n\n")[1])
    assert question.name == "Since _____ the town of Hastings England"


# --- Options: feedback ----------------------------------------------------------------------------

FEEDBACK = """\
What's the answer to this multiple-choice question? {
  ~wrong answer#feedback comment on the wrong answer
  ~another wrong answer#feedback comment on this wrong answer
  =right answer#Very good!
}
 
//From The Hitchhiker's Guide to the Galaxy
Deep Thought said " {
  =forty two#Correct according to The Hitchhiker's Guide to the Galaxy!
  =42#Correct, as told to Loonquawl and Phouchg
  =forty-two#Correct!
}  is the Ultimate Answer to the Ultimate Question of Life, The Universe, and Everything."

   42 is the Absolute Answer to everything.{
FALSE#42is the Ultimate Answer.#You gave the right answer.}
"""  # noqa: W293 (the page's blank line holds a space)


def test_feedback() -> None:
    multiple, deep_thought, absolute = parsed(FEEDBACK).questions
    assert (multiple.kind, multiple.line) == ("multiple_choice", 1)
    assert multiple.answers == [
        Answer("wrong answer", 0.0, "feedback comment on the wrong answer"),
        Answer("another wrong answer", 0.0, "feedback comment on this wrong answer"),
        Answer("right answer", 1.0, "Very good!"),
    ]

    assert (deep_thought.kind, deep_thought.line) == ("short_answer", 8)
    assert deep_thought.text == (
        f'Deep Thought said " {BLANK}  is the Ultimate Answer to the Ultimate Question of Life, '
        'The Universe, and Everything."'
    )
    # "For short answer, feedback is shown only when students input the corresponding
    # correct answer."
    assert deep_thought.answers == [
        Answer("forty two", 1.0, "Correct according to The Hitchhiker's Guide to the Galaxy!"),
        Answer("42", 1.0, "Correct, as told to Loonquawl and Phouchg"),
        Answer("forty-two", 1.0, "Correct!"),
    ]

    # "For true-false questions, there can be one or two feedback strings. The first is
    # shown if the student gives the wrong answer. The second if the student gives the right
    # answer." Each answer carries the feedback shown to whoever picks it.
    assert (absolute.kind, absolute.text, absolute.line) == (
        "true_false",
        "42 is the Absolute Answer to everything.",
        14,
    )
    assert absolute.answers == [
        Answer("true", 0.0, "42is the Ultimate Answer."),
        Answer("false", 1.0, "You gave the right answer."),
    ]


# --- Options: percentage answer weights -------------------------------------------------------

WEIGHTS_DIFFICULT = "Difficult question.{~wrong answer ~%50%half credit answer =full credit answer}"

WEIGHTS_JESUS = """\
::Jesus' hometown::Jesus Christ was from {
   ~Jerusalem#This was an important city, but the wrong answer.
   ~%25%Bethlehem#He was born here, but not raised here.
   ~%50%Galilee#You need to be more specific.
   =Nazareth#Yes! That's right!
}.
    
::Jesus' hometown:: Jesus Christ was from {
   =Nazareth#Yes! That's right!
   =%75%Nazereth#Right, but misspelled.
   =%25%Bethlehem#He was born here, but not raised here.
}
"""  # noqa: W293 (the page's blank line holds spaces)


def test_percentage_answer_weights() -> None:
    difficult = one(WEIGHTS_DIFFICULT)
    assert (difficult.kind, difficult.text) == ("multiple_choice", "Difficult question.")
    assert difficult.answers == [
        Answer("wrong answer", 0.0),
        Answer("half credit answer", 0.5),
        Answer("full credit answer", 1.0),
    ]


def test_the_same_question_twice_as_multiple_choice_and_short_answer() -> None:
    # Deliberately stricter: two questions of one file may not share a name (an import
    # would not know which to update), so the second one is reported and left out.
    result = parse_gift(WEIGHTS_JESUS)
    assert problems(WEIGHTS_JESUS) == [
        (
            8,
            'The question on line 1 is also named "Jesus\' hometown": '
            "give each question its own ::title::.",
        )
    ]
    assert [q.kind for q in result.questions] == ["multiple_choice"]

    first, second = WEIGHTS_JESUS.split("\n    \n")
    choice = one(first)
    assert (choice.name, choice.text) == ("Jesus' hometown", f"Jesus Christ was from {BLANK}.")
    assert choice.answers == [
        Answer("Jerusalem", 0.0, "This was an important city, but the wrong answer."),
        Answer("Bethlehem", 0.25, "He was born here, but not raised here."),
        Answer("Galilee", 0.5, "You need to be more specific."),
        Answer("Nazareth", 1.0, "Yes! That's right!"),
    ]
    short = one(second)
    assert (short.kind, short.name, short.text) == (
        "short_answer",
        "Jesus' hometown",
        "Jesus Christ was from",
    )
    assert short.answers == [
        Answer("Nazareth", 1.0, "Yes! That's right!"),
        Answer("Nazereth", 0.75, "Right, but misspelled."),
        Answer("Bethlehem", 0.25, "He was born here, but not raised here."),
    ]


def test_thirds_with_five_decimals() -> None:
    # "if you wish to divide percentages in thirds, use %33.33333 instead of %33 or %33.33"
    # (the page has no full example). Rounded thirds are accepted too.
    question = one("Pick three {~%33.33333%a ~%33.33333%b ~%33.33333%c ~%-100%d}")
    assert [a.fraction for a in question.answers] == [0.3333333, 0.3333333, 0.3333333, -1.0]


# --- Specify text-formatting for the question ---------------------------------------------------

TEXT_FORMAT = """\
[markdown]The *American holiday of Thanksgiving* is celebrated on the {
   ~second
   ~third
   =fourth
} Thursday of November.
"""


def test_text_format() -> None:
    question = one(TEXT_FORMAT)
    assert (question.kind, question.text_format) == ("multiple_choice", "markdown")
    assert question.text == (
        f"The *American holiday of Thanksgiving* is celebrated on the {BLANK} Thursday of November."
    )
    # The format prefix is not part of the name either.
    assert question.name == "The *American holiday of Thanksgiving* i"


# --- Multiple Answers -----------------------------------------------------------------------------

MULTIPLE_ANSWERS = """\
What two people are entombed in Grant's tomb? {
   ~No one
   ~%50%Grant
   ~%50%Grant's wife
   ~Grant's father
}
"""

MULTIPLE_ANSWERS_NEGATIVE = """\
What two people are entombed in Grant's tomb? {
   ~%-50%No one
   ~%50%Grant
   ~%50%Grant's wife
   ~%-50%Grant's father
}
"""


def test_multiple_answers() -> None:
    plain = one(MULTIPLE_ANSWERS)
    assert plain.kind == "multiple_answer"
    assert plain.answers == [
        Answer("No one", 0.0),
        Answer("Grant", 0.5),
        Answer("Grant's wife", 0.5),
        Answer("Grant's father", 0.0),
    ]
    negative = one(MULTIPLE_ANSWERS_NEGATIVE)
    assert negative.kind == "multiple_answer"
    assert [a.fraction for a in negative.answers] == [-0.5, 0.5, 0.5, -0.5]


def test_multiple_answers_over_100_percent_are_an_error() -> None:
    # "the answers should total no more than 100%, otherwise Moodle will return an error."
    # This reader asks for exactly 100%, so that checking every right answer gets full marks.
    text = MULTIPLE_ANSWERS.replace("%50%Grant's wife", "%60%Grant's wife")
    assert problems(text) == [
        (
            1,
            "The positive weights add up to 110%: with several right answers (no =) they must "
            "add up to 100%.",
        )
    ]


# --- Special Characters ~ = # { } -------------------------------------------------------------

SPECIAL_EQUALS = """\
Which answer equals 5? {
   ~ \\= 2 + 2
   = \\= 2 + 3
   ~ \\= 2 + 4
}
"""

SPECIAL_CONTROL_CHARACTERS = """\
::GIFT Control Characters::
Which of the following is NOT a control character for the GIFT import format? {
  ~ \\~     # \\~ is a control character.
  ~ \\=     # \\= is a control character.
  ~ \\#     # \\# is a control character.
  ~ \\{     # \\{ is a control character.
  ~ \\}     # \\} is a control character.
  = \\      # Correct! \\ (backslash) is not a control character. BUT,
             it is used to escape the control characters.
}
"""


def test_special_characters() -> None:
    equals = one(SPECIAL_EQUALS)
    assert (equals.kind, equals.text) == ("multiple_choice", "Which answer equals 5?")
    assert equals.answers == [
        Answer("= 2 + 2", 0.0),
        Answer("= 2 + 3", 1.0),
        Answer("= 2 + 4", 0.0),
    ]

    control = one(SPECIAL_CONTROL_CHARACTERS)
    assert (control.name, control.text) == (
        "GIFT Control Characters",
        "Which of the following is NOT a control character for the GIFT import format?",
    )
    # "When the question is processed, the backslash is removed"; a backslash before
    # anything else (here a space) stays.
    assert control.answers == [
        Answer("~", 0.0, "~ is a control character."),
        Answer("=", 0.0, "= is a control character."),
        Answer("#", 0.0, "# is a control character."),
        Answer("{", 0.0, "{ is a control character."),
        Answer("}", 0.0, "} is a control character."),
        Answer(
            "\\",
            1.0,
            "Correct! \\ (backslash) is not a control character. BUT,\n"
            "it is used to escape the control characters.",
        ),
    ]


def test_escaped_colon_in_a_title() -> None:
    # The format symbols: "\character: Backslash escapes the special meaning of ~, =, #, {,
    # }, and :", and "\n: Places a newline in question text".
    question = one("::Ratio\\: 2\\:1::Mix two parts to one part\\nof water. {T}")
    assert (question.name, question.text) == ("Ratio: 2:1", "Mix two parts to one part\nof water.")


# --- Specifying categories --------------------------------------------------------------------

CATEGORY_PATH = "$CATEGORY: tom/dick/harry"
CATEGORY_SIMPLE = "$CATEGORY: mycategory"


def test_categories() -> None:
    # A category line alone files nothing and is no problem.
    assert parsed(CATEGORY_PATH).questions == []
    # "All questions after the modifier up to the next modifier or the end of the file will
    # be added to the specified category. Up to the first category modifier the category
    # specified on the import screen will be used" (here: none).
    text = "\n\n".join(
        [
            MULTIPLE_CHOICE_SIMPLE,
            CATEGORY_PATH,
            SHORT_ANSWER_TWO_PLUS_TWO,
            ESSAY,
            CATEGORY_SIMPLE,
            DESCRIPTION,
        ]
    )
    result = parsed(text)
    assert [(q.kind, q.category, q.line) for q in result.questions] == [
        ("multiple_choice", "", 1),
        ("short_answer", "tom/dick/harry", 5),
        ("essay", "tom/dick/harry", 7),
        ("description", "mycategory", 11),
    ]


def test_category_paths_are_kept_as_written() -> None:
    # "The lowest level of system context might give you something like
    # `$CATEGORY: $system$/...`", and "If you need to escape the / character, you need to put
    # two slashes instead of one": the path is stored as written, slashes and all.
    for path in ("$system$/top/发展里程碑", "first//half/second"):
        (question,) = parsed(f"$CATEGORY: {path}\n\n{ESSAY}").questions
        assert question.category == path


# --- Latex Equation -----------------------------------------------------------------------------

LATEX = """\
::Odd_Part_Formula::The odd part of a continuous-time signal \\\\( x(t) \\\\), denoted as \\\\( \\mathcal\\{Odd\\} (x(t)) \\\\), is given by which formula? {
=\\\\( 0.5 * [x(t) - x(-t)] \\\\)
~\\\\( 0.5 * [x(t) + x(-t)] \\\\)
~\\\\( x(t) + x(-t) \\\\)
~\\\\( x(t) - x(-t) \\\\)
}
"""  # noqa: E501 (one line of the page)


def test_latex_equation() -> None:
    question = one(LATEX)
    assert (question.kind, question.name) == ("multiple_choice", "Odd_Part_Formula")
    # \\ is one backslash and \{ \} are braces; \m and \( are left as they are.
    assert question.text == (
        "The odd part of a continuous-time signal \\( x(t) \\), denoted as "
        "\\( \\mathcal{Odd} (x(t)) \\), is given by which formula?"
    )
    assert question.answers == [
        Answer("\\( 0.5 * [x(t) - x(-t)] \\)", 1.0),
        Answer("\\( 0.5 * [x(t) + x(-t)] \\)", 0.0),
        Answer("\\( x(t) + x(-t) \\)", 0.0),
        Answer("\\( x(t) - x(-t) \\)", 0.0),
    ]


# --- Every example at once ----------------------------------------------------------------------

EVERY_EXAMPLE = [
    FORMAT_SYMBOLS_EXPLAINED,
    SHORTEST_MULTIPLE_CHOICE,
    MULTIPLE_CHOICE_SIMPLE,
    MULTIPLE_CHOICE_LONG,
    MULTIPLE_RIGHT_ANSWERS,
    TRUE_FALSE,
    SHORT_ANSWER_GRANT,
    SHORT_ANSWER_TWO_PLUS_TWO,
    MATCHING,
    MISSING_WORD,
    MISSING_WORD_ON_SEPARATE_LINES,
    NUMERICAL_TOLERANCE,
    NUMERICAL_PI,
    NUMERICAL_PI_SPAN,
    NUMERICAL_MULTIPLE,
    ESSAY,
    DESCRIPTION,
    LINE_COMMENT,
    ID_AND_TAGS,
    QUESTION_NAME_KANJI,
    QUESTION_NAME_THANKSGIVING,
    FEEDBACK,
    WEIGHTS_DIFFICULT,
    TEXT_FORMAT,
    MULTIPLE_ANSWERS,
    MULTIPLE_ANSWERS_NEGATIVE,
    SPECIAL_EQUALS,
    SPECIAL_CONTROL_CHARACTERS,
    CATEGORY_PATH,
    CATEGORY_SIMPLE,
    LATEX,
]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["unix", "windows", "old-mac"])
def test_every_example_reads_without_problems_whatever_the_line_endings(newline: str) -> None:
    for example in EVERY_EXAMPLE:
        expected = parse_gift(example)
        assert expected.ok, (example, expected.problems)
        again = parse_gift(example.replace("\n", newline).encode())
        assert again == expected


def test_every_example_round_trips_through_to_dict() -> None:
    for example in EVERY_EXAMPLE:
        for question in parse_gift(example).questions:
            assert Question.from_dict(question.to_dict()) == question


# --- Where this reader is stricter than Moodle, on documented examples ---------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Lower-case {true}: Moodle reads a short answer "true"; the author meant true/false.
        (
            "::FalseStatement about sun::The sun rises in the West.{false}",
            (
                1,
                '{false} is read as a short answer "false": write {TRUE} or {T} (in capitals) '
                "for a true/false question, or {=false} for a short answer.",
            ),
        ),
        # Text before the first answer: Moodle would silently drop it.
        (
            "Who's buried in Grant's tomb?{\nGrant =no one ~Napoleon\n}",
            (
                2,
                '"Grant" comes before the first answer: each answer starts with = (right) '
                "or ~ (wrong).",
            ),
        ),
        # A $CATEGORY line needs "a blank line before and after".
        (
            f"{CATEGORY_PATH}\n{SHORT_ANSWER_TWO_PLUS_TWO}",
            (
                1,
                "$CATEGORY must stand on a line of its own, with a blank line before and after.",
            ),
        ),
        # A second { inside the answers.
        (
            "Which answer equals 5? {\n   ~ \\= 2 + 2\n   = { 2 + 3\n}",
            (
                3,
                "A second { inside the answers opened on line 1: close them with } first, or "
                "write \\{ for a literal brace.",
            ),
        ),
    ],
    ids=["lower-case true", "text before answers", "category without blank line", "second brace"],
)
def test_stricter_than_moodle(text: str, expected: tuple[int, str]) -> None:
    assert problems(text) == [expected]
    assert parse_gift(text).questions == []


def test_an_answer_block_split_by_a_blank_line_is_one_problem_on_that_line() -> None:
    # "Each individual question in the GIFT file must not contain any blank lines."
    text = MISSING_WORD_ON_SEPARATE_LINES.replace("~3rd\n", "~3rd\n\n")
    result = parse_gift(text)
    assert problems(text) == [
        (
            4,
            "Blank line inside the answers opened on line 1: a question cannot contain blank "
            "lines (write \\n for a line break).",
        )
    ]
    # The next question still reads, from its own line.
    assert [(q.text.split()[0], q.line) for q in result.questions] == [("Since", 8)]


# --- Malformed input: every problem names its line ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        # A closing brace without its opening one.
        (MATCHING.replace("capitals. {", "capitals."), 6, "closes nothing"),
        # A title that is never closed.
        (
            MULTIPLE_CHOICE_LONG.replace("::Grants tomb::", "::Grants tomb"),
            2,
            "title is not closed",
        ),
        # A weight without its closing %.
        (
            WEIGHTS_JESUS.split("\n    \n")[0].replace("%25%Bethlehem", "%25Bethlehem"),
            3,
            "The weight %25 is not closed: write %25%.",
        ),
        # A weight that is not a percentage.
        (WEIGHTS_JESUS.split("\n    \n")[0].replace("%50%", "%50 %"), 4, "is not a weight"),
        # A number with a decimal comma.
        (NUMERICAL_MULTIPLE.replace("=%50%1822:2", "=%50%1822,5:2"), 3, "use a dot for decimals"),
        # A range written backwards.
        (NUMERICAL_PI_SPAN.replace("3.141..3.142", "3.142..3.141"), 1, "starts above its end"),
        # A matching pair without its arrow.
        (MATCHING.replace("=Japan  -> Tokyo", "=Japan Tokyo"), 4, "has no ->"),
        # Matching pairs have no feedback.
        (MATCHING.replace("-> Rome", "-> Rome#Yes"), 3, "no #feedback"),
        # A multiple choice question without a right answer.
        (FEEDBACK.replace("=right answer", "~right answer"), 1, "No answer is right"),
        # A short answer where no answer gives full marks.
        (
            FEEDBACK.replace("=forty two", "=%50%forty two")
            .replace("=42", "=%50%42")
            .replace("=forty-two", "=%50%forty-two"),
            8,
            "No answer gives full marks",
        ),
        # A format that does not exist.
        (TEXT_FORMAT.replace("[markdown]", "[Markdown]"), 1, "is not a text format"),
        # A category without a name.
        ("$CATEGORY: \n\n" + ESSAY, 1, "needs the name of a category"),
        # Full-width braces, as a Chinese keyboard types them, are not answers.
        (
            "\n\n" + SHORT_ANSWER_TWO_PLUS_TWO.replace("{", "｛").replace("}", "｝"),
            3,
            "Full-width braces",
        ),
    ],
)
def test_malformed_documented_examples_report_their_line(text: str, line: int, words: str) -> None:
    result = parse_gift(text)
    assert len(result.problems) == 1, result.problems
    problem = result.problems[0]
    assert problem.line == line, problem
    assert words in problem.message, problem


def test_an_unclosed_answer_block_is_reported_where_it_opens() -> None:
    # The quick examples with Q7's closing brace forgotten: the blank line after it ends Q7,
    # so Q8 still reads; Q4 is reported as before.
    text = QUICK_EXAMPLES.replace("Half credit for being close.\n}", "Half credit for being close.")
    assert problems(text) == [
        (12, "A matching question needs at least 3 pairs; this one has 2."),
        (22, "This { is never closed: add } after the last answer."),
    ]
    assert [q.name for q in parse_gift(text).questions] == ["Q1", "Q2", "Q3", "Q5", "Q6", "Q8"]


def test_problems_in_several_examples_of_one_file_are_all_reported_in_order() -> None:
    broken = [
        MULTIPLE_CHOICE_SIMPLE,  # lines 1
        MATCHING.replace("=Italy  -> Rome", "=Italy  Rome"),  # 3-8: problem on 5
        NUMERICAL_TOLERANCE.replace("{#1822:5}", "{#1822:five}"),  # 10
        ESSAY,  # 12
        TRUE_FALSE.replace("{FALSE}", "{FALSE"),  # 14-18: problem on 18
    ]
    text = "\n\n".join(example.rstrip("\n") for example in broken)
    result = parse_gift(text)
    assert [p.line for p in result.problems] == [5, 10, 18]
    assert [q.line for q in result.questions] == [1, 12, 15]
    assert result.problems[1] == GiftProblem(
        10,
        '"five" is not a number: write it like 3.14, 1822:2 (answer:tolerance) or 1..5 (min..max).',
    )
