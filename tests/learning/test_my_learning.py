"""My learning and the course page of an enrolled trainee: progress, next lesson, due date,
quizzes, practicals, CE hours and completions."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from lms.catalog.models import Course, Module
from lms.db import utcnow
from lms.extensions import db
from lms.learning import completion
from lms.learning.models import CeEntry, Cohort, Enrolment
from tests.builders import add_world_lesson
from tests.learning.test_progress import finish_lesson, observe, pass_quiz, signed_in_trainee


def add_course_cohort(n: int, trainee_id: int, partner_id: int) -> Cohort:
    """Another published course with one lesson and a cohort the trainee is enrolled in."""
    course = Course(
        code=f"WORLD-2{n:02d}",
        title=f"附加课程{n}",
        title_en=f"Extra course {n}",
        track="in_service",
        level="foundation",
        ce_hours=Decimal(2),
        status="published",
        origin="files",
    )
    db.session.add(course)
    module = Module(course=course, key="01-only", title="唯一", title_en="Only", position=1)
    db.session.add(module)
    db.session.flush()
    add_world_lesson(module, "01-lesson", 1, f"附加课{n}", [])
    cohort = Cohort(
        code=f"WORLD-2{n:02d}-2026-01",
        title=f"附加课程{n} 第1期",
        course=course,
        partner_id=partner_id,
        starts_on=date.today() - timedelta(days=10),
        ends_on=date.today() + timedelta(days=30 + n),
        status="open",
    )
    db.session.add(cohort)
    db.session.flush()
    db.session.add(Enrolment(cohort=cohort, user_id=trainee_id, source="staff"))
    db.session.flush()
    return cohort


def my_learning(client: Any) -> str:
    response = client.get("/learning")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def enrolment_card(html: str, enrolment_id: int) -> str:
    start = html.index(f'id="enrolment-{enrolment_id}"')
    return html[start : html.index("</article>", start)]


def test_my_learning_shows_progress_next_lesson_and_due_date(
    client: Any, learning_world: Any
) -> None:
    world = learning_world
    finish_lesson(world.trainee.id, world.lessons[0].id)
    client = signed_in_trainee(client, world)
    html = my_learning(client)
    card = enrolment_card(html, world.enrolment.id)
    assert "Care basics" in card
    assert world.cohort.code in card
    assert '<progress value="20" max="100"' in card  # 1 of 3 lessons, quiz, practical
    assert "20% complete" in card
    assert "Lessons: 1 of 3" in card
    assert "Quizzes passed: 0 of 1" in card
    assert f'href="/courses/WORLD-101/lessons/{world.lessons[1].id}"' in card  # next lesson
    assert "Next lesson: 职业伦理" in card
    ends = world.cohort.ends_on
    assert f"Due {ends:%b} {ends.day}, {ends.year}" in card
    assert "Overdue" not in card
    assert f"CE hours in {date.today().year}:" in html
    assert 'href="/learning/ce" id="ce-ledger-link"' in html


def test_an_overdue_cohort_is_marked(client: Any, learning_world: Any) -> None:
    world = learning_world
    world.cohort.starts_on = date.today() - timedelta(days=90)
    world.cohort.ends_on = date.today() - timedelta(days=1)
    card = enrolment_card(my_learning(signed_in_trainee(client, world)), world.enrolment.id)
    assert "Overdue" in card


def test_ce_hours_of_this_cycle(client: Any, learning_world: Any) -> None:
    world = learning_world
    today = date.today()
    for year, hours in ((today.year, "3.5"), (today.year - 1, "10")):
        db.session.add(
            CeEntry(
                user_id=world.trainee.id,
                cycle=year,
                hours=Decimal(hours),
                kind="external",
                title="外部培训",
                reason="区里组织",
                occurred_on=date(year, 1, 15),
            )
        )
    html = my_learning(signed_in_trainee(client, world))
    assert '<strong id="ce-hours">3.5</strong>' in html


def test_completed_course_and_programme(client: Any, learning_world: Any) -> None:
    world = learning_world
    trainee = world.trainee.id
    for lesson in world.lessons:
        finish_lesson(trainee, lesson.id)
    pass_quiz(world, trainee)
    observe(world, trainee)
    completion.recompute_course(trainee, world.course.id)
    html = my_learning(signed_in_trainee(client, world))
    assert "Completed on" in enrolment_card(html, world.enrolment.id)
    done = html[html.index('id="completed-learning"') :]
    assert 'id="completed-courses"' in done and "Care basics" in done
    programmes = done[done.index('id="completed-programmes"') :]
    assert "Carer pre-service qualification" in programmes
    assert "Certificate of the infant-care talent pool" in programmes
    assert "earned, awaiting issue" in programmes
    assert '<strong id="ce-hours">8</strong>' in html


def test_programme_enrolment_shows_its_checklist(client: Any, learning_world: Any) -> None:
    world = learning_world
    cohort = Cohort(
        code="WORLD-QUAL-2026-01",
        title="职前资格 2026",
        programme=world.programme,
        starts_on=date.today(),
        ends_on=date.today() + timedelta(days=90),
        status="open",
    )
    db.session.add(cohort)
    db.session.flush()
    enrolment = Enrolment(cohort=cohort, user_id=world.trainee.id, source="staff")
    db.session.add(enrolment)
    db.session.flush()
    card = enrolment_card(my_learning(signed_in_trainee(client, world)), enrolment.id)
    assert "Carer pre-service qualification" in card
    assert "Requirements" in card
    assert 'class="not-met"' in card
    assert "Care basics" in card  # the programme's course, with its progress
    assert "<progress" in card


def test_withdrawn_enrolments_are_shown_apart(client: Any, learning_world: Any) -> None:
    world = learning_world
    world.enrolment.status = "withdrawn"
    world.enrolment.withdrawn_at = utcnow()
    world.enrolment.withdrawal_reason = "工作调动"
    html = my_learning(signed_in_trainee(client, world))
    assert 'id="no-enrolments"' in html
    withdrawn = html[html.index('id="withdrawn-learning"') :]
    assert world.cohort.code in withdrawn and "工作调动" in withdrawn


def test_my_learning_is_for_trainees(client: Any, make_user: Any) -> None:
    client.login(make_user("hr"))
    assert client.get("/learning").status_code == 403


def test_my_learning_runs_a_fixed_number_of_queries(
    client: Any, learning_world: Any, count_queries: Any
) -> None:
    world = learning_world
    client = signed_in_trainee(client, world)
    trainee_id, partner_id = world.trainee.id, world.partner.id

    def count() -> int:
        db.session.commit()
        db.session.expunge_all()
        with count_queries as q:
            assert client.get("/learning").status_code == 200
        return q.count

    one = count()
    for n in range(4):
        add_course_cohort(n, trainee_id, partner_id)
    db.session.commit()
    assert "Extra course 3" in my_learning(client)
    assert count() == one


# The course page --------------------------------------------------------------------------------


def test_course_page_of_an_enrolled_trainee(client: Any, learning_world: Any) -> None:
    world = learning_world
    trainee = world.trainee.id
    finish_lesson(trainee, world.lessons[0].id)
    pass_quiz(world, trainee)
    observe(world, trainee, passed=False)
    html = signed_in_trainee(client, world).get("/courses/WORLD-101").get_data(as_text=True)
    assert 'id="my-progress"' in html
    assert '<progress value="40" max="100"' in html  # lesson and quiz: 2 of 5
    done = html[html.index(f'id="lesson-{world.lessons[0].id}"') :]
    assert 'class="badge badge-ok lesson-done"' in done[: done.index("</li>")]
    not_done = html[html.index(f'id="lesson-{world.lessons[1].id}"') :]
    assert "lesson-done" not in not_done[: not_done.index("</li>")]
    quiz = html[html.index(f'id="quiz-{world.quiz.id}"') :]
    quiz = quiz[: quiz.index("</li>")]
    assert f'href="/quizzes/{world.quiz.id}"' in quiz and "quiz-passed" in quiz
    practical = html[html.index(f'id="practical-{world.practical.id}"') :]
    practical = practical[: practical.index("</li>")]
    assert "Seven-step handwashing" in practical and "practical-not-passed" in practical
    assert f'href="/courses/WORLD-101/lessons/{world.lessons[1].id}" id="continue"' in html
    assert 'id="open-cohorts"' not in html

    # A reassessment that passes, and the last lessons: complete.
    observe(world, trainee)
    finish_lesson(trainee, world.lessons[1].id)
    finish_lesson(trainee, world.lessons[2].id)
    completion.recompute_course(trainee, world.course.id)
    db.session.commit()
    html = client.get("/courses/WORLD-101").get_data(as_text=True)
    assert 'id="course-completed"' in html and "practical-passed" in html
    assert '<progress value="100" max="100"' in html


def test_course_page_offers_open_cohorts_to_others(
    client: Any, learning_world: Any, make_user: Any
) -> None:
    world = learning_world
    db.session.commit()
    client.login(make_user("trainee"))
    html = client.get("/courses/WORLD-101").get_data(as_text=True)
    assert f'href="/cohorts/open?course={world.course.id}" id="open-cohorts"' in html
    assert 'id="my-progress"' not in html
    assert f'href="/quizzes/{world.quiz.id}"' not in html
