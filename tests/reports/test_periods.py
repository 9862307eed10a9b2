"""Tier periods: the summary the reports count from agrees with the live rule
(:func:`lms.certificates.models.valid_on`) after issue, revoke, reissue, expiry and edits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from lms.certificates import issuing, lifecycle
from lms.certificates.models import Certificate, CertificateType, valid_on
from lms.db import utcnow
from lms.extensions import db
from lms.reports.models import TierPeriod
from lms.reports.periods import Held, counted_on, periods_of, refresh_all, valid_days

START = date(2024, 1, 1)


def live_counts(day: date) -> dict[str, int]:
    """People per tier with a valid certificate on ``day``, by the live rule."""
    stmt = (
        sa.select(CertificateType.tier, sa.func.count(sa.distinct(Certificate.holder_id)))
        .join(CertificateType, CertificateType.id == Certificate.type_id)
        .where(CertificateType.tier.is_not(None), valid_on(day))
        .group_by(CertificateType.tier)
    )
    return dict(db.session.execute(stmt).tuples().all())


def period_counts(day: date) -> dict[str, int]:
    stmt = (
        sa.select(TierPeriod.tier, sa.func.count()).where(counted_on(day)).group_by(TierPeriod.tier)
    )
    return dict(db.session.execute(stmt).tuples().all())


def assert_agree(first: date, last: date, step: int = 7) -> None:
    day = first
    while day <= last:
        assert period_counts(day) == live_counts(day), day
        day += timedelta(days=step)
    assert period_counts(last) == live_counts(last)


held_lists = st.lists(
    st.tuples(
        st.integers(0, 60),  # issued, days after START
        st.integers(0, 23),  # hour of issue
        st.one_of(st.none(), st.integers(0, 80)),  # expires, days after issue
        st.one_of(st.none(), st.integers(0, 80)),  # revoked, days after issue
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(held_lists)
def test_one_period_covers_each_valid_day_under_the_newest_valid_certificate(
    specs: list[tuple[int, int, int | None, int | None]],
) -> None:
    held = []
    for number, (issued, hour, expires, revoked) in enumerate(specs, start=1):
        issued_at = datetime.combine(START + timedelta(days=issued), datetime.min.time(), UTC)
        issued_at += timedelta(hours=hour)
        revoked_at = None if revoked is None else issued_at + timedelta(days=revoked)
        expires_on = None if expires is None else issued_at.date() + timedelta(days=expires)
        days = valid_days(issued_at, revoked_at, None, expires_on)
        if days is not None:
            held.append(Held(number, issued_at, *days, 1, None, None, None))
    periods = periods_of(held)
    for day in (START + timedelta(days=n) for n in range(-1, 150)):
        valid = [h for h in held if h.start <= day and (h.end is None or h.end > day)]
        covering = [p for p in periods if p[1] <= day and (p[2] is None or p[2] > day)]
        if not valid:
            assert covering == []
            continue
        assert len(covering) == 1
        newest = max(valid, key=lambda h: (h.issued_at, h.certificate_id))
        assert covering[0][0] is newest


def test_the_population_agrees_with_the_live_rule_every_week(
    population: dict[str, Any], today: date
) -> None:
    assert_agree(date(2021, 2, 1), today)


def test_revoking_reissuing_and_deleting_rewrite_the_periods(
    population: dict[str, Any], today: date, make_user: Any
) -> None:
    people = population["people"]
    talent = population["world"].certificate_type
    certificate = db.session.scalar(
        sa.select(Certificate).where(
            Certificate.holder_id == people["b"].id, Certificate.type_id == talent.id
        )
    )
    before = period_counts(today)["talent_pool"]
    lifecycle.revoke(make_user("hr").id, certificate.id, "发错了人")
    db.session.flush()
    assert period_counts(today)["talent_pool"] == before - 1
    assert_agree(today - timedelta(days=30), today, step=1)
    db.session.delete(certificate)
    db.session.flush()
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(TierPeriod.holder_id == people["b"].id))
        == 0
    )


def test_a_type_that_changes_tier_moves_its_holders(
    population: dict[str, Any], today: date
) -> None:
    lead = population["lead"]
    lead.tier = None
    db.session.flush()
    assert "lead_trainer" not in period_counts(today)
    assert_agree(today - timedelta(days=60), today, step=3)


def test_refresh_all_rebuilds_the_same_periods(population: dict[str, Any], today: date) -> None:
    def snapshot() -> list[tuple[Any, ...]]:
        rows = db.session.execute(
            sa.select(
                TierPeriod.holder_id,
                TierPeriod.tier,
                TierPeriod.certificate_id,
                TierPeriod.starts_on,
                TierPeriod.ends_before,
            ).order_by(TierPeriod.holder_id, TierPeriod.tier, TierPeriod.starts_on)
        )
        return [tuple(row) for row in rows]

    kept = snapshot()
    db.session.execute(sa.delete(TierPeriod))
    refresh_all(db.session.connection())
    assert snapshot() == kept
    assert len(kept) >= 6


def test_an_expired_certificate_stops_counting_the_day_after_expiry(
    population: dict[str, Any],
) -> None:
    # c's certificate: issued 2021-03-01, last valid day 2024-02-29.
    assert period_counts(date(2024, 2, 29)).get("talent_pool", 0) == live_counts(
        date(2024, 2, 29)
    ).get("talent_pool", 0)
    assert period_counts(date(2024, 3, 1)) == live_counts(date(2024, 3, 1))
    assert utcnow().date() > date(2024, 3, 1)


def test_the_repair_command_rewrites_the_periods(population: dict[str, Any], runner: Any) -> None:
    db.session.execute(sa.delete(TierPeriod))
    result = runner.invoke(args=["report", "refresh-periods"])
    assert result.exit_code == 0, result.output
    # a, b, c, d, f: one period each; e: two (the first certificate, then its reissue); a's
    # lead-trainer certificate: one.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TierPeriod)) == 8
    assert "8" in result.output
    assert period_counts(issuing.local_today()) == {"talent_pool": 4, "lead_trainer": 1}
