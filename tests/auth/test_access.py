"""Access is denied by default: every endpoint declares who may use it."""

from __future__ import annotations

from flask import Blueprint

from lms import create_app
from lms.auth.access import ACCESS_ATTR, declared_access
from tests.conftest import Client


def test_every_endpoint_declares_its_access(app):
    undeclared = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if declared_access(app, rule.endpoint) is None
    ]
    assert undeclared == []


def test_an_undeclared_view_is_refused(app):
    """A view that forgot its declaration answers 403 to everyone, before any sign-in check."""
    other = create_app(
        {key: app.config[key] for key in ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI")}
    )
    other.test_client_class = Client
    bp = Blueprint("forgotten", __name__)

    @bp.route("/forgotten-view")
    def forgotten() -> str:
        return "secret"

    other.register_blueprint(bp)
    assert not hasattr(forgotten, ACCESS_ATTR)
    assert other.test_client().get("/forgotten-view").status_code == 403
