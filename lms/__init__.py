"""lms: learning management for the early-childhood (0-3) care workforce."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints and the CLI.

    No side effects beyond reading configuration: no migrations, no network calls.
    """
    app = Flask(__name__, instance_relative_config=True)
    from lms import config

    config.load(app, test_config)
    if app.config["PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.url_map.converters["int"] = BoundedIntConverter
    register_extensions(app)
    register_blueprints(app)
    register_hooks(app)
    register_cli(app)
    from lms.certificates.system import check_harfbuzz_subsetting

    check_harfbuzz_subsetting(app)
    return app


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` limited to the database's integer range: larger ids are a 404, not a 500."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def register_extensions(app: Flask) -> None:
    from sqlalchemy.orm import Session

    from lms import i18n, models  # noqa: F401  (models: every table known to Alembic)
    from lms.auth.session import load_user
    from lms.db import end_read_only_requests
    from lms.extensions import babel, csrf, db, login_manager, migrate
    from lms.ratelimit import init_limiter
    from lms.reports import periods

    db.init_app(app)
    end_read_only_requests(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
    i18n.init_app(app)
    init_limiter(app)
    periods.install(Session)


def register_blueprints(app: Flask) -> None:
    from lms.assessments.grading_views import bp as grading_bp
    from lms.assessments.views import bp as quizzes_bp
    from lms.audit.views import bp as audit_bp
    from lms.auth.views import bp as auth_bp
    from lms.authoring.views import bp as authoring_bp
    from lms.catalog.views import bp as catalog_bp
    from lms.certificates.api import bp as certificates_api_bp
    from lms.certificates.badge_views import bp as badges_bp
    from lms.certificates.template_views import bp as certificate_templates_bp
    from lms.certificates.verify_views import bp as verify_bp
    from lms.certificates.views import bp as certificates_bp
    from lms.jobs import bp as jobs_bp
    from lms.learning.cohort_views import bp as cohorts_bp
    from lms.learning.programme_views import bp as programmes_bp
    from lms.learning.views import bp as learning_bp
    from lms.main.views import bp as main_bp
    from lms.orgs.views import bp as orgs_bp
    from lms.people.roster_views import bp as roster_bp
    from lms.people.views import bp as people_bp
    from lms.reports.api import bp as reports_api_bp
    from lms.reports.check_views import bp as report_checks_bp
    from lms.reports.export_views import bp as report_exports_bp
    from lms.reports.list_views import bp as report_lists_bp
    from lms.reports.target_views import bp as report_targets_bp
    from lms.reports.views import bp as reports_bp

    for bp in (
        main_bp,
        auth_bp,
        people_bp,
        roster_bp,
        orgs_bp,
        audit_bp,
        jobs_bp,
        catalog_bp,
        authoring_bp,
        programmes_bp,
        cohorts_bp,
        learning_bp,
        quizzes_bp,
        grading_bp,
        certificates_bp,
        certificate_templates_bp,
        verify_bp,
        certificates_api_bp,
        badges_bp,
        reports_api_bp,
        reports_bp,
        report_lists_bp,
        report_exports_bp,
        report_checks_bp,
        report_targets_bp,
    ):
        app.register_blueprint(bp)


def register_hooks(app: Flask) -> None:
    from lms.auth.access import enforce
    from lms.main.errors import register_error_handlers
    from lms.main.views import refuse_nul_bytes
    from lms.security import init_security

    app.before_request(refuse_nul_bytes)
    app.before_request(enforce)
    register_error_handlers(app)
    init_security(app)


def register_cli(app: Flask) -> None:
    from lms.cli import register

    register(app)
