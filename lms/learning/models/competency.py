"""Competencies of the professional standard, grouped in its three dimensions."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from lms.extensions import db


class Dimension(StrEnum):
    """Dimensions of the standard: 职业道德 (ethics), 职业知识 (knowledge), 职业技能 (skills)."""

    ETHICS = "ethics"
    KNOWLEDGE = "knowledge"
    SKILLS = "skills"

    @property
    def label(self) -> str:
        return str(DIMENSION_LABELS[self])


DIMENSION_LABELS = {
    Dimension.ETHICS: _l("Professional ethics"),
    Dimension.KNOWLEDGE: _l("Professional knowledge"),
    Dimension.SKILLS: _l("Professional skills"),
}


class Competency(db.Model):
    """One competency, e.g. ``K-DEV`` "knows the developmental milestones from 0 to 3".

    Defined in ``courses/programmes.toml``; one removed from the file is archived so that the
    evidence recorded against it stays readable.
    """

    __tablename__ = "competencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    dimension: Mapped[str] = mapped_column(sa.String(16), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200), default="")
    position: Mapped[int] = mapped_column(default=0)
    archived: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        sa.CheckConstraint("dimension IN ('ethics', 'knowledge', 'skills')", name="dimension"),
    )

    @property
    def dimension_label(self) -> str:
        return Dimension(self.dimension).label

    def display_title(self, locale: str) -> str:
        return self.title_en if locale.startswith("en") and self.title_en else self.title

    def __repr__(self) -> str:
        return f"<Competency {self.code}>"


lesson_competencies = sa.Table(
    "lesson_competencies",
    db.metadata,
    sa.Column("lesson_id", sa.ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "competency_id", sa.ForeignKey("competencies.id", ondelete="CASCADE"), primary_key=True
    ),
)
