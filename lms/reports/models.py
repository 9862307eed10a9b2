"""Workforce targets: how many people each tier should count, city-wide or for a share."""

from __future__ import annotations

from datetime import datetime

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
