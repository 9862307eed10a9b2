"""Quiz: a module's GIFT file, stored as source and as parsed questions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import TimestampMixin
from lms.extensions import db

if TYPE_CHECKING:
    from lms.catalog.models.module import Module


class Quiz(TimestampMixin, db.Model):
    """A quiz of a module; ``questions`` is the parser's JSON (see lms.assessments.gift).

    The settings come from the module's ``[modules.quizzes.<file stem>]`` table in
    ``course.toml``: ``pass_mark`` in percent, ``max_attempts`` (0: unlimited),
    ``time_limit`` in minutes (None: none, enforced by the server), shuffling, ``draw`` (a
    random draw of ``[{"category": ..., "count": n}]``; empty: every question) and
    ``category_competencies`` (``{category: [competency codes]}``, evidenced by a pass).
    """

    __tablename__ = "quizzes"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(sa.ForeignKey("modules.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(200))
    position: Mapped[int] = mapped_column(default=0)
    source: Mapped[str] = mapped_column(sa.Text)
    source_hash: Mapped[str] = mapped_column(sa.String(64))
    questions: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    archived: Mapped[bool] = mapped_column(default=False)
    pass_mark: Mapped[int] = mapped_column(default=60)
    max_attempts: Mapped[int] = mapped_column(default=3)
    time_limit: Mapped[int | None] = mapped_column()
    shuffle_questions: Mapped[bool] = mapped_column(default=False)
    shuffle_answers: Mapped[bool] = mapped_column(default=True)
    draw: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    category_competencies: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    module: Mapped[Module] = relationship("Module", back_populates="quizzes")

    __table_args__ = (
        sa.UniqueConstraint("module_id", "key"),
        sa.CheckConstraint("pass_mark BETWEEN 0 AND 100", name="pass_mark"),
        sa.CheckConstraint("max_attempts >= 0", name="max_attempts"),
        sa.CheckConstraint("time_limit IS NULL OR time_limit > 0", name="time_limit"),
    )
