"""Programme (培养项目): a pathway of courses and assessments that leads to a certificate."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import TimestampMixin
from lms.extensions import db

if TYPE_CHECKING:
    from lms.assessments.models import Practical
    from lms.catalog.models import Course


class Tier(StrEnum):
    """The workforce tiers the city counts."""

    TALENT_POOL = "talent_pool"
    LEAD_TRAINER = "lead_trainer"

    @property
    def label(self) -> str:
        return str(TIER_LABELS[self])


TIER_LABELS = {
    Tier.TALENT_POOL: _l("Talent pool (qualified professional)"),
    Tier.LEAD_TRAINER: _l("Lead trainer"),
}


class Cycle(StrEnum):
    """How often a programme is completed: once, or again every calendar year (CE)."""

    ONCE = "once"
    ANNUAL = "annual"


programme_practicals = sa.Table(
    "programme_practicals",
    db.metadata,
    sa.Column("programme_id", sa.ForeignKey("programmes.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("practical_id", sa.ForeignKey("practicals.id", ondelete="CASCADE"), primary_key=True),
)


class Programme(TimestampMixin, db.Model):
    """A programme: its courses, CE hours, practicals and competencies, and what it leads to.

    ``tier`` is the workforce tier its certificate counts towards (None for continuing
    education); ``requires_tier`` must be held before enrolling (the lead-trainer programme
    requires the talent pool). An ``annual`` programme is completed once per calendar year
    from the CE hours of that year.
    """

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200), default="")
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    summary_en: Mapped[str] = mapped_column(sa.Text, default="")
    track: Mapped[str] = mapped_column(sa.String(16), index=True)
    tier: Mapped[str | None] = mapped_column(sa.String(16), index=True)
    requires_tier: Mapped[str | None] = mapped_column(sa.String(16))
    cycle: Mapped[str] = mapped_column(sa.String(8), default=Cycle.ONCE)
    min_ce_hours: Mapped[Decimal] = mapped_column(sa.Numeric(6, 1), default=Decimal(0))
    min_electives: Mapped[int] = mapped_column(default=0)
    # Dimensions whose every (non-archived) competency must be evidenced, e.g. ["skills"].
    required_dimensions: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    certificate_title: Mapped[str] = mapped_column(sa.String(200), default="")
    certificate_title_en: Mapped[str] = mapped_column(sa.String(200), default="")
    archived: Mapped[bool] = mapped_column(default=False)
    # "files": from courses/programmes.toml, where ``source_hash`` is the hash of its entry
    # there when last imported, so that an import leaves browser edits alone unless the
    # entry in the file changed; "browser": created by an administrator.
    origin: Mapped[str] = mapped_column(sa.String(16), default="browser")
    source_hash: Mapped[str] = mapped_column(sa.String(64), default="")

    courses: Mapped[list[ProgrammeCourse]] = relationship(
        "ProgrammeCourse",
        back_populates="programme",
        order_by="ProgrammeCourse.position",
        cascade="all, delete-orphan",
    )
    practicals: Mapped[list[Practical]] = relationship("Practical", secondary=programme_practicals)

    __table_args__ = (
        sa.CheckConstraint("track IN ('pre_service', 'in_service', 'lead_trainer')", name="track"),
        sa.CheckConstraint("tier IS NULL OR tier IN ('talent_pool', 'lead_trainer')", name="tier"),
        sa.CheckConstraint(
            "requires_tier IS NULL OR requires_tier IN ('talent_pool', 'lead_trainer')",
            name="requires_tier",
        ),
        sa.CheckConstraint("cycle IN ('once', 'annual')", name="cycle"),
        sa.CheckConstraint("origin IN ('files', 'browser')", name="origin"),
        sa.CheckConstraint("min_ce_hours >= 0", name="min_ce_hours"),
        sa.CheckConstraint("min_electives >= 0", name="min_electives"),
    )

    @property
    def tier_label(self) -> str:
        return Tier(self.tier).label if self.tier else ""

    def display_title(self, locale: str) -> str:
        return self.title_en if locale.startswith("en") and self.title_en else self.title

    def display_summary(self, locale: str) -> str:
        return self.summary_en if locale.startswith("en") and self.summary_en else self.summary

    def display_certificate(self, locale: str) -> str:
        english = locale.startswith("en") and self.certificate_title_en
        return self.certificate_title_en if english else self.certificate_title

    def __repr__(self) -> str:
        return f"<Programme {self.code}>"


class ProgrammeCourse(db.Model):
    """A course of a programme, required or elective."""

    __tablename__ = "programme_courses"

    programme_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programmes.id", ondelete="CASCADE"), primary_key=True
    )
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    required: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    programme: Mapped[Programme] = relationship("Programme", back_populates="courses")
    course: Mapped[Course] = relationship("Course")
