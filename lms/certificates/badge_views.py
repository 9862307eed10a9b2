"""Open Badges 3.0 endpoints: the credential of a certificate, the issuer, its keys and the
revocation list. All public and readable from any site, so wallets and verifiers can fetch them.

- ``GET /api/v1/certificates/<code>/credential``: the signed VC-JWT (``application/vc+jwt``),
  or the unsigned credential with ``?format=json``, offered as a download named by serial.
- ``GET /api/v1/issuer``: the issuer Profile (the ``id`` of the issuer in every credential).
- ``GET /api/v1/issuer/jwks.json``: the public key that verifies the signatures.
- ``GET /api/v1/status/revocation``: the BitstringStatusList credential, as a VC-JWT.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request

from lms.auth.access import public
from lms.certificates import badges, signing, status_list
from lms.certificates.issuing import certificate_by_code
from lms.ratelimit import certificate_lookup_limit

bp = Blueprint("badges", __name__, url_prefix="/api/v1")

JSON_CREDENTIAL_TYPE = "application/vc"  # VC Data Model 2.0, section 6.1
JWKS_TYPE = "application/jwk-set+json"


def _answer(body: str, mimetype: str, *, cache: str, status: int = 200) -> Response:
    """A public answer: readable from any origin, with the given caching."""
    response = Response(body, status=status, mimetype=mimetype)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = cache
    return response


def _json(document: dict[str, Any], mimetype: str = "application/json", **kwargs: Any) -> Response:
    return _answer(json.dumps(document, ensure_ascii=False, indent=2), mimetype, **kwargs)


@bp.route("/certificates/<code>/credential")
@public
@certificate_lookup_limit
def credential(code: str) -> Response:
    """The certificate as an OpenBadgeCredential; ``{"error": "not_found"}`` with 404.

    A revoked or superseded certificate still has its credential: its status list bit says
    it is no longer valid.
    """
    certificate = certificate_by_code(code)
    if certificate is None:
        return _json({"error": "not_found"}, cache="no-store", status=404)
    if request.args.get("format") == "json":
        response = _json(badges.credential(certificate), JSON_CREDENTIAL_TYPE, cache="no-store")
        extension = "json"
    else:
        response = _answer(badges.jwt(certificate), badges.MEDIA_TYPE, cache="no-store")
        extension = "jwt"
    response.headers.set(
        "Content-Disposition",
        "attachment",
        filename=badges.download_name(certificate, extension),
    )
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.route("/issuer")
@public
def issuer() -> Response:
    """The issuer Profile."""
    return _json(
        {"@context": list(badges.CONTEXTS), **badges.issuer_profile()},
        cache="public, max-age=3600",
    )


@bp.route("/issuer/jwks.json")
@public
def jwks() -> Response:
    """The issuer's public signing keys (a JWK Set)."""
    return _json(signing.jwks(), JWKS_TYPE, cache="public, max-age=3600")


@bp.route("/status/revocation", endpoint="status_list")
@public
def status_list_view() -> Response:
    """The revocation list as a signed BitstringStatusListCredential."""
    return _answer(status_list.status_list_jwt(), badges.MEDIA_TYPE, cache="public, max-age=60")
