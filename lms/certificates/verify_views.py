"""Public verification of certificates: the page the QR code opens, and a form to type a code.

No sign-in. Every look-up by code counts against the address's rate limit (shared with the
JSON API), found or not, so codes cannot be guessed quickly. Pages ask search engines not to
index them.
"""

from __future__ import annotations

from flask import Blueprint, Response, make_response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.exceptions import TooManyRequests
from wtforms import StringField, SubmitField
from wtforms.validators import InputRequired, Length, ValidationError

from lms.auth.access import public
from lms.certificates import verification
from lms.certificates.issuing import normalise_code
from lms.learning.models import Tier
from lms.ratelimit import certificate_lookup_limit

bp = Blueprint("verify", __name__, template_folder="templates")


class LookupForm(FlaskForm):
    """The code as printed under the QR code; case, spaces and dashes do not matter."""

    code = StringField(
        _l("Verification code"),
        validators=[
            InputRequired(_l("Enter the verification code printed on the certificate.")),
            Length(max=100, message=_l("A verification code has 32 letters and digits.")),
        ],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    submit = SubmitField(_l("Verify"))

    def validate_code(self, field: StringField) -> None:
        if not normalise_code(field.data or ""):
            raise ValidationError(_l("Enter the verification code printed on the certificate."))


def _page(html: str, status: int = 200) -> Response:
    """A verification page: never indexed, never cached (a status can change any day)."""
    response = make_response(html, status)
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Cache-Control"] = "no-store"
    return response


def _lookup_form() -> LookupForm:
    """The form filled from the query string (GET, no CSRF needed) or the posted body."""
    if request.method == "POST":
        return LookupForm()
    return LookupForm(formdata=request.args or None, meta={"csrf": False})


@bp.route("/verify", methods=["GET", "POST"])
@public
def lookup() -> Response:
    """The form to type a code; a sent code goes to its verification page."""
    form = _lookup_form()
    sent = request.method == "POST" or "code" in request.args
    if sent and form.validate():
        return redirect(url_for("verify.verify", code=normalise_code(form.code.data)))
    status = 422 if sent else 200
    return _page(render_template("certificates/verify_lookup.html", form=form), status)


@bp.route("/verify/<code>")
@public
@certificate_lookup_limit
def verify(code: str) -> Response:
    """A certificate's public status and facts, or "not found" (404) with the form again."""
    facts = verification.verify(code)
    if facts is None:
        form = LookupForm(meta={"csrf": False}, data={"code": code[:100]})
        html = render_template("certificates/verify_not_found.html", form=form)
        return _page(html, 404)
    tier = Tier(facts.tier).label if facts.tier else None
    form = LookupForm(meta={"csrf": False})
    html = render_template("certificates/verify_result.html", facts=facts, tier=tier, form=form)
    return _page(html)


@bp.errorhandler(TooManyRequests)
def too_many_lookups(error: TooManyRequests) -> Response:
    """Over the look-up limit: say so, and when to try again."""
    return _page(render_template("certificates/verify_limited.html"), 429)
