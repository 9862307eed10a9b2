"""Pages: the coordinator dashboard."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, abort, render_template, request
from flask_babel import format_date, format_decimal
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField

from lms.auth.access import roles
from lms.auth.roles import Role
from lms.certificates.issuing import local_today
from lms.forms import apply_errors
from lms.i18n import locale_code
from lms.reports.charts import chart_for
from lms.reports.dashboard import (
    Dashboard,
    Named,
    all_districts,
    first_year,
    university_partners,
)
from lms.reports.filters import ReportFilters, ScopeRefused, filters_from_args
from lms.validation import ValidationError

bp = Blueprint("reports", __name__, url_prefix="/reports", template_folder="templates")


class DashboardFilterForm(FlaskForm):
    """The dashboard's filters, read from the query string (no CSRF on a GET); the values
    are checked by :func:`filters_from_args`, whose messages the fields show."""

    class Meta:
        csrf = False

    year = SelectField(_l("Year"))
    partner = SelectField(_l("University partner"))
    district = SelectField(_l("District"))
    as_of = DateField(_l("Counted on"))

    def set_choices(
        self, years: list[int], partners: list[Named], districts: list[Named], everyone: bool
    ) -> None:
        """``everyone``: the person may choose the whole city (not a partner's coordinator)."""
        self.year.choices = [("", _l("Every year"))] + [(str(y), str(y)) for y in years]
        self.partner.choices = ([("", _l("Every partner"))] if everyone else []) + [
            (p.code, p.name) for p in partners
        ]
        self.district.choices = [("", _l("Every district"))] + [(d.code, d.name) for d in districts]


def _partner_limit() -> int | None:
    """The partner a coordinator is limited to (None: the whole city)."""
    if current_user.has_role(Role.ADMIN) or not current_user.has_role(Role.COORDINATOR):
        return None
    return current_user.scope_of(Role.COORDINATOR)


def _filter_form(
    first: int | None, partners: list[Named], districts: list[Named]
) -> DashboardFilterForm:
    """The filter form on the request's values, offering what the person may choose: the
    years from ``first`` (the first with certificates or completions) to this one."""
    form = DashboardFilterForm(formdata=request.args)
    limit = _partner_limit()
    if limit is not None:
        partners = [p for p in partners if p.id == limit]
    this_year = local_today().year
    years = list(range(this_year, min(first or this_year, this_year) - 1, -1))
    form.set_choices(years, partners, districts, limit is None)
    return form


@bp.app_template_filter("report_value")
def report_value(value: object, numeric: bool = True) -> str:
    """A table cell as the page shows it: numbers (of ``numeric`` columns) and days in the
    page's language."""
    if value is None:
        return "—"
    if isinstance(value, date):
        return format_date(value, "medium")
    if not numeric or isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    return format_decimal(value, "#,##0.#" if not isinstance(value, int) else "#,##0")


def _render(form: DashboardFilterForm, **context: object) -> str:
    return render_template("reports/dashboard.html", form=form, **context)


@bp.route("/")
@roles(Role.ADMIN, Role.COORDINATOR)
def dashboard() -> str | tuple[str, int]:
    """``?year=&partner=&district=&as_of=``: people counted against the targets, their
    breakdowns, certificates issued and expiring, training volume, CE hours and the trend."""
    locale = locale_code()
    try:
        filters: ReportFilters = filters_from_args(request.args, current_user)
    except ScopeRefused:
        abort(403)
    except ValidationError as error:
        form = _filter_form(first_year(), university_partners(locale), all_districts(locale))
        apply_errors(form, error)
        return _render(form, tables=[], filters=None), 400
    board = Dashboard(filters, locale)
    form = _filter_form(board.first_year, board.partners, board.districts)
    form.partner.data = filters.partner_code or ""
    tables = [(table, chart_for(table)) for table in board.tables()]
    return _render(form, tables=tables, filters=filters)
