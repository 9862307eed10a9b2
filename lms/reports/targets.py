"""The targets report: per tier, the people holding a valid certificate against the target.

"Valid" is :func:`lms.certificates.models.valid_on` on the day asked (issued by then, not
revoked, not superseded and not expired that day), the same rule as everywhere else. A tier
counts people, not certificates: a person with two valid certificates of a tier counts once,
under the most recently issued one (:mod:`lms.reports.periods`), and a lead trainer who also
holds the talent-pool certificate counts in both tiers. A partner's or a district's figure
counts the people whose counting certificate has that partner or district (recorded at
issue), so the shares add up to the city's figure. Everything is counted in SQL. The command
line (``lms report targets``), the API (``/api/v1/reports/targets``) and the dashboard all call
:func:`targets_report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from lms.extensions import db
from lms.learning.models import Tier
from lms.reports.models import PLAN_TARGETS, Target, TierPeriod
from lms.reports.periods import counted_on


@dataclass(frozen=True)
class Scope:
    """What a report covers: the whole city, one university partner, one district, or one
    partner's people in one district."""

    partner_id: int | None = None
    district_id: int | None = None


def target_for(tier: str, scope: Scope, year: int | None = None) -> int | None:
    """The target of a tier for a scope (a milestone when ``year`` is given); for the whole
    city without a row, the plan's figure; for a share without a row, None."""
    stmt = sa.select(Target.target).where(
        Target.tier == tier,
        Target.year.is_(None) if year is None else Target.year == year,
        Target.partner_id.is_(None)
        if scope.partner_id is None
        else Target.partner_id == scope.partner_id,
        Target.district_id.is_(None)
        if scope.district_id is None
        else Target.district_id == scope.district_id,
    )
    value = db.session.scalar(stmt)
    if value is None and year is None and scope == Scope():
        return PLAN_TARGETS[tier]
    return value


def _valid_holders(as_of: date, scope: Scope) -> sa.Select[Any]:
    """(tier, number of people) counted on ``as_of``, in one query over the periods."""
    stmt = (
        sa.select(TierPeriod.tier, sa.func.count())
        .where(counted_on(as_of))
        .group_by(TierPeriod.tier)
    )
    if scope.partner_id is not None:
        stmt = stmt.where(TierPeriod.partner_id == scope.partner_id)
    if scope.district_id is not None:
        stmt = stmt.where(TierPeriod.district_id == scope.district_id)
    return stmt


def _percent(valid: int, target: int | None) -> float | None:
    if not target:
        return None
    value = Decimal(valid * 100) / Decimal(target)
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def targets_report(as_of: date, scope: Scope | None = None) -> dict[str, Any]:
    """``{"as_of": "YYYY-MM-DD", "tiers": [{"tier", "target", "valid", "percent",
    "remaining", "milestone"}, ...]}`` for the talent pool and the lead trainers."""
    scope = scope or Scope()
    counts = dict(db.session.execute(_valid_holders(as_of, scope)).tuples().all())
    tiers = []
    for tier in (Tier.TALENT_POOL, Tier.LEAD_TRAINER):
        target = target_for(tier, scope)
        valid = int(counts.get(tier, 0))
        milestone = target_for(tier, scope, as_of.year)
        tiers.append(
            {
                "tier": str(tier),
                "target": target,
                "valid": valid,
                "percent": _percent(valid, target),
                "remaining": None if target is None else max(target - valid, 0),
                "milestone": None
                if milestone is None
                else {"year": as_of.year, "target": milestone},
            }
        )
    return {
        "as_of": as_of.isoformat(),
        "partner_id": scope.partner_id,
        "district_id": scope.district_id,
        "tiers": tiers,
    }
