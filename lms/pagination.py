"""One way to paginate a list page, shared by every feature."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, request
from flask_sqlalchemy.pagination import Pagination

from lms.extensions import db

# Pages beyond this are empty anyway; a huge page number would overflow the SQL offset.
MAX_PAGE = 1_000_000


def paginate(stmt: sa.Select[Any]) -> Pagination:
    """The page of ``stmt`` named by ``?page=`` (clamped to 1..MAX_PAGE), PAGE_SIZE rows."""
    page = request.args.get("page", 1, type=int) or 1
    return db.paginate(
        stmt,
        page=min(max(page, 1), MAX_PAGE),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
