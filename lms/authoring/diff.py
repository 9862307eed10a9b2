"""A readable difference between two lesson versions.

The Markdown is compared line by line (a line of Chinese text is usually a whole paragraph,
so changed lines are also compared character by character to show the words that changed);
the front matter's fields are compared one by one. The result is plain data: the template
marks the changed parts with ``<ins>`` and ``<del>``, and Jinja escapes every piece of text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Literal

from flask_babel import lazy_gettext as _l

from lms.catalog.models import LessonVersion

CONTEXT_LINES = 3
# Lines longer than this are not compared character by character (it would be slow and noisy).
MAX_INLINE = 3000

Kind = Literal["equal", "insert", "delete", "gap"]

FIELD_LABELS = {
    "title": _l("Title"),
    "title_en": _l("Title (English)"),
    "minutes": _l("Minutes"),
    "objectives": _l("Objectives"),
}


@dataclass
class Segment:
    """A piece of a line; ``changed`` pieces are wrapped in ``<ins>`` or ``<del>``."""

    text: str
    changed: bool = False


@dataclass
class DiffLine:
    """One row of the diff table: a line kept, removed or added, or a gap of unchanged lines."""

    kind: Kind
    old_number: int | None = None
    new_number: int | None = None
    segments: list[Segment] = field(default_factory=list)
    skipped: int = 0  # for a gap: how many unchanged lines are not shown

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments)


@dataclass
class FieldChange:
    name: str
    old: Any
    new: Any

    @property
    def label(self) -> str:
        return str(FIELD_LABELS.get(self.name, self.name))


@dataclass
class VersionDiff:
    old_number: int | None
    new_number: int
    fields: list[FieldChange]
    lines: list[DiffLine]
    added: int
    removed: int

    @property
    def unchanged(self) -> bool:
        return not self.fields and not self.added and not self.removed


def _inline(old: str, new: str) -> tuple[list[Segment], list[Segment]]:
    """The two lines split into unchanged and changed pieces."""
    if len(old) > MAX_INLINE or len(new) > MAX_INLINE:
        return [Segment(old, True)], [Segment(new, True)]
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    if matcher.ratio() < 0.4:  # mostly rewritten: mark the whole lines
        return [Segment(old, True)], [Segment(new, True)]
    before: list[Segment] = []
    after: list[Segment] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            before.append(Segment(old[i1:i2]))
            after.append(Segment(new[j1:j2]))
            continue
        if i2 > i1:
            before.append(Segment(old[i1:i2], True))
        if j2 > j1:
            after.append(Segment(new[j1:j2], True))
    return before, after


def diff_lines(old: str, new: str, context: int = CONTEXT_LINES) -> list[DiffLine]:
    """The changed lines of ``new`` against ``old`` with ``context`` lines around each change."""
    a, b = old.splitlines(), new.splitlines()
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    rows: list[DiffLine] = []
    groups = list(matcher.get_grouped_opcodes(context))
    shown_to = 0  # index in ``a`` up to which rows exist
    for group in groups:
        first = group[0][1]
        if first > shown_to:
            rows.append(DiffLine("gap", skipped=first - shown_to))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for k in range(i2 - i1):
                    rows.append(DiffLine("equal", i1 + k + 1, j1 + k + 1, [Segment(a[i1 + k])]))
                continue
            removed = a[i1:i2]
            added = b[j1:j2]
            pairs = min(len(removed), len(added)) if tag == "replace" else 0
            old_parts: list[list[Segment]] = []
            new_parts: list[list[Segment]] = []
            for k in range(pairs):
                left, right = _inline(removed[k], added[k])
                old_parts.append(left)
                new_parts.append(right)
            old_parts += [[Segment(line, True)] for line in removed[pairs:]]
            new_parts += [[Segment(line, True)] for line in added[pairs:]]
            for k, parts in enumerate(old_parts):
                rows.append(DiffLine("delete", old_number=i1 + k + 1, segments=parts))
            for k, parts in enumerate(new_parts):
                rows.append(DiffLine("insert", new_number=j1 + k + 1, segments=parts))
        shown_to = group[-1][2]
    if groups and shown_to < len(a):
        rows.append(DiffLine("gap", skipped=len(a) - shown_to))
    return rows


def _fields(version: LessonVersion) -> dict[str, Any]:
    return {
        "title": version.title,
        "title_en": version.title_en,
        "minutes": version.minutes,
        "objectives": list(version.objectives or []),
    }


def compare(old: LessonVersion | None, new: LessonVersion) -> VersionDiff:
    """What changed from ``old`` (None: from nothing) to ``new``."""
    before = _fields(old) if old is not None else dict.fromkeys(FIELD_LABELS)
    after = _fields(new)
    changes = [FieldChange(k, before[k], after[k]) for k in FIELD_LABELS if before[k] != after[k]]
    lines = diff_lines(old.markdown if old is not None else "", new.markdown)
    return VersionDiff(
        old_number=old.number if old is not None else None,
        new_number=new.number,
        fields=changes,
        lines=lines,
        added=sum(1 for line in lines if line.kind == "insert"),
        removed=sum(1 for line in lines if line.kind == "delete"),
    )
