"""A trainee's whole journey through the pages, as the issue describes it: an HR officer
enrols them, they read every lesson, take the quiz (one question of every kind), an
instructor marks the essay and observes the practical, and the course and the programme are
complete with the CE hours in the ledger. Runs on SQLite and, in CI, on PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from lms.assessments.models import QuizAttempt
from lms.assessments.scoring import best_response
from lms.extensions import db
from lms.learning.completion import current_cycle, holds_tier
from lms.learning.models import (
    CeEntry,
    CompetencyEvidence,
    CourseCompletion,
    Enrolment,
    ProgrammeCompletion,
)
from tests.builders import LearningWorld


def answer_fields(attempt: QuizAttempt) -> dict[str, Any]:
    """The form a trainee who knows every answer sends (field names of attempt_form.html)."""
    fields: dict[str, Any] = {}
    for position, question in enumerate(attempt.questions):
        response = best_response(question, essay="及时读懂并回应婴幼儿的信号。")
        name = f"q{position}"
        if question["kind"] == "matching":
            for index, choice in response.items():
                fields[f"{name}-{index}"] = str(choice)
        elif question["kind"] == "multiple_answer":
            fields[name] = [str(i) for i in response]
        elif response is not None:
            fields[name] = str(response)
    return fields


def test_enrolment_lessons_quiz_practical_to_course_and_programme_completion(
    client: Any, make_user: Any, learning_world: LearningWorld
) -> None:
    world = learning_world
    officer = make_user("hr")
    trainee = make_user("trainee", name="李小红", employer=world.employer)

    # An HR officer enrols the trainee in the cohort.
    client.login(officer)
    response = client.post(f"/cohorts/{world.cohort.id}/enrol", data={"one": trainee.id})
    assert response.status_code in (302, 303)
    enrolment = db.session.scalar(sa.select(Enrolment).where(Enrolment.user_id == trainee.id))
    assert enrolment is not None and enrolment.active
    client.post("/logout")

    # The trainee reads and completes every lesson.
    client.login(trainee)
    page = client.get(f"/courses/{world.course.code}").get_data(as_text=True)
    assert "0%" in page
    for lesson in world.lessons:
        assert client.get(f"/courses/{world.course.code}/lessons/{lesson.id}").status_code == 200
        response = client.post(f"/learning/lessons/{lesson.id}/complete")
        assert response.status_code in (302, 303)
    # Again changes nothing.
    assert client.post(f"/learning/lessons/{world.lessons[0].id}/complete").status_code in (
        302,
        303,
    )

    # The quiz: one question of every kind, answered right, then submitted twice.
    assert client.get(f"/quizzes/{world.quiz.id}").status_code == 200
    response = client.post(f"/quizzes/{world.quiz.id}/start")
    assert response.status_code in (302, 303)
    attempt = db.session.scalar(sa.select(QuizAttempt).where(QuizAttempt.user_id == trainee.id))
    kinds = {q["kind"] for q in attempt.questions}
    assert kinds >= {"multiple_choice", "multiple_answer", "true_false", "short_answer"}
    assert kinds >= {"numerical", "matching", "essay"}
    fields = answer_fields(attempt)
    assert client.post(f"/attempts/{attempt.id}/save", data=fields).status_code in (302, 303)
    assert client.get(f"/attempts/{attempt.id}").status_code == 200
    assert client.post(f"/attempts/{attempt.id}/submit", data=fields).status_code in (302, 303)
    assert client.post(f"/attempts/{attempt.id}/submit", data=fields).status_code in (302, 303)
    assert db.session.scalar(sa.select(sa.func.count(QuizAttempt.id))) == 1
    db.session.refresh(attempt)
    assert attempt.pending_review and attempt.passed is None
    assert attempt.score == Decimal(6)  # every question but the essay, marked at once
    client.post("/logout")

    # The instructor marks the essay and observes the practical.
    client.login(world.instructor)
    queue = client.get("/grading").get_data(as_text=True)
    assert trainee.name in queue
    essay = next(i for i, q in enumerate(attempt.questions) if q["kind"] == "essay")
    response = client.post(
        f"/attempts/{attempt.id}/grade",
        data={f"score_{essay}": "1", f"comment_{essay}": "要点完整。"},
    )
    assert response.status_code in (302, 303)
    db.session.refresh(attempt)
    assert attempt.passed is True and attempt.percent == Decimal(100)
    assert not db.session.scalar(
        sa.select(CourseCompletion.id).where(CourseCompletion.user_id == trainee.id)
    ), "the practical is still missing"
    response = client.post(
        f"/practicals/{world.practical.id}/people/{trainee.id}",
        data={
            "score-steps": "2",
            "score-time": "1",
            "comment-steps": "七个步骤完整。",
            "observed_on": date.today().isoformat(),
            "comments": "操作规范。",
        },
    )
    assert response.status_code in (302, 303)
    client.post("/logout")

    # Course and programme complete; the CE hours are in the ledger.
    completion = db.session.scalar(
        sa.select(CourseCompletion).where(CourseCompletion.user_id == trainee.id)
    )
    assert completion is not None and completion.ce_hours == Decimal(8)
    programme = db.session.scalar(
        sa.select(ProgrammeCompletion).where(ProgrammeCompletion.user_id == trainee.id)
    )
    assert programme is not None and programme.programme_id == world.programme.id
    assert not holds_tier(trainee.id, "talent_pool")  # until the certificate is issued
    ledger = db.session.scalars(sa.select(CeEntry).where(CeEntry.user_id == trainee.id)).all()
    assert [(e.kind, e.hours, e.cycle) for e in ledger] == [("course", Decimal(8), current_cycle())]
    codes = set(
        db.session.scalars(
            sa.select(CompetencyEvidence.competency_id).where(
                CompetencyEvidence.user_id == trainee.id
            )
        )
    )
    assert codes == {c.id for c in world.competencies.values()}

    # What the trainee sees.
    client.login(trainee)
    mine = client.get("/learning").get_data(as_text=True)
    assert "100%" in mine
    assert world.programme.certificate_title in mine
    ledger_page = client.get("/learning/ce").get_data(as_text=True)
    assert world.course.title in ledger_page
    assert f"{current_cycle()} 年度：8 学时" in " ".join(ledger_page.split())
    result = client.get(f"/practicals/{world.practical.id}").get_data(as_text=True)
    assert "操作规范。" in result
