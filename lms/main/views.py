"""Home, language switch and health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.auth import services as auth_services
from lms.auth.access import public, signed_in
from lms.auth.views import safe_next
from lms.extensions import db
from lms.main.forms import LanguageForm
from lms.validation import ValidationError

bp = Blueprint("main", __name__, template_folder="templates")


def refuse_nul_bytes() -> None:
    """``before_request``: no form or query value may hold a NUL byte.

    Nothing legitimate sends one, PostgreSQL cannot store one in text, and letting it reach
    a query would turn bad input into a server error.
    """
    values = [v for d in (request.args, request.form) for vs in d.listvalues() for v in vs]
    if any("\x00" in value for value in (*values, request.path)):
        abort(400)


@bp.route("/")
@signed_in
def home() -> str:
    """What each of the person's roles can do, as a page of entry points."""
    return render_template("main/home.html")


@bp.route("/language", methods=["POST"])
@public
def set_language() -> Response:
    """Switch language; remembered on the account when signed in, else in the session."""
    form = LanguageForm()
    target = safe_next(request.form.get("next")) or url_for("main.home")
    if not form.validate_on_submit():
        return redirect(target)
    locale = form.locale.data
    session["locale"] = locale
    if current_user.is_authenticated:
        try:
            auth_services.set_locale(current_user, locale)
        except ValidationError:
            db.session.rollback()
        else:
            db.session.commit()
    return redirect(target)


@bp.route("/healthz")
@public
def healthz() -> tuple[Response, int]:
    """200 after a database round trip, 503 when the database does not answer."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="error", database="unavailable"), 503
    return jsonify(status="ok", database="ok"), 200
