"""The answer block of a GIFT question: what is between ``{`` and ``}``, read per kind.

Helper of :mod:`lms.assessments.gift`, following Moodle's ``qformat_gift::readquestion``:
the kind comes from the block (``#`` first: numerical; any ``~``: multiple choice; ``=`` and
``->``: matching; ``T``/``F``/``TRUE``/``FALSE``: true/false; else short answer), then the
block is cut at its markers. Problems are collected as (position in the source, message).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import Any

from lms.assessments.gift_source import Source, shorten, strip_format, to_number

#: Moodle's documentation: "There must be at least three matching pairs."
MIN_MATCHING_PAIRS = 3
#: How far (in percentage points) positive weights may miss 100%: 3 x 33.333 and 3 x 33.3 pass.
WEIGHT_TOLERANCE = 0.1

_TRUE_FALSE = {"T": True, "TRUE": True, "F": False, "FALSE": False}
_WEIGHT = re.compile(r"%(-?[0-9]+(?:\.[0-9]+)?)%")
_LOOSE_WEIGHT = re.compile(r"%[^%\n]*%")
_UNCLOSED_WEIGHT = re.compile(r"%-?[0-9]+(?:\.[0-9]+)?")

Found = list[tuple[int, str]]


@dataclass
class Answer:
    """One answer of a question.

    ``fraction`` is the share of the mark it earns (1.0 right, 0.0 wrong, -0.5 a penalty).
    Numerical answers also carry ``value`` +- ``tolerance``, i.e. ``min``..``max`` (all four
    are filled whichever way the file wrote them); a numerical ``"*"`` answer matches any
    other response and only carries its feedback. Matching answers hold a pair: ``text`` is
    the left side and ``match`` the right side; a pair with an empty left side is a distractor
    (fraction 0.0).
    """

    text: str
    fraction: float
    feedback: str = ""
    value: float | None = None
    tolerance: float | None = None
    min: float | None = None
    max: float | None = None
    match: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        """The answer ``to_dict`` described; unknown keys are ignored."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


