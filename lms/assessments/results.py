"""The practical result that counts: the latest one of each person on each practical.

Results are never edited (a correction is a new result), so "the latest" is the highest id.
Completion, the grading queue, the practical pages and the gradebook all read it from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from lms.assessments.models import PracticalResult
from lms.extensions import db

Ids = Iterable[int] | sa.Select[Any]


def latest_result_ids() -> sa.Subquery:
    """``(practical_id, user_id, result_id)``: the result that counts for each person."""
    return (
        sa.select(
            PracticalResult.practical_id,
            PracticalResult.user_id,
            sa.func.max(PracticalResult.id).label("result_id"),
        )
        .group_by(PracticalResult.practical_id, PracticalResult.user_id)
        .subquery("latest")
    )


def latest_results(user_ids: Ids, practical_ids: Ids) -> dict[tuple[int, int], PracticalResult]:
    """``{(user_id, practical_id): result}`` for these people and practicals, in one query
    (ids as lists or as a select of ids)."""
    users = user_ids if isinstance(user_ids, sa.Select) else list(user_ids)
    practicals = practical_ids if isinstance(practical_ids, sa.Select) else list(practical_ids)
    if (isinstance(users, list) and not users) or (isinstance(practicals, list) and not practicals):
        return {}
    latest = latest_result_ids()
    stmt = (
        sa.select(PracticalResult)
        .join(latest, latest.c.result_id == PracticalResult.id)
        .where(latest.c.user_id.in_(users), latest.c.practical_id.in_(practicals))
    )
    return {(r.user_id, r.practical_id): r for r in db.session.scalars(stmt)}
