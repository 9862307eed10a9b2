"""Practical assessments of a course: the ``[[practicals]]`` tables of ``course.toml``.

A practical is a rubric: ``levels`` (its columns, points rising), ``[[practicals.criteria]]``
(its rows, each naming the competencies it evidences) and a pass rule (a total of at least
``pass_points`` and no criterion below ``min_points``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from lms.catalog.importer import toml_text
from lms.catalog.importer.fields import Fields
from lms.catalog.importer.lesson_source import COMPETENCY_CODE
from lms.catalog.importer.problems import Problems, Reference
from lms.catalog.services import KEY

KEYS = (
    "key",
    "title",
    "title_en",
    "instructions",
    "levels",
    "pass_points",
    "min_points",
    "criteria",
)
LEVEL_KEYS = ("points", "label", "label_en")
CRITERION_KEYS = ("key", "title", "title_en", "competencies")
MAX_LEVEL_POINTS = 100


@dataclass
class PracticalSpec:
    """One practical as read; the columns of :class:`lms.assessments.models.Practical`."""

    key: str
    title: str
    title_en: str
    instructions: str
    levels: list[dict[str, Any]]
    criteria: list[dict[str, Any]]
    pass_points: int
    min_points: int
    line: int = field(default=1, compare=False)  # of its [[practicals]] header

    @property
    def max_points(self) -> int:
        return max((level["points"] for level in self.levels), default=0) * len(self.criteria)


def read_practicals(
    tables: list[dict[str, Any]],
    path: Path,
    where: toml_text.TomlLines,
    problems: Problems,
    references: list[Reference],
) -> list[PracticalSpec]:
    """Check every ``[[practicals]]`` table; competency codes go to ``references``."""
    found: list[PracticalSpec] = []
    keys: set[str] = set()
    for index, table in enumerate(tables):
        practical = _read_practical(table, index, path, where, problems, references)
        if practical is None:
            continue
        if practical.key in keys:
            problems.add(
                path,
                where.key("key", "practicals", index),
                _("practical %(key)s is defined twice", key=practical.key),
            )
            continue
        keys.add(practical.key)
        found.append(practical)
    return found


def _read_practical(
    table: dict[str, Any],
    index: int,
    path: Path,
    where: toml_text.TomlLines,
    problems: Problems,
    references: list[Reference],
) -> PracticalSpec | None:
    def report(key: str, message: str) -> None:
        problems.add(path, where.key(key, "practicals", index), message)

    fields = Fields(table, report)
    fields.unknown(KEYS)
    key = fields.text(
        "key",
        max_length=64,
        pattern=KEY,
        pattern_hint=_("use lower-case letters, digits and dashes"),
    )
    title = fields.text("title")
    title_en = fields.text("title_en")
    instructions = fields.text("instructions", required=False, max_length=5000)
    levels = _levels(fields, report)
    criteria = _criteria(fields, index, path, where, problems, references)
    if table.get("criteria") == []:
        report("criteria", _("a practical needs at least one criterion"))
    elif "criteria" not in table:
        report("criteria", _("a practical needs at least one [[practicals.criteria]] table"))
    top = max((level["points"] for level in levels), default=0)
    maximum = top * len(criteria)
    pass_points = fields.integer("pass_points", 0, 100_000)
    min_points = fields.integer("min_points", 0, 100_000, required=False) or 0
    if pass_points is not None and levels and criteria and pass_points > maximum:
        report(
            "pass_points",
            _(
                "pass_points %(points)d is more than the maximum, %(max)d "
                "(%(criteria)d criteria at %(top)d points)",
                points=pass_points,
                max=maximum,
                criteria=len(criteria),
                top=top,
            ),
        )
    if levels and min_points > top:
        report(
            "min_points",
            _("min_points %(points)d is above the top level, %(top)d", points=min_points, top=top),
        )
    if not key or not KEY.fullmatch(key):
        return None
    return PracticalSpec(
        key=key,
        title=title,
        title_en=title_en,
        instructions=instructions,
        levels=levels,
        criteria=criteria,
        pass_points=pass_points or 0,
        min_points=min_points,
        line=where.table("practicals", index),
    )


def _levels(fields: Fields, report: Any) -> list[dict[str, Any]]:
    tables = fields.tables("levels", required=True)
    levels: list[dict[str, Any]] = []
    for item in tables:
        sub = Fields(item, report=lambda _key, message: report("levels", message))
        sub.unknown(LEVEL_KEYS)
        points = sub.integer("points", 0, MAX_LEVEL_POINTS)
        label = sub.text("label", max_length=100)
        label_en = sub.text("label_en", max_length=100)
        if points is not None:
            levels.append({"points": points, "label": label, "label_en": label_en})
    if tables and len(tables) < 2:
        report("levels", _("a rubric needs at least two levels"))
    points = [level["points"] for level in levels]
    if any(b <= a for a, b in pairwise(points)):
        report(
            "levels",
            _(
                "the levels' points must rise from one level to the next (%(points)s)",
                points=", ".join(str(p) for p in points),
            ),
        )
    return levels


def _criteria(
    fields: Fields,
    index: int,
    path: Path,
    where: toml_text.TomlLines,
    problems: Problems,
    references: list[Reference],
) -> list[dict[str, Any]]:
    criteria: list[dict[str, Any]] = []
    keys: set[str] = set()
    for nth, item in enumerate(fields.tables("criteria")):
        sub_index = where.child("practicals", index, "practicals.criteria", nth)

        def line(key: str, sub_index: int | None = sub_index) -> int:
            if sub_index is None:
                return where.key("criteria", "practicals", index)
            return where.key(key, "practicals.criteria", sub_index)

        def value_line(key: str, text: str, sub_index: int | None = sub_index) -> int:
            if sub_index is None:
                return where.value("criteria", text, "practicals", index)
            return where.value(key, text, "practicals.criteria", sub_index)

        sub = Fields(
            item, report=lambda key, message, line=line: problems.add(path, line(key), message)
        )
        sub.unknown(CRITERION_KEYS)
        key = sub.text(
            "key",
            max_length=64,
            pattern=KEY,
            pattern_hint=_("use lower-case letters, digits and dashes"),
        )
        title = sub.text("title")
        title_en = sub.text("title_en")
        codes = []
        for code in dict.fromkeys(sub.text_list("competencies", required=False)):
            at = value_line("competencies", code)
            if not COMPETENCY_CODE.fullmatch(code):
                problems.add(
                    path, at, _("%(code)s is not a competency code (A-Z 0-9 -)", code=code)
                )
                continue
            references.append(Reference(code, str(path), at))
            codes.append(code)
        if not key or not KEY.fullmatch(key):
            continue
        if key in keys:
            problems.add(path, line("key"), _("criterion %(key)s is listed twice", key=key))
            continue
        keys.add(key)
        criteria.append({"key": key, "title": title, "title_en": title_en, "competencies": codes})
    return criteria
