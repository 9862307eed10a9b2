"""The text of one GIFT question, with its escapes and the file lines it came from.

Helper of :mod:`lms.assessments.gift`. GIFT's control characters ``~ = # { } :`` lose their
meaning after a backslash, ``\\n`` is a line break and ``\\\\`` a backslash (Moodle's
``escapedchar_pre``). :class:`Source` keeps the escapes in ``raw`` while the structure is cut
apart, and resolves them only in the pieces it hands out, so ``\\~`` never splits an answer.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from itertools import pairwise

#: Text formats a ``[name]`` prefix may choose, as Moodle spells them (lower case).
TEXT_FORMATS = ("moodle", "html", "markdown", "plain")

_ESCAPE = re.compile(r"\\[\\:#={}~n]")
_FORMAT_PREFIX = re.compile(r"\[([a-z]+)\]")
_WORD_IN_BRACKETS = re.compile(r"\[([A-Za-z]+)\]")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


@cache
def _char_class(chars: str) -> re.Pattern[str]:
    return re.compile(f"[{re.escape(chars)}]")


def braces(line: str) -> str:
    """The unescaped ``{`` and ``}`` of one line, in order."""
    return "".join(char for char in _ESCAPE.sub("", line) if char in "{}")


def unescape(raw: str) -> str:
    """Resolve GIFT escapes: ``\\~`` is ``~``, ``\\n`` a line break, ``\\\\`` one backslash."""
    return _ESCAPE.sub(lambda m: "\n" if m.group()[1] == "n" else m.group()[1], raw)


def strip_format(text: str) -> tuple[str, str | None]:
    """Split a leading ``[html]``-style prefix off ``text``: (text, format or None).

    An unknown name in brackets stays in the text, as Moodle leaves it.
    """
    text = text.strip()
    match = _FORMAT_PREFIX.match(text)
    if match and match.group(1) in TEXT_FORMATS:
        return text[match.end() :].strip(), match.group(1)
    return text, None


def shorten(text: str, limit: int = 40) -> str:
    """``text`` on one line and at most ``limit`` characters long, to quote in a message."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def unknown_format(text: str) -> str | None:
    """The word of a ``[Word]`` prefix that looks like a text format but is not one."""
    match = _WORD_IN_BRACKETS.match(text.strip())
    if match and match.group(1) not in TEXT_FORMATS:
        return match.group(1)
    return None


def to_number(text: str) -> Decimal | None:
    """A number written with ASCII digits (``3.14``, ``-2``, ``1e3``) that fits a float.

    Decimal, so that sums and halves of what the author wrote are exact (3.141..3.142 is
    3.1415 +- 0.0005, not +- 0.000499999999999945). Python's ``float`` alone would also
    take ``nan``, ``inf``, ``1_000`` and full-width digits, none of which Moodle reads.
    """
    text = text.strip()
    if not _NUMBER.fullmatch(text) or not math.isfinite(number := float(text)):
        return None
    try:
        return Decimal(text)
    except ArithmeticError:  # an exponent beyond Decimal's range, such as 1e-99999999999999999999
        return Decimal(repr(number))


class Source:
    """A question's lines joined by ``\\n``; positions index ``raw`` and map back to lines."""

    def __init__(self, lines: list[tuple[int, str]]) -> None:
        self.raw = "\n".join(text for _, text in lines)
        self._starts: list[int] = []
        self._numbers: list[int] = []
        offset = 0
        for number, text in lines:
            self._starts.append(offset)
            self._numbers.append(number)
            offset += len(text) + 1
        # 1 for both characters of every escape: those never act as control characters.
        self._escaped = bytearray(len(self.raw))
        for match in _ESCAPE.finditer(self.raw):
            self._escaped[match.start()] = self._escaped[match.start() + 1] = 1

    @property
    def first_line(self) -> int:
        """The file line of the first character."""
        return self._numbers[0]

    def line(self, pos: int) -> int:
        """The file line of the character at ``pos``."""
        return self._numbers[max(0, bisect_right(self._starts, pos) - 1)]

    def find(self, chars: str, lo: int, hi: int | None = None) -> int:
        """The first unescaped occurrence of ``chars`` in ``raw[lo:hi]``, or -1."""
        hi = len(self.raw) if hi is None else hi
        pos = self.raw.find(chars, lo, hi)
        while pos != -1 and (self._escaped[pos] or self._escaped[pos + len(chars) - 1]):
            pos = self.raw.find(chars, pos + 1, hi)
        return pos

    def rfind(self, chars: str, lo: int, hi: int) -> int:
        """The last unescaped occurrence of ``chars`` in ``raw[lo:hi]``, or -1."""
        pos = self.raw.rfind(chars, lo, hi)
        while pos != -1 and any(self._escaped[pos : pos + len(chars)]):
            pos = self.raw.rfind(chars, lo, pos + len(chars) - 1)
        return pos

    def first_of(self, chars: str, lo: int, hi: int) -> int:
        """The position of the first unescaped character of ``chars`` in ``raw[lo:hi]``, or -1."""
        return next(self._positions(chars, lo, hi), -1)

    def split(self, markers: str, lo: int, hi: int) -> list[tuple[int, int]]:
        """Cut ``raw[lo:hi]`` before every unescaped marker character.

        Returns (start, end) spans: the first is the text before any marker (often empty),
        each other starts at its marker.
        """
        cuts = [lo, *self._positions(markers, lo, hi), hi]
        return list(pairwise(cuts))

    def _positions(self, chars: str, lo: int, hi: int) -> Iterator[int]:
        """Positions of the unescaped characters of ``chars`` in ``raw[lo:hi]``."""
        for match in _char_class(chars).finditer(self.raw, lo, hi):
            if not self._escaped[match.start()]:
                yield match.start()

    def text(self, lo: int, hi: int) -> str:
        """``raw[lo:hi]`` with its escapes resolved and outer white space removed."""
        return unescape(self.raw[lo:hi]).strip()

    def is_blank(self, lo: int, hi: int) -> bool:
        """Whether ``raw[lo:hi]`` is only white space."""
        return not self.raw[lo:hi].strip()
