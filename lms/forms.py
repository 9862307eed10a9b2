"""Helpers shared by every feature's forms."""

from __future__ import annotations

from flask_wtf import FlaskForm

from lms.validation import ValidationError


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
