"""Moodle GIFT quiz files: the questions they hold, or every problem in them, by line.

GIFT as Moodle documents it (https://docs.moodle.org/en/GIFT_format) and its importer
(``question/format/gift/format.php``) reads it: questions are separated by blank lines; lines
starting with ``//`` are comments (a ``// [id:...]`` or ``// [tag:...]`` comment right above a
question gives its id number or tags); ``$CATEGORY: path`` files the questions that follow;
``::title::`` names a question; ``[html]``, ``[moodle]``, ``[markdown]`` or ``[plain]`` before
the text chooses its format; the answers go in one ``{...}`` block, at the end of the text or in
the middle of it (the "missing word" format, where the text keeps a ``_____`` blank).

:func:`parse_gift` never raises: it reads the whole file and reports every problem it finds
with its line (lines end at ``\\n``, ``\\r\\n`` or ``\\r``, the first is 1). A question with a
problem is left out of :attr:`GiftResult.questions`; import a file only when
:attr:`GiftResult.ok`. Messages are plain English for people; they are not translated here.

This reader is stricter than Moodle where Moodle would silently import something the author
did not mean: lower-case ``{true}``, text before the first answer, ``$CATEGORY`` lines without
a blank line around them, a second ``{`` in a question, an answer block split by a blank line.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from lms.assessments.gift_answers import MIN_MATCHING_PAIRS, Answer, AnswerReader
from lms.assessments.gift_source import (
    TEXT_FORMATS,
    Source,
    braces,
    shorten,
    strip_format,
    unescape,
    unknown_format,
)

__all__ = [
    "BLANK",
    "KINDS",
    "MIN_MATCHING_PAIRS",
    "TEXT_FORMATS",
    "Answer",
    "GiftProblem",
    "GiftResult",
    "Question",
    "parse_gift",
]

#: Every ``Question.kind``.
KINDS = (
    "multiple_choice",
    "multiple_answer",
    "true_false",
    "short_answer",
    "numerical",
    "matching",
    "essay",
    "description",
)
#: What replaces an answer block written in the middle of the text.
BLANK = "_____"
#: Length of the name made from the text of a question without a ``::title::``.
NAME_LENGTH = 40

_CATEGORY = re.compile(r"\$\s*category\s*:", re.IGNORECASE)
# Moodle's patterns (extract_idnumber_and_tags_from_comment), without "[" so that a line of
# unclosed "[id:" cannot take quadratic time.
_ID = re.compile(r"\[id:((?:\\\]|[^\[\]\x00-\x1f\x7f])+)\]")
_TAG = re.compile(r"\[tag:((?:\\\]|[^\[\]<>\x00-\x1f\x7f])+)\]")
_TAG_HTML = re.compile(r"<[^<>]*>")
_FULL_WIDTH_BLOCK = re.compile(r"｛\s*(?:[=~#＝～＃]|TRUE|FALSE|T\s*｝|F\s*｝)")


@dataclass(frozen=True)
class GiftProblem:
    """Something wrong in a GIFT file: where, and what (with how to fix it when obvious)."""

    line: int
    message: str


@dataclass
class Question:
    """One question of a GIFT file, as stored in the database (see :meth:`to_dict`).

    ``text`` has its escapes resolved; a missing-word question keeps a ``_____`` blank where
    the answers were. ``answers`` are empty for essays and descriptions; true/false questions
    have two, ``"true"`` and ``"false"``, each with the feedback shown to whoever picks it.
    """

    kind: str
    name: str
    text: str
    text_format: str
    category: str
    answers: list[Answer]
    general_feedback: str = ""
    line: int = 0
    id_number: str | None = None
    tags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field, answers included."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Question:
        """The question ``to_dict`` described; unknown keys are ignored."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["answers"] = [Answer.from_dict(answer) for answer in data.get("answers", [])]
        values["tags"] = list(data.get("tags", []))
        return cls(**values)


@dataclass
class GiftResult:
    """The questions read without problems, and every problem, in file order."""

    questions: list[Question]
    problems: list[GiftProblem]

    @property
    def ok(self) -> bool:
        """Whether the file had no problem at all."""
        return not self.problems


def parse_gift(text: str | bytes) -> GiftResult:
    """Read a GIFT file. Bytes must be UTF-8 (a BOM is fine); never raises."""
    problems: list[GiftProblem] = []
    if isinstance(text, bytes | bytearray):
        text = _decode(bytes(text), problems)
    reader = _FileReader(problems)
    for paragraph, broken in _paragraphs(_lines(text), problems):
        reader.read_paragraph(paragraph, broken)
    problems.sort(key=lambda problem: problem.line)
    return GiftResult(reader.questions, problems)


