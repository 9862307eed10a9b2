"""Sign-in, sign-out and "change my password"."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from lms.auth import services
from lms.auth.access import public, signed_in
from lms.auth.forms import ChangePasswordForm, LoginForm
from lms.extensions import db
from lms.forms import apply_errors
from lms.ratelimit import limiter
from lms.validation import ValidationError

bp = Blueprint("auth", __name__, template_folder="templates")


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


# Status of a refused sign-in (wrong email or password, locked or inactive account).
SIGN_IN_REFUSED = 422


def login_rate_limit() -> str:
    """The configured budget of failed sign-ins per address, e.g. ``"10 per minute"``."""
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _refused(response: Response) -> bool:
    return response.status_code == SIGN_IN_REFUSED


@bp.route("/login", methods=["GET", "POST"])
@public
# Per address and across accounts (the per-account lock-out is in services.authenticate):
# only refused sign-ins count, so a nursery's staff signing in behind one address are not
# held up, but once the budget is spent even the right password waits.
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=_refused, scope="login")
def login() -> str | Response | tuple[str, int]:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(form.next.data) or url_for("main.home"))
    if form.validate_on_submit():
        user = services.authenticate(form.email.data or "", form.password.data or "")
        db.session.commit()  # failure counters and lock-out are kept either way
        if user is None:
            form.password.errors.append(
                _(
                    "The email or password is not correct. After repeated failures the "
                    "account is locked for a few minutes."
                )
            )
        else:
            chosen_locale = user.locale or session.get("locale")
            session.clear()  # a new session on sign-in (no session fixation)
            login_user(user)
            session.permanent = True
            if chosen_locale:
                session["locale"] = chosen_locale
            if user.must_change_password:
                flash(_("Please choose a new password before you go on."), "warning")
                return redirect(url_for("auth.change_password"))
            return redirect(safe_next(form.next.data) or url_for("main.home"))
    status = SIGN_IN_REFUSED if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.errorhandler(TooManyRequests)
def too_many_sign_ins(error: TooManyRequests) -> tuple[str, int]:
    """Over the sign-in limit: the form again, saying why and for how long."""
    form = LoginForm()
    form.form_errors.append(
        _(
            "Too many failed sign-ins from your network. Wait a minute, then try again; "
            "if you forgot your password, ask your HR officer or an administrator."
        )
    )
    return render_template("auth/login.html", form=form), 429


@bp.route("/logout", methods=["POST"])
@public
def logout() -> Response:
    logout_user()
    session.clear()
    flash(_("You have signed out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password() -> str | Response:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user, form.current_password.data or "", form.new_password.data or ""
            )
        except ValidationError as error:
            db.session.rollback()
            apply_errors(form, error)
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # new session id with the version
            flash(_("Your password has been changed. Other sessions are signed out."), "success")
            return redirect(url_for("main.home"))
    status = 422 if form.errors else 200
    return render_template("auth/change_password.html", form=form), status
