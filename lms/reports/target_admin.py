"""Administering the workforce targets: the rows of :class:`~lms.reports.models.Target`, the
figures counted against them today, and their history in the audit log.

A tier's city-wide target without a row is the plan's figure (:data:`PLAN_TARGETS`); deleting
the city-wide row brings the plan's figure back. Every change is audited (``target.saved``,
``target.deleted``) with the row's tier, year, partner code, district code and target, so the
history reads without the row (which may be gone).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from lms.audit import queries as audit_queries
from lms.audit.models import AuditEntry
from lms.audit.services import record
from lms.auth.models import User
from lms.auth.roles import Role
from lms.extensions import db
from lms.learning.models import Tier
from lms.orgs.models import District, Organisation, OrgKind
from lms.reports.models import PLAN_TARGETS, Target, TierPeriod
from lms.reports.periods import counted_on
from lms.reports.targets import Scope, targets_report
from lms.validation import ValidationError

ENTITY = "target"
SAVED = "target.saved"
DELETED = "target.deleted"

FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_TARGET = 1_000_000

#: What an audit entry keeps of a target, in the order the history shows it.
SNAPSHOT_KEYS = ("tier", "year", "partner_code", "district_code", "target")


@dataclass(frozen=True)
class TargetData:
    """A target as entered: ``year`` None is the final target, ``partner_id`` or
    ``district_id`` (never both) make it a share."""

    tier: str
    year: int | None
    partner_id: int | None
    district_id: int | None
    target: int | None


# Saving and deleting ----------------------------------------------------------------------------


def _check(data: TargetData) -> None:
    """Refuse bad values, naming the field, before anything changes."""
    errors: dict[str, str] = {}
    if data.tier not in set(Tier):
        errors["tier"] = _("Choose a tier.")
    if data.year is not None and not FIRST_YEAR <= data.year <= LAST_YEAR:
        errors["year"] = _("Choose a year from %(min)s to %(max)s.", min=FIRST_YEAR, max=LAST_YEAR)
    if data.target is None or not 0 <= data.target <= MAX_TARGET:
        errors["target"] = _("Give a whole number from 0 to %(max)s.", max=MAX_TARGET)
    if data.partner_id is not None and data.district_id is not None:
        errors["partner_id"] = _("A share is for one university partner or one district, not both.")
    elif data.partner_id is not None and not _is_partner(data.partner_id):
        errors["partner_id"] = _("Choose a university partner.")
    elif data.district_id is not None and db.session.get(District, data.district_id) is None:
        errors["district_id"] = _("Choose a district.")
    if errors:
        raise ValidationError(errors)


def _is_partner(org_id: int) -> bool:
    org = db.session.get(Organisation, org_id)
    return org is not None and org.kind == OrgKind.UNIVERSITY


def _same_scope(data: TargetData) -> sa.ColumnElement[bool]:
    def same(column: Any, value: int | None) -> sa.ColumnElement[bool]:
        return column.is_(None) if value is None else column == value

    return sa.and_(
        Target.tier == data.tier,
        same(Target.year, data.year),
        same(Target.partner_id, data.partner_id),
        same(Target.district_id, data.district_id),
    )


def _duplicate() -> ValidationError:
    return ValidationError({"": _("A target for this tier, year and share already exists.")})


def snapshot(row: Target) -> dict[str, Any]:
    """What the audit log keeps of a row: codes rather than ids, so it reads after the row,
    the partner or the district is gone."""
    partner = db.session.get(Organisation, row.partner_id) if row.partner_id else None
    district = db.session.get(District, row.district_id) if row.district_id else None
    return {
        "tier": row.tier,
        "year": row.year,
        "partner_code": partner.code if partner else None,
        "district_code": district.code if district else None,
        "target": row.target,
    }


def save_target(actor_id: int | None, data: TargetData, row: Target | None = None) -> Target:
    """Create a target (``row`` None) or change ``row``; one ``target.saved`` entry.

    Raises ``ValidationError`` for bad values or when another row already has this tier,
    year and share (checked first, and again by the unique index inside a savepoint, for two
    administrators saving at once)."""
    _check(data)
    others = sa.select(Target.id).where(_same_scope(data))
    if row is not None:
        others = others.where(Target.id != row.id)
    if db.session.scalar(others.limit(1)) is not None:
        raise _duplicate()
    before = snapshot(row) if row is not None else None
    row = row if row is not None else Target()
    try:
        with db.session.begin_nested():
            row.tier, row.year, row.target = data.tier, data.year, data.target
            row.partner_id, row.district_id = data.partner_id, data.district_id
            row.updated_by_id = actor_id
            db.session.add(row)
    except IntegrityError as error:
        raise _duplicate() from error
    record(actor_id, SAVED, ENTITY, row.id, before=before, after=snapshot(row))
    return row


def delete_target(actor_id: int | None, row: Target) -> None:
    """Delete a target row (for the city-wide final target, the plan's figure applies again);
    one ``target.deleted`` entry with what the row held."""
    record(actor_id, DELETED, ENTITY, row.id, before=snapshot(row))
    db.session.delete(row)
    db.session.flush()


def partner_choices(row: Target | None = None) -> list[Organisation]:
    """The university partners a share may be for: the active ones, and the row's own."""
    keep = Organisation.active.is_(True)
    if row is not None and row.partner_id is not None:
        keep = sa.or_(keep, Organisation.id == row.partner_id)
    stmt = sa.select(Organisation).where(Organisation.kind == OrgKind.UNIVERSITY, keep)
    return list(db.session.scalars(stmt.order_by(Organisation.code)))


# The overview -----------------------------------------------------------------------------------


def partner_limit(actor: User) -> int | None:
    """The university partner a coordinator is limited to (None: the whole city)."""
    if actor.has_role(Role.ADMIN):
        return None
    return actor.scope_of(Role.COORDINATOR)


@dataclass
class TargetLine:
    """One target with the people counted today against it (``counted`` None: not shown to
    this viewer). ``row`` None is the plan's figure."""

    row: Target | None
    target: int
    counted: int | None
    year: int | None = None
    share_code: str | None = None
    share_name: str | None = None

    @property
    def percent(self) -> float | None:
        if self.counted is None or not self.target:
            return None
        value = Decimal(self.counted * 100) / Decimal(self.target)
        return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass
class TierTargets:
    """A tier's city-wide target, milestones and shares."""

    tier: Tier
    city: TargetLine
    milestones: list[TargetLine] = field(default_factory=list)
    partners: list[TargetLine] = field(default_factory=list)
    districts: list[TargetLine] = field(default_factory=list)


def _share_counts(column: Any, today: date, limit: int | None) -> dict[tuple[str, int], int]:
    """People counted today per (tier, partner or district), in one GROUP BY."""
    stmt = (
        sa.select(TierPeriod.tier, column, sa.func.count())
        .where(counted_on(today), column.is_not(None))
        .group_by(TierPeriod.tier, column)
    )
    if limit is not None:
        stmt = stmt.where(TierPeriod.partner_id == limit)
    return {(tier, key): n for tier, key, n in db.session.execute(stmt).tuples()}


def _rows(limit: int | None) -> list[tuple[Target, Any, Any]]:
    """Every target row this viewer may see, with its partner and district."""
    partner, district = aliased(Organisation), aliased(District)
    stmt = (
        sa.select(Target, partner, district)
        .outerjoin(partner, partner.id == Target.partner_id)
        .outerjoin(district, district.id == Target.district_id)
        .order_by(Target.tier, partner.code, district.code, Target.year.nulls_first())
    )
    if limit is not None:
        stmt = stmt.where(
            Target.district_id.is_(None),
            sa.or_(Target.partner_id.is_(None), Target.partner_id == limit),
        )
    return list(db.session.execute(stmt).tuples())


def overview(today: date, actor: User, locale: str) -> list[TierTargets]:
    """Per tier, what a viewer may see: the city's target and milestones (with today's city
    figure for a city-wide viewer), and the partner and district shares (a coordinator
    limited to a partner sees their partner's shares only)."""
    limit = partner_limit(actor)
    city = {t["tier"]: t for t in targets_report(today, Scope())["tiers"]} if limit is None else {}
    by_partner = _share_counts(TierPeriod.partner_id, today, limit)
    by_district = _share_counts(TierPeriod.district_id, today, limit) if limit is None else {}
    tiers = {
        tier: TierTargets(
            tier, TargetLine(None, PLAN_TARGETS[tier], city.get(tier, {}).get("valid"))
        )
        for tier in Tier
    }
    for row, partner, district in _rows(limit):
        group = tiers[Tier(row.tier)]
        if partner is not None:
            counted = by_partner.get((row.tier, partner.id), 0)
            line = TargetLine(row, row.target, counted, row.year)
            line.share_code, line.share_name = partner.code, partner.display_name(locale)
            group.partners.append(line)
        elif district is not None:
            counted = by_district.get((row.tier, district.id), 0)
            line = TargetLine(row, row.target, counted, row.year)
            line.share_code, line.share_name = district.code, district.display_name(locale)
            group.districts.append(line)
        else:
            line = TargetLine(row, row.target, group.city.counted, row.year)
            if row.year is None:
                group.city = line
            else:
                group.milestones.append(line)
    for group in tiers.values():
        group.milestones.sort(key=lambda line: line.year or 0)
    return list(tiers.values())


# History ----------------------------------------------------------------------------------------


def history_select(actor: User) -> sa.Select[tuple[AuditEntry]]:
    """The audit entries about targets, newest first (see
    :func:`lms.audit.queries.audit_select`); a coordinator limited to a partner gets those of
    the rows they may see."""
    stmt = audit_queries.audit_select(audit_queries.AuditFilters(entity_type=ENTITY))
    limit = partner_limit(actor)
    if limit is not None:
        visible = sa.select(Target.id).where(
            Target.district_id.is_(None),
            sa.or_(Target.partner_id.is_(None), Target.partner_id == limit),
        )
        stmt = stmt.where(AuditEntry.entity_id.in_(visible))
    return stmt


@dataclass
class HistoryItem:
    """An entry, which target it was about (tier, year, share as of that change) and what
    changed."""

    entry: AuditEntry
    about: dict[str, Any]
    changes: list[audit_queries.Change]


def _show(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if key == "tier" and value in set(Tier):
        return Tier(value).label
    return str(value)


def _changes(entry: AuditEntry) -> list[audit_queries.Change]:
    before, after = entry.before, entry.after
    keys = [k for k in SNAPSHOT_KEYS if k in (before or {}) or k in (after or {})]
    return [
        audit_queries.Change(
            label=audit_queries.field_label(key),
            before=None if before is None else _show(key, before.get(key)),
            after=None if after is None else _show(key, after.get(key)),
        )
        for key in keys
    ]


def _about(state: dict[str, Any]) -> dict[str, Any]:
    tier = state.get("tier")
    return {**state, "tier_label": _show("tier", tier) if tier else None}


def history(entries: Sequence[AuditEntry]) -> list[HistoryItem]:
    """A page of entries, ready to show. An update keeps only the values that changed, so
    which target it was about is replayed from that target's earlier entries (one query)."""
    ids = {e.entity_id for e in entries if e.entity_id is not None}
    states: dict[int, dict[str, Any]] = defaultdict(dict)
    about: dict[int, dict[str, Any]] = {}
    if ids:
        stmt = (
            sa.select(AuditEntry.id, AuditEntry.entity_id, AuditEntry.before, AuditEntry.after)
            .where(AuditEntry.entity_type == ENTITY, AuditEntry.entity_id.in_(ids))
            .order_by(AuditEntry.id)
        )
        for entry_id, entity_id, before, after in db.session.execute(stmt).tuples():
            state = states[entity_id]
            state.update(after if after is not None else before or {})
            about[entry_id] = dict(state)
    return [
        HistoryItem(
            entry=e,
            about=_about(about.get(e.id, {})),
            changes=_changes(e),
        )
        for e in entries
    ]
