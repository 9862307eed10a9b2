"""Forms of the cohort pages.

Field names match the keys of the services' ``ValidationError`` (``code``, ``title``,
``course_id``, ``programme_id``, ``partner_id``, ``location_id``, ``starts_on``, ``ends_on``,
``capacity``, ``status``, ``instructor_ids``, ``reason``) so that ``apply_errors`` puts each
message on its field. Choices are filled per request (labels depend on the language).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from lms.auth.models import User
from lms.catalog.models import Course
from lms.forms import csv_file_field
from lms.learning.models import CohortStatus, Programme
from lms.orgs.forms import optional_id, organisation_label
from lms.orgs.models import Organisation
from lms.people import roster

Choices = list[tuple[object, str]]


def course_choices(courses: Iterable[Course], locale: str, blank: str) -> Choices:
    return [("", blank), *((c.id, f"{c.code} · {c.display_title(locale)}") for c in courses)]


def programme_choices(programmes: Iterable[Programme], locale: str, blank: str) -> Choices:
    return [("", blank), *((p.id, f"{p.code} · {p.display_title(locale)}") for p in programmes)]


def organisation_choices(orgs: Iterable[Organisation], locale: str, blank: str) -> Choices:
    return [("", blank), *((o.id, organisation_label(o, locale)) for o in orgs)]


def status_choices(blank: str | None) -> Choices:
    statuses: Choices = [(s.value, s.label) for s in CohortStatus]
    return [("", blank), *statuses] if blank is not None else statuses


class CohortFilterForm(FlaskForm):
    """The list's search bar, read from the query string (no CSRF on a GET)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Code or title"), validators=[Optional(), Length(max=200)])
    status = SelectField(_l("Status"), validators=[Optional()])
    course = SelectField(_l("Course"), coerce=optional_id, validators=[Optional()])
    programme = SelectField(_l("Programme"), coerce=optional_id, validators=[Optional()])
    partner = SelectField(_l("University partner"), coerce=optional_id, validators=[Optional()])

    def set_choices(
        self,
        courses: Iterable[Course],
        programmes: Iterable[Programme],
        partners: Iterable[Organisation],
        locale: str,
    ) -> None:
        self.status.choices = status_choices(str(_l("Any status")))
        self.course.choices = course_choices(courses, locale, str(_l("Any course")))
        self.programme.choices = programme_choices(programmes, locale, str(_l("Any programme")))
        self.partner.choices = organisation_choices(partners, locale, str(_l("Any partner")))


class CohortForm(FlaskForm):
    """Create or edit a cohort."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(_l("A code is required.")), Length(max=40)],
        description=_l("Capital letters, digits and dashes, e.g. PRE-101-2026-01."),
    )
    title = StringField(
        _l("Title"), validators=[DataRequired(_l("A title is required.")), Length(max=200)]
    )
    course_id = SelectField(_l("Course"), coerce=optional_id, validators=[Optional()])
    programme_id = SelectField(_l("Programme"), coerce=optional_id, validators=[Optional()])
    partner_id = SelectField(_l("University partner"), coerce=optional_id)
    location_id = SelectField(_l("Location"), coerce=optional_id, validators=[Optional()])
    online = BooleanField(_l("Taught online"))
    starts_on = DateField(
        _l("Starts on"), validators=[DataRequired(_l("A start date is required."))]
    )
    ends_on = DateField(_l("Ends on"), validators=[DataRequired(_l("An end date is required."))])
    capacity = IntegerField(
        _l("Capacity"),
        validators=[Optional(), NumberRange(min=1, max=100_000)],
        description=_l("Leave empty for no limit."),
    )
    self_enrolment = BooleanField(_l("Trainees may enrol themselves while the cohort is open"))
    status = SelectField(_l("Status"), default=CohortStatus.OPEN.value)
    instructor_ids = SelectMultipleField(_l("Instructors"), coerce=int)

    def set_choices(
        self,
        courses: Iterable[Course],
        programmes: Iterable[Programme],
        partners: Iterable[Organisation],
        locations: Iterable[Organisation],
        instructors: Iterable[User],
        locale: str,
    ) -> None:
        self.course_id.choices = course_choices(courses, locale, str(_l("No course")))
        self.programme_id.choices = programme_choices(programmes, locale, str(_l("No programme")))
        self.partner_id.choices = organisation_choices(partners, locale, str(_l("Choose…")))
        self.location_id.choices = organisation_choices(
            locations, locale, str(_l("No location (online only)"))
        )
        self.status.choices = status_choices(None)
        self.instructor_ids.choices = [(u.id, f"{u.name} <{u.email}>") for u in instructors]


class PersonSearchForm(FlaskForm):
    """The search for people to enrol, read from the query string."""

    class Meta:
        csrf = False

    q = SearchField(_l("Name, email or phone"), validators=[Optional(), Length(max=200)])


class EnrolForm(FlaskForm):
    """The people ticked in the search results."""

    user_ids = SelectMultipleField(_l("People"), coerce=int, validate_choice=False)


class EnrolmentUploadForm(FlaskForm):
    file = csv_file_field(_l("File of people"), roster.MAX_BYTES)


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for the withdrawal"), validators=[Optional(), Length(max=500)]
    )
