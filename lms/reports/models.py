"""Workforce targets: how many people each tier should count, city-wide or for a share."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import UTCDateTime, utcnow
from lms.extensions import db

#: The plan's targets, used for a tier without a city-wide row.
PLAN_TARGETS = {"talent_pool": 1000, "lead_trainer": 100}


class Target(db.Model):
    """A target for a tier: city-wide (no partner, no district), or a share for one university
    partner or one district; ``year`` None is the plan's final target, a year a milestone to
    reach by the end of that year. Changes are audited (``target.saved``)."""

    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    tier: Mapped[str] = mapped_column(sa.String(16))
    year: Mapped[int | None] = mapped_column()
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("districts.id"))
    target: Mapped[int] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (
        sa.CheckConstraint("tier IN ('talent_pool', 'lead_trainer')", name="tier"),
        sa.CheckConstraint("target >= 0", name="target"),
        sa.CheckConstraint("partner_id IS NULL OR district_id IS NULL", name="one_share"),
        sa.Index(
            "uq_targets_scope",
            "tier",
            sa.text("coalesce(year, 0)"),
            sa.text("coalesce(partner_id, 0)"),
            sa.text("coalesce(district_id, 0)"),
            unique=True,
        ),
    )


class TierPeriod(db.Model):
    """A stretch of days on which a person counts toward a tier, and the certificate they
    count under: derived from the certificates (:mod:`lms.reports.periods`) and rewritten
    whenever one of the person's certificates of that tier changes, so that the reports
    count people with plain sums instead of a per-person search.

    The periods of one person and tier never overlap; on each day they hold a valid
    certificate of the tier, exactly one period covers that day, and its certificate is the
    most recently issued of those valid that day. ``starts_on`` is the first day counted and
    ``ends_before`` the first day no longer counted (None: still counted, no end known). The
    partner, district and employer kind are the certificate's.
    """

    __tablename__ = "tier_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    tier: Mapped[str] = mapped_column(sa.String(16))
    certificate_id: Mapped[int] = mapped_column(
        sa.ForeignKey("certificates.id", ondelete="CASCADE"), index=True
    )
    type_id: Mapped[int] = mapped_column(sa.ForeignKey("certificate_types.id"))
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("districts.id"))
    employer_kind: Mapped[str | None] = mapped_column(sa.String(32))
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_before: Mapped[date | None] = mapped_column(sa.Date)

    __table_args__ = (
        sa.Index("ix_tier_periods_holder", "holder_id", "tier"),
        sa.Index("ix_tier_periods_days", "tier", "starts_on", "ends_before"),
        # A partner's or a district's reports read that share of the periods from these
        # alone (every column the dashboard groups by is in them: index-only scans).
        sa.Index(
            "ix_tier_periods_partner",
            "partner_id",
            "tier",
            "starts_on",
            "ends_before",
            "district_id",
            "employer_kind",
            "type_id",
        ),
        sa.Index(
            "ix_tier_periods_district",
            "district_id",
            "tier",
            "starts_on",
            "ends_before",
            "partner_id",
            "employer_kind",
            "type_id",
        ),
        sa.CheckConstraint("ends_before IS NULL OR ends_before > starts_on", name="days"),
    )
