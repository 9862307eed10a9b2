"""Marking one question of an attempt, per kind, from the attempt's snapshot of the question.

Everything here is pure: a question dict (``Question.to_dict()`` plus ``"points"`` and, for
matching, ``"choices"``; see :mod:`lms.assessments.attempts`) and the trainee's stored
response go in, a mark comes out. Responses are what :mod:`lms.assessments.quiz_forms` stored:

- multiple choice: the index of the chosen answer (in display order);
- multiple answers: a list of indexes;
- true/false: ``"true"`` or ``"false"``;
- short answer, numerical, essay: the text typed;
- matching: ``{"<answer index>": <index in question["choices"]>}`` for each left item.

A response of the wrong shape (an edited form) scores nothing; nothing a browser sends can
earn more than the question's points.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# Numerical answers: how far a float may stray from a bound and still count as on it.
_EPSILON = 1e-9
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-", "\u30fc": "-"})

#: Kinds that are shown but carry no mark.
UNMARKED_KINDS = frozenset({"description"})
#: Kinds an instructor marks by hand.
MANUAL_KINDS = frozenset({"essay"})


@dataclass(frozen=True)
class Mark:
    """The mark of one question: ``score`` None means an essay awaiting a grade."""

    score: float | None
    max: float
    feedback: str = ""
    comment: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "max": self.max,
            "feedback": self.feedback,
            "comment": self.comment,
        }


@dataclass(frozen=True)
class Totals:
    """An attempt's result: ``passed`` is None while ``pending_review``."""

    score: Decimal
    max_score: Decimal
    percent: Decimal
    passed: bool | None
    pending_review: bool


