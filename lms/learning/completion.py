"""Completion: turning a person's evidence into course and programme completions.

Evidence is what the person did: lessons marked complete, quiz attempts passed, practical
results. :func:`recompute_course` is called after each such event (and after a grade changes)
and brings everything derived from it up to date in the same unit of work:

- the competency evidence that the course's lessons, quiz categories and rubric criteria give;
- the :class:`CourseCompletion` and its CE ledger entry: created when every published lesson is
  done, every quiz passed and every practical's latest result passed; removed when a changed
  grade means an assessment no longer passes (a lesson added to the course later does not
  undo a completion);
- the programme completions, which follow from the course completions, CE hours, practicals,
  competencies and tiers (:func:`recompute_programmes`).

Functions here flush and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lms.assessments import results as practical_results
from lms.assessments.models import AttemptStatus, Practical, PracticalResult, QuizAttempt
from lms.audit.services import record
from lms.catalog.models import Course, Lesson, Module, Quiz
from lms.certificates.models import Certificate, CertificateType, valid_on
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import (
    CeEntry,
    CeKind,
    Competency,
    CompetencyEvidence,
    CourseCompletion,
    Cycle,
    Dimension,
    EvidenceSource,
    LessonProgress,
    Programme,
    ProgrammeCompletion,
    ProgrammeCourse,
    Tier,
    lesson_competencies,
    programme_practicals,
)


def current_cycle(today: date | None = None) -> int:
    """The CE cycle of a day: its calendar year."""
    return (today or utcnow().date()).year


@dataclass
class CourseParts:
    """What a course asks of a trainee: its published lessons in reading order, quizzes and
    practicals (archived ones, and those in archived modules, left out)."""

    lesson_ids: list[int] = field(default_factory=list)
    quiz_ids: list[int] = field(default_factory=list)
    practical_ids: list[int] = field(default_factory=list)


@dataclass
class CourseProgress:
    """How far a person is through a course."""

    lessons_total: int
    lessons_done: int
    quizzes_total: int
    quizzes_passed: int
    practicals_total: int
    practicals_passed: int
    next_lesson_id: int | None
    completion: CourseCompletion | None
    done_lesson_ids: set[int] = field(default_factory=set)
    passed_quiz_ids: set[int] = field(default_factory=set)
    latest_results: dict[int, PracticalResult] = field(default_factory=dict)

    @property
    def steps_total(self) -> int:
        return self.lessons_total + self.quizzes_total + self.practicals_total

    @property
    def steps_done(self) -> int:
        return self.lessons_done + self.quizzes_passed + self.practicals_passed

    @property
    def percent(self) -> int:
        if self.completion is not None:
            return 100
        if not self.steps_total:
            return 0
        return self.steps_done * 100 // self.steps_total

    @property
    def complete(self) -> bool:
        return self.completion is not None

    @property
    def requirements_met(self) -> bool:
        """Every lesson done and every assessment passed (a completion follows)."""
        return self.steps_done == self.steps_total and self.steps_total > 0

    @property
    def assessments_passed(self) -> bool:
        return (
            self.quizzes_passed == self.quizzes_total
            and self.practicals_passed == self.practicals_total
        )


def course_parts(course_ids: Sequence[int]) -> dict[int, CourseParts]:
    """The lessons, quizzes and practicals of each course, in three queries."""
    parts = {course_id: CourseParts() for course_id in course_ids}
    if not parts:
        return parts
    lessons = db.session.execute(
        sa.select(Lesson.id, Module.course_id)
        .join(Module, Module.id == Lesson.module_id)
        .where(
            Module.course_id.in_(parts),
            Module.archived.is_(False),
            Lesson.archived.is_(False),
            Lesson.published_version_id.is_not(None),
        )
        .order_by(Module.course_id, Module.position, Module.id, Lesson.position, Lesson.id)
    )
    for lesson_id, course_id in lessons:
        parts[course_id].lesson_ids.append(lesson_id)
    quizzes = db.session.execute(
        sa.select(Quiz.id, Module.course_id)
        .join(Module, Module.id == Quiz.module_id)
        .where(Module.course_id.in_(parts), Module.archived.is_(False), Quiz.archived.is_(False))
        .order_by(Module.position, Quiz.position, Quiz.id)
    )
    for quiz_id, course_id in quizzes:
        parts[course_id].quiz_ids.append(quiz_id)
    practicals = db.session.execute(
        sa.select(Practical.id, Practical.course_id)
        .where(Practical.course_id.in_(parts), Practical.archived.is_(False))
        .order_by(Practical.position, Practical.id)
    )
    for practical_id, course_id in practicals:
        parts[course_id].practical_ids.append(practical_id)
    return parts


def completed_lessons(user_id: int, lesson_ids: Iterable[int]) -> dict[int, datetime]:
    ids = list(lesson_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(LessonProgress.lesson_id, LessonProgress.completed_at).where(
            LessonProgress.user_id == user_id,
            LessonProgress.lesson_id.in_(ids),
            LessonProgress.completed_at.is_not(None),
        )
    )
    return dict(rows.tuples().all())


def passing_attempts(user_id: int, quiz_ids: Iterable[int]) -> dict[int, QuizAttempt]:
    """The first passed attempt of each quiz (the one that evidences it)."""
    ids = list(quiz_ids)
    if not ids:
        return {}
    attempts = db.session.scalars(
        sa.select(QuizAttempt)
        .where(
            QuizAttempt.user_id == user_id,
            QuizAttempt.quiz_id.in_(ids),
            QuizAttempt.status == AttemptStatus.SUBMITTED,
            QuizAttempt.passed.is_(True),
            QuizAttempt.pending_review.is_(False),
        )
        .order_by(QuizAttempt.id)
    )
    first: dict[int, QuizAttempt] = {}
    for attempt in attempts:
        first.setdefault(attempt.quiz_id, attempt)
    return first


def latest_results(user_id: int, practical_ids: Iterable[int]) -> dict[int, PracticalResult]:
    """The result that counts of ``user_id`` on each practical, by practical id."""
    found = practical_results.latest_results([user_id], practical_ids)
    return {practical_id: result for (_user, practical_id), result in found.items()}


def course_progress(
    user_id: int,
    course_ids: Sequence[int],
    *,
    parts: dict[int, CourseParts] | None = None,
    done: dict[int, datetime] | None = None,
) -> dict[int, CourseProgress]:
    """Progress of ``user_id`` in each course, in a fixed number of queries (fewer when the
    caller already has the courses' ``parts`` and the person's ``done`` lessons)."""
    if parts is None:
        parts = course_parts(course_ids)
    if done is None:
        done = completed_lessons(user_id, [i for p in parts.values() for i in p.lesson_ids])
    passed = passing_attempts(user_id, [i for p in parts.values() for i in p.quiz_ids])
    results = latest_results(user_id, [i for p in parts.values() for i in p.practical_ids])
    completions = {
        c.course_id: c
        for c in db.session.scalars(
            sa.select(CourseCompletion).where(
                CourseCompletion.user_id == user_id, CourseCompletion.course_id.in_(list(parts))
            )
        )
    }
    progress = {}
    for course_id, p in parts.items():
        progress[course_id] = CourseProgress(
            lessons_total=len(p.lesson_ids),
            lessons_done=sum(1 for i in p.lesson_ids if i in done),
            quizzes_total=len(p.quiz_ids),
            quizzes_passed=sum(1 for i in p.quiz_ids if i in passed),
            practicals_total=len(p.practical_ids),
            practicals_passed=sum(1 for i in p.practical_ids if i in results and results[i].passed),
            next_lesson_id=next((i for i in p.lesson_ids if i not in done), None),
            completion=completions.get(course_id),
            done_lesson_ids={i for i in p.lesson_ids if i in done},
            passed_quiz_ids={i for i in p.quiz_ids if i in passed},
            latest_results={i: results[i] for i in p.practical_ids if i in results},
        )
    return progress


def has_completed_course(user_id: int, course_id: int) -> bool:
    return course_id in completed_course_ids(user_id, [course_id])


def completed_course_ids(user_id: int, course_ids: Iterable[int]) -> set[int]:
    """Which of ``course_ids`` ``user_id`` has completed, in one query."""
    ids = list(course_ids)
    if not ids:
        return set()
    stmt = sa.select(CourseCompletion.course_id).where(
        CourseCompletion.user_id == user_id, CourseCompletion.course_id.in_(ids)
    )
    return set(db.session.scalars(stmt))


def holds_tier(user_id: int, tier: str) -> bool:
    """Whether ``user_id`` holds ``tier`` today: a valid certificate of a type of that tier
    (issued, not revoked, not superseded, not expired)."""
    stmt = (
        sa.select(Certificate.id)
        .join(CertificateType, CertificateType.id == Certificate.type_id)
        .where(
            Certificate.holder_id == user_id,
            CertificateType.tier == tier,
            valid_on(utcnow().date()),
        )
        .limit(1)
    )
    return db.session.scalar(stmt) is not None


def quiz_passed(user_id: int, quiz_id: int) -> bool:
    return bool(passing_attempts(user_id, [quiz_id]))


def latest_practical_result(user_id: int, practical_id: int) -> PracticalResult | None:
    return latest_results(user_id, [practical_id]).get(practical_id)


def ce_hours(user_id: int, cycle: int) -> Decimal:
    """The CE hours in ``user_id``'s ledger for ``cycle``."""
    stmt = sa.select(sa.func.coalesce(sa.func.sum(CeEntry.hours), 0)).where(
        CeEntry.user_id == user_id, CeEntry.cycle == cycle
    )
    return Decimal(db.session.scalar(stmt) or 0)


