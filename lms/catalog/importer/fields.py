"""Checking the values of a parsed TOML table, reporting each problem at its key's line."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from flask_babel import gettext as _

Report = Callable[[str, str], None]  # (key, message)


class Fields:
    """Typed access to a TOML table; every problem goes to ``report(key, message)``.

    Each getter returns a usable default after reporting, so checking carries on and finds
    every problem in one run.
    """

    def __init__(self, data: dict[str, Any], report: Report) -> None:
        self.data = data
        self.report = report

    def unknown(self, allowed: Iterable[str]) -> None:
        allowed = set(allowed)
        for key in self.data:
            if key not in allowed:
                self.report(
                    key,
                    _(
                        "unknown key %(key)s (expected one of: %(allowed)s)",
                        key=key,
                        allowed=", ".join(sorted(allowed)),
                    ),
                )

    def text(
        self,
        key: str,
        *,
        required: bool = True,
        max_length: int = 200,
        pattern: re.Pattern[str] | None = None,
        pattern_hint: str = "",
    ) -> str:
        if key not in self.data:
            if required:
                self.report(key, _("%(key)s is required", key=key))
            return ""
        value = self.data[key]
        if not isinstance(value, str):
            self.report(key, _("%(key)s must be a string in quotes", key=key))
            return ""
        if required and not value.strip():
            self.report(key, _("%(key)s must not be empty", key=key))
            return value
        if len(value) > max_length:
            self.report(
                key, _("%(key)s is longer than %(max)d characters", key=key, max=max_length)
            )
        if pattern is not None and not pattern.fullmatch(value):
            self.report(
                key, _("%(key)s %(value)s: %(hint)s", key=key, value=value, hint=pattern_hint)
            )
        return value

    def integer(self, key: str, low: int, high: int, *, required: bool = True) -> int | None:
        if key not in self.data:
            if required:
                self.report(key, _("%(key)s is required", key=key))
            return None
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.report(key, _("%(key)s must be a whole number", key=key))
            return None
        if not low <= value <= high:
            self.report(
                key,
                _("%(key)s must be between %(low)d and %(high)d", key=key, low=low, high=high),
            )
            return None
        return value

    def text_list(self, key: str, *, required: bool = True, min_items: int = 0) -> list[str]:
        if key not in self.data:
            if required:
                self.report(key, _("%(key)s is required", key=key))
            return []
        value = self.data[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.report(key, _("%(key)s must be a list of strings", key=key))
            return []
        if any(not v.strip() for v in value):
            self.report(key, _("%(key)s must not contain empty strings", key=key))
        if len(value) < min_items:
            self.report(key, _("%(key)s needs at least %(n)d item(s)", key=key, n=min_items))
        return list(value)

    def boolean(self, key: str, default: bool) -> bool:
        if key not in self.data:
            return default
        value = self.data[key]
        if not isinstance(value, bool):
            self.report(key, _("%(key)s must be true or false", key=key))
            return default
        return value

    def choice(self, key: str, choices: Iterable[str], *, required: bool = True) -> str | None:
        """A string out of ``choices``; None when missing (after reporting if required)."""
        choices = list(choices)
        value = self.text(key, required=required, max_length=32)
        if not value:
            return None
        if value not in choices:
            self.report(
                key,
                _(
                    "unknown %(key)s %(value)s (use %(choices)s)",
                    key=key,
                    value=value,
                    choices=", ".join(choices),
                ),
            )
            return None
        return value

    def tables(self, key: str, *, required: bool = False) -> list[dict[str, Any]]:
        """An array of tables (``[[key]]`` or a list of inline tables)."""
        if key not in self.data:
            if required:
                self.report(key, _("%(key)s is required", key=key))
            return []
        value = self.data[key]
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.report(key, _("%(key)s must be a list of tables", key=key))
            return []
        return value

    def table(self, key: str) -> dict[str, Any]:
        """A table (``[parent.key]`` or an inline table); empty when missing."""
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            self.report(key, _("%(key)s must be a table", key=key))
            return {}
        return value
