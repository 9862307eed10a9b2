"""Module: an ordered part of a course."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.extensions import db

if TYPE_CHECKING:
    from lms.catalog.models.course import Course
    from lms.catalog.models.lesson import Lesson
    from lms.catalog.models.quiz import Quiz


class Module(db.Model):
    """A module of a course; ``key`` is its folder name in the course files."""

    __tablename__ = "modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200), default="")
    position: Mapped[int] = mapped_column(default=0)
    archived: Mapped[bool] = mapped_column(default=False)

    course: Mapped[Course] = relationship("Course", back_populates="modules")
    lessons: Mapped[list[Lesson]] = relationship(
        "Lesson", back_populates="module", order_by="Lesson.position"
    )
    quizzes: Mapped[list[Quiz]] = relationship(
        "Quiz", back_populates="module", order_by="Quiz.position"
    )

    __table_args__ = (
        sa.UniqueConstraint("course_id", "key"),
        sa.Index(None, "course_id", "position"),
    )

    def display_title(self, locale: str) -> str:
        return self.title_en if locale.startswith("en") and self.title_en else self.title
