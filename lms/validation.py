"""The error services raise for bad input, which views turn into form errors."""

from __future__ import annotations


class ValidationError(Exception):
    """Bad input, with one message per field (``""`` for the whole form).

    Services raise it before changing anything, so nothing is half-saved.
    """

    def __init__(self, errors: dict[str, str] | str) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in self.errors.items()))
