"""Reading a quiz form into an attempt's ``responses``, and the essay marking form.

The answer form is written by hand in ``attempt_form.html`` (its fields depend on the
snapshot): ``q<position>`` holds the answer of a question (an answer index for a single
choice, ``true``/``false``, the text typed; several indexes for multiple answers) and
``q<position>-<answer index>`` the choice picked for each left item of a matching question.
:func:`responses_from_form` keeps only what the snapshot allows: fields of other questions,
unknown fields, indexes out of range and duplicate values are dropped.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from lms.assessments.attempts import EssayGrade
from lms.assessments.models import QuizAttempt

#: Longest short or numerical answer kept, and longest essay.
MAX_ANSWER = 500
MAX_ESSAY = 20_000
MAX_COMMENT = 5_000


class FormData(Protocol):
    """What a request's form offers (a werkzeug ``MultiDict``)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def getlist(self, key: str) -> list[str]: ...


def _index(value: str | None, size: int) -> int | None:
    """``value`` as an index into a list of ``size``, or None."""
    if value is None or not value.isascii() or not value.isdigit():
        return None
    index = int(value)
    return index if index < size else None


def _response(position: int, question: dict[str, Any], form: FormData) -> Any:
    """The response to one question, or None when nothing usable was sent."""
    name = f"q{position}"
    kind = question["kind"]
    answers = question.get("answers", [])
    if kind == "multiple_choice":
        return _index(form.get(name), len(answers))
    if kind == "multiple_answer":
        chosen = {_index(value, len(answers)) for value in form.getlist(name)}
        return sorted(i for i in chosen if i is not None) or None
    if kind == "true_false":
        value = form.get(name)
        return value if value in ("true", "false") else None
    if kind in ("short_answer", "numerical"):
        value = str(form.get(name) or "")[:MAX_ANSWER]
        return value if value.strip() else None
    if kind == "essay":
        value = str(form.get(name) or "")[:MAX_ESSAY]
        return value if value.strip() else None
    if kind == "matching":
        choices = question.get("choices", [])
        picked = {}
        for i, answer in enumerate(answers):
            if answer["text"]:
                choice = _index(form.get(f"{name}-{i}"), len(choices))
                if choice is not None:
                    picked[str(i)] = choice
        return picked or None
    return None


def responses_from_form(questions: list[dict[str, Any]], form: FormData) -> dict[str, Any]:
    """The ``responses`` JSON for an attempt's ``questions`` from a posted form."""
    responses = {}
    for position, question in enumerate(questions):
        response = _response(position, question, form)
        if response is not None:
            responses[str(position)] = response
    return responses


class EssayGradingForm(FlaskForm):
    """A mark and a comment per essay; the fields are added by :func:`essay_grading_form`."""

    positions: list[int]

    def grades(self) -> dict[int, EssayGrade]:
        """The marks entered, by position (an empty mark leaves the essay as it was)."""
        return {
            position: EssayGrade(
                score=self[f"score_{position}"].data,
                comment=self[f"comment_{position}"].data or "",
            )
            for position in self.positions
        }


def essay_grading_form(attempt: QuizAttempt, positions: list[int]) -> EssayGradingForm:
    """The marking form of an attempt's essays, filled with their current marks."""

    class Form(EssayGradingForm):
        pass

    data: dict[str, Any] = {}
    for position in positions:
        mark = attempt.marks.get(str(position), {})
        top = Decimal(repr(float(mark.get("max", 1.0))))
        setattr(
            Form,
            f"score_{position}",
            DecimalField(
                _l("Mark (0 to %(max)s)", max=f"{top.normalize():f}"),
                places=None,
                validators=[Optional(), NumberRange(min=0, max=top)],
            ),
        )
        setattr(
            Form,
            f"comment_{position}",
            TextAreaField(_l("Comment"), validators=[Optional(), Length(max=MAX_COMMENT)]),
        )
        score = mark.get("score")
        data[f"score_{position}"] = None if score is None else Decimal(repr(score))
        data[f"comment_{position}"] = mark.get("comment", "")
    form = Form(data=data)
    form.positions = positions
    return form
