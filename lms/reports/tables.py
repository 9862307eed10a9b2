"""What the dashboard, the drill-down lists and the exports share: a table of figures with
a link behind each number, and the registries that name every table and list.

Dashboard tables are registered in :data:`TABLES` by :mod:`lms.reports.dashboard` and lists in
:data:`LISTS` by :mod:`lms.reports.lists`; the exports (:mod:`lms.reports.exports`) find
what to write there by name, so that a page and its export always show the same figures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import url_for

from lms.reports.filters import ReportFilters


@dataclass(frozen=True)
class Column:
    """A column: ``key`` in each row, a translated ``label``; ``numeric`` columns are
    right-aligned and written as numbers in spreadsheets."""

    key: str
    label: str
    numeric: bool = False


@dataclass
class Row:
    """One row: values by column key, and the URL of the list behind a number, by column key."""

    cells: dict[str, Any]
    links: dict[str, str] = field(default_factory=dict)


@dataclass
class ReportTable:
    """A dashboard table. ``total`` (if any) is the sum of the rows, shown last."""

    key: str
    title: str
    columns: list[Column]
    rows: list[Row]
    total: Row | None = None


@dataclass(frozen=True)
class ListSpec:
    """A drill-down list: the people or certificates behind a number.

    ``statement(filters, params)`` gives the rows (named like the columns, plus any ids the
    page needs for links), in the default order; ``params`` are the list's own arguments
    (``tier``, ``year``, ...), already checked by ``check(params)``, which raises
    ``ValidationError`` naming the argument. ``sorts`` maps a column key to the SQL to sort by.
    """

    name: str
    title: Callable[[Mapping[str, str]], str]
    columns: Callable[[], list[Column]]
    statement: Callable[[ReportFilters, Mapping[str, str]], sa.Select[Any]]
    params: tuple[str, ...]
    sorts: Callable[[], Mapping[str, Any]]
    check: Callable[[Mapping[str, str]], None] = lambda params: None


#: name -> a function building the dashboard table for the filters.
TABLES: dict[str, Callable[[ReportFilters], ReportTable]] = {}

#: name -> the drill-down list.
LISTS: dict[str, ListSpec] = {}


def list_url(name: str, filters: ReportFilters, **params: Any) -> str:
    """The URL of drill-down list ``name`` for the filters and the list's own arguments."""
    args = filters.args() | {k: str(v) for k, v in params.items() if v is not None}
    return url_for("report_lists.show", name=name, **args)
