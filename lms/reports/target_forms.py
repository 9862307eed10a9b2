"""The administrators' target form.

Field names match the keys of :func:`lms.reports.target_admin.save_target`'s
``ValidationError`` (``tier``, ``year``, ``partner_id``, ``district_id``, ``target``) so that
``apply_errors`` puts each message under its field. The rules live in the service.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange, Optional

from lms.learning.models import Tier
from lms.orgs.forms import district_choices, optional_id, organisation_label
from lms.orgs.models import District, Organisation
from lms.reports.target_admin import FIRST_YEAR, LAST_YEAR, MAX_TARGET, TargetData


class TargetForm(FlaskForm):
    """Create or change a target: city-wide, or a share for one partner or one district."""

    tier = SelectField(_l("Tier"), validators=[InputRequired()], validate_choice=False)
    year = IntegerField(
        _l("Year (milestone)"),
        validators=[
            Optional(),
            NumberRange(
                min=FIRST_YEAR,
                max=LAST_YEAR,
                message=_l("Choose a year from %(min)s to %(max)s."),
            ),
        ],
        description=_l("Leave empty for the final target; a year sets a milestone for its end."),
    )
    partner_id = SelectField(
        _l("Share of a university partner"),
        coerce=optional_id,
        validate_choice=False,
        choices=[],
    )
    district_id = SelectField(
        _l("Share of a district"),
        coerce=optional_id,
        validate_choice=False,
        choices=[],
        description=_l("Choose a partner or a district for a share, or neither for the city."),
    )
    target = IntegerField(
        _l("Target (people)"),
        validators=[
            InputRequired(),
            NumberRange(
                min=0, max=MAX_TARGET, message=_l("Give a whole number from 0 to %(max)s.")
            ),
        ],
    )

    def fill_choices(
        self, partners: Iterable[Organisation], districts: Iterable[District], locale: str
    ) -> None:
        """Set the choices, labelled in the page language."""
        self.tier.choices = [(t.value, t.label) for t in Tier]
        self.partner_id.choices = [
            ("", _("None")),
            *((o.id, organisation_label(o, locale)) for o in partners),
        ]
        self.district_id.choices = district_choices(districts, locale, _("None"))

    def data_for_service(self) -> TargetData:
        """The form's values for :func:`lms.reports.target_admin.save_target`."""
        return TargetData(
            tier=self.tier.data or "",
            year=self.year.data,
            partner_id=self.partner_id.data,
            district_id=self.district_id.data,
            target=self.target.data,
        )
