"""Report figures as JSON under /api/v1, for coordinators and administrators."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.auth.access import roles
from lms.auth.roles import Role
from lms.certificates.issuing import local_today
from lms.reports.scope import allowed_scope, parse_as_of, scope_from_codes
from lms.reports.targets import targets_report
from lms.validation import ValidationError

bp = Blueprint("reports_api", __name__, url_prefix="/api/v1")


@bp.route("/reports/targets")
@roles(Role.ADMIN, Role.COORDINATOR)
def targets() -> Response | tuple[Response, int]:
    """``?as_of=YYYY-MM-DD&partner=CODE&district=CODE``: the targets report (a coordinator
    limited to a partner gets that partner's figures, and 403 for any other scope)."""
    try:
        as_of = parse_as_of(request.args.get("as_of"), local_today())
        asked = scope_from_codes(request.args.get("partner"), request.args.get("district"))
    except ValidationError as error:
        return jsonify({"error": "invalid", "messages": error.errors}), 400
    scope = allowed_scope(current_user, asked)
    if scope is None:
        abort(403)
    return jsonify(targets_report(as_of, scope))
