"""The settings of a module's quizzes: ``[modules.quizzes.<file stem>]`` in ``course.toml``.

Every setting is optional (the defaults are the model's). A draw or a competency map names
``$CATEGORY`` names of the quiz's GIFT file; they are checked against the parsed questions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from lms.catalog.importer.fields import Fields
from lms.catalog.importer.lesson_source import COMPETENCY_CODE
from lms.catalog.importer.problems import Problems, Reference

KEYS = (
    "pass_mark",
    "max_attempts",
    "time_limit",
    "shuffle_questions",
    "shuffle_answers",
    "draw",
    "competencies",
)
DRAW_KEYS = ("category", "count")
MAX_ATTEMPTS = 100
MAX_TIME_LIMIT = 600  # minutes


@dataclass
class QuizSettings:
    """A quiz's settings as stored on :class:`lms.catalog.models.Quiz` (defaults included)."""

    pass_mark: int = 60
    max_attempts: int = 3
    time_limit: int | None = None
    shuffle_questions: bool = False
    shuffle_answers: bool = True
    draw: list[dict[str, Any]] = field(default_factory=list)
    category_competencies: dict[str, list[str]] = field(default_factory=dict)

    def as_columns(self) -> dict[str, Any]:
        return {
            "pass_mark": self.pass_mark,
            "max_attempts": self.max_attempts,
            "time_limit": self.time_limit,
            "shuffle_questions": self.shuffle_questions,
            "shuffle_answers": self.shuffle_answers,
            "draw": self.draw,
            "category_competencies": self.category_competencies,
        }


DEFAULTS = QuizSettings().as_columns()


def category_sizes(questions: list[dict[str, Any]]) -> Counter[str]:
    """How many questions that can be drawn (descriptions cannot) each category holds."""
    return Counter(q.get("category", "") for q in questions if q.get("kind") != "description")


def read_quiz_settings(
    table: dict[str, Any],
    questions: list[dict[str, Any]] | None,
    path: Path,
    line: Callable[[str], int],
    value_line: Callable[[str, str], int],
    problems: Problems,
    references: list[Reference],
) -> QuizSettings:
    """Check one settings table; ``questions`` is None when the GIFT file itself is broken
    (the categories are then not checked). ``line(key)`` and ``value_line(key, text)`` give
    file lines; competency codes go to ``references``, checked once everything is read."""

    def report(key: str, message: str) -> None:
        problems.add(path, line(key), message)

    fields = Fields(table, report)
    fields.unknown(KEYS)
    settings = QuizSettings()
    pass_mark = fields.integer("pass_mark", 0, 100, required=False)
    max_attempts = fields.integer("max_attempts", 0, MAX_ATTEMPTS, required=False)
    settings.time_limit = fields.integer("time_limit", 1, MAX_TIME_LIMIT, required=False)
    settings.pass_mark = settings.pass_mark if pass_mark is None else pass_mark
    settings.max_attempts = settings.max_attempts if max_attempts is None else max_attempts
    settings.shuffle_questions = fields.boolean("shuffle_questions", False)
    settings.shuffle_answers = fields.boolean("shuffle_answers", True)
    sizes = category_sizes(questions) if questions is not None else None

    def known_category(key: str, name: str) -> bool:
        if sizes is None or name in sizes:
            return True
        problems.add(
            path,
            value_line(key, name),
            _(
                "the quiz has no category %(name)s (its $CATEGORY names: %(names)s)",
                name=name,
                names=", ".join(sorted(sizes)) or "-",
            ),
        )
        return False

    drawn: set[str] = set()
    for item in fields.tables("draw"):
        sub = Fields(item, report=lambda _key, message: report("draw", message))
        sub.unknown(DRAW_KEYS)
        category = sub.text("category", max_length=200)
        count = sub.integer("count", 1, 1000)
        if not category or count is None or not known_category("draw", category):
            continue
        if category in drawn:
            problems.add(
                path,
                value_line("draw", category),
                _("category %(name)s is drawn from twice", name=category),
            )
            continue
        drawn.add(category)
        if sizes is not None and count > sizes[category]:
            problems.add(
                path,
                value_line("draw", category),
                _(
                    "cannot draw %(count)d questions from category %(name)s: it has %(size)d",
                    count=count,
                    name=category,
                    size=sizes[category],
                ),
            )
            continue
        settings.draw.append({"category": category, "count": count})

    for category, codes in fields.table("competencies").items():
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            report(
                "competencies",
                _("the competencies of category %(name)s must be a list of codes", name=category),
            )
            continue
        if not known_category("competencies", category):
            continue
        wanted = []
        for code in dict.fromkeys(codes):
            where = value_line("competencies", code)
            if not COMPETENCY_CODE.fullmatch(code):
                problems.add(
                    path, where, _("%(code)s is not a competency code (A-Z 0-9 -)", code=code)
                )
                continue
            references.append(Reference(code, str(path), where))
            wanted.append(code)
        if wanted:
            settings.category_competencies[category] = wanted
    return settings
