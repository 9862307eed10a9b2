"""Cohort (班级): one offering of a course or a programme, and the people enrolled in it."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import TimestampMixin, UTCDateTime, utcnow
from lms.extensions import db

if TYPE_CHECKING:
    from lms.auth.models import User
    from lms.catalog.models import Course
    from lms.learning.models.programme import Programme
    from lms.orgs.models import Organisation


class CohortStatus(StrEnum):
    """``open``: trainees may self-enrol (when the cohort allows it); ``closed``: only HR and
    coordinators enrol; ``archived``: finished, read-only."""

    OPEN = "open"
    CLOSED = "closed"
    ARCHIVED = "archived"

    @property
    def label(self) -> str:
        return str(COHORT_STATUS_LABELS[self])


COHORT_STATUS_LABELS = {
    CohortStatus.OPEN: _l("Open"),
    CohortStatus.CLOSED: _l("Closed"),
    CohortStatus.ARCHIVED: _l("Archived"),
}

cohort_instructors = sa.Table(
    "cohort_instructors",
    db.metadata,
    sa.Column("cohort_id", sa.ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Cohort(TimestampMixin, db.Model):
    """A dated offering of exactly one course or one programme, by a university partner.

    ``location`` is the centre or station where it meets; None with ``online`` set means it
    is taught online. ``capacity`` None means no limit.
    """

    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    course_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="RESTRICT"), index=True
    )
    programme_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("programmes.id", ondelete="RESTRICT"), index=True
    )
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    location_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    online: Mapped[bool] = mapped_column(default=False)
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)
    capacity: Mapped[int | None] = mapped_column()
    self_enrolment: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(16), default=CohortStatus.OPEN, index=True)

    course: Mapped[Course | None] = relationship("Course")
    programme: Mapped[Programme | None] = relationship("Programme")
    partner: Mapped[Organisation | None] = relationship("Organisation", foreign_keys=[partner_id])
    location: Mapped[Organisation | None] = relationship("Organisation", foreign_keys=[location_id])
    instructors: Mapped[list[User]] = relationship("User", secondary=cohort_instructors)
    enrolments: Mapped[list[Enrolment]] = relationship(
        "Enrolment", back_populates="cohort", order_by="Enrolment.id"
    )

    __table_args__ = (
        sa.CheckConstraint(
            "(course_id IS NULL) <> (programme_id IS NULL)", name="course_or_programme"
        ),
        sa.CheckConstraint("status IN ('open', 'closed', 'archived')", name="status"),
        sa.CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity"),
        sa.CheckConstraint("ends_on >= starts_on", name="dates"),
    )

    @property
    def status_label(self) -> str:
        return CohortStatus(self.status).label

    def is_taught_by(self, user: User) -> bool:
        return any(i.id == user.id for i in self.instructors)

    def __repr__(self) -> str:
        return f"<Cohort {self.code}>"


class EnrolmentStatus(StrEnum):
    ENROLLED = "enrolled"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return str(ENROLMENT_STATUS_LABELS[self])


ENROLMENT_STATUS_LABELS = {
    EnrolmentStatus.ENROLLED: _l("Enrolled"),
    EnrolmentStatus.WITHDRAWN: _l("Withdrawn"),
}


class EnrolmentSource(StrEnum):
    SELF = "self"
    STAFF = "staff"
    CSV = "csv"
    DEMO = "demo"


class Enrolment(db.Model):
    """A person in a cohort. A withdrawal is recorded on the row (who, when, why), never deleted;
    enrolling again reuses the row and the audit log keeps the history."""

    __tablename__ = "enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohorts.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=EnrolmentStatus.ENROLLED)
    source: Mapped[str] = mapped_column(sa.String(8), default=EnrolmentSource.STAFF)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    enrolled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    withdrawal_reason: Mapped[str] = mapped_column(sa.Text, default="")

    cohort: Mapped[Cohort] = relationship("Cohort", back_populates="enrolments")
    user: Mapped[User] = relationship("User", foreign_keys=[user_id])
    enrolled_by: Mapped[User | None] = relationship("User", foreign_keys=[enrolled_by_id])
    withdrawn_by: Mapped[User | None] = relationship("User", foreign_keys=[withdrawn_by_id])

    __table_args__ = (
        sa.UniqueConstraint("cohort_id", "user_id"),
        sa.CheckConstraint("status IN ('enrolled', 'withdrawn')", name="status"),
        sa.CheckConstraint("source IN ('self', 'staff', 'csv', 'demo')", name="source"),
        sa.Index(None, "cohort_id", "status"),
    )

    @property
    def active(self) -> bool:
        return self.status == EnrolmentStatus.ENROLLED

    @property
    def status_label(self) -> str:
        return EnrolmentStatus(self.status).label
