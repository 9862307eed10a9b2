"""``lms courses``: check, import and export the course files (see courses/README.md).

``check`` and ``import`` print every problem to stderr as ``path:line: message`` and exit 1
without writing anything; ``import`` then commits once, after everything was checked. Given
the whole folder, both also read ``programmes.toml`` (competencies and programmes).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from lms.catalog.exporter import ExportError, export_course, find_course
from lms.catalog.importer import (
    CourseOutcome,
    ImportResult,
    Problem,
    TreeInvalid,
    check_tree,
    import_tree,
)
from lms.extensions import db

courses_group = AppGroup("courses", help="Check, import and export the course files.")

PATH_ARGUMENT = click.Path(exists=True, file_okay=False, path_type=Path)


def _fail(problems: list[Problem]) -> None:
    db.session.rollback()
    for problem in problems:
        click.echo(str(problem), err=True)
    click.echo(
        _("%(n)d problem(s) found; nothing was changed.", n=len(problems)),
        err=True,
    )
    sys.exit(1)


@courses_group.command("check")
@click.argument("path", type=PATH_ARGUMENT)
def check_command(path: Path) -> None:
    """Check PATH (a folder of course folders, or one course folder) without writing."""
    tree = check_tree(path)
    db.session.rollback()
    if tree.problems:
        _fail(tree.problems)
    click.echo(
        _(
            "%(courses)d course(s), %(lessons)d lesson(s), %(quizzes)d quiz(zes): no problems.",
            courses=len(tree.courses),
            lessons=sum(c.lesson_count for c in tree.courses),
            quizzes=sum(len(m.quizzes) for c in tree.courses for m in c.modules),
        )
    )
    if tree.programmes is not None:
        click.echo(
            _(
                "programmes.toml: %(competencies)d competencies, %(programmes)d programme(s); "
                "%(practicals)d practical assessment(s) in the courses.",
                competencies=len(tree.programmes.competencies),
                programmes=len(tree.programmes.programmes),
                practicals=sum(len(c.practicals) for c in tree.courses),
            )
        )


def _describe(outcome: CourseOutcome) -> str:
    values = {
        "code": outcome.code,
        "lessons": outcome.lessons,
        "versions": outcome.new_versions,
        "archived": outcome.archived,
    }
    if outcome.state == "created":
        text = _(
            "%(code)s: created (%(lessons)d lessons, %(versions)d new versions, "
            "%(archived)d archived)",
            **values,
        )
    elif outcome.state == "updated":
        text = _(
            "%(code)s: updated (%(lessons)d lessons, %(versions)d new versions, "
            "%(archived)d archived)",
            **values,
        )
    else:
        text = _(
            "%(code)s: unchanged (%(lessons)d lessons, %(versions)d new versions, "
            "%(archived)d archived)",
            **values,
        )
    return text


def _describe_programme(code: str, state: str) -> str:
    if state == "created":
        return _("Programme %(code)s: created", code=code)
    if state == "updated":
        return _("Programme %(code)s: updated from programmes.toml", code=code)
    if state == "archived":
        return _("Programme %(code)s: archived (no longer in programmes.toml)", code=code)
    return _("Programme %(code)s: unchanged", code=code)


@courses_group.command("import")
@click.argument("path", type=PATH_ARGUMENT)
def import_command(path: Path) -> None:
    """Import PATH: all or nothing; importing the same files again changes nothing."""
    started = time.monotonic()
    try:
        result: ImportResult = import_tree(path)
    except TreeInvalid as invalid:
        _fail(invalid.problems)
    db.session.commit()
    for outcome in result.courses:
        click.echo(_describe(outcome))
    for code, source_dir in result.untouched:
        click.echo(
            _(
                "%(code)s: not in %(path)s (folder %(dir)s), left as it is",
                code=code,
                path=str(path),
                dir=source_dir or "-",
            )
        )
    if result.competencies is not None:
        click.echo(
            _(
                "Competencies: %(total)d (%(created)d created, %(updated)d updated, "
                "%(archived)d archived)",
                total=result.competencies.total,
                created=len(result.competencies.created),
                updated=len(result.competencies.updated),
                archived=len(result.competencies.archived),
            )
        )
    for programme in result.programmes:
        click.echo(_describe_programme(programme.code, programme.state))
    click.echo(
        _("Imported in %(seconds).1f s.", seconds=time.monotonic() - started),
        err=True,
    )


@courses_group.command("export")
@click.argument("code")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Replace the course folder if it exists.")
def export_command(code: str, path: Path, replace: bool) -> None:
    """Write course CODE into PATH/<folder> in the course file format."""
    course = find_course(code)
    if course is None:
        click.echo(_("No course has the code %(code)s.", code=code), err=True)
        sys.exit(1)
    try:
        result = export_course(course, path, replace=replace)
    except ExportError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    finally:
        db.session.rollback()
    click.echo(
        _(
            "%(code)s: written to %(path)s (%(lessons)d lessons, %(quizzes)d quizzes, "
            "%(images)d images)",
            code=code,
            path=str(result.folder),
            lessons=result.lessons,
            quizzes=result.quizzes,
            images=result.images,
        )
    )
    for name in result.drafts:
        click.echo(
            _(
                "%(lesson)s: never published; written from its latest draft "
                "(importing the folder will publish it)",
                lesson=name,
            ),
            err=True,
        )
    for name in result.skipped:
        click.echo(_("%(lesson)s: left out, it has no content yet", lesson=name), err=True)
