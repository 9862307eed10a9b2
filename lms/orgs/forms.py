"""Forms of the organisation and district pages.

The field names match the keys of the services' ``ValidationError`` (``code``, ``name``,
``name_en``, ``kind``, ``district_id``, ``parent_id``) so that ``apply_errors`` puts each
message on its field. Existence checks (unknown kind, district or parent) are left to the
services; the forms only check what a browser could get wrong on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SearchField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from lms.orgs.models import District, Organisation, OrgKind
from lms.orgs.queries import STATUSES

MAX_ID = 2**31 - 1  # the largest id a column can hold on PostgreSQL


def optional_id(value: Any) -> int | None:
    """Coerce a select's value to an id; ``""`` and None mean "none chosen".

    Raises ValueError (shown by WTForms as a field error) for anything that is not an id.
    """
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        raise ValueError(value)
    if not 0 < number <= MAX_ID:
        raise ValueError(value)
    return number


def kind_choices(blank: str) -> list[tuple[str, str]]:
    """The kinds of organisation with their translated labels, after a blank choice."""
    return [("", blank), *((k.value, k.label) for k in OrgKind)]


def district_choices(districts: Iterable[District], locale: str, blank: str) -> list[Any]:
    return [("", blank), *((d.id, d.display_name(locale)) for d in districts)]


def organisation_label(org: Organisation, locale: str) -> str:
    """``CODE · name`` (English name in English pages when there is one)."""
    return f"{org.code} · {org.display_name(locale)}"


class OrganisationForm(FlaskForm):
    """Create or edit an organisation."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=32)],
        description=_l("Letters, digits, dots, dashes or underscores; stored in capitals."),
    )
    name = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=200)])
    kind = SelectField(_l("Kind"), validators=[DataRequired()], validate_choice=False)
    district_id = SelectField(_l("District"), coerce=optional_id, validate_choice=False, choices=[])
    parent_id = SelectField(
        _l("Under organisation"),
        coerce=optional_id,
        validate_choice=False,
        choices=[],
        description=_l("A station under its centre, a nursery under the centre that guides it."),
    )

    def fill_choices(
        self, districts: Iterable[District], parents: Iterable[Organisation], locale: str
    ) -> None:
        """Set the choices of the selects, labelled in the page language."""
        self.kind.choices = kind_choices(_("Choose a kind"))
        self.district_id.choices = district_choices(districts, locale, _("No district"))
        self.parent_id.choices = [
            ("", _("None (top level)")),
            *((o.id, organisation_label(o, locale)) for o in parents),
        ]


class DistrictForm(FlaskForm):
    """Create or edit a district."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=32)],
        description=_l("Letters, digits, dots, dashes or underscores; stored in capitals."),
    )
    name = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=100)])


STATUS_LABELS = {
    "active": _l("Active"),
    "inactive": _l("Inactive"),
    "all": _l("All"),
}


class OrganisationFilterForm(FlaskForm):
    """The search and filters of the organisation list (a GET form, no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search"), validators=[Length(max=200)], default="")
    kind = SelectField(_l("Kind"), choices=[], default="")
    district = SelectField(_l("District"), coerce=optional_id, choices=[])
    status = SelectField(
        _l("Status"), choices=[(s, STATUS_LABELS[s]) for s in STATUSES], default="active"
    )

    def fill_choices(self, districts: Iterable[District], locale: str) -> None:
        self.kind.choices = kind_choices(_("All kinds"))
        self.district.choices = district_choices(districts, locale, _("All districts"))

    def value(self, name: str) -> Any:
        """A filter's value, or its default when what was sent is not valid."""
        field = self[name]
        return field.default if field.errors else field.data
