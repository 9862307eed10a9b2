"""Pages: the consistency checks (the audit of the figures), a summary and each check's
findings, for administrators and coordinators within their scope."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from lms.auth.access import roles
from lms.auth.roles import Role
from lms.extensions import db
from lms.learning.models.programme import TIER_LABELS
from lms.orgs.models import Organisation, OrgKind
from lms.orgs.queries import all_districts
from lms.pagination import paginate
from lms.reports.checks import CHECKS, MATCH_LABELS, PROBLEM_LABELS, findings_rows, summary
from lms.reports.filters import ReportFilters, ScopeRefused, filters_from_args
from lms.validation import ValidationError

bp = Blueprint("report_checks", __name__, url_prefix="/reports/checks", template_folder="templates")


def _filters() -> tuple[ReportFilters | None, dict[str, str]]:
    """The filters asked for, or None and the messages by argument (403 when refused)."""
    try:
        return filters_from_args(request.args, current_user), {}
    except ScopeRefused:
        abort(403)
    except ValidationError as error:
        return None, error.errors


def _filter_choices() -> dict[str, Any]:
    """The partners the person may choose (only theirs when limited to one) and districts."""
    partners = sa.select(Organisation).where(Organisation.kind == OrgKind.UNIVERSITY)
    limit = None if current_user.has_role(Role.ADMIN) else current_user.scope_of(Role.COORDINATOR)
    if limit is not None:
        partners = partners.where(Organisation.id == limit)
    return {
        "partners": list(db.session.scalars(partners.order_by(Organisation.code))),
        "districts": all_districts(),
        "limited": limit is not None,
        "asked": request.args,
    }


@bp.route("")
@roles(Role.ADMIN, Role.COORDINATOR)
def index() -> tuple[str, int]:
    """Every check with its number of findings and severity."""
    filters, errors = _filters()
    results = summary(filters) if filters is not None else []
    return render_template(
        "reports/checks.html",
        filters=filters,
        errors=errors,
        results=results,
        **_filter_choices(),
    ), (400 if errors else 200)


@bp.route("/<name>")
@roles(Role.ADMIN, Role.COORDINATOR)
def show(name: str) -> tuple[str, int]:
    """One check's findings, a page at a time."""
    check = CHECKS.get(name) or abort(404)
    filters, errors = _filters()
    page = rows = None
    if filters is not None:
        page = paginate(check.findings(filters), rows=True)
        rows = findings_rows(check, filters, page.items)
    return render_template(
        "reports/check.html",
        check=check,
        filters=filters,
        errors=errors,
        page=page,
        rows=rows,
        tier_labels=TIER_LABELS,
        problem_labels=PROBLEM_LABELS,
        match_labels=MATCH_LABELS,
        **_filter_choices(),
    ), (400 if errors else 200)
