"""Access control: every view declares who may use it; anything undeclared is refused.

``@public`` opens a view to everyone, ``@signed_in`` to any signed-in person and
``@roles(...)`` to holders of one of the roles. ``enforce`` runs before every request and
refuses endpoints that declared nothing, so a new view cannot be forgotten open. Object-level
checks live in :mod:`lms.auth.policy`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app, redirect, request, url_for
from flask_login import current_user

from lms.auth.roles import Role

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
SIGNED_IN = "signed_in"
ACCESS_ATTR = "_lms_access"

# Endpoints a person who must change their password may still reach.
PASSWORD_CHANGE_ALLOWED = frozenset(
    {"auth.change_password", "auth.logout", "static", "main.set_language", "main.healthz"}
)


def public(view: F) -> F:
    """Anyone, signed in or not."""
    setattr(view, ACCESS_ATTR, PUBLIC)
    return view


def signed_in(view: F) -> F:
    """Any signed-in person, whatever their roles."""
    setattr(view, ACCESS_ATTR, SIGNED_IN)
    return view


def roles(*allowed: Role) -> Callable[[F], F]:
    """Signed-in holders of at least one of ``allowed``."""

    def decorate(view: F) -> F:
        setattr(view, ACCESS_ATTR, frozenset(allowed))
        return view

    return decorate


def declared_access(app: Flask, endpoint: str) -> Any:
    """What the view behind ``endpoint`` declared, or None."""
    if endpoint == "static" or endpoint.endswith(".static"):
        return PUBLIC
    view = app.view_functions.get(endpoint)
    return getattr(view, ACCESS_ATTR, None) if view else None


def enforce() -> Any:
    """``before_request`` hook: apply the declaration of the matched view."""
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: let Flask answer 404/405
        return None
    access = declared_access(current_app, endpoint)
    if access is None:
        abort(403)
    if access == PUBLIC:
        return None
    if not current_user.is_authenticated:
        if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.must_change_password and endpoint not in PASSWORD_CHANGE_ALLOWED:
        return redirect(url_for("auth.change_password"))
    if access == SIGNED_IN:
        return None
    if not current_user.has_role(*access):
        abort(403)
    return None
