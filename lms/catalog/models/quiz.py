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
    """A quiz of a module; ``questions`` is the parser's JSON (see lms.assessments.gift)."""

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

    module: Mapped[Module] = relationship("Module", back_populates="quizzes")

    __table_args__ = (sa.UniqueConstraint("module_id", "key"),)
