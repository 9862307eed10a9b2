"""A person's competency profile: each competency of the standard, evidenced or not, when
first and by what.

Read from the ``CompetencyEvidence`` rows that :mod:`lms.learning.completion` keeps up to
date; nothing is computed here. Five queries whatever the size of the record: the
competencies, the person's evidence, and the lessons, quiz attempts and practical results
it names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import url_for

from lms.assessments.models import Practical, PracticalResult, QuizAttempt
from lms.catalog.models import Course, Lesson, LessonVersion, Module, Quiz
from lms.extensions import db
from lms.learning.models import Competency, CompetencyEvidence, Dimension, EvidenceSource


@dataclass(frozen=True)
class EvidenceItem:
    """One piece of evidence: its kind (lesson, quiz, practical), a title and a link."""

    source: str
    title: str
    title_en: str
    url: str | None
    evidenced_at: datetime

    def display_title(self, locale: str) -> str:
        return self.title_en if locale.startswith("en") and self.title_en else self.title


@dataclass
class CompetencyItem:
    competency: Competency
    evidence: list[EvidenceItem] = field(default_factory=list)

    @property
    def evidenced(self) -> bool:
        return bool(self.evidence)

    @property
    def first_evidenced_at(self) -> datetime | None:
        return min((e.evidenced_at for e in self.evidence), default=None)


@dataclass
class DimensionProfile:
    dimension: Dimension
    competencies: list[CompetencyItem] = field(default_factory=list)

    @property
    def evidenced_count(self) -> int:
        return sum(1 for c in self.competencies if c.evidenced)


def _sources(
    ids: dict[str, set[int]],
) -> dict[tuple[str, int], tuple[str, str, str | None]]:
    """(title, English title, link) of each lesson, quiz attempt and practical result."""
    found: dict[tuple[str, int], tuple[str, str, str | None]] = {}
    if ids[EvidenceSource.LESSON]:
        rows = db.session.execute(
            sa.select(Lesson.id, Course.code, LessonVersion.title, LessonVersion.title_en)
            .join(Module, Module.id == Lesson.module_id)
            .join(Course, Course.id == Module.course_id)
            .outerjoin(LessonVersion, LessonVersion.id == Lesson.published_version_id)
            .where(Lesson.id.in_(ids[EvidenceSource.LESSON]))
        )
        for lesson_id, code, title, title_en in rows.tuples():
            url = url_for("catalog.lesson", code=code, lesson_id=lesson_id) if title else None
            found[(EvidenceSource.LESSON, lesson_id)] = (title or code, title_en or "", url)
    if ids[EvidenceSource.QUIZ]:
        rows = db.session.execute(
            sa.select(QuizAttempt.id, Quiz.id, Quiz.title)
            .join(Quiz, Quiz.id == QuizAttempt.quiz_id)
            .where(QuizAttempt.id.in_(ids[EvidenceSource.QUIZ]))
        )
        for attempt_id, quiz_id, title in rows.tuples():
            url = url_for("quizzes.quiz", quiz_id=quiz_id)
            found[(EvidenceSource.QUIZ, attempt_id)] = (title, "", url)
    if ids[EvidenceSource.PRACTICAL]:
        rows = db.session.execute(
            sa.select(PracticalResult.id, Course.code, Practical.id, Practical.title)
            .add_columns(Practical.title_en)
            .join(Practical, Practical.id == PracticalResult.practical_id)
            .join(Course, Course.id == Practical.course_id)
            .where(PracticalResult.id.in_(ids[EvidenceSource.PRACTICAL]))
        )
        for result_id, code, practical_id, title, title_en in rows.tuples():
            url = url_for("catalog.course", code=code, _anchor=f"practical-{practical_id}")
            found[(EvidenceSource.PRACTICAL, result_id)] = (title, title_en, url)
    return found


def competency_profile(user_id: int) -> list[DimensionProfile]:
    """The three dimensions in order, each with its competencies and the person's evidence.

    Archived competencies are shown only where the person has evidence for them.
    """
    evidence = db.session.scalars(
        sa.select(CompetencyEvidence)
        .where(CompetencyEvidence.user_id == user_id)
        .order_by(CompetencyEvidence.evidenced_at, CompetencyEvidence.id)
    ).all()
    evidenced_ids = {e.competency_id for e in evidence}
    competencies = db.session.scalars(
        sa.select(Competency)
        .where(sa.or_(Competency.archived.is_(False), Competency.id.in_(evidenced_ids)))
        .order_by(Competency.position, Competency.code)
    ).all()
    ids: dict[str, set[int]] = {source: set() for source in EvidenceSource}
    for row in evidence:
        ids[row.source].add(row.source_id)
    sources = _sources(ids)
    items = {c.id: CompetencyItem(c) for c in competencies}
    for row in evidence:
        title, title_en, url = sources.get((row.source, row.source_id), ("", "", None))
        if row.competency_id in items:
            items[row.competency_id].evidence.append(
                EvidenceItem(row.source, title, title_en, url, row.evidenced_at)
            )
    profile = {dimension: DimensionProfile(dimension) for dimension in Dimension}
    for item in items.values():
        profile[Dimension(item.competency.dimension)].competencies.append(item)
    return list(profile.values())
