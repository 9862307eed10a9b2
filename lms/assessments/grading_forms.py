"""Forms of the grading pages: a practical result against its rubric, and the queue's filter.

The result form has no total and no pass: the service computes them from the levels chosen.
Its rubric fields are made per practical (one radio group and one comment per criterion);
their names come from :func:`lms.assessments.practicals.score_field` so that the service's
errors land on them.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, Field, RadioField, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from lms.assessments.models import Practical
from lms.assessments.practicals import (
    Observation,
    comment_field,
    criterion_title,
    level_label,
    score_field,
)
from lms.learning.models import Cohort
from lms.orgs.forms import optional_id

MAX_COMMENT = 2000


class PracticalResultForm(FlaskForm):
    """The date and overall comment; :func:`practical_result_form` adds the rubric."""

    observed_on = DateField(_l("Date observed"), validators=[Optional()])
    comments = TextAreaField(_l("Overall comment"), validators=[Optional(), Length(max=4000)])

    def rubric_fields(self, practical: Practical) -> list[tuple[dict[str, object], Field, Field]]:
        """``(criterion, level field, comment field)`` for each criterion, in order."""
        return [
            (c, self[score_field(c["key"])], self[comment_field(c["key"])])
            for c in practical.criteria
        ]

    def observation(self, practical: Practical) -> Observation:
        return Observation(
            scores={c["key"]: self[score_field(c["key"])].data for c in practical.criteria},
            criterion_comments={
                c["key"]: self[comment_field(c["key"])].data or "" for c in practical.criteria
            },
            comments=self.comments.data or "",
            observed_on=self.observed_on.data,
        )


def practical_result_form(
    practical: Practical, locale: str, **kwargs: object
) -> PracticalResultForm:
    """A result form with one radio group (the rubric's levels) and one comment per criterion.

    A level left unchosen or not in the rubric is the service's error, which names the
    criterion; the form only refuses values that are not numbers.
    """

    class Form(PracticalResultForm):
        pass

    choices = [(int(level["points"]), level_label(level, locale)) for level in practical.levels]
    for criterion in practical.criteria:
        title = criterion_title(criterion, locale)
        setattr(
            Form,
            score_field(criterion["key"]),
            RadioField(title, choices=choices, coerce=int, validate_choice=False),
        )
        setattr(
            Form,
            comment_field(criterion["key"]),
            TextAreaField(
                _l("Comment on “%(criterion)s”", criterion=title),
                validators=[Optional(), Length(max=MAX_COMMENT)],
            ),
        )
    return Form(**kwargs)


class QueueFilterForm(FlaskForm):
    """The queue's cohort filter, read from the query string."""

    class Meta:
        csrf = False

    cohort = SelectField(_l("Cohort"), coerce=optional_id, validators=[Optional()])

    def set_choices(self, cohorts: Iterable[Cohort]) -> None:
        self.cohort.choices = [("", _l("Every cohort"))] + [
            (str(c.id), f"{c.code} · {c.title}") for c in cohorts
        ]
