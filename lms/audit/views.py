"""The audit log page (admins only)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SearchField, SelectField
from wtforms.validators import Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from lms.audit import queries
from lms.auth.access import roles
from lms.auth.roles import Role
from lms.forms import form_status
from lms.pagination import paginate

bp = Blueprint("audit", __name__, template_folder="templates")


class AuditFilterForm(FlaskForm):
    """The filters of the audit log: a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    action = SelectField(_l("Action"), choices=[], default="", validate_choice=False)
    entity_type = SelectField(_l("Record"), choices=[], default="", validate_choice=False)
    entity_id = IntegerField(
        widget=HiddenInput(), validators=[Optional(), NumberRange(min=1, max=2**31 - 1)]
    )
    actor = SearchField(_l("Changed by (email)"), validators=[Length(max=254)], default="")
    date_from = DateField(_l("From"), name="from", validators=[Optional()])
    date_to = DateField(_l("To"), name="to", validators=[Optional()])

    def fill_choices(self, actions: list[str], entity_types: list[str]) -> None:
        self.action.choices = [
            ("", _("All actions")),
            *((a, queries.action_label(a)) for a in actions),
        ]
        self.entity_type.choices = [
            ("", _("All records")),
            *((t, queries.entity_label(t)) for t in entity_types),
        ]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        first, last = self.date_from.data, self.date_to.data
        dates_ok = not self.date_from.errors and not self.date_to.errors
        if dates_ok and first and last and last < first:
            self.date_to.errors = [
                *self.date_to.errors,
                _("The end date is before the start date."),
            ]
            valid = False
        return valid

    def value(self, name: str) -> Any:
        """A filter's value, or None when what was sent is not valid."""
        field = self[name]
        return None if field.errors else field.data


@bp.app_template_filter("action_label")
def action_label_filter(action: str) -> str:
    """``{{ entry.action|action_label }}``: the action as people read it."""
    return queries.action_label(action)


@bp.route("/audit")
@roles(Role.ADMIN)
def index() -> tuple[str, int]:
    """The audit log, newest first, with the values before and after each change."""
    form = AuditFilterForm(formdata=request.args)
    form.fill_choices(queries.distinct_actions(), queries.distinct_entity_types())
    form.validate()
    start, end = queries.day_bounds(
        form.value("date_from"), form.value("date_to"), ZoneInfo(str(get_timezone()))
    )
    filters = queries.AuditFilters(
        action=form.value("action") or None,
        entity_type=form.value("entity_type") or None,
        entity_id=form.value("entity_id"),
        actor=form.value("actor") or "",
        start=start,
        end=end,
    )
    page = paginate(queries.audit_select(filters))
    fields = {f.name for f in form}
    args = {k: v for k, v in request.args.items() if k in fields and v}
    return render_template(
        "audit/index.html",
        form=form,
        page=page,
        names=queries.EntityNames.load(page.items),
        args=args,
    ), form_status(form)
