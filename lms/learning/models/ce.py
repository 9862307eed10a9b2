"""The CE-hours ledger: hours per person and cycle, from course completions or recorded by HR."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db

if TYPE_CHECKING:
    from lms.auth.models import User
    from lms.catalog.models import Course


class CeKind(StrEnum):
    COURSE = "course"
    EXTERNAL = "external"

    @property
    def label(self) -> str:
        return str(CE_KIND_LABELS[self])


CE_KIND_LABELS = {
    CeKind.COURSE: _l("Course completed"),
    CeKind.EXTERNAL: _l("External training"),
}


class CeEntry(db.Model):
    """Hours credited to a person for a cycle (the calendar year of ``occurred_on``).

    A course entry belongs to its completion and goes with it; an external entry is recorded
    by an HR officer with a title and a reason.
    """

    __tablename__ = "ce_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    cycle: Mapped[int] = mapped_column()
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(5, 1))
    kind: Mapped[str] = mapped_column(sa.String(16))
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("courses.id"))
    completion_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("course_completions.id", ondelete="CASCADE"), unique=True
    )
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    occurred_on: Mapped[date] = mapped_column(sa.Date)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship("User", foreign_keys=[user_id])
    course: Mapped[Course | None] = relationship("Course")
    recorded_by: Mapped[User | None] = relationship("User", foreign_keys=[recorded_by_id])

    __table_args__ = (
        sa.CheckConstraint("hours > 0", name="hours"),
        sa.CheckConstraint("kind IN ('course', 'external')", name="kind"),
        sa.CheckConstraint(
            "(kind = 'course') = (completion_id IS NOT NULL)", name="course_has_completion"
        ),
        sa.Index(None, "user_id", "cycle"),
    )

    @property
    def kind_label(self) -> str:
        return CeKind(self.kind).label
