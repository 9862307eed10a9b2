"""The catalogue's search and filter form (a GET form: bookmarkable, no CSRF token)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SearchField, SelectField
from wtforms.validators import Length

from lms.catalog.models.course import Level, Track
from lms.catalog.queries import HOURS_BUCKETS, HOURS_LABELS, MAX_SEARCH_LENGTH


class CatalogFilterForm(FlaskForm):
    """Search text and the track, partner, level and hours filters."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search"), validators=[Length(max=MAX_SEARCH_LENGTH)], default="")
    track = SelectField(_l("Track"), choices=[], default="")
    partner = SelectField(_l("Partner"), choices=[], default="")
    level = SelectField(_l("Level"), choices=[], default="")
    hours = SelectField(_l("CE hours"), choices=[], default="")

    def fill_choices(self, partners: Iterable[tuple[str, str]]) -> None:
        """Set the choices, labelled in the page language; partners as ``(code, label)``."""
        self.track.choices = [("", _("All tracks")), *((t.value, t.label) for t in Track)]
        self.level.choices = [("", _("All levels")), *((lv.value, lv.label) for lv in Level)]
        self.hours.choices = [
            ("", _("Any length")),
            *((key, str(HOURS_LABELS[key])) for key in HOURS_BUCKETS),
        ]
        self.partner.choices = [("", _("All partners")), *partners]

    def value(self, name: str) -> Any:
        """A filter's value, or its default when what was sent is not valid."""
        field = self[name]
        return field.default if field.errors else field.data
