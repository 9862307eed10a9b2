"""Practical assessments (技能考核): a rubric defined in the course, and observed results."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db

if TYPE_CHECKING:
    from lms.auth.models import User
    from lms.catalog.models import Course


class Practical(db.Model):
    """A skill demonstration an instructor observes, scored against a rubric.

    ``levels`` are the rubric's columns, ``[{"points": 0, "label": "未达到", "label_en":
    "Not yet"}, ...]`` in rising order; ``criteria`` its rows, ``[{"key": "steps", "title":
    ..., "title_en": ..., "competencies": ["S-HYG"]}, ...]``. The pass rule: a total of at
    least ``pass_points`` and no criterion below ``min_points``.
    """

    __tablename__ = "practicals"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200), default="")
    instructions: Mapped[str] = mapped_column(sa.Text, default="")
    levels: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    criteria: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    pass_points: Mapped[int] = mapped_column(default=0)
    min_points: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    archived: Mapped[bool] = mapped_column(default=False)

    course: Mapped[Course] = relationship("Course")

    __table_args__ = (sa.UniqueConstraint("course_id", "key"),)

    @property
    def max_points(self) -> int:
        top = max((int(level["points"]) for level in self.levels), default=0)
        return top * len(self.criteria)

    def display_title(self, locale: str) -> str:
        return self.title_en if locale.startswith("en") and self.title_en else self.title

    def __repr__(self) -> str:
        return f"<Practical {self.key}>"


class PracticalResult(db.Model):
    """One observation of a trainee by an assessor. Results are never edited: a correction or a
    reassessment is a new result, and the latest one counts.

    ``scores`` maps criterion keys to the points of the level observed; ``criterion_comments``
    maps criterion keys to remarks.
    """

    __tablename__ = "practical_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    practical_id: Mapped[int] = mapped_column(sa.ForeignKey("practicals.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assessor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    cohort_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cohorts.id", ondelete="SET NULL"))
    observed_on: Mapped[date] = mapped_column(sa.Date)
    scores: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    criterion_comments: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    comments: Mapped[str] = mapped_column(sa.Text, default="")
    total: Mapped[int] = mapped_column()
    max_total: Mapped[int] = mapped_column()
    passed: Mapped[bool] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    practical: Mapped[Practical] = relationship("Practical")
    user: Mapped[User] = relationship("User", foreign_keys=[user_id])
    assessor: Mapped[User] = relationship("User", foreign_keys=[assessor_id])

    __table_args__ = (sa.Index(None, "practical_id", "user_id", "id"),)
