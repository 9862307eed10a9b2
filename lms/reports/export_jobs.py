"""The ``reports.export`` job: a dashboard table or a drill-down list as a CSV or XLSX file.

:func:`plan_export` checks a request to export (the page calls it before queuing, the job
again when it runs, with the requesting person as they are then: someone whose scope changed
in between gets no figures they may no longer see). :func:`export` writes the file to
``FILES_DIR/exports/reports/<job id>.<format>``; a list is read in batches of
:data:`BATCH_SIZE` rows, in the page's order, reporting progress after each batch, so that a
list of any size is never held in memory. Running the job again writes the same file.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from lms.auth.models import User
from lms.auth.roles import Role
from lms.extensions import db
from lms.jobs import Job, JobContext, enqueue
from lms.reports.exports import FORMATS, WRITERS, export_path, file_names
from lms.reports.filters import ReportFilters, ScopeRefused, filters_from_args
from lms.reports.lists import ordered
from lms.reports.tables import LISTS, TABLES, Column
from lms.validation import ValidationError

JOB_KIND = "reports.export"
QUEUE = "bulk"
SOURCES = ("table", "list")
DIRECTIONS = ("asc", "desc")
BATCH_SIZE = 1000
# The modules that fill the registries TABLES and LISTS when imported.
REGISTRY_MODULES = ("lms.reports.dashboard", "lms.reports.lists")
# Share of the progress bar for reading the rows (saving the file takes the rest).
ROWS_DONE = 95


class ExportRefused(Exception):
    """The person who asked for the export may no longer see what it contains."""


@dataclass(frozen=True)
class ExportPlan:
    """A checked request to export: what, in which format, for which filters; for a list, its
    own arguments and the sort column (a key of ``ListSpec.sorts``) and direction."""

    source: str
    name: str
    fmt: str
    filters: ReportFilters
    params: dict[str, str] = field(default_factory=dict)
    sort: str | None = None
    descending: bool = False

    def args(self) -> dict[str, str]:
        """The query arguments of the page this export shows (stored with the job)."""
        args = self.filters.args() | self.params
        if self.sort is not None:
            args |= {"sort": self.sort, "dir": "desc" if self.descending else "asc"}
        return args


def load_registries() -> None:
    """Import the modules that register the dashboard tables and the lists."""
    for module in REGISTRY_MODULES:
        importlib.import_module(module)


def plan_export(
    source: str, name: str, fmt: str, args: Mapping[str, str], actor: User
) -> ExportPlan:
    """Check everything about an export before anything is queued or written.

    Raises ``ValidationError`` naming the argument (unknown source, name, format, sort; bad
    filters or list arguments) and :class:`ScopeRefused` for a partner or district ``actor``
    may not see."""
    load_registries()
    if source not in SOURCES:
        raise ValidationError({"source": _("Choose a dashboard table or a list to export.")})
    if fmt not in FORMATS:
        raise ValidationError({"format": _("Choose CSV or XLSX as the format.")})
    if name not in (TABLES if source == "table" else LISTS):
        raise ValidationError({"name": _("There is no report named %(name)s.", name=name)})
    filters = filters_from_args(args, actor)
    if source == "table":
        return ExportPlan(source, name, fmt, filters)
    spec = LISTS[name]
    params = {key: args[key] for key in spec.params if args.get(key)}
    spec.check(params)
    sort = args.get("sort") or None
    if sort is not None and sort not in spec.sorts():
        raise ValidationError({"sort": _("The list cannot be sorted by %(key)s.", key=sort)})
    direction = args.get("dir") or "asc"
    if direction not in DIRECTIONS:
        raise ValidationError({"dir": _("Sort up (asc) or down (desc).")})
    return ExportPlan(source, name, fmt, filters, params, sort, direction == "desc")


def start_export(plan: ExportPlan, actor_id: int) -> Job:
    """Queue the export (commits the job record, see :func:`lms.jobs.enqueue`)."""
    return enqueue(
        JOB_KIND,
        plan.source,
        plan.name,
        plan.fmt,
        plan.args(),
        actor_id,
        requested_by_id=actor_id,
        queue=QUEUE,
    )


def export(
    ctx: JobContext, source: str, name: str, fmt: str, args: dict[str, str], user_id: int
) -> dict[str, Any]:
    """Write the file; returns ``{"rows", "filename", "ascii_filename", "format", "title",
    "source", "name", "args"}`` and sets the job's ``result_ref`` (the file, relative to
    ``FILES_DIR``). Fails with a message when the person may no longer see the figures."""
    plan = _recheck(source, name, fmt, args, user_id)
    if plan.source == "table":
        title, columns, rows = _table(plan)
    else:
        title, columns, rows = _list(ctx, plan)
    path = export_path(ctx.job.id, plan.fmt)
    written = WRITERS[plan.fmt](path, title, columns, rows)
    ascii_name, utf8_name = file_names(
        title, plan.filters.as_of, plan.fmt, f"{plan.source}-{plan.name}"
    )
    ctx.job.result_ref = str(path.relative_to(Path(current_app.config["FILES_DIR"])))
    ctx.job.message = ngettext("%(num)d row exported.", "%(num)d rows exported.", written)
    return {
        "rows": written,
        "filename": utf8_name,
        "ascii_filename": ascii_name,
        "format": plan.fmt,
        "title": title,
        "source": plan.source,
        "name": plan.name,
        "args": plan.args(),
    }


def _recheck(source: str, name: str, fmt: str, args: dict[str, str], user_id: int) -> ExportPlan:
    """The export's plan for the requesting person as they are now."""
    actor = db.session.get(User, user_id)
    if actor is None or not actor.active or not actor.has_role(Role.ADMIN, Role.COORDINATOR):
        raise ExportRefused(_("You may no longer export reports."))
    try:
        return plan_export(source, name, fmt, args, actor)
    except ScopeRefused as refused:
        raise ExportRefused(
            _("You may no longer see the figures of this partner or district.")
        ) from refused


def _table(plan: ExportPlan) -> tuple[str, list[Column], Iterator[list[Any]]]:
    """A dashboard table: its rows, then its total row."""
    table = TABLES[plan.name](plan.filters)
    rows = [*table.rows, *([table.total] if table.total is not None else [])]
    values = ([row.cells.get(column.key) for column in table.columns] for row in rows)
    return table.title, table.columns, values


def _list(ctx: JobContext, plan: ExportPlan) -> tuple[str, list[Column], Iterator[list[Any]]]:
    """A drill-down list in the page's order (sort column, then the row ids, which make the
    order total: needed to read it in batches), read in batches with progress."""
    spec = LISTS[plan.name]
    columns = spec.columns()
    stmt = ordered(spec, spec.statement(plan.filters, plan.params), plan.sort, plan.descending)
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    )
    return spec.title(plan.params), columns, _batches(ctx, stmt, columns, total or 0)


def _batches(
    ctx: JobContext, stmt: sa.Select[Any], columns: Sequence[Column], total: int
) -> Iterator[list[Any]]:
    """The rows, :data:`BATCH_SIZE` per query, committing progress after each batch (a
    streaming cursor would not survive the commits)."""
    done = 0
    while True:
        batch = db.session.execute(stmt.limit(BATCH_SIZE).offset(done)).all()
        for row in batch:
            mapping = row._mapping
            yield [mapping.get(column.key) for column in columns]
        done += len(batch)
        ctx.progress(
            min(done * ROWS_DONE // max(total, 1), ROWS_DONE),
            _("Exported %(done)d of %(total)d rows…", done=done, total=max(total, done)),
        )
        if len(batch) < BATCH_SIZE:
            return
