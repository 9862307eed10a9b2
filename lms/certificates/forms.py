"""Forms of the certificate pages.

Field names match the keys of the services' ``ValidationError`` (``reason``,
``override_reason``, ``holder``) so that ``apply_errors`` puts each message under its field.
Choices are filled per request (labels depend on the language and the data).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SearchField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from lms.certificates.models import CertificateType, Status
from lms.learning.models import Cohort
from lms.orgs.forms import optional_id

REASON_MAX = 2000


def type_choices(
    types: Iterable[CertificateType], locale: str, empty: str | None
) -> list[tuple[str, str]]:
    choices = [("", empty)] if empty is not None else []
    return choices + [(str(t.id), f"{t.display_title(locale)} ({t.serial_code})") for t in types]


class CertificateFilterForm(FlaskForm):
    """The list's search bar, read from the query string (no CSRF on a GET)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Name, serial or code"), validators=[Optional(), Length(max=200)])
    type = SelectField(_l("Certificate type"), coerce=optional_id, validators=[Optional()])
    status = SelectField(_l("Status today"), validators=[Optional()])
    year = SelectField(_l("Year issued"), coerce=optional_id, validators=[Optional()])

    def set_choices(
        self, types: Iterable[CertificateType], years: Iterable[int], locale: str
    ) -> None:
        self.type.choices = type_choices(types, locale, str(_l("Any type")))
        self.status.choices = [("", _l("Any status"))] + [(s.value, s.label) for s in Status]
        self.year.choices = [("", _l("Any year"))] + [(str(y), str(y)) for y in years]


class ReasonForm(FlaskForm):
    """A written reason, for a revocation or a reissue."""

    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(_l("Give the reason.")), Length(max=REASON_MAX)],
    )


class ConfirmForm(FlaskForm):
    """A button only (renewal, queueing reminders): the CSRF token is the whole form."""


class PersonSearchForm(FlaskForm):
    """The search for the person to issue a certificate to (a GET)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Find a person by name, email or phone"), validators=[Length(max=200)])


class IssueForm(FlaskForm):
    """Issue one certificate; ``override_reason`` is required when the person is not
    eligible (the service says so)."""

    holder_id = HiddenField(validators=[DataRequired()])
    type_id = HiddenField(validators=[DataRequired()])
    override_reason = TextAreaField(
        _l("Reason to issue anyway"), validators=[Optional(), Length(max=REASON_MAX)]
    )


class BulkForm(FlaskForm):
    """Issue a type's certificate to everyone eligible, in a cohort or anywhere."""

    type_id = SelectField(
        _l("Certificate type"),
        coerce=optional_id,
        validators=[DataRequired(_l("Choose a certificate type."))],
    )
    cohort_id = SelectField(_l("Cohort"), coerce=optional_id, validators=[Optional()])

    def set_choices(
        self, types: Iterable[CertificateType], cohorts: Iterable[Cohort], locale: str
    ) -> None:
        self.type_id.choices = type_choices(types, locale, str(_l("Choose a type")))
        self.cohort_id.choices = [("", _l("Everyone eligible"))] + [
            (str(c.id), f"{c.code} · {c.title} ({c.starts_on.isoformat()})") for c in cohorts
        ]