# --- Competency evidence -----------------------------------------------------------------


def _criterion_met(practical: Practical, points: Any) -> bool:
    try:
        value = int(points)
    except (TypeError, ValueError):
        return False
    return value >= max(practical.min_points, 1)


def _desired_evidence(
    user_id: int, parts: CourseParts, done: dict[int, datetime]
) -> set[tuple[str, str, int, datetime]]:
    """(competency code, source, source id, when) the course's evidence gives the person."""
    desired: set[tuple[str, str, int, datetime]] = set()
    if done:
        rows = db.session.execute(
            sa.select(lesson_competencies.c.lesson_id, Competency.code)
            .join(Competency, Competency.id == lesson_competencies.c.competency_id)
            .where(lesson_competencies.c.lesson_id.in_(list(done)))
        )
        for lesson_id, code in rows:
            desired.add((code, EvidenceSource.LESSON, lesson_id, done[lesson_id]))
    attempts = passing_attempts(user_id, parts.quiz_ids)
    if attempts:
        quizzes = {
            q.id: q for q in db.session.scalars(sa.select(Quiz).where(Quiz.id.in_(attempts)))
        }
        for quiz_id, attempt in attempts.items():
            categories = {q.get("category", "") for q in attempt.questions}
            mapping = quizzes[quiz_id].category_competencies or {}
            when = attempt.graded_at or attempt.submitted_at or attempt.started_at
            for category in categories:
                for code in mapping.get(category, []):
                    desired.add((code, EvidenceSource.QUIZ, attempt.id, when))
    for result in latest_results(user_id, parts.practical_ids).values():
        if not result.passed:
            continue
        for criterion in result.practical.criteria:
            if _criterion_met(result.practical, result.scores.get(criterion.get("key"))):
                for code in criterion.get("competencies", []):
                    desired.add((code, EvidenceSource.PRACTICAL, result.id, result.created_at))
    return desired


