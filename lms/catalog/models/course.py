"""Course, its owners (instructors) and prerequisites."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import TimestampMixin
from lms.extensions import db

if TYPE_CHECKING:
    from lms.auth.models import User
    from lms.catalog.models.module import Module
    from lms.orgs.models import Organisation


class Track(StrEnum):
    PRE_SERVICE = "pre_service"
    IN_SERVICE = "in_service"
    LEAD_TRAINER = "lead_trainer"

    @property
    def label(self) -> str:
        return str(TRACK_LABELS[self])


TRACK_LABELS = {
    Track.PRE_SERVICE: _l("Pre-service"),
    Track.IN_SERVICE: _l("In-service (continuing education)"),
    Track.LEAD_TRAINER: _l("Lead trainer"),
}


class Level(StrEnum):
    FOUNDATION = "foundation"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"

    @property
    def label(self) -> str:
        return str(LEVEL_LABELS[self])


LEVEL_LABELS = {
    Level.FOUNDATION: _l("Foundation"),
    Level.INTERMEDIATE: _l("Intermediate"),
    Level.ADVANCED: _l("Advanced"),
}


class CourseStatus(StrEnum):
    DRAFT = "draft"  # being written in the browser, not in the catalogue
    PUBLISHED = "published"
    ARCHIVED = "archived"  # withdrawn (e.g. removed from courses/); records kept


course_owners = sa.Table(
    "course_owners",
    db.metadata,
    sa.Column("course_id", sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

course_prerequisites = sa.Table(
    "course_prerequisites",
    db.metadata,
    sa.Column("course_id", sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("required_id", sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
)


class Course(TimestampMixin, db.Model):
    """A course: from a folder in ``courses/`` (``origin="files"``) or written in the browser.

    ``partner_code`` names the delivering university partner by code rather than by key, so
    course files can be imported before the organisation is registered.
    """

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200), default="")
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    summary_en: Mapped[str] = mapped_column(sa.Text, default="")
    track: Mapped[str] = mapped_column(sa.String(16), index=True)
    level: Mapped[str] = mapped_column(sa.String(16), index=True)
    ce_hours: Mapped[Decimal] = mapped_column(sa.Numeric(5, 1), default=Decimal(0), index=True)
    partner_code: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=CourseStatus.DRAFT, index=True)
    origin: Mapped[str] = mapped_column(sa.String(16), default="browser")
    source_dir: Mapped[str | None] = mapped_column(sa.String(200))
    # Titles, summaries and the text of published lessons, for substring search.
    search_text: Mapped[str] = mapped_column(sa.Text, default="", deferred=True)

    partner: Mapped[Organisation | None] = relationship(
        "Organisation",
        primaryjoin="foreign(Course.partner_code) == Organisation.code",
        viewonly=True,
    )
    modules: Mapped[list[Module]] = relationship(
        "Module", back_populates="course", order_by="Module.position"
    )
    owners: Mapped[list[User]] = relationship("User", secondary=course_owners)
    prerequisites: Mapped[list[Course]] = relationship(
        "Course",
        secondary=course_prerequisites,
        primaryjoin="Course.id == course_prerequisites.c.course_id",
        secondaryjoin="Course.id == course_prerequisites.c.required_id",
    )

    __table_args__ = (
        sa.CheckConstraint("track IN ('pre_service', 'in_service', 'lead_trainer')", name="track"),
        sa.CheckConstraint("level IN ('foundation', 'intermediate', 'advanced')", name="level"),
        sa.CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        sa.CheckConstraint("origin IN ('files', 'browser')", name="origin"),
        sa.CheckConstraint("ce_hours >= 0", name="ce_hours"),
    )

    @property
    def track_label(self) -> str:
        return Track(self.track).label

    @property
    def level_label(self) -> str:
        return Level(self.level).label

    def display_title(self, locale: str) -> str:
        return self.title_en if locale.startswith("en") and self.title_en else self.title

    def display_summary(self, locale: str) -> str:
        return self.summary_en if locale.startswith("en") and self.summary_en else self.summary

    def is_owned_by(self, user: User) -> bool:
        return any(owner.id == user.id for owner in self.owners)

    def __repr__(self) -> str:
        return f"<Course {self.code}>"
