"""Tier periods: the days on which each person counts toward a tier, kept beside the
certificates so that the reports count people with plain sums (see
:class:`lms.reports.models.TierPeriod`).

A certificate is valid on day ``d`` when :func:`lms.certificates.models.valid_on` says so:
issued by the end of ``d``, not revoked or superseded by then, not expired. In days (UTC,
like ``valid_on``) that is ``issued_at.date() <= d < end``, where ``end`` is the earliest of
the revocation day, the superseding day and the day after expiry. A person counts toward a
tier on every day on which at least one of their certificates of that tier is valid, under
the most recently issued of those certificates: its partner, district and employer kind are
where the person is counted, so that every breakdown of a tier's total adds up to it.

The periods of a person are rewritten whenever one of their certificates is added, changed or
deleted through the ORM (a session hook, :func:`install`), or by :func:`refresh_holders` for
bulk SQL writes (``lms demo --scale``, the migration that introduced them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.reports.models import TierPeriod

CHUNK = 500  # holders per statement, well under the bound-parameter limits


@dataclass(frozen=True)
class Held:
    """One certificate of a tier as the periods need it: its valid days ``[start, end)``."""

    certificate_id: int
    issued_at: datetime
    start: date
    end: date | None
    type_id: int
    partner_id: int | None
    district_id: int | None
    employer_kind: str | None


def _utc_day(moment: datetime) -> date:
    return (moment if moment.tzinfo is None else moment.astimezone(UTC)).date()


def valid_days(
    issued_at: datetime,
    revoked_at: datetime | None,
    superseded_at: datetime | None,
    expires_on: date | None,
) -> tuple[date, date | None] | None:
    """``(first day valid, first day no longer valid or None)``, or None if never valid."""
    start = _utc_day(issued_at)
    ends = [_utc_day(m) for m in (revoked_at, superseded_at) if m is not None]
    if expires_on is not None:
        ends.append(expires_on + timedelta(days=1))
    end = min(ends, default=None)
    if end is not None and end <= start:
        return None
    return start, end


def periods_of(held: Sequence[Held]) -> list[tuple[Held, date, date | None]]:
    """The periods of one person and tier: ``(counting certificate, starts_on, ends_before)``,
    in order, not overlapping, adjacent days under the same certificate merged."""
    bounds = sorted({h.start for h in held} | {h.end for h in held if h.end is not None})
    periods: list[tuple[Held, date, date | None]] = []
    for index, day in enumerate(bounds):
        following = bounds[index + 1] if index + 1 < len(bounds) else None
        covering = [h for h in held if h.start <= day and (h.end is None or h.end > day)]
        if not covering:
            continue
        best = max(covering, key=lambda h: (h.issued_at, h.certificate_id))
        if periods and periods[-1][0] is best and periods[-1][2] == day:
            periods[-1] = (best, periods[-1][1], following)
        else:
            periods.append((best, day, following))
    return periods


def _held_rows(connection: sa.Connection, holder_ids: Sequence[int]) -> list[Any]:
    from lms.certificates.models import Certificate, CertificateType

    return list(
        connection.execute(
            sa.select(
                Certificate.id,
                Certificate.holder_id,
                CertificateType.tier,
                Certificate.issued_at,
                Certificate.revoked_at,
                Certificate.superseded_at,
                Certificate.expires_on,
                Certificate.type_id,
                Certificate.partner_id,
                Certificate.district_id,
                Certificate.employer_kind,
            )
            .join(CertificateType, CertificateType.id == Certificate.type_id)
            .where(Certificate.holder_id.in_(holder_ids), CertificateType.tier.is_not(None))
        )
    )


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes (stored as UTC), PostgreSQL aware ones."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def refresh_holders(connection: sa.Connection, holder_ids: Iterable[int]) -> None:
    """Rewrite the periods of these people from their certificates."""
    ordered = sorted(set(holder_ids))
    for chunk in (ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)):
        grouped: dict[tuple[int, str], list[Held]] = {}
        for row in _held_rows(connection, chunk):
            issued_at = _utc(row.issued_at)
            assert issued_at is not None
            days = valid_days(
                issued_at, _utc(row.revoked_at), _utc(row.superseded_at), row.expires_on
            )
            if days is None:
                continue
            grouped.setdefault((row.holder_id, row.tier), []).append(
                Held(
                    row.id,
                    issued_at,
                    days[0],
                    days[1],
                    row.type_id,
                    row.partner_id,
                    row.district_id,
                    row.employer_kind,
                )
            )
        connection.execute(sa.delete(TierPeriod).where(TierPeriod.holder_id.in_(chunk)))
        rows = [
            {
                "holder_id": holder_id,
                "tier": tier,
                "certificate_id": h.certificate_id,
                "type_id": h.type_id,
                "partner_id": h.partner_id,
                "district_id": h.district_id,
                "employer_kind": h.employer_kind,
                "starts_on": starts_on,
                "ends_before": ends_before,
            }
            for (holder_id, tier), held in grouped.items()
            for h, starts_on, ends_before in periods_of(held)
        ]
        if rows:
            connection.execute(sa.insert(TierPeriod), rows)


def refresh_all(connection: sa.Connection) -> None:
    """Rewrite every period (after a migration, or to repair them)."""
    from lms.certificates.models import Certificate

    holders = connection.scalars(sa.select(Certificate.holder_id).distinct()).all()
    connection.execute(sa.delete(TierPeriod))
    refresh_holders(connection, holders)


def counted_on(day: date) -> sa.ColumnElement[bool]:
    """SQL for "this period counts on ``day``"."""
    return sa.and_(
        TierPeriod.starts_on <= day,
        sa.or_(TierPeriod.ends_before.is_(None), TierPeriod.ends_before > day),
    )


def _holders_touched(session: Session) -> set[int]:
    from lms.certificates.models import Certificate, CertificateType

    holders: set[int] = set()
    types: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Certificate) and obj.holder_id is not None:
            holders.add(obj.holder_id)
        elif (
            isinstance(obj, CertificateType)
            and obj.id is not None
            and sa.inspect(obj).attrs.tier.history.has_changes()
        ):
            types.add(obj.id)
    if types:
        holders.update(
            session.connection().scalars(
                sa.select(Certificate.holder_id).where(Certificate.type_id.in_(types)).distinct()
            )
        )
    return holders


def _after_flush(session: Session, _context: Any) -> None:
    holders = _holders_touched(session)
    if holders:
        refresh_holders(session.connection(), holders)


def install(session_class: Any) -> None:
    """Keep the periods in step with every ORM flush of certificates or their types."""
    if not sa.event.contains(session_class, "after_flush", _after_flush):
        sa.event.listen(session_class, "after_flush", _after_flush)
