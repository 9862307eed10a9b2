"""Forms of the learning pages: external CE hours, recorded and removed by HR officers.

The forms only parse what was typed; the rules (hours above 0 with one decimal, no date in
the future, a reason) are the service's (:mod:`lms.learning.ce`), whose messages land on
the fields of the same names.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import Optional

from lms.authoring.forms import FiniteDecimalField


class ExternalCeForm(FlaskForm):
    title = StringField(_l("Training"), description=_l("What the training was, and who gave it."))
    hours = FiniteDecimalField(
        _l("CE hours"),
        places=None,
        validators=[Optional()],
        description=_l("More than 0, with at most one decimal, e.g. 2.5."),
        render_kw={"step": "0.1", "min": "0.1", "inputmode": "decimal"},
    )
    occurred_on = DateField(_l("Date"), validators=[Optional()])
    reason = TextAreaField(
        _l("Reason"), description=_l("Why these hours count, e.g. the approval it rests on.")
    )


class RemoveCeForm(FlaskForm):
    reason = TextAreaField(_l("Reason for removing"))