def _course_evidence_filter(parts: CourseParts, user_id: int) -> sa.ColumnElement[bool]:
    """Evidence rows that come from this course's lessons, quizzes and practicals."""
    attempts = sa.select(QuizAttempt.id).where(
        QuizAttempt.user_id == user_id, QuizAttempt.quiz_id.in_(parts.quiz_ids)
    )
    results = sa.select(PracticalResult.id).where(
        PracticalResult.user_id == user_id, PracticalResult.practical_id.in_(parts.practical_ids)
    )
    return sa.or_(
        sa.and_(
            CompetencyEvidence.source == EvidenceSource.LESSON,
            CompetencyEvidence.source_id.in_(parts.lesson_ids),
        ),
        sa.and_(
            CompetencyEvidence.source == EvidenceSource.QUIZ,
            CompetencyEvidence.source_id.in_(attempts),
        ),
        sa.and_(
            CompetencyEvidence.source == EvidenceSource.PRACTICAL,
            CompetencyEvidence.source_id.in_(results),
        ),
    )


def refresh_evidence(user_id: int, parts: CourseParts, done: dict[int, datetime]) -> bool:
    """Make the person's evidence from this course match what the course's records give;
    whether any evidence was added or removed."""
    desired = _desired_evidence(user_id, parts, done)
    codes = {code for code, *_ in desired}
    rows = db.session.execute(
        sa.select(Competency.code, Competency.id).where(Competency.code.in_(codes))
    )
    ids = dict(rows.tuples().all())
    wanted = {
        (ids[code], source, source_id): when
        for code, source, source_id, when in desired
        if code in ids
    }
    existing = db.session.scalars(
        sa.select(CompetencyEvidence).where(
            CompetencyEvidence.user_id == user_id, _course_evidence_filter(parts, user_id)
        )
    ).all()
    removed = False
    for row in existing:
        key = (row.competency_id, row.source, row.source_id)
        if key in wanted:
            del wanted[key]
        else:
            db.session.delete(row)
            removed = True
    for (competency_id, source, source_id), when in wanted.items():
        db.session.add(
            CompetencyEvidence(
                user_id=user_id,
                competency_id=competency_id,
                source=source,
                source_id=source_id,
                evidenced_at=when,
            )
        )
    db.session.flush()
    return removed or bool(wanted)


