"""Demo steps: cohorts of the imported courses and programmes, and trainees at every stage.

Courses and programmes come from ``lms courses import`` (run before ``lms demo`` by
``make run``); without them these steps do nothing. The story, for the demo trainees:

- trainee01-08 are in the pre-service qualification cohort (PRE-QUAL): 01 and 02 have finished
  it (lessons, quizzes with essays marked, the handwashing practical), 03 has finished the
  first course and is halfway through the second, 04 has read some lessons and submitted a
  quiz whose essay waits in the grading queue, 05-08 have just started;
- trainee09-12 finished PRE-DEV-101 in an earlier cohort and are in an in-service course
  cohort; 09 has completed it (CE hours), 10 has external CE hours recorded by HR;
- trainee01 has moved on to the lead-trainer programme cohort.

Work goes through the same services as the pages (quiz attempts, essay marking, practical
results, CE entries, completion), except that lesson reading is written directly. Every step
looks for what it would create first, so a second ``lms demo`` changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from lms.assessments import attempts, practicals
from lms.assessments.models import Practical, PracticalResult, QuizAttempt
from lms.assessments.scoring import MANUAL_KINDS, best_response
from lms.auth.models import User
from lms.catalog.models import Course, Lesson, Module, Quiz
from lms.db import utcnow
from lms.demo.data import EMAIL_DOMAIN
from lms.demo.steps import DemoContext
from lms.extensions import db
from lms.learning import ce
from lms.learning.completion import course_parts, recompute_course
from lms.learning.models import (
    CeEntry,
    Cohort,
    Enrolment,
    EnrolmentSource,
    LessonProgress,
    Programme,
)
from lms.orgs.models import Organisation

ESSAY_TEXT = "回应性照护就是及时、敏感地读懂婴幼儿发出的信号，并给予恰当的回应。"


@dataclass(frozen=True)
class DemoCohort:
    code: str
    title: str
    course: str | None  # course code, or
    programme: str | None  # programme code
    location: str | None  # organisation code; None: online
    starts: date
    ends: date
    status: str
    trainees: tuple[int, ...]  # demo trainee numbers


COHORTS = (
    DemoCohort(
        "PRE-DEV-101-2025-02",
        "婴幼儿发展基础 2025年秋季班",
        "PRE-DEV-101",
        None,
        "CTR-JN",
        date(2025, 9, 1),
        date(2025, 12, 20),
        "closed",
        (9, 10, 11, 12),
    ),
    DemoCohort(
        "PRE-QUAL-2026-01",
        "职前资格培养 2026年第1期",
        None,
        "PRE-QUAL",
        "CTR-XW",
        date(2026, 9, 1),
        date(2027, 1, 15),
        "open",
        (1, 2, 3, 4, 5, 6, 7, 8),
    ),
    DemoCohort(
        "INS-PARENT-201-2026-01",
        "家庭养育指导 2026年线上班",
        "INS-PARENT-201",
        None,
        None,
        date(2026, 10, 8),
        date(2026, 12, 31),
        "open",
        (9, 10, 11, 12),
    ),
    DemoCohort(
        "LT-PROG-2026-01",
        "师资骨干培养 2026年第1期",
        None,
        "LT-PROG",
        "CTR-XW",
        date(2026, 11, 1),
        date(2027, 6, 30),
        "closed",
        (1,),
    ),
)

# What each trainee has done, per course: "all" (lessons, quizzes, practicals), a number of
# lessons, or "pending" (the first module's lessons and a quiz whose essay awaits marking).
PROGRESS: dict[int, dict[str, str | int]] = {
    1: {"PRE-DEV-101": "all", "PRE-SAFE-102": "all", "LT-MENTOR-301": 3},
    2: {"PRE-DEV-101": "all", "PRE-SAFE-102": "all"},
    3: {"PRE-DEV-101": "all", "PRE-SAFE-102": 5},
    4: {"PRE-DEV-101": "pending"},
    5: {"PRE-DEV-101": 2},
    6: {"PRE-DEV-101": 1},
    9: {"PRE-DEV-101": "all", "INS-PARENT-201": "all"},
    10: {"PRE-DEV-101": "all", "INS-PARENT-201": 4},
    11: {"PRE-DEV-101": "all"},
    12: {"PRE-DEV-101": "all", "INS-PARENT-201": 1},
}


def _trainee(number: int) -> User | None:
    email = f"trainee{number:02d}@{EMAIL_DOMAIN}"
    return db.session.scalar(sa.select(User).where(User.email == email))


def _by_email(local: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == f"{local}@{EMAIL_DOMAIN}"))


def _organisation(code: str | None) -> Organisation | None:
    if code is None:
        return None
    return db.session.scalar(sa.select(Organisation).where(Organisation.code == code))


def _partner_and_courses(spec: DemoCohort) -> tuple[Course | None, Programme | None, list[Course]]:
    if spec.course:
        course = db.session.scalar(sa.select(Course).where(Course.code == spec.course))
        return course, None, [course] if course else []
    programme = db.session.scalar(sa.select(Programme).where(Programme.code == spec.programme))
    if programme is None:
        return None, None, []
    courses = [link.course for link in programme.courses if link.required]
    return None, programme, courses


def cohorts(ctx: DemoContext) -> None:
    """The demo cohorts, their instructors (the owners of their courses) and trainees."""
    for spec in COHORTS:
        course, programme, courses = _partner_and_courses(spec)
        if not courses:
            continue  # courses or programmes not imported
        cohort = db.session.scalar(sa.select(Cohort).where(Cohort.code == spec.code))
        if cohort is None:
            cohort = Cohort(
                code=spec.code,
                title=spec.title,
                course=course,
                programme=programme,
                partner=_organisation(courses[0].partner_code),
                location=_organisation(spec.location),
                online=spec.location is None,
                starts_on=spec.starts,
                ends_on=spec.ends,
                capacity=40,
                self_enrolment=spec.status == "open",
                status=spec.status,
            )
            cohort.instructors.extend({o.id: o for c in courses for o in c.owners}.values())
            db.session.add(cohort)
            db.session.flush()
            ctx.created("cohorts")
        enrolled = set(
            db.session.scalars(sa.select(Enrolment.user_id).where(Enrolment.cohort_id == cohort.id))
        )
        for number in spec.trainees:
            person = _trainee(number)
            if person is None or person.id in enrolled:
                continue
            db.session.add(
                Enrolment(
                    cohort_id=cohort.id,
                    user_id=person.id,
                    source=EnrolmentSource.DEMO,
                    enrolled_at=utcnow() - timedelta(days=30),
                )
            )
            ctx.created("enrolments")
    db.session.flush()


def _read_lessons(person: User, lesson_ids: list[int], ctx: DemoContext) -> None:
    done = set(
        db.session.scalars(
            sa.select(LessonProgress.lesson_id).where(
                LessonProgress.user_id == person.id, LessonProgress.lesson_id.in_(lesson_ids)
            )
        )
    )
    lessons = {
        lesson.id: lesson
        for lesson in db.session.scalars(sa.select(Lesson).where(Lesson.id.in_(lesson_ids)))
    }
    start = utcnow() - timedelta(days=20)
    for i, lesson_id in enumerate(lesson_ids):
        if lesson_id in done:
            continue
        opened = start + timedelta(hours=6 * i)
        db.session.add(
            LessonProgress(
                user_id=person.id,
                lesson_id=lesson_id,
                first_opened_at=opened,
                last_opened_at=opened + timedelta(minutes=25),
                completed_at=opened + timedelta(minutes=25),
                seconds_spent=900 + 60 * (i % 7),
                version_id=lessons[lesson_id].published_version_id,
            )
        )
        ctx.created("lessons read")
    db.session.flush()


def _take_quiz(person: User, quiz: Quiz, marker: User | None, ctx: DemoContext) -> None:
    """A submitted attempt with the best answers; its essay marked when ``marker`` is given."""
    taken = db.session.scalar(
        sa.select(QuizAttempt.id).where(
            QuizAttempt.user_id == person.id, QuizAttempt.quiz_id == quiz.id
        )
    )
    if taken is not None:
        return
    seed = person.id * 1000 + quiz.id
    rng = random.Random(seed)  # noqa: S311  (a repeatable demo, not a secret)
    attempt = attempts.start_attempt(quiz.id, person.id, rng=rng)
    responses = {
        str(i): best_response(q, essay=ESSAY_TEXT)
        for i, q in enumerate(attempt.questions)
        if q["kind"] != "description"
    }
    attempts.submit_attempt(attempt.id, person.id, responses)
    ctx.created("quiz attempts")
    if marker is not None:
        grades = {
            i: attempts.EssayGrade(Decimal(1), "要点完整，表述清楚。")
            for i, q in enumerate(attempt.questions)
            if q["kind"] in MANUAL_KINDS
        }
        attempts.grade_essays(attempt.id, marker, grades)


def _observe(person: User, practical: Practical, assessor: User, ctx: DemoContext) -> None:
    seen = db.session.scalar(
        sa.select(PracticalResult.id).where(
            PracticalResult.user_id == person.id, PracticalResult.practical_id == practical.id
        )
    )
    if seen is not None:
        return
    top = max(int(level["points"]) for level in practical.levels)
    observation = practicals.Observation(
        scores={c["key"]: top for c in practical.criteria},
        observed_on=utcnow().date() - timedelta(days=3),
        comments="操作规范，动作熟练。",
    )
    cohort_id = practicals.assessing_cohort_id(assessor, practical, person.id)
    practicals.record_result(
        assessor, practical, person.id, observation, cohort_id=cohort_id, today=utcnow().date()
    )
    ctx.created("practical results")


def progress(ctx: DemoContext) -> None:
    """Lessons read, quizzes taken, essays marked and practicals observed (see ``PROGRESS``)."""
    courses = {c.code: c for c in db.session.scalars(sa.select(Course))}
    if not all(code in courses for plan in PROGRESS.values() for code in plan):
        return
    parts = course_parts([c.id for c in courses.values()])
    for number, plan in PROGRESS.items():
        person = _trainee(number)
        if person is None:
            continue
        for code, how in plan.items():
            course = courses[code]
            marker = course.owners[0] if course.owners else _by_email("admin")
            lessons = parts[course.id].lesson_ids
            count = {"all": len(lessons), "pending": 4}.get(str(how), how)
            _read_lessons(person, lessons[: int(count)], ctx)
            if how in ("all", "pending"):
                quizzes = db.session.scalars(
                    sa.select(Quiz)
                    .join(Module)
                    .where(Quiz.id.in_(parts[course.id].quiz_ids))
                    .order_by(Module.position, Quiz.position)
                ).all()
                # The essay of a quiz without a random draw is sure to be in the attempt.
                for quiz in quizzes if how == "all" else [q for q in quizzes if not q.draw][:1]:
                    _take_quiz(person, quiz, marker if how == "all" else None, ctx)
            if how == "all" and marker is not None:
                for practical_id in parts[course.id].practical_ids:
                    _observe(person, db.session.get(Practical, practical_id), marker, ctx)
            recompute_course(person.id, course.id)
    _external_ce(ctx)


def _external_ce(ctx: DemoContext) -> None:
    person, officer = _trainee(10), _by_email("hr")
    if person is None or officer is None:
        return
    title = "南京市婴幼儿照护技能提升培训"
    exists = db.session.scalar(
        sa.select(CeEntry.id).where(CeEntry.user_id == person.id, CeEntry.title == title)
    )
    if exists is not None:
        return
    ce.record_external(
        officer,
        person.id,
        ce.ExternalTraining(
            title=title,
            hours=Decimal("4.0"),
            occurred_on=utcnow().date() - timedelta(days=40),
            reason="市卫健委组织的线下培训，持结业证明。",
        ),
    )
    ctx.created("external CE entries")
