"""Lesson progress: when a trainee opened and finished a lesson, and how long they spent."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import UTCDateTime, utcnow
from lms.extensions import db


class LessonProgress(db.Model):
    """One row per person and lesson; ``completed_at`` is set once, by "mark complete".

    ``seconds_spent`` adds up the time the page was open (reported by the page, capped per
    visit); ``version_id`` is the version that was read when the lesson was completed.
    """

    __tablename__ = "lesson_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    lesson_id: Mapped[int] = mapped_column(
        sa.ForeignKey("lessons.id", ondelete="CASCADE"), index=True
    )
    first_opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    seconds_spent: Mapped[int] = mapped_column(default=0)
    version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("lesson_versions.id", ondelete="SET NULL")
    )

    __table_args__ = (
        sa.UniqueConstraint("user_id", "lesson_id"),
        sa.CheckConstraint("seconds_spent >= 0", name="seconds_spent"),
    )
