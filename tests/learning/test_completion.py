"""Completion: evidence becomes course and programme completions, CE hours and competencies,
and a changed grade takes them back."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from lms.assessments.models import PracticalResult, QuizAttempt
from lms.audit.models import AuditEntry
from lms.certificates import issuing
from lms.db import utcnow
from lms.extensions import db
from lms.learning import completion
from lms.learning.models import (
    CeEntry,
    CompetencyEvidence,
    CourseCompletion,
    LessonProgress,
    Programme,
    ProgrammeCompletion,
    ProgrammeCourse,
)
from tests.builders import LearningWorld


def finish_lessons(world: LearningWorld) -> None:
    for lesson in world.lessons:
        db.session.add(
            LessonProgress(user_id=world.trainee.id, lesson_id=lesson.id, completed_at=utcnow())
        )
    db.session.flush()


def pass_quiz(world: LearningWorld, *, passed: bool = True, pending: bool = False) -> QuizAttempt:
    number = 1 + len(
        db.session.scalars(
            sa.select(QuizAttempt).where(QuizAttempt.user_id == world.trainee.id)
        ).all()
    )
    attempt = QuizAttempt(
        quiz_id=world.quiz.id,
        user_id=world.trainee.id,
        number=number,
        status="submitted",
        submitted_at=utcnow(),
        questions=world.quiz.questions,
        score=Decimal(6) if passed else Decimal(2),
        max_score=Decimal(7),
        percent=Decimal("85.71") if passed else Decimal("28.57"),
        passed=None if pending else passed,
        pending_review=pending,
    )
    db.session.add(attempt)
    db.session.flush()
    return attempt


def observe(world: LearningWorld, steps: int, time: int) -> PracticalResult:
    total = steps + time
    result = PracticalResult(
        practical_id=world.practical.id,
        user_id=world.trainee.id,
        assessor_id=world.instructor.id,
        observed_on=date.today(),
        scores={"steps": steps, "time": time},
        total=total,
        max_total=4,
        passed=total >= 2 and min(steps, time) >= 1,
    )
    db.session.add(result)
    db.session.flush()
    return result


def recompute(world: LearningWorld) -> CourseCompletion | None:
    return completion.recompute_course(world.trainee.id, world.course.id)


def evidence_codes(world: LearningWorld) -> dict[str, set[str]]:
    rows = db.session.scalars(
        sa.select(CompetencyEvidence).where(CompetencyEvidence.user_id == world.trainee.id)
    )
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row.competency.code, set()).add(row.source)
    return found


def test_progress_counts_lessons_quizzes_and_practicals(learning_world: Any) -> None:
    world = learning_world
    progress = completion.course_progress(world.trainee.id, [world.course.id])[world.course.id]
    assert (progress.lessons_total, progress.quizzes_total, progress.practicals_total) == (3, 1, 1)
    assert progress.percent == 0
    assert progress.next_lesson_id == world.lessons[0].id
    db.session.add(
        LessonProgress(
            user_id=world.trainee.id, lesson_id=world.lessons[0].id, completed_at=utcnow()
        )
    )
    db.session.flush()
    progress = completion.course_progress(world.trainee.id, [world.course.id])[world.course.id]
    assert progress.lessons_done == 1
    assert progress.next_lesson_id == world.lessons[1].id
    assert progress.percent == 20


def test_lessons_alone_do_not_complete_the_course(learning_world: Any) -> None:
    world = learning_world
    finish_lessons(world)
    assert recompute(world) is None
    assert evidence_codes(world) == {"K-DEV": {"lesson"}, "E-RESP": {"lesson"}}


def test_everything_passed_completes_course_and_programme_with_evidence(
    learning_world: Any,
) -> None:
    world = learning_world
    finish_lessons(world)
    attempt = pass_quiz(world)
    result = observe(world, steps=2, time=1)
    done = recompute(world)

    assert done is not None
    assert done.ce_hours == Decimal(8)
    assert done.evidence["quizzes"] == [[world.quiz.id, attempt.id, "85.71"]]
    assert done.evidence["practicals"] == [[world.practical.id, result.id]]
    assert len(done.evidence["lessons"]) == 3
    entry = db.session.scalar(sa.select(CeEntry).where(CeEntry.user_id == world.trainee.id))
    assert (entry.kind, entry.hours, entry.cycle) == ("course", Decimal(8), date.today().year)
    assert completion.ce_hours(world.trainee.id, completion.current_cycle()) == Decimal(8)
    assert evidence_codes(world) == {
        "K-DEV": {"lesson", "quiz"},
        "E-RESP": {"lesson", "quiz"},
        "S-HYG": {"practical"},
    }
    programme_done = db.session.scalar(
        sa.select(ProgrammeCompletion).where(ProgrammeCompletion.user_id == world.trainee.id)
    )
    assert programme_done.programme_id == world.programme.id
    assert programme_done.cycle == 0
    assert programme_done.evidence["courses"] == [[world.course.id, done.id]]
    # The tier is held once the certificate is issued.
    assert not completion.holds_tier(world.trainee.id, "talent_pool")
    issuing.create_certificate(None, world.trainee.id, world.certificate_type.id)
    assert completion.holds_tier(world.trainee.id, "talent_pool")
    assert not completion.holds_tier(world.trainee.id, "lead_trainer")


def test_recompute_is_idempotent(learning_world: Any) -> None:
    world = learning_world
    finish_lessons(world)
    pass_quiz(world)
    observe(world, 2, 2)
    first = recompute(world)
    again = recompute(world)
    assert first is not None and again is not None and first.id == again.id
    assert db.session.scalar(sa.select(sa.func.count(CeEntry.id))) == 1
    count = sa.select(sa.func.count(ProgrammeCompletion.id))
    assert db.session.scalar(count) == 1
    evidence = sa.select(sa.func.count(CompetencyEvidence.id))
    assert db.session.scalar(evidence) == 5


def test_a_pending_essay_or_a_failed_quiz_does_not_pass(learning_world: Any) -> None:
    world = learning_world
    finish_lessons(world)
    observe(world, 2, 2)
    pass_quiz(world, passed=False)
    pass_quiz(world, pending=True)
    assert recompute(world) is None
    assert not completion.quiz_passed(world.trainee.id, world.quiz.id)


def test_a_changed_grade_takes_the_completion_back(learning_world: Any) -> None:
    world = learning_world
    finish_lessons(world)
    pass_quiz(world)
    observe(world, 2, 2)
    assert recompute(world) is not None

    # A corrected observation: the time criterion was below the minimum.
    observe(world, 2, 0)
    assert (
        completion.recompute_course(world.trainee.id, world.course.id, actor_id=world.instructor.id)
        is None
    )
    assert db.session.scalar(sa.select(sa.func.count(CourseCompletion.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(CeEntry.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(ProgrammeCompletion.id))) == 0
    assert "S-HYG" not in evidence_codes(world)
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.action == "completion.revoked")
    ).all()
    assert len(actions) == 2  # the course and the programme

    # Reassessed and passed: complete again.
    observe(world, 2, 1)
    assert recompute(world) is not None
    assert db.session.scalar(sa.select(sa.func.count(ProgrammeCompletion.id))) == 1


def test_a_lesson_added_later_does_not_undo_a_completion(learning_world: Any) -> None:
    from tests.builders import add_world_lesson

    world = learning_world
    finish_lessons(world)
    pass_quiz(world)
    observe(world, 2, 2)
    assert recompute(world) is not None
    add_world_lesson(world.modules[1], "02-new", 2, "新增的课", [])
    assert recompute(world) is not None


def test_annual_programme_counts_ce_hours_of_the_cycle(learning_world: Any) -> None:
    world = learning_world
    annual = Programme(
        code="WORLD-CE",
        title="继续教育",
        track="in_service",
        cycle="annual",
        min_ce_hours=Decimal(10),
        min_electives=1,
    )
    annual.courses.append(ProgrammeCourse(course=world.course, required=False))
    db.session.add(annual)
    finish_lessons(world)
    pass_quiz(world)
    observe(world, 2, 2)
    recompute(world)
    progress = completion.programme_progress(world.trainee.id, annual.id)
    assert not progress.complete  # 8 of 10 hours
    assert [r.met for r in progress.requirements] == [True, False]

    year = completion.current_cycle()
    db.session.add(
        CeEntry(
            user_id=world.trainee.id,
            cycle=year,
            hours=Decimal(2),
            kind="external",
            title="市级培训",
            reason="区里组织的培训",
            occurred_on=date.today(),
        )
    )
    # Hours from last year do not count towards this year.
    db.session.add(
        CeEntry(
            user_id=world.trainee.id,
            cycle=year - 1,
            hours=Decimal(50),
            kind="external",
            title="去年的培训",
            occurred_on=date.today() - timedelta(days=366),
        )
    )
    db.session.flush()
    held = completion.recompute_programmes(world.trainee.id)
    assert {(c.programme_id, c.cycle) for c in held} == {
        (world.programme.id, 0),
        (annual.id, year),
    }


def test_lead_trainer_programme_needs_the_talent_pool_first(learning_world: Any) -> None:
    world = learning_world
    lead = Programme(
        code="WORLD-LT",
        title="师资骨干",
        track="lead_trainer",
        tier="lead_trainer",
        requires_tier="talent_pool",
    )
    lead.courses.append(ProgrammeCourse(course=world.course, required=True))
    db.session.add(lead)
    db.session.flush()
    progress = completion.programme_progress(world.trainee.id, lead.id)
    assert [r.met for r in progress.requirements] == [False, False]
    finish_lessons(world)
    pass_quiz(world)
    observe(world, 2, 2)
    recompute(world)
    progress = completion.programme_progress(world.trainee.id, lead.id)
    assert [r.met for r in progress.requirements] == [False, True]  # no certificate yet
    issuing.create_certificate(None, world.trainee.id, world.certificate_type.id)
    completion.recompute_programmes(world.trainee.id)
    assert completion.programme_progress(world.trainee.id, lead.id).complete


def test_progress_of_many_courses_takes_a_fixed_number_of_queries(
    learning_world: Any, count_queries: Any
) -> None:
    world = learning_world
    with count_queries as one:
        completion.course_progress(world.trainee.id, [world.course.id])
    with count_queries as two:
        completion.course_progress(world.trainee.id, [world.course.id, world.course.id + 1000])
    assert one.count == two.count <= 7


def test_a_programme_checklist_takes_a_fixed_number_of_queries(
    learning_world: Any, count_queries: Any
) -> None:
    from tests.catalog.conftest import new_course

    world = learning_world
    db.session.expunge_all()
    with count_queries as one_course:
        completion.programme_progress(world.trainee.id, world.programme.id)
    programme = db.session.get(Programme, world.programme.id)
    for code in ("WORLD-102", "WORLD-103"):
        programme.courses.append(ProgrammeCourse(course=new_course(code), required=True))
    db.session.flush()
    db.session.expunge_all()
    with count_queries as three_courses:
        completion.programme_progress(world.trainee.id, world.programme.id)
    assert three_courses.count == one_course.count