class AnswerReader:
    """Reads the answers in ``raw[lo:hi]`` of a source (the general feedback already cut off).

    ``brace`` is the position of the ``{``, where problems about the whole block are reported.
    """

    def __init__(self, src: Source, brace: int, lo: int, hi: int, found: Found) -> None:
        raw = src.raw
        while lo < hi and raw[lo].isspace():
            lo += 1
        while hi > lo and raw[hi - 1].isspace():
            hi -= 1
        self.src, self.brace, self.lo, self.hi, self.found = src, brace, lo, hi, found

    def read(self) -> tuple[str, list[Answer]]:
        """The question's kind and its answers."""
        src, lo, hi = self.src, self.lo, self.hi
        if lo >= hi:
            return "essay", []
        if src.find("#", lo, lo + 1) == lo:
            return "numerical", self._numerical()
        if src.find("~", lo, hi) != -1:
            return self._choices()
        if src.find("=", lo, hi) != -1 and src.raw.find("->", lo, hi) != -1:
            return "matching", self._matching()
        hash_ = src.find("#", lo, hi)
        if src.raw[lo : hash_ if hash_ != -1 else hi].strip() in _TRUE_FALSE:
            return "true_false", self._true_false()
        return "short_answer", self._short_answers()

    def _problem(self, pos: int, message: str) -> None:
        self.found.append((pos, message))

    def _item(self, lo: int, hi: int, fraction: float) -> tuple[int, float, str, str]:
        """(where, fraction, text, feedback) of an answer written in ``raw[lo:hi]``.

        ``lo`` is just after the answer's marker; ``fraction`` is the default weight.
        """
        raw = self.src.raw
        while lo < hi and raw[lo].isspace():
            lo += 1
        where = lo
        if weight := _WEIGHT.match(raw, lo, hi):
            percent = Decimal(weight.group(1))
            if not -100 <= percent <= 100:
                self._problem(lo, f"The weight {shorten(weight.group())} is outside -100% to 100%.")
            fraction = float(percent / 100)
            lo = weight.end()
        elif loose := _LOOSE_WEIGHT.match(raw, lo, hi):
            self._problem(
                lo, f"{shorten(loose.group())} is not a weight: write a percentage such as %50%."
            )
            lo = loose.end()
        elif unclosed := _UNCLOSED_WEIGHT.match(raw, lo, hi):
            weight_text = shorten(unclosed.group())
            self._problem(lo, f"The weight {weight_text} is not closed: write {weight_text}%.")
        hash_ = self.src.find("#", lo, hi)
        text = strip_format(self.src.text(lo, hash_ if hash_ != -1 else hi))[0]
        feedback = strip_format(self.src.text(hash_ + 1, hi))[0] if hash_ != -1 else ""
        return where, fraction, text, feedback

    def _nothing_before(self, span: tuple[int, int], how: str) -> None:
        """Report text written before the first answer marker (Moodle would misread it)."""
        if not self.src.is_blank(*span):
            text = shorten(self.src.text(*span))
            self._problem(span[0], f'"{text}" comes before the first answer: {how}')

    def _choices(self) -> tuple[str, list[Answer]]:
        """Multiple choice (some ``=``) or multiple answers (only ``~``, with weights)."""
        spans = self.src.split("~=", self.lo, self.hi)
        self._nothing_before(spans[0], "each answer starts with = (right) or ~ (wrong).")
        answers: list[Answer] = []
        single = False
        for lo, hi in spans[1:]:
            right = self.src.raw[lo] == "="
            single = single or right
            _, fraction, text, feedback = self._item(lo + 1, hi, 1.0 if right else 0.0)
            if not text:
                self._problem(lo, "This answer is empty: write its text after the = or ~.")
            answers.append(Answer(text, fraction, feedback))
        if len(answers) < 2:
            self._problem(self.brace, "A multiple choice question needs at least two answers.")
        if single:
            if not any(abs(answer.fraction - 1) < 1e-9 for answer in answers):
                self._problem(self.brace, "No answer is fully right: mark the right one with =.")
            return "multiple_choice", answers
        total = round(sum(a.fraction for a in answers if a.fraction > 0) * 100, 6)
        if total == 0:
            self._problem(
                self.brace,
                "No answer is right: mark the right answer with =, or give the right answers "
                "weights such as ~%50% that add up to 100%.",
            )
        elif abs(total - 100) > WEIGHT_TOLERANCE + 1e-9:
            self._problem(
                self.brace,
                f"The positive weights add up to {total:g}%: with several right answers "
                "(no =) they must add up to 100%.",
            )
        return "multiple_answer", answers

    def _short_answers(self) -> list[Answer]:
        """``{=a =b =%50%c}``; a single answer may be written without ``=``."""
        spans = self.src.split("=", self.lo, self.hi)
        items = [(lo + 1, hi) for lo, hi in spans[1:]]
        if not self.src.is_blank(*spans[0]):
            items.insert(0, spans[0])
            word = self.src.text(*spans[0])
            if len(spans) == 1 and word.upper() in _TRUE_FALSE:
                self._problem(
                    spans[0][0],
                    f'{{{word}}} is read as a short answer "{word}": write {{TRUE}} or {{T}} '
                    f"(in capitals) for a true/false question, or {{={word}}} for a short answer.",
                )
        answers: list[Answer] = []
        for lo, hi in items:
            where, fraction, text, feedback = self._item(lo, hi, 1.0)
            if not text:
                self._problem(where, "This answer is empty: write the expected answer after the =.")
            answers.append(Answer(text, fraction, feedback))
        if not any(abs(answer.fraction - 1) < 1e-9 for answer in answers):
            self._problem(
                self.brace, "No answer gives full marks: write one without a weight, or =%100%."
            )
        return answers

    def _matching(self) -> list[Answer]:
        """``{=left -> right ...}``: pairs only, without feedback or weights."""
        src = self.src
        spans = src.split("=", self.lo, self.hi)
        self._nothing_before(spans[0], "each pair starts with =, as in =left -> right.")
        answers: list[Answer] = []
        for lo, hi in spans[1:]:
            arrow = src.raw.find("->", lo, hi)
            if arrow == -1:
                self._problem(lo, f'"{shorten(src.text(lo, hi))}" has no ->: write =left -> right.')
                continue
            if src.find("#", lo, hi) != -1:
                self._problem(lo, "Matching pairs have no #feedback: write \\# for a literal #.")
            if _LOOSE_WEIGHT.match(src.raw[lo + 1 : arrow].strip()):
                self._problem(lo, "Matching pairs have no %weights%: every pair counts the same.")
            left = strip_format(src.text(lo + 1, arrow))[0]
            right = src.text(arrow + 2, hi)
            if not right:
                self._problem(lo, "This pair has nothing after ->: write =left -> right.")
            answers.append(Answer(left, 1.0 if left else 0.0, match=right))
        if len(spans) - 1 < MIN_MATCHING_PAIRS:
            self._problem(
                self.brace,
                f"A matching question needs at least {MIN_MATCHING_PAIRS} pairs; "
                f"this one has {len(spans) - 1}.",
            )
        elif sum(1 for answer in answers if answer.text) < 2:
            self._problem(self.brace, "A matching question needs two pairs with a left side.")
        return answers

    def _true_false(self) -> list[Answer]:
        """``{T}``, ``{FALSE#shown when wrong#shown when right}``: two answers, true and false."""
        src, lo, hi = self.src, self.lo, self.hi
        first = src.find("#", lo, hi)
        second = src.find("#", first + 1, hi) if first != -1 else -1
        truth = _TRUE_FALSE[src.raw[lo : first if first != -1 else hi].strip()]
        wrong = right = ""
        if first != -1:
            wrong = strip_format(src.text(first + 1, second if second != -1 else hi))[0]
        if second != -1:
            right = strip_format(src.text(second + 1, hi))[0]
        return [
            Answer("true", 1.0 if truth else 0.0, right if truth else wrong),
            Answer("false", 0.0 if truth else 1.0, wrong if truth else right),
        ]

    def _numerical(self) -> list[Answer]:
        """``{#3.14:0.01}``, ``{#1..5}``, ``{#=1822:0 =%50%1822:2 ~#feedback for the rest}``."""
        src, lo, hi = self.src, self.lo + 1, self.hi
        rest: Answer | None = None
        tilde = src.find("~", lo, hi)
        if tilde != -1:
            hash_ = src.find("#", tilde, hi)
            if not src.is_blank(tilde + 1, hash_ if hash_ != -1 else hi):
                self._problem(
                    tilde,
                    "A numerical question has no ~wrong answers: after ~ only #feedback for "
                    "every other answer may follow, as in ~#Try again.",
                )
            feedback = strip_format(src.text(hash_ + 1, hi))[0] if hash_ != -1 else ""
            rest, hi = Answer("*", 0.0, feedback), tilde
        spans = src.split("=", lo, hi)
        items = [(start + 1, end) for start, end in spans[1:]]
        if not src.is_blank(*spans[0]):
            items.insert(0, spans[0])
        numbers = (self._number(*self._item(start, end, 1.0)) for start, end in items)
        answers = [answer for answer in numbers if answer]
        if not items:
            self._problem(
                self.brace, "A numerical question needs an answer after #, as in {#3.14:0.01}."
            )
        elif answers and not any(abs(answer.fraction - 1) < 1e-9 for answer in answers):
            self._problem(
                self.brace, "No answer gives full marks: write one without a weight, or =%100%."
            )
        return answers + ([rest] if rest else [])

    def _number(self, pos: int, fraction: float, spec: str, feedback: str) -> Answer | None:
        """One numerical answer: ``value``, ``value:tolerance`` or ``min..max``."""
        if not spec:
            self._problem(pos, "This answer is empty: write a number such as 3.14 or 1..5.")
            return None
        dots, colon = spec.find("..", 1), spec.find(":", 1)
        if dots > 0:
            parts = [spec[:dots], spec[dots + 2 :]]
        elif colon > 0:
            parts = [spec[:colon], spec[colon + 1 :]]
        else:
            parts = [spec, "0"]
        numbers = [to_number(part) for part in parts]
        for part, number in zip(parts, numbers, strict=True):
            if number is None:
                hint = "use a dot for decimals, " if "," in part or "，" in part else ""
                self._problem(
                    pos,
                    f'"{shorten(part)}" is not a number: {hint}write it like 3.14, '
                    "1822:2 (answer:tolerance) or 1..5 (min..max).",
                )
        first, second = numbers
        if first is None or second is None:
            return None
        if dots > 0:
            if first > second:
                self._problem(
                    pos, f"The range {shorten(spec)} starts above its end: write min..max."
                )
                return None
            value, tolerance, low, high = (first + second) / 2, (second - first) / 2, first, second
        else:
            if second < 0:
                self._problem(
                    pos, f"The tolerance in {shorten(spec)} is negative: write it without -."
                )
                return None
            value, tolerance, low, high = first, second, first - second, first + second
        floats = [float(number) for number in (value, tolerance, low, high)]
        if not all(map(math.isfinite, floats)):
            self._problem(pos, f"The numbers in {shorten(spec)} are too large.")
            return None
        return Answer(spec, fraction, feedback, *floats)