# --- Course completion -------------------------------------------------------------------


def _evidence_json(
    parts: CourseParts, done: dict[int, datetime], user_id: int
) -> dict[str, list[list[Any]]]:
    attempts = passing_attempts(user_id, parts.quiz_ids)
    results = latest_results(user_id, parts.practical_ids)
    return {
        "lessons": [[i, done[i].isoformat()] for i in parts.lesson_ids if i in done],
        "quizzes": [
            [quiz_id, attempts[quiz_id].id, str(attempts[quiz_id].percent)]
            for quiz_id in parts.quiz_ids
            if quiz_id in attempts
        ],
        "practicals": [
            [practical_id, results[practical_id].id]
            for practical_id in parts.practical_ids
            if practical_id in results
        ],
    }


def _create_course_completion(
    user_id: int, course: Course, evidence: dict[str, Any]
) -> CourseCompletion | None:
    """Insert the completion and its CE entry; None when a concurrent request did it first."""
    now = utcnow()
    try:
        with db.session.begin_nested():
            completion = CourseCompletion(
                user_id=user_id,
                course_id=course.id,
                completed_at=now,
                ce_hours=course.ce_hours,
                evidence=evidence,
            )
            db.session.add(completion)
            db.session.flush()
            if course.ce_hours > 0:
                db.session.add(
                    CeEntry(
                        user_id=user_id,
                        cycle=current_cycle(now.date()),
                        hours=course.ce_hours,
                        kind=CeKind.COURSE,
                        course_id=course.id,
                        completion_id=completion.id,
                        title=course.title,
                        occurred_on=now.date(),
                    )
                )
                db.session.flush()
    except IntegrityError:
        return None
    return completion


def recompute_course(
    user_id: int, course_id: int, *, actor_id: int | None = None, programmes: bool = False
) -> CourseCompletion | None:
    """Bring evidence, the course completion and the programme completions up to date.

    Call after a lesson is marked complete, a quiz attempt is submitted or marked, or a
    practical result is recorded. Returns the completion, if the course is complete.

    Programme completions read course completions, CE hours, practical results and
    competency evidence, so this recomputes: every programme when the course completion was
    created or removed, or when ``programmes`` asks for it (a practical result, which
    programmes read directly); only programmes with competency rules when just the evidence
    changed; none otherwise. Recomputing every programme on every lesson marked complete was
    most of the cost of "mark complete" under load.
    """
    course = db.session.get(Course, course_id)
    if course is None:
        return None
    all_parts = course_parts([course_id])
    parts = all_parts[course_id]
    done = completed_lessons(user_id, parts.lesson_ids)
    evidence_changed = refresh_evidence(user_id, parts, done)
    progress = course_progress(user_id, [course_id], parts=all_parts, done=done)[course_id]
    completion = progress.completion
    completion_changed = programmes
    if completion is None and progress.requirements_met:
        completion_changed = True
        completion = _create_course_completion(
            user_id, course, _evidence_json(parts, done, user_id)
        ) or db.session.scalar(
            sa.select(CourseCompletion).where(
                CourseCompletion.user_id == user_id, CourseCompletion.course_id == course_id
            )
        )
    elif completion is not None and not progress.assessments_passed:
        record(
            actor_id,
            "completion.revoked",
            "course_completion",
            completion.id,
            before={
                "user_id": user_id,
                "course": course.code,
                "completed_at": completion.completed_at.isoformat(),
                "ce_hours": str(completion.ce_hours),
            },
            reason="an assessment no longer passes",
        )
        db.session.execute(sa.delete(CeEntry).where(CeEntry.completion_id == completion.id))
        db.session.delete(completion)
        db.session.flush()
        completion = None
        completion_changed = True
    elif completion is not None:
        completion.evidence = _evidence_json(parts, done, user_id)
        db.session.flush()
    if completion_changed or evidence_changed:
        recompute_programmes(user_id, actor_id=actor_id, evidence_only=not completion_changed)
    return completion


