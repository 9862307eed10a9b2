"""A trainee's attempt at a quiz: the questions drawn for them, their answers, and the marks."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db

if TYPE_CHECKING:
    from lms.auth.models import User
    from lms.catalog.models import Quiz


class AttemptStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"

    @property
    def label(self) -> str:
        return str(ATTEMPT_STATUS_LABELS[self])


ATTEMPT_STATUS_LABELS = {
    AttemptStatus.IN_PROGRESS: _l("In progress"),
    AttemptStatus.SUBMITTED: _l("Submitted"),
}


class QuizAttempt(db.Model):
    """One attempt. ``questions`` is a snapshot of what this trainee was shown (drawn,
    shuffled), so later edits of the quiz file never change an attempt; ``responses`` is saved
    as the trainee goes; ``marks`` holds the mark and feedback of each question once
    submitted. ``pending_review`` stays true until an instructor has marked every essay.

    At most one attempt per person and quiz is in progress (a partial unique index), and
    submitting is a conditional update from ``in_progress``, so a double submit counts once.
    """

    __tablename__ = "quiz_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(sa.ForeignKey("quizzes.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(16), default=AttemptStatus.IN_PROGRESS)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    questions: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    responses: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    marks: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    score: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 3))
    max_score: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 3))
    percent: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))
    passed: Mapped[bool | None] = mapped_column()
    pending_review: Mapped[bool] = mapped_column(default=False, index=True)
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    graded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    quiz: Mapped[Quiz] = relationship("Quiz")
    user: Mapped[User] = relationship("User", foreign_keys=[user_id])
    graded_by: Mapped[User | None] = relationship("User", foreign_keys=[graded_by_id])

    __table_args__ = (
        sa.UniqueConstraint("quiz_id", "user_id", "number"),
        sa.Index(
            "uq_quiz_attempts_one_in_progress",
            "quiz_id",
            "user_id",
            unique=True,
            sqlite_where=sa.text("status = 'in_progress'"),
            postgresql_where=sa.text("status = 'in_progress'"),
        ),
        sa.CheckConstraint("status IN ('in_progress', 'submitted')", name="status"),
        sa.CheckConstraint("number >= 1", name="number"),
    )

    @property
    def status_label(self) -> str:
        return AttemptStatus(self.status).label

    @property
    def in_progress(self) -> bool:
        return self.status == AttemptStatus.IN_PROGRESS
