"""Error pages in the person's language, JSON for the API."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from lms.extensions import db


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood.")),
        401: (_("Please sign in"), _("You need to sign in to see this.")),
        403: (_("Not allowed"), _("You do not have permission to see this page.")),
        404: (_("Not found"), _("There is nothing at this address.")),
        405: (_("Not allowed"), _("This address does not accept that kind of request.")),
        413: (_("Too large"), _("The file or form you sent is too large.")),
        422: (_("Bad request"), _("The request could not be processed.")),
        429: (_("Too many requests"), _("Please wait a moment and try again.")),
        500: (_("Something went wrong"), _("An error on our side; it has been logged.")),
        503: (_("Unavailable"), _("The service is not available now; please try again.")),
    }


def render_error(code: int, detail: str | None = None) -> tuple[object, int]:
    title, message = _messages().get(code, (_("Error"), _("Something went wrong.")))
    if _wants_json():
        return {"error": title, "message": detail or message, "status": code}, code
    return render_template(
        "errors/error.html", code=code, title=title, message=detail or message
    ), code


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[object, int]:
        return render_error(
            400, _("The form has expired or was not sent from this site; reload and try again.")
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[object, int]:
        return render_error(error.code or 500)

    @app.errorhandler(500)
    def server_error(error: Exception) -> tuple[object, int]:
        """Unhandled exceptions (logged by Flask); the unit of work is rolled back."""
        db.session.rollback()
        return render_error(500)
