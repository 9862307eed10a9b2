"""Pages: the drill-down lists behind every number.

``/reports/lists/<name>`` shows list ``name`` (:mod:`lms.reports.lists`) for the report filters
and the list's own arguments, a page at a time, sorted by any of its sortable columns
(``?sort=<column>&dir=asc|desc``), with links to each person's learning record (their
completions, scores and CE hours) and to each certificate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from lms.auth.access import roles
from lms.auth.roles import Role
from lms.catalog.views import format_hours
from lms.extensions import db
from lms.i18n import locale_code
from lms.orgs.models import District, Organisation
from lms.pagination import paginate
from lms.reports.filters import ReportFilters, ScopeRefused, filters_from_args
from lms.reports.lists import DATED, describe, ordered
from lms.reports.tables import LISTS, ListSpec
from lms.validation import ValidationError

bp = Blueprint("report_lists", __name__, url_prefix="/reports/lists", template_folder="templates")

Link = Callable[[Any], str | None]


def _person(row: Any) -> str:
    return url_for("learning.person_record", user_id=row.person_id)


def _certificate(row: Any) -> str:
    return url_for("certificates.detail", certificate_id=row.certificate_id)


def _anchored(anchor: Callable[[Any], str | None]) -> Link:
    """A link to a place on the person's learning record (None: no link)."""

    def link(row: Any) -> str | None:
        place = anchor(row)
        if place is None:
            return None
        return url_for("learning.person_record", user_id=row.person_id, _anchor=place)

    return link


#: The links of each list's cells, by column key: where the evidence is, one click away.
LINKS: dict[str, dict[str, Link]] = {
    "holders": {
        "name": _person,
        "serial": _certificate,
        "evidence": _anchored(
            lambda row: f"programme-completion-{row.completion_id}" if row.completion_id else None
        ),
        "ce_hours": _anchored(lambda row: "ce"),
    },
    "issued": {"serial": _certificate, "holder": _person},
    "expiring": {"serial": _certificate, "holder": _person},
    "completions": {
        "name": _person,
        "title": _anchored(lambda row: f"{row.what_code}-completion-{row.id}"),
    },
    "ce": {"name": _person, "title": _anchored(lambda row: f"ce-entry-{row.id}")},
}


def _shown(value: Any) -> str:
    """A cell as text: dates in the page's format, hours without a useless ``.0``."""
    if value is None or value == "":
        return "—"
    if isinstance(value, date):
        return format_date(value, "medium")
    if isinstance(value, Decimal):
        return format_hours(value)
    return str(value)


def _cells(spec: ListSpec, row: Any) -> list[tuple[str, str | None]]:
    links = LINKS.get(spec.name, {})
    cells = []
    for column in spec.columns():
        link = links.get(column.key)
        cells.append((_shown(row._mapping[column.key]), link(row) if link else None))
    return cells


def _params(spec: ListSpec, args: Mapping[str, str]) -> dict[str, str]:
    """The list's own arguments that were given."""
    return {name: args[name] for name in spec.params if args.get(name)}


def _sort(spec: ListSpec, args: Mapping[str, str]) -> tuple[str | None, bool]:
    """The column asked to sort by (None: the list's default order) and whether descending."""
    sort = args.get("sort")
    if sort not in spec.sorts():
        return None, False
    return sort, args.get("dir") == "desc"


def _scope_names(filters: ReportFilters) -> list[str]:
    """The partner and district the list is limited to, by name."""
    locale = locale_code()
    names = []
    if filters.scope.partner_id is not None:
        partner = db.session.get(Organisation, filters.scope.partner_id)
        if partner is not None:
            names.append(_("Partner: %(name)s", name=partner.display_name(locale)))
    if filters.scope.district_id is not None:
        district = db.session.get(District, filters.scope.district_id)
        if district is not None:
            names.append(_("District: %(name)s", name=district.display_name(locale)))
    return names


def _heading(spec: ListSpec, filters: ReportFilters, params: Mapping[str, str]) -> list[str]:
    """What the list is limited to, under its title."""
    parts = []
    if spec.name in DATED:
        parts.append(_("As of %(date)s", date=format_date(filters.as_of, "medium")))
    return parts + _scope_names(filters) + describe(spec, params)


def _invalid(spec: ListSpec, errors: Mapping[str, str]) -> tuple[str, int]:
    return render_template("reports/list.html", spec=spec, errors=errors, page=None), 400


@bp.route("/<name>")
@roles(Role.ADMIN, Role.COORDINATOR)
def show(name: str) -> tuple[str, int]:
    """One drill-down list: 404 for an unknown list, 403 outside the person's scope, 400 with
    the message for a bad argument."""
    spec = LISTS.get(name)
    if spec is None:
        abort(404)
    try:
        filters = filters_from_args(request.args, current_user)
        params = _params(spec, request.args)
        spec.check(params)
    except ScopeRefused:
        abort(403)
    except ValidationError as error:
        return _invalid(spec, error.errors)
    sort, descending = _sort(spec, request.args)
    page = paginate(ordered(spec, spec.statement(filters, params), sort, descending), rows=True)
    args = filters.args() | params
    if sort is not None:
        args |= {"sort": sort, "dir": "desc" if descending else "asc"}
    return render_template(
        "reports/list.html",
        spec=spec,
        errors=None,
        page=page,
        rows=[_cells(spec, row) for row in page.items],
        columns=spec.columns(),
        sortable=spec.sorts(),
        sort=sort,
        descending=descending,
        title=spec.title(params),
        heading=_heading(spec, filters, params),
        args=args,
        base_args=filters.args() | params,
        dashboard_args=filters.args(),
    ), 200
