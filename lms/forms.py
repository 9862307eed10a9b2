"""Helpers shared by every feature's forms and views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize

from lms.extensions import db
from lms.validation import ValidationError

T = TypeVar("T")


def apply_errors(form: FlaskForm, error: ValidationError) -> None:
    """Show a service's ``ValidationError`` on the form fields it names.

    Messages for fields the form does not have, or for the whole form (key ``""``), go to
    ``form.form_errors`` which the form macro shows above the fields.
    """
    for name, message in error.errors.items():
        field = form._fields.get(name) if name else None
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)


def save(form: FlaskForm, action: Callable[[], T]) -> tuple[bool, T | None]:
    """Run a service call as the request's unit of work.

    Commits and returns ``(True, result)``; on ``ValidationError`` rolls everything back,
    shows the messages on ``form`` and returns ``(False, None)``, so nothing is half-saved.
    """
    try:
        result = action()
    except ValidationError as error:
        db.session.rollback()
        apply_errors(form, error)
        return False, None
    db.session.commit()
    return True, result


def form_status(*forms: FlaskForm) -> int:
    """422 when any form shows errors (on a field or on the whole form), else 200."""
    shows_errors = any(form.errors or getattr(form, "form_errors", None) for form in forms)
    return 422 if shows_errors else 200


def csv_file_field(label: Any, max_bytes: int) -> FileField:
    """A required upload of a CSV file (.csv or .txt) of at most ``max_bytes``."""
    return FileField(
        label,
        validators=[
            FileRequired(_l("Choose a file.")),
            FileAllowed(["csv", "txt"], _l("Choose a CSV file (.csv or .txt).")),
            FileSize(
                max_size=max_bytes,
                message=_l("The file is larger than %(n)d MB; split it.", n=max_bytes // 2**20),
            ),
        ],
        render_kw={"accept": ".csv,.txt,text/csv,text/plain"},
    )