def _lines(text: str) -> list[str]:
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _decode(data: bytes, problems: list[GiftProblem]) -> str:
    """The text of a file that should be UTF-8, with a problem when it is not."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        problems.append(GiftProblem(1, "The file is saved as UTF-16: save it as UTF-8."))
        return ""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = len(_lines(data[: error.start].decode("utf-8-sig", errors="replace")))
        problems.append(
            GiftProblem(
                line,
                "This line is not UTF-8 text (the file may be saved as GBK or ANSI): "
                "save the file as UTF-8.",
            )
        )
        return data.decode("utf-8-sig", errors="replace")


# A paragraph: consecutive non-blank lines as (line number, text without outer white space).
Paragraph = list[tuple[int, str]]


def _paragraphs(lines: list[str], problems: list[GiftProblem]) -> list[tuple[Paragraph, bool]]:
    """Split the file at blank lines; rejoin (as broken) answers that a blank line cut in two."""
    paragraphs: list[Paragraph] = []
    current: Paragraph = []
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped:
            current.append((number, stripped))
            continue
        if current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    joined: list[tuple[Paragraph, bool]] = []
    open_line = 0  # where the last paragraph leaves a { open, if it does
    for paragraph in paragraphs:
        sequence = [
            (number, brace)
            for number, text in paragraph
            if not text.startswith("//")
            for brace in braces(text)
        ]
        if open_line and sequence and sequence[0][1] == "}":
            problems.append(
                GiftProblem(
                    joined[-1][0][-1][0] + 1,
                    f"Blank line inside the answers opened on line {open_line}: a question "
                    "cannot contain blank lines (write \\n for a line break).",
                )
            )
            joined[-1][0].extend(paragraph)
            joined[-1] = (joined[-1][0], True)
        else:
            joined.append((paragraph, False))
        if sequence:
            open_line = sequence[-1][0] if sequence[-1][1] == "{" else 0
    return joined


class _FileReader:
    """Reads paragraphs in file order, keeping the category and the names seen so far."""

    def __init__(self, problems: list[GiftProblem]) -> None:
        self.problems = problems
        self.questions: list[Question] = []
        self.category = ""
        self.names: dict[str, int] = {}
        self.ids: dict[str, int] = {}

    def read_paragraph(self, paragraph: Paragraph, broken: bool) -> None:
        """Read ``$CATEGORY`` lines and the question(s) around them.

        The questions of a ``broken`` paragraph (one with a problem already reported) are
        checked but left out of the result.
        """
        is_category = [
            not text.startswith("//") and bool(_CATEGORY.match(text)) for _, text in paragraph
        ]
        crowded = any(is_category) and not all(
            category or text.startswith("//")
            for category, (_, text) in zip(is_category, paragraph, strict=True)
        )
        part: Paragraph = []
        for category, (number, text) in zip(is_category, paragraph, strict=True):
            if not category:
                part.append((number, text))
                continue
            self.read_question(part, broken or crowded)
            part = []
            self.read_category(number, text, crowded)
        self.read_question(part, broken or crowded)

    def read_category(self, number: int, text: str, crowded: bool) -> None:
        """``$CATEGORY: path`` files the questions after it under ``path``."""
        prefix = _CATEGORY.match(text)
        self.category = unescape(text[prefix.end() if prefix else 0 :]).strip()
        if not text.startswith("$CATEGORY:"):
            self.problem(number, "Write $CATEGORY: exactly so, in capitals and without spaces.")
        if not self.category:
            self.problem(number, "$CATEGORY: needs the name of a category after the colon.")
        if crowded:
            self.problem(
                number,
                "$CATEGORY must stand on a line of its own, with a blank line before and after.",
            )

    def read_question(self, part: Paragraph, broken: bool) -> None:
        """Read one question (a paragraph that is only comments is skipped)."""
        lines = [(number, text) for number, text in part if not text.startswith("//")]
        if not lines:
            return
        found: list[tuple[int, str]] = []
        src = Source(lines)
        question = _read_question(src, self.category, found)
        problems = [GiftProblem(src.line(pos), message) for pos, message in found]
        if question is not None:
            comments = "\n".join(text for _, text in part if text.startswith("//"))
            if match := _ID.search(comments):
                question.id_number = match.group(1).replace("\\]", "]").strip() or None
            tags = (tag.replace("\\]", "]").strip() for tag in _TAG.findall(comments))
            question.tags = [tag for tag in tags if tag]
            problems += self.duplicates(question)
        self.problems += problems
        if question is not None and not problems and not broken:
            self.questions.append(question)

    def duplicates(self, question: Question) -> list[GiftProblem]:
        """Problems for a name or id number an earlier question of the file already has."""
        problems = []
        if question.name:
            if question.name in self.names:
                problems.append(
                    GiftProblem(
                        question.line,
                        f"The question on line {self.names[question.name]} is also named "
                        f'"{shorten(question.name)}": give each question its own ::title::.',
                    )
                )
            self.names.setdefault(question.name, question.line)
        if question.id_number:
            if question.id_number in self.ids:
                problems.append(
                    GiftProblem(
                        question.line,
                        f"The question on line {self.ids[question.id_number]} has the same "
                        f"[id:{shorten(question.id_number)}]: id numbers must differ.",
                    )
                )
            self.ids.setdefault(question.id_number, question.line)
        return problems

    def problem(self, line: int, message: str) -> None:
        """Report a problem on a line."""
        self.problems.append(GiftProblem(line, message))


def _read_question(src: Source, category: str, found: list[tuple[int, str]]) -> Question | None:
    """One question; None when its braces or title are too broken to read further."""
    raw = src.raw
    start, name = 0, ""
    if raw.startswith("::"):
        close = src.find("::", 2)
        brace = src.first_of("{}", 2, len(raw))
        if close == -1 or (brace != -1 and brace < close):
            found.append((0, "The title is not closed: write ::title:: before the question."))
            return None
        start, name = close + 2, src.text(2, close)
    while start < len(raw) and raw[start].isspace():
        start += 1

    opening = src.first_of("{}", start, len(raw))
    closing = src.first_of("{}", opening + 1, len(raw)) if opening != -1 else -1
    if opening != -1 and raw[opening] == "}":
        found.append((opening, "This } closes nothing: add the { before it, or write \\}."))
        return None
    if opening != -1 and closing == -1:
        found.append((opening, "This { is never closed: add } after the last answer."))
        return None
    if closing != -1 and raw[closing] == "{":
        found.append(
            (
                closing,
                f"A second {{ inside the answers opened on line {src.line(opening)}: close "
                "them with } first, or write \\{ for a literal brace.",
            )
        )
        return None
    extra = src.first_of("{}", closing + 1, len(raw)) if closing != -1 else -1
    if extra != -1:
        found.append(
            (
                extra,
                f"A question has one answer block, and this one's closed on line "
                f"{src.line(closing)}: write \\{{ or \\}} for literal braces.",
            )
        )
        return None

    if opening == -1:
        text = unescape(raw[start:])
    else:
        after = unescape(raw[closing + 1 :])
        text = unescape(raw[start:opening]) + (BLANK + after if after.strip() else "")
    text, text_format = strip_format(text)
    if text_format is None:
        text_format = "moodle"
        if word := unknown_format(text):
            word = shorten(word)
            found.append(
                (
                    start,
                    f"[{word}] is not a text format: use [html], [moodle], [markdown] or [plain] "
                    f"(lower case); to start the text with [{word}], write [moodle][{word}].",
                )
            )
    if not text:
        found.append((start, "The question has no text: write it before the {answers}."))

    kind, general_feedback = "description", ""
    answers: list[Answer] = []
    if opening != -1:
        lo, hi = opening + 1, closing
        if (hashes := src.rfind("####", lo, hi)) != -1:
            general_feedback = strip_format(src.text(hashes + 4, hi))[0]
            hi = hashes
        kind, answers = AnswerReader(src, opening, lo, hi, found).read()
    elif _FULL_WIDTH_BLOCK.search(text) and "｝" in text:
        found.append(
            (start, "Full-width braces ｛ ｝ are text, not answers: write the answers in { }.")
        )
    return Question(
        kind=kind,
        name=name or _default_name(text, text_format),
        text=text,
        text_format=text_format,
        category=category,
        answers=answers,
        general_feedback=general_feedback,
        line=src.first_line,
    )


def _default_name(text: str, text_format: str) -> str:
    """The first characters of the text, on one line (tags left out of HTML)."""
    if text_format == "html":
        text = _TAG_HTML.sub(" ", text)
    return " ".join(text.split())[:NAME_LENGTH].rstrip()
