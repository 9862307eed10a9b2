"""Forms of the people pages: the directory filters and the person form.

Field names match the keys of the service's ``ValidationError`` (name, email, phone,
employer_id, district_id, roles) so that ``apply_errors`` puts each message on its field.
Choices are filled per request (labels depend on the language and the organisations).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from lms.auth.roles import SCOPABLE_ROLES, Role
from lms.orgs.forms import district_choices, optional_id
from lms.orgs.models import District, Organisation


class MultiCheckboxField(SelectMultipleField):
    """A set of checkboxes, one per choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def organisation_choices(
    orgs: Iterable[Organisation], locale: str, empty: str
) -> list[tuple[str, str]]:
    return [("", empty)] + [(str(o.id), o.display_name(locale)) for o in orgs]


class PeopleFilterForm(FlaskForm):
    """The directory's search bar, read from the query string (no CSRF on a GET)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), validators=[Optional()])
    organisation = SelectField(_l("Organisation"), coerce=optional_id, validators=[Optional()])
    district = SelectField(_l("District"), coerce=optional_id, validators=[Optional()])
    status = SelectField(_l("Status"), default="active")

    def set_choices(
        self, orgs: Iterable[Organisation], districts: Iterable[District], locale: str
    ) -> None:
        self.role.choices = [("", _l("Any role"))] + [(r.value, r.label) for r in Role]
        self.organisation.choices = organisation_choices(orgs, locale, str(_l("Any organisation")))
        self.district.choices = district_choices(districts, locale, str(_l("Any district")))
        self.status.choices = [
            ("active", _l("Active")),
            ("inactive", _l("Inactive")),
            ("all", _l("All")),
        ]


class PersonForm(FlaskForm):
    """An administrator's form for a person's facts and roles."""

    name = StringField(
        _l("Name"), validators=[DataRequired(_l("A name is required.")), Length(max=100)]
    )
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("An email address is required.")), Length(max=254)],
    )
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    employer_id = SelectField(_l("Employer"), coerce=optional_id, validators=[Optional()])
    district_id = SelectField(_l("District"), coerce=optional_id, validators=[Optional()])
    roles = MultiCheckboxField(_l("Roles"))
    hr_scope = SelectField(_l("HR officer limited to"), coerce=optional_id)
    coordinator_scope = SelectField(_l("Coordinator limited to"), coerce=optional_id)

    def set_choices(
        self, orgs: Iterable[Organisation], districts: Iterable[District], locale: str
    ) -> None:
        orgs = list(orgs)
        self.employer_id.choices = organisation_choices(orgs, locale, str(_l("No employer")))
        self.district_id.choices = district_choices(districts, locale, str(_l("No district")))
        self.roles.choices = [(r.value, r.label) for r in Role]
        city = str(_l("Whole city (not limited)"))
        self.hr_scope.choices = organisation_choices(orgs, locale, city)
        self.coordinator_scope.choices = organisation_choices(orgs, locale, city)

    def scope_field(self, role: str) -> SelectField | None:
        """The "limited to organisation" select of a scopable role, else None."""
        return getattr(self, f"{role}_scope", None) if role in SCOPABLE_ROLES else None


class NewPersonForm(PersonForm):
    """Creating a person: optionally with a temporary password to pass on."""

    password = PasswordField(
        _l("Temporary password"),
        validators=[Optional(), Length(max=1024)],
        description=_l(
            "Optional. The person must choose their own password when they first sign in. "
            "Leave empty to set one later with “Reset password”."
        ),
    )
