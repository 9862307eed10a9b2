"""Course files (``courses/``) into the database: read, check, then apply, all or nothing.

- :mod:`.reader` reads a tree into plain dataclasses and collects every problem as
  ``path:line: message`` (:mod:`.lesson_source` for the lessons' front matter,
  :mod:`lms.catalog.files` for images, :mod:`lms.assessments.gift` for quizzes);
- :mod:`.validate` adds the checks that need the database (prerequisites);
- :mod:`lms.learning.programme_files` reads the ``programmes.toml`` of a full tree
  (competencies and programmes) and checks the codes that the files name;
- :mod:`.apply` writes a tree without problems into the database (flushes; the caller
  commits once), after the competencies and before the programmes
  (:mod:`lms.learning.programme_files_apply`).

The learning modules are imported inside the functions: they use this package's readers,
so importing them at the top would make a circle.
"""

from __future__ import annotations

from pathlib import Path

from lms.catalog.importer.apply import CourseOutcome, ImportResult, apply_tree
from lms.catalog.importer.problems import Problem, Problems, TreeInvalid
from lms.catalog.importer.reader import Tree, read_tree
from lms.catalog.importer.validate import database_problems

__all__ = [
    "CourseOutcome",
    "ImportResult",
    "Problem",
    "Tree",
    "TreeInvalid",
    "check_tree",
    "import_tree",
]


def check_tree(path: Path) -> Tree:
    """Read and check PATH without writing anything; ``tree.problems`` lists what is wrong.

    A full tree's ``programmes.toml`` (if there is one) is read into ``tree.programmes``.
    """
    from lms.learning.programme_files import read_programmes, reference_problems

    tree = read_tree(path)
    found = Problems()
    if tree.full:
        tree.programmes = read_programmes(path, found)
    reference_problems(tree.programmes, tree.courses, found)
    tree.problems.extend(found.items)
    tree.problems.extend(database_problems(tree))
    tree.problems.sort(key=lambda p: (p.path, p.line))  # stable: same line, found order
    return tree


def import_tree(path: Path, actor_id: int | None = None) -> ImportResult:
    """Check PATH and, when it has no problems, bring the database in line with it.

    Raises :class:`TreeInvalid` (having changed nothing) when there are problems. Flushes;
    the caller commits once.
    """
    from lms.learning.programme_files_apply import apply_competencies, apply_programmes

    tree = check_tree(path)
    if tree.problems:
        raise TreeInvalid(tree.problems)
    competencies = apply_competencies(tree.programmes, actor_id) if tree.programmes else None
    result = apply_tree(tree, actor_id)
    if tree.programmes:
        result.competencies = competencies
        result.programmes = apply_programmes(tree.programmes, actor_id)
    return result
