"""Reading TOML with line numbers, and writing the small subset of TOML the course files use.

``tomllib`` reports syntax errors with a line but parses into plain dicts without positions,
so :class:`TomlLines` finds the line of a key (or of a value in a list) in the source text
for the messages about content; it understands top-level keys and ``[[array]]`` tables,
and sub-tables (``[modules.quizzes.quiz]``, ``[[practicals.criteria]]``), which is all
``course.toml``, ``programmes.toml`` and the lessons' front matter use.
"""

from __future__ import annotations

import math
import re
import tomllib
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _

_AT_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.-]+)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]")


def parse(text: str) -> tuple[dict[str, Any] | None, int, str]:
    """Parse TOML: (data, 0, "") or (None, line of the error, tomllib's message)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = _AT_LINE.search(message)
        if match:
            line = int(match.group(1))
        else:  # "(at end of document)"
            line = max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)
        return None, line, _AT_LINE.sub("", message).replace("(at end of document)", "").strip()
    if _has_nul(data):
        # Written as an escape (\u0000): the database cannot store it in text.
        lines = text.lower().split("\n")
        line = next((i for i, t in enumerate(lines, 1) if "\\u0000" in t), 1)
        return None, line, _("a string contains a NUL character (\\u0000), which is not allowed")
    return data, 0, ""


def _has_nul(value: Any) -> bool:
    """Whether a parsed TOML value holds a NUL character in any string or key."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class TomlLines:
    """Where things are in a TOML text, as 1-based line numbers of the enclosing file.

    ``first_line`` is the file line of the text's first line (the front matter of a lesson
    starts on line 2 of the ``.md`` file).
    """

    def __init__(self, text: str, first_line: int = 1) -> None:
        self.lines = text.splitlines()
        self.first_line = first_line
        # (table name or "", index within the array, first line index, end line index)
        self.sections: list[tuple[str, int, int, int]] = []
        counts: dict[str, int] = {}
        current, index, start = "", 0, 0
        for i, line in enumerate(self.lines):
            match = _HEADER.match(line) or _TABLE.match(line)
            if match:
                self.sections.append((current, index, start, i))
                current = match.group(1)
                index = counts.get(current, 0)
                counts[current] = index + 1
                start = i
        self.sections.append((current, index, start, len(self.lines)))

    def _span(self, table: str, index: int) -> tuple[int, int] | None:
        for name, i, start, end in self.sections:
            if name == table and i == index:
                return start, end
        return None

    def child(self, table: str, index: int, name: str, nth: int = 0) -> int | None:
        """The index (among all tables called ``name``) of the ``nth`` sub-table ``name`` of
        the ``index``-th ``[[table]]``, e.g. the criteria of one practical; None if absent."""
        span = self._span(table, index)
        if span is None:
            return None
        end = len(self.lines)
        for other, _i, start, _end in self.sections:
            if start > span[0] and not other.startswith(f"{table}."):
                end = start
                break
        found = [
            i for other, i, start, _e in self.sections if other == name and span[0] < start < end
        ]
        return found[nth] if nth < len(found) else None

    def table(self, table: str = "", index: int = 0) -> int:
        """The line of the ``[[table]]`` header (the first line for the top level)."""
        span = self._span(table, index)
        return self.first_line + (span[0] if span and table else 0)

    def key(self, key: str, table: str = "", index: int = 0) -> int:
        """The line where ``key = ...`` is written, else the table's header line."""
        span = self._span(table, index)
        if span is None:
            return self.first_line
        pattern = re.compile(
            rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*="""
        )
        for i in range(span[0], span[1]):
            if pattern.match(self.lines[i]):
                return self.first_line + i
        return self.table(table, index)

    def value(self, key: str, text: str, table: str = "", index: int = 0) -> int:
        """The line of the quoted string ``text`` in the value of ``key`` (a list may span
        several lines), else the key's line."""
        start = self.key(key, table, index) - self.first_line
        span = self._span(table, index)
        end = span[1] if span else len(self.lines)
        quoted = (f'"{text}"', f"'{text}'")
        for i in range(max(start, 0), end):
            if any(q in self.lines[i] for q in quoted):
                return self.first_line + i
            if i > start and re.match(r"^\s*[A-Za-z0-9_\"'-]+\s*=", self.lines[i]):
                break
        return self.first_line + start


# Writing -----------------------------------------------------------------------------------

_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _escape(text: str, keep_newlines: bool = False) -> str:
    out = []
    for char in text:
        if keep_newlines and char == "\n":
            out.append(char)
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def string(text: str, multiline: bool = False) -> str:
    """A TOML basic string; ``multiline`` writes text with line breaks between triple quotes."""
    if multiline and "\n" in text:
        return '"""\n' + _escape(text, keep_newlines=True) + '"""'
    return '"' + _escape(text) + '"'


def value(item: Any) -> str:
    """A TOML value for a str, bool, int, float, Decimal or list of those."""
    if isinstance(item, str):
        return string(item)
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, Decimal):
        return str(int(item)) if item == item.to_integral_value() else str(float(item))
    if isinstance(item, float) and math.isfinite(item):
        return str(int(item)) if item.is_integer() else repr(item)
    if isinstance(item, list | tuple):
        return "[" + ", ".join(value(i) for i in item) + "]"
    raise TypeError(f"cannot write {type(item).__name__} as TOML")


def string_list(items: list[str], indent: str = "  ") -> str:
    """A list of strings, one per line when there are several (easier to review in git)."""
    if len(items) <= 1:
        return value(items)
    return "[\n" + "".join(f"{indent}{string(i)},\n" for i in items) + "]"