# --- Programmes ---------------------------------------------------------------------------


@dataclass
class Requirement:
    """One rule of a programme, as shown to people, and whether it is met."""

    label: str
    met: bool
    detail: str = ""


@dataclass
class ProgrammeProgress:
    programme: Programme
    cycle: int
    requirements: list[Requirement]
    completion: ProgrammeCompletion | None
    evidence: dict[str, Any]

    @property
    def complete(self) -> bool:
        return bool(self.requirements) and all(r.met for r in self.requirements)


def _completions_by_course(user_id: int, course_ids: list[int]) -> dict[int, CourseCompletion]:
    if not course_ids:
        return {}
    rows = db.session.scalars(
        sa.select(CourseCompletion).where(
            CourseCompletion.user_id == user_id, CourseCompletion.course_id.in_(course_ids)
        )
    )
    return {c.course_id: c for c in rows}


def _evidenced_codes(user_id: int, dimensions: list[str]) -> tuple[set[str], list[Competency]]:
    """The codes the person has evidence for, and the competencies the dimensions ask for."""
    wanted = db.session.scalars(
        sa.select(Competency)
        .where(Competency.dimension.in_(dimensions), Competency.archived.is_(False))
        .order_by(Competency.position, Competency.id)
    ).all()
    have = set(
        db.session.scalars(
            sa.select(Competency.code)
            .join(CompetencyEvidence, CompetencyEvidence.competency_id == Competency.id)
            .where(CompetencyEvidence.user_id == user_id)
            .distinct()
        )
    )
    return have, list(wanted)


def programme_progress(
    user_id: int, programme_id: int, cycle: int | None = None
) -> ProgrammeProgress:
    """Each rule of the programme for ``user_id`` (for an annual programme, in ``cycle``:
    the current one unless given)."""
    # Courses and practicals with the programme: the checklist names each of them.
    programme = db.session.get(
        Programme,
        programme_id,
        options=[
            selectinload(Programme.courses).joinedload(ProgrammeCourse.course),
            selectinload(Programme.practicals),
        ],
    )
    if programme is None:
        raise LookupError(programme_id)
    annual = programme.cycle == Cycle.ANNUAL
    year = cycle if cycle is not None else current_cycle()
    links = programme.courses
    completions = _completions_by_course(user_id, [link.course_id for link in links])
    requirements: list[Requirement] = []
    evidence: dict[str, Any] = {"courses": [], "practicals": [], "competencies": []}

    if programme.requires_tier:
        requirements.append(
            Requirement(
                _("Holds the tier: %(tier)s", tier=Tier(programme.requires_tier).label),
                holds_tier(user_id, programme.requires_tier),
            )
        )
    for link in links:
        if not link.required:
            continue
        completion = completions.get(link.course_id)
        requirements.append(
            Requirement(
                _("Course completed: %(course)s", course=link.course.title),
                completion is not None,
                format_date(completion.completed_at) if completion else "",
            )
        )
        if completion:
            evidence["courses"].append([link.course_id, completion.id])
    electives = [link for link in links if not link.required]
    if programme.min_electives:
        done = [link for link in electives if link.course_id in completions]
        requirements.append(
            Requirement(
                _(
                    "Elective courses completed: %(done)d of %(needed)d",
                    done=len(done),
                    needed=programme.min_electives,
                ),
                len(done) >= programme.min_electives,
            )
        )
        evidence["courses"].extend(
            [link.course_id, completions[link.course_id].id] for link in done
        )
    if programme.min_ce_hours:
        if annual:
            hours = ce_hours(user_id, year)
            label = _(
                "CE hours in %(year)d: %(hours)s of %(needed)s",
                year=year,
                hours=hours,
                needed=programme.min_ce_hours,
            )
        else:
            hours = sum((c.ce_hours for c in completions.values()), Decimal(0))
            label = _(
                "CE hours from the programme's courses: %(hours)s of %(needed)s",
                hours=hours,
                needed=programme.min_ce_hours,
            )
        requirements.append(Requirement(label, hours >= programme.min_ce_hours))
        evidence["ce_hours"] = str(hours)
    practicals = programme.practicals
    if practicals:
        results = latest_results(user_id, [p.id for p in practicals])
        for practical in practicals:
            result = results.get(practical.id)
            requirements.append(
                Requirement(
                    _("Practical assessment passed: %(title)s", title=practical.title),
                    result is not None and result.passed,
                    format_date(result.observed_on) if result else "",
                )
            )
            if result is not None and result.passed:
                evidence["practicals"].append([practical.id, result.id])
    if programme.required_dimensions:
        have, wanted = _evidenced_codes(user_id, list(programme.required_dimensions))
        for dimension in programme.required_dimensions:
            codes = [c.code for c in wanted if c.dimension == dimension]
            shown = [code for code in codes if code in have]
            requirements.append(
                Requirement(
                    _(
                        "Every competency of %(dimension)s evidenced: %(done)d of %(total)d",
                        dimension=Dimension(dimension).label,
                        done=len(shown),
                        total=len(codes),
                    ),
                    len(shown) == len(codes),
                    ", ".join(code for code in codes if code not in have),
                )
            )
            evidence["competencies"].extend(shown)
    completion = db.session.scalar(
        sa.select(ProgrammeCompletion).where(
            ProgrammeCompletion.user_id == user_id,
            ProgrammeCompletion.programme_id == programme.id,
            ProgrammeCompletion.cycle == (year if annual else 0),
        )
    )
    return ProgrammeProgress(programme, year, requirements, completion, evidence)


