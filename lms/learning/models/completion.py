"""Completions of courses and programmes, and the competency evidence behind a profile."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db

if TYPE_CHECKING:
    from lms.auth.models import User
    from lms.catalog.models import Course
    from lms.learning.models.competency import Competency
    from lms.learning.models.programme import Programme


class CourseCompletion(db.Model):
    """A course completed by a person: when, the CE hours it earned, and the evidence.

    ``evidence`` is ``{"lessons": [[lesson_id, iso time], ...], "quizzes": [[quiz_id,
    attempt_id, percent], ...], "practicals": [[practical_id, result_id], ...]}``. The row is
    removed (and its CE entry with it) when a changed grade means the course is no longer
    complete; the audit log keeps that story.
    """

    __tablename__ = "course_completions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="RESTRICT"), index=True
    )
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    ce_hours: Mapped[Decimal] = mapped_column(sa.Numeric(5, 1), default=Decimal(0))
    evidence: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    user: Mapped[User] = relationship("User")
    course: Mapped[Course] = relationship("Course")

    __table_args__ = (
        sa.UniqueConstraint("user_id", "course_id"),
        # Completions per course and year (the training volume report), from the index alone.
        sa.Index("ix_course_completions_volume", "course_id", "completed_at"),
    )


class ProgrammeCompletion(db.Model):
    """A programme completed by a person; ``cycle`` is the year for annual programmes, else 0.

    ``evidence`` is ``{"courses": [[course_id, completion_id], ...], "ce_hours": "12.0",
    "practicals": [[practical_id, result_id], ...], "competencies": [code, ...]}``.
    """

    __tablename__ = "programme_completions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    programme_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programmes.id", ondelete="RESTRICT"), index=True
    )
    cycle: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    user: Mapped[User] = relationship("User")
    programme: Mapped[Programme] = relationship("Programme")

    __table_args__ = (
        sa.UniqueConstraint("user_id", "programme_id", "cycle"),
        # Completions per programme and year (the training volume report), from the index alone.
        sa.Index("ix_programme_completions_volume", "programme_id", "completed_at"),
    )


class EvidenceSource(StrEnum):
    LESSON = "lesson"  # source_id: lesson id
    QUIZ = "quiz"  # source_id: attempt id (a passed attempt, per quiz category)
    PRACTICAL = "practical"  # source_id: practical result id (a passed criterion)


class CompetencyEvidence(db.Model):
    """A competency shown by a person: by what (a lesson, a quiz attempt, a practical result)
    and when."""

    __tablename__ = "competency_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    competency_id: Mapped[int] = mapped_column(
        sa.ForeignKey("competencies.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(sa.String(16))
    source_id: Mapped[int] = mapped_column()
    evidenced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    competency: Mapped[Competency] = relationship("Competency")

    __table_args__ = (
        sa.UniqueConstraint("user_id", "competency_id", "source", "source_id"),
        sa.CheckConstraint("source IN ('lesson', 'quiz', 'practical')", name="source"),
        sa.Index(None, "source", "source_id"),
    )
