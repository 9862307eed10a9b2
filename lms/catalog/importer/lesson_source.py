"""A lesson file: TOML front matter between two ``+++`` lines, then the Markdown body.

Reading gives a :class:`~lms.catalog.services.LessonContent` and the problems found, each
with its line in the ``.md`` file; writing gives back the same file (the exporter's format).
The body is normalised the same way in both directions (Unix line ends, no blank lines at
the start, one line end at the end), so that export then import compares equal.

The front matter may name the ``competencies`` the lesson evidences; they are not part of
the lesson's versioned content but links of the lesson (``lesson_competencies``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask_babel import gettext as _

from lms.catalog.importer import toml_text
from lms.catalog.importer.fields import Fields
from lms.catalog.services import MAX_MINUTES, MIN_MINUTES, LessonContent

FENCE = "+++"
KEYS = ("title", "title_en", "minutes", "objectives", "competencies")
COMPETENCY_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}")  # use with fullmatch
_FENCE_LINE = re.compile(r"^\+\+\+[ \t]*$")


@dataclass
class LessonSource:
    """What a lesson file holds: its content (None when unusable) and its problems."""

    content: LessonContent | None
    body_first_line: int = 1  # file line of the body's first line
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, message)
    competencies: list[tuple[str, int]] = field(default_factory=list)  # (code, file line)

    def line_of(self, needle: str) -> int:
        """The file line of the first body line containing ``needle`` (else the body's first)."""
        if self.content is not None:
            for i, line in enumerate(self.content.markdown.split("\n")):
                if needle in line:
                    return self.body_first_line + i
        return self.body_first_line


def normalise_markdown(text: str) -> str:
    """The body as stored: ``\\n`` line ends, no leading blank lines, one final line end."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.lstrip("\n").rstrip()
    return text + "\n" if text else ""


def same_content(a: LessonContent, b: LessonContent) -> bool:
    """Equal once the Markdown of both is normalised (browser edits may end differently)."""
    return (
        a.title == b.title
        and (a.title_en or "") == (b.title_en or "")
        and a.minutes == b.minutes
        and list(a.objectives) == list(b.objectives)
        and normalise_markdown(a.markdown) == normalise_markdown(b.markdown)
    )


def parse_lesson(text: str) -> LessonSource:
    """Parse a lesson file's text (without BOM); problems carry ``.md`` file lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if not lines or not _FENCE_LINE.match(lines[0]):
        return LessonSource(
            None,
            problems=[
                (
                    1,
                    _(
                        "a lesson must start with a front matter: a line +++, "
                        "the TOML fields (title, minutes, objectives), and another line +++"
                    ),
                )
            ],
        )
    close = next((i for i in range(1, len(lines)) if _FENCE_LINE.match(lines[i])), None)
    if close is None:
        return LessonSource(
            None, problems=[(1, _("the front matter is not closed: add a line +++ after it"))]
        )
    front = "\n".join(lines[1:close])
    rest = lines[close + 1 :]
    skipped = 0
    while skipped < len(rest) and not rest[skipped].strip():
        skipped += 1
    body_first_line = close + 2 + skipped
    markdown = normalise_markdown("\n".join(rest))
    problems: list[tuple[int, str]] = []

    data, error_line, error = toml_text.parse(front)
    if data is None:
        problems.append((error_line + 1, _("invalid TOML: %(error)s", error=error)))
        return LessonSource(None, body_first_line, problems)

    where = toml_text.TomlLines(front, first_line=2)
    fields = Fields(data, lambda key, message: problems.append((where.key(key), message)))
    fields.unknown(KEYS)
    title = fields.text("title")
    title_en = fields.text("title_en", required=False)
    minutes = fields.integer("minutes", MIN_MINUTES, MAX_MINUTES)
    objectives = fields.text_list("objectives", min_items=1)
    competencies = []
    for code in dict.fromkeys(fields.text_list("competencies", required=False)):
        line = where.value("competencies", code)
        if COMPETENCY_CODE.fullmatch(code):
            competencies.append((code, line))
        else:
            problems.append((line, _("%(code)s is not a competency code (A-Z 0-9 -)", code=code)))
    if not markdown:
        problems.append((close + 1, _("the lesson has no text after the front matter")))
    content = LessonContent(
        title=title,
        title_en=title_en,
        minutes=minutes or MIN_MINUTES,
        objectives=objectives,
        markdown=markdown,
    )
    return LessonSource(content, body_first_line, problems, competencies)


def write_lesson(content: LessonContent, competencies: Sequence[str] = ()) -> str:
    """The text of a lesson file for ``content`` and the codes of the competencies it
    evidences (the inverse of :func:`parse_lesson`)."""
    out = [FENCE, f"title = {toml_text.string(content.title)}"]
    if content.title_en:
        out.append(f"title_en = {toml_text.string(content.title_en)}")
    out.append(f"minutes = {int(content.minutes)}")
    out.append(f"objectives = {toml_text.string_list(list(content.objectives))}")
    if competencies:
        out.append(f"competencies = {toml_text.value(list(competencies))}")
    out.append(FENCE)
    out.append("")
    return "\n".join(out) + "\n" + normalise_markdown(content.markdown)
