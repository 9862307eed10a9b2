"""Problems found in course files, each pointing at a file and a line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the course files: ``path:line: message``.

    ``path`` is shown as the user gave it (relative to the current directory when the command
    was given a relative path); ``line`` is 1-based.
    """

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class Problems:
    """A list of problems being collected, all of them, in one run."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, path: object, line: int, message: str) -> None:
        self.items.append(Problem(str(path), max(int(line), 1), str(message)))


class TreeInvalid(Exception):
    """The course files have problems; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the course files")
        self.problems = problems


@dataclass(frozen=True)
class Reference:
    """A code named in the files (a competency, a course, a practical) and where it is
    written, checked once everything is read against what the files and database hold."""

    code: str
    path: str
    line: int