def _relevant_programmes(user_id: int) -> list[Programme]:
    """Programmes the person's records could satisfy: those with a course or practical the
    person has evidence in, plus those with CE-hour rules (external hours count too)."""
    with_course = sa.select(ProgrammeCourse.programme_id).where(
        ProgrammeCourse.course_id.in_(
            sa.select(CourseCompletion.course_id).where(CourseCompletion.user_id == user_id)
        )
    )
    with_practical = sa.select(programme_practicals.c.programme_id).where(
        programme_practicals.c.practical_id.in_(
            sa.select(PracticalResult.practical_id).where(PracticalResult.user_id == user_id)
        )
    )
    completed = sa.select(ProgrammeCompletion.programme_id).where(
        ProgrammeCompletion.user_id == user_id
    )
    stmt = (
        sa.select(Programme)
        .where(
            Programme.archived.is_(False),
            sa.or_(
                Programme.id.in_(with_course),
                Programme.id.in_(with_practical),
                Programme.id.in_(completed),
                Programme.min_ce_hours > 0,
            ),
        )
        .order_by(Programme.id)
    )
    return list(db.session.scalars(stmt))


def recompute_programmes(
    user_id: int, *, actor_id: int | None = None, evidence_only: bool = False
) -> list[ProgrammeCompletion]:
    """Create or remove ``user_id``'s programme completions (the current cycle for annual
    programmes) to match their records; returns the completions that hold (of the
    programmes looked at: with ``evidence_only``, only those with competency rules, the
    ones a change of competency evidence alone can affect)."""
    held: list[ProgrammeCompletion] = []
    # Tiers can depend on other programmes' completions (lead trainer needs the talent pool),
    # so programmes without a required tier go first.
    programmes = sorted(_relevant_programmes(user_id), key=lambda p: p.requires_tier is not None)
    if evidence_only:
        programmes = [p for p in programmes if p.required_dimensions]
    for programme in programmes:
        progress = programme_progress(user_id, programme.id)
        completion = progress.completion
        if progress.complete and completion is None:
            try:
                with db.session.begin_nested():
                    completion = ProgrammeCompletion(
                        user_id=user_id,
                        programme_id=programme.id,
                        cycle=progress.cycle if programme.cycle == Cycle.ANNUAL else 0,
                        completed_at=utcnow(),
                        evidence=progress.evidence,
                    )
                    db.session.add(completion)
                    db.session.flush()
            except IntegrityError:
                completion = programme_progress(user_id, programme.id).completion
        elif completion is not None and not progress.complete:
            record(
                actor_id,
                "completion.revoked",
                "programme_completion",
                completion.id,
                before={
                    "user_id": user_id,
                    "programme": programme.code,
                    "cycle": completion.cycle,
                    "completed_at": completion.completed_at.isoformat(),
                },
                reason="the programme's rules are no longer met",
            )
            db.session.delete(completion)
            db.session.flush()
            completion = None
        if completion is not None:
            held.append(completion)
    return held
