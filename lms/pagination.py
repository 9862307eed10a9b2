"""One way to paginate a list page, shared by every feature."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, request
from flask_sqlalchemy.pagination import Pagination, SelectPagination

from lms.extensions import db

# Pages beyond this are empty anyway; a huge page number would overflow the SQL offset.
MAX_PAGE = 1_000_000


class _RowPagination(SelectPagination):
    """Flask-SQLAlchemy's pagination of a select, keeping whole rows instead of scalars."""

    def _query_items(self) -> list[Any]:
        stmt = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return list(self._query_args["session"].execute(stmt).all())


def paginate(stmt: sa.Select[Any], *, rows: bool = False) -> Pagination:
    """The page of ``stmt`` named by ``?page=`` (clamped to 1..MAX_PAGE), PAGE_SIZE items:
    the first column of each row, or whole rows with ``rows=True``."""
    page = request.args.get("page", 1, type=int) or 1
    options: dict[str, Any] = {
        "page": min(max(page, 1), MAX_PAGE),
        "per_page": current_app.config["PAGE_SIZE"],
        "error_out": False,
    }
    if rows:
        return _RowPagination(select=stmt, session=db.session, **options)
    return db.paginate(stmt, **options)
