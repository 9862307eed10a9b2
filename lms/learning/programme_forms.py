"""The administrators' programme form.

Field names match the keys of :func:`lms.learning.programmes.validate_programme`'s
``ValidationError`` (``code``, ``title``, ``track``, ``min_ce_hours``, ``required_courses``,
``practicals``, ...) so that ``apply_errors`` puts each message under its field. The form only
checks what a browser could get wrong on its own; the rules live in the service.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from lms.assessments.models import Practical
from lms.catalog.models import Course
from lms.catalog.models.course import Track
from lms.learning.models import Cycle, Dimension, Tier
from lms.learning.programmes import CYCLE_LABELS, SUMMARY_MAX, TITLE_MAX, ProgrammeData
from lms.people.forms import MultiCheckboxField


def _ids(values: Iterable[int] | None) -> list[int]:
    return list(values or [])


class ProgrammeForm(FlaskForm):
    """Edit a programme (everything but its code)."""

    title = StringField(_l("Title (Chinese)"), validators=[InputRequired(), Length(max=TITLE_MAX)])
    title_en = StringField(_l("Title (English)"), validators=[Length(max=TITLE_MAX)])
    summary = TextAreaField(_l("Summary (Chinese)"), validators=[Length(max=SUMMARY_MAX)])
    summary_en = TextAreaField(_l("Summary (English)"), validators=[Length(max=SUMMARY_MAX)])
    track = SelectField(_l("Track"), validate_choice=False)
    tier = SelectField(
        _l("Leads to the tier"),
        validate_choice=False,
        description=_l(
            "The workforce tier its certificate counts towards; none for continuing education."
        ),
    )
    requires_tier = SelectField(
        _l("Requires the tier"),
        validate_choice=False,
        description=_l("A tier a person must hold before enrolling."),
    )
    cycle = SelectField(_l("Cycle"), validate_choice=False)
    min_ce_hours = DecimalField(
        _l("Minimum CE hours"),
        places=1,
        validators=[InputRequired()],
        description=_l("0 to 999, with at most one decimal; for an annual programme, per year."),
    )
    min_electives = IntegerField(
        _l("Minimum elective courses"),
        validators=[InputRequired()],
        description=_l("How many of the elective courses must be completed."),
    )
    required_courses = MultiCheckboxField(_l("Required courses"), coerce=int, validate_choice=False)
    elective_courses = MultiCheckboxField(_l("Elective courses"), coerce=int, validate_choice=False)
    practicals = MultiCheckboxField(
        _l("Required practical assessments"), coerce=int, validate_choice=False
    )
    required_dimensions = MultiCheckboxField(
        _l("Dimensions whose every competency is required"), validate_choice=False
    )
    certificate_title = StringField(_l("Certificate (Chinese)"), validators=[Length(max=TITLE_MAX)])
    certificate_title_en = StringField(
        _l("Certificate (English)"), validators=[Length(max=TITLE_MAX)]
    )

    def fill_choices(
        self, courses: Iterable[Course], practicals: Iterable[Practical], locale: str
    ) -> None:
        """Set the choices, labelled in the page language."""
        none = [("", str(_l("None")))]
        self.track.choices = [(t.value, t.label) for t in Track]
        self.tier.choices = none + [(t.value, t.label) for t in Tier]
        self.requires_tier.choices = none + [(t.value, t.label) for t in Tier]
        self.cycle.choices = [(c.value, str(CYCLE_LABELS[c])) for c in Cycle]
        course_choices = [(c.id, f"{c.code} · {c.display_title(locale)}") for c in courses]
        self.required_courses.choices = course_choices
        self.elective_courses.choices = course_choices
        self.practicals.choices = [
            (p.id, f"{p.course.code} · {p.display_title(locale)}") for p in practicals
        ]
        self.required_dimensions.choices = [(d.value, d.label) for d in Dimension]

    def data_for_service(self) -> ProgrammeData:
        """The form's values for :func:`lms.learning.programmes.create_programme` and co."""
        code_field = getattr(self, "code", None)
        return ProgrammeData(
            code=(code_field.data or "") if code_field is not None else "",
            title=self.title.data or "",
            title_en=self.title_en.data or "",
            summary=self.summary.data or "",
            summary_en=self.summary_en.data or "",
            track=self.track.data or "",
            tier=self.tier.data or None,
            requires_tier=self.requires_tier.data or None,
            cycle=self.cycle.data or "",
            min_ce_hours=self.min_ce_hours.data,
            min_electives=self.min_electives.data,
            required_course_ids=_ids(self.required_courses.data),
            elective_course_ids=_ids(self.elective_courses.data),
            practical_ids=_ids(self.practicals.data),
            required_dimensions=list(self.required_dimensions.data or []),
            certificate_title=self.certificate_title.data or "",
            certificate_title_en=self.certificate_title_en.data or "",
        )


class NewProgrammeForm(ProgrammeForm):
    """Create a programme: the same, with its code."""

    code = StringField(
        _l("Code"),
        validators=[InputRequired(), Length(max=32)],
        description=_l(
            "Capital letters, digits and dashes, such as PRE-QUAL; it cannot change later."
        ),
    )
