"""Lesson and its versions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db

if TYPE_CHECKING:
    from lms.auth.models import User
    from lms.catalog.models.module import Module


class Lesson(db.Model):
    """A lesson of a module. Its content lives in versions; one of them is published.

    A lesson removed from the course files is archived, never deleted, so progress recorded
    against it stays.
    """

    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(sa.ForeignKey("modules.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(64))
    position: Mapped[int] = mapped_column(default=0)
    archived: Mapped[bool] = mapped_column(default=False)
    published_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("lesson_versions.id", use_alter=True, ondelete="SET NULL")
    )

    module: Mapped[Module] = relationship("Module", back_populates="lessons")
    published_version: Mapped[LessonVersion | None] = relationship(
        "LessonVersion", foreign_keys=[published_version_id], post_update=True
    )
    versions: Mapped[list[LessonVersion]] = relationship(
        "LessonVersion",
        back_populates="lesson",
        foreign_keys="LessonVersion.lesson_id",
        order_by="LessonVersion.number",
    )

    __table_args__ = (
        sa.UniqueConstraint("module_id", "key"),
        sa.Index(None, "module_id", "position"),
    )


class LessonVersion(db.Model):
    """One saved state of a lesson: its Markdown and the HTML rendered from it once, on save."""

    __tablename__ = "lesson_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200), default="")
    minutes: Mapped[int] = mapped_column(default=10)
    objectives: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    markdown: Mapped[str] = mapped_column(sa.Text)
    html: Mapped[str] = mapped_column(sa.Text)
    toc_html: Mapped[str] = mapped_column(sa.Text, default="")
    plain_text: Mapped[str] = mapped_column(sa.Text, default="")
    source_hash: Mapped[str] = mapped_column(sa.String(64))
    origin: Mapped[str] = mapped_column(sa.String(16), default="browser")
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    lesson: Mapped[Lesson] = relationship(
        "Lesson", back_populates="versions", foreign_keys=[lesson_id]
    )
    author: Mapped[User | None] = relationship("User")

    __table_args__ = (
        sa.UniqueConstraint("lesson_id", "number"),
        sa.CheckConstraint("origin IN ('files', 'browser')", name="origin"),
        sa.CheckConstraint("minutes BETWEEN 1 AND 600", name="minutes"),
    )

    def display_title(self, locale: str) -> str:
        return self.title_en if locale.startswith("en") and self.title_en else self.title