def normalise_text(text: str) -> str:
    """Short answers compare in this form: NFKC (full-width ``ＡＢＣ``, ``６`` and ``，`` become
    ``ABC``, ``6`` and ``,``), case-folded, white space trimmed and runs of it made one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def parse_number(text: str) -> float | None:
    """A number as a trainee may type it: full-width digits, a decimal comma (``3,5``), a
    typographic minus sign; None when it is not a finite number."""
    cleaned = "".join(normalise_text(text).translate(_MINUS_SIGNS).split())
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    if not _NUMBER.fullmatch(cleaned):
        return None
    value = float(cleaned)
    return value if math.isfinite(value) else None


def _clamp(fraction: float) -> float:
    return min(1.0, max(0.0, fraction))


def _score(points: float, fraction: float) -> float:
    """``points * fraction`` rounded to the three decimals the database keeps."""
    return float(Decimal(repr(points * _clamp(fraction))).quantize(Decimal("0.001"), ROUND_HALF_UP))


def _index(response: Any, size: int) -> int | None:
    """``response`` as an index into a list of ``size``; None when it is not one."""
    if isinstance(response, bool) or not isinstance(response, int):
        return None
    return response if 0 <= response < size else None


def _wildcard(answer: str) -> re.Pattern[str]:
    """A short answer with ``*`` matching anything, as Moodle reads it (``\\*`` is a star)."""
    parts = re.split(r"(\\\*|\*)", normalise_text(answer))
    pattern = "".join(".*" if p == "*" else re.escape("*" if p == "\\*" else p) for p in parts)
    return re.compile(pattern, re.DOTALL)


def _multiple_choice(question: dict[str, Any], response: Any) -> tuple[float, str]:
    answers = question["answers"]
    index = _index(response, len(answers))
    if index is None:
        return 0.0, ""
    return answers[index]["fraction"], answers[index]["feedback"]


def _multiple_answer(question: dict[str, Any], response: Any) -> tuple[float, str]:
    answers = question["answers"]
    if not isinstance(response, list):
        return 0.0, ""
    indexes = (_index(r, len(answers)) for r in response)
    chosen = sorted({i for i in indexes if i is not None})
    fraction = sum(answers[i]["fraction"] for i in chosen)
    feedback = "\n".join(answers[i]["feedback"] for i in chosen if answers[i]["feedback"])
    return fraction, feedback


def _true_false(question: dict[str, Any], response: Any) -> tuple[float, str]:
    for answer in question["answers"]:
        if answer["text"] == response:
            return answer["fraction"], answer["feedback"]
    return 0.0, ""


def _short_answer(question: dict[str, Any], response: Any) -> tuple[float, str]:
    if not isinstance(response, str) or not normalise_text(response):
        return 0.0, ""
    typed = normalise_text(response)
    best: tuple[float, str] | None = None
    for answer in question["answers"]:
        if _wildcard(answer["text"]).fullmatch(typed) and (
            best is None or answer["fraction"] > best[0]
        ):
            best = (answer["fraction"], answer["feedback"])
    return best or (0.0, "")


def _numerical(question: dict[str, Any], response: Any) -> tuple[float, str]:
    value = parse_number(response) if isinstance(response, str) else None
    if value is None:
        return 0.0, ""
    best: tuple[float, str] | None = None
    rest = ""
    for answer in question["answers"]:
        if answer["text"] == "*":
            rest = answer["feedback"]
            continue
        low, high = answer["min"], answer["max"]
        slack = _EPSILON * max(1.0, abs(low), abs(high))
        if low - slack <= value <= high + slack and (best is None or answer["fraction"] > best[0]):
            best = (answer["fraction"], answer["feedback"])
    return best or (0.0, rest)


def _matching(question: dict[str, Any], response: Any) -> tuple[float, str]:
    answers = question["answers"]
    choices = question.get("choices", [])
    pairs = [i for i, answer in enumerate(answers) if answer["text"]]
    if not pairs or not isinstance(response, dict):
        return 0.0, ""
    right = 0
    for i in pairs:
        choice = _index(response.get(str(i)), len(choices))
        if choice is not None and choices[choice] == answers[i]["match"]:
            right += 1
    return right / len(pairs), ""


_MARKERS = {
    "multiple_choice": _multiple_choice,
    "multiple_answer": _multiple_answer,
    "true_false": _true_false,
    "short_answer": _short_answer,
    "numerical": _numerical,
    "matching": _matching,
}


def mark_question(question: dict[str, Any], response: Any) -> Mark | None:
    """The mark of one question for ``response``; None for a description (not marked).

    An essay's score is None until an instructor grades it.
    """
    kind = question["kind"]
    if kind in UNMARKED_KINDS:
        return None
    points = float(question.get("points", 1.0))
    if kind in MANUAL_KINDS:
        return Mark(None, points)
    fraction, feedback = _MARKERS[kind](question, response)
    return Mark(_score(points, fraction), points, feedback)


def mark_all(questions: list[dict[str, Any]], responses: dict[str, Any]) -> dict[str, Any]:
    """The ``marks`` JSON of an attempt: every marked question by its position."""
    marks: dict[str, Any] = {}
    for position, question in enumerate(questions):
        mark = mark_question(question, responses.get(str(position)))
        if mark is not None:
            marks[str(position)] = mark.to_dict()
    return marks


def totals(marks: dict[str, Any], pass_mark: int) -> Totals:
    """Score, maximum, percent and pass of an attempt's ``marks``.

    While an essay is unmarked the attempt is ``pending_review`` and ``passed`` is None; the
    score then counts what is marked so far.
    """
    score = sum(
        (Decimal(repr(m["score"])) for m in marks.values() if m["score"] is not None), Decimal(0)
    )
    max_score = sum((Decimal(repr(m["max"])) for m in marks.values()), Decimal(0))
    pending = any(m["score"] is None for m in marks.values())
    percent = (score * 100 / max_score) if max_score else Decimal(100)
    percent = percent.quantize(Decimal("0.01"), ROUND_HALF_UP)
    passed = None if pending else percent >= pass_mark
    return Totals(
        score.quantize(Decimal("0.001")),
        max_score.quantize(Decimal("0.001")),
        percent,
        passed,
        pending,
    )


def best_response(question: dict[str, Any], essay: str = "") -> Any:
    """The response that earns a question its full mark (``essay`` for essays; None for a
    description): what a trainee who knows every answer would send. Used to fill demo
    attempts and by tests that walk through a quiz."""
    kind = question["kind"]
    answers = question.get("answers", [])
    best = max(range(len(answers)), key=lambda i: answers[i]["fraction"], default=None)
    if kind == "multiple_choice":
        return best
    if kind == "multiple_answer":
        return [i for i, answer in enumerate(answers) if answer["fraction"] > 0]
    if kind == "true_false":
        return answers[best]["text"] if best is not None else None
    if kind == "short_answer":
        return answers[best]["text"].replace("\\*", "*") if best is not None else None
    if kind == "numerical":
        scored = [a for a in answers if a["text"] != "*" and a.get("value") is not None]
        top = max(scored, key=lambda a: a["fraction"], default=None)
        return None if top is None else f"{top['value']:g}"
    if kind == "matching":
        choices = question.get("choices", [])
        return {
            str(i): choices.index(answer["match"])
            for i, answer in enumerate(answers)
            if answer["text"] and answer["match"] in choices
        }
    if kind in MANUAL_KINDS:
        return essay
    return None
