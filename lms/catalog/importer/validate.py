"""Checks of a read tree that need the database: prerequisites and their cycles.

A prerequisite may name a course of the tree or one already in the database (courses can be
imported one folder at a time). An unknown partner code is not a problem: on a fresh machine
the courses are imported before the organisations exist.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from lms.catalog.importer.problems import Problem, Problems
from lms.catalog.importer.reader import CourseSpec, Tree
from lms.catalog.models import Course, course_prerequisites
from lms.extensions import db


def _line(course: CourseSpec, code: str) -> int:
    return course.lines.value("prerequisites", code)


def database_problems(tree: Tree) -> list[Problem]:
    """Prerequisites naming no known course, requiring itself, or going round in a circle."""
    problems = Problems()
    in_tree = {c.code: c for c in tree.courses if c.code}
    wanted = {p for c in tree.courses for p in c.prerequisites} - in_tree.keys()
    known = set(in_tree)
    # ``lms courses check`` also works before ``lms db upgrade`` (the tree alone then counts).
    has_database = sa.inspect(db.session.connection()).has_table(Course.__tablename__)
    if wanted and has_database:
        known |= set(db.session.scalars(sa.select(Course.code).where(Course.code.in_(wanted))))
    for course in tree.courses:
        for code in course.prerequisites:
            if code == course.code:
                problems.add(
                    course.toml_file, _line(course, code), _("a course cannot require itself")
                )
            elif code not in known:
                problems.add(
                    course.toml_file,
                    _line(course, code),
                    _(
                        "prerequisite %(code)s is not a course (neither in these files nor "
                        "in the database)",
                        code=code,
                    ),
                )
    _cycles(tree, in_tree, problems, has_database)
    return problems.items


def _cycles(
    tree: Tree, in_tree: dict[str, CourseSpec], problems: Problems, has_database: bool
) -> None:
    """Report each circle of prerequisites once, at the first course of the tree in it.

    The graph is the database's prerequisites, with those of the tree's courses replaced by
    what the files say.
    """
    required = aliased(Course)
    graph: dict[str, set[str]] = {}
    rows = (
        db.session.execute(
            sa.select(Course.code, required.code)
            .join(course_prerequisites, course_prerequisites.c.course_id == Course.id)
            .join(required, required.id == course_prerequisites.c.required_id)
        )
        if has_database
        else []
    )
    for code, needs in rows:
        if code not in in_tree:
            graph.setdefault(code, set()).add(needs)
    for course in tree.courses:
        graph[course.code] = {p for p in course.prerequisites if p != course.code}

    reported: set[frozenset[str]] = set()
    for start in tree.courses:
        path = _find_cycle(graph, start.code)
        if path is None:
            continue
        members = frozenset(path)
        if members in reported:
            continue
        reported.add(members)
        problems.add(
            start.toml_file,
            _line(start, path[1]),
            _("prerequisites go round in a circle: %(cycle)s", cycle=" -> ".join(path)),
        )


def _find_cycle(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A path start -> ... -> start through the graph, or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None
