"""The public JSON API of certificates: ``GET /api/v1/certificates/<code>``.

The same facts as the verify page (:mod:`lms.certificates.verification`), open to any
origin, and rate limited together with the page.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask_babel import gettext as _
from werkzeug.exceptions import TooManyRequests

from lms.auth.access import public
from lms.certificates import verification
from lms.ratelimit import certificate_lookup_limit

bp = Blueprint("certificates_api", __name__, url_prefix="/api/v1")


def _json(body: dict[str, object], status: int = 200) -> Response:
    """A public answer: readable from any site, not cached, not indexed."""
    response = jsonify(body)
    response.status_code = status
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.route("/certificates/<code>")
@public
@certificate_lookup_limit
def certificate(code: str) -> Response:
    """The certificate's status and public facts; ``{"error": "not_found"}`` with 404."""
    facts = verification.verify(code)
    if facts is None:
        return _json({"error": "not_found"}, 404)
    return _json(facts.as_json())


@bp.errorhandler(TooManyRequests)
def too_many_lookups(error: TooManyRequests) -> Response:
    """Over the look-up limit (shared with the verify page)."""
    message = _("Too many look-ups from your address; please wait a minute and try again.")
    return _json({"error": "rate_limited", "message": message}, 429)
