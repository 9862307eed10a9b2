"""The competency profile: every competency of the standard by dimension, evidenced or not,
when first and by what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lms.db import utcnow
from lms.extensions import db
from lms.learning import completion
from lms.learning.models import CompetencyEvidence, LessonProgress
from tests.learning.test_progress import finish_lesson, observe, pass_quiz, signed_in_trainee


def row(html: str, code: str) -> str:
    start = html.index(f'id="competency-{code}"')
    return html[start : html.index("</tr>", start)]


def test_profile_shows_each_dimension_and_competency(client: Any, learning_world: Any) -> None:
    html = signed_in_trainee(client, learning_world).get("/learning/competencies")
    assert html.status_code == 200
    page = html.get_data(as_text=True)
    for dimension in ("ethics", "knowledge", "skills"):
        assert f'id="dimension-{dimension}"' in page
    assert page.index('id="dimension-ethics"') < page.index('id="dimension-knowledge"')
    assert "Professional ethics — 0 of 1 evidenced" in page
    for code in ("E-RESP", "K-DEV", "S-HYG"):
        assert "Not yet" in row(page, code)


def test_profile_shows_the_evidence(client: Any, learning_world: Any) -> None:
    """Evidence as the completion module writes it: the lesson, the quiz attempt (per
    category) and the practical result, each linked."""
    world = learning_world
    trainee = world.trainee.id
    # At noon in China, so that the date shown is the same in UTC.
    earlier = (utcnow() - timedelta(days=5)).replace(hour=4, minute=0)
    db.session.add(
        LessonProgress(user_id=trainee, lesson_id=world.lessons[0].id, completed_at=earlier)
    )
    finish_lesson(trainee, world.lessons[1].id)
    attempt = pass_quiz(world, trainee)
    result = observe(world, trainee)
    completion.recompute_course(trainee, world.course.id)
    assert db.session.query(CompetencyEvidence).count() >= 4
    page = signed_in_trainee(client, world).get("/learning/competencies").get_data(as_text=True)

    k_dev = row(page, "K-DEV")
    assert "Yes" in k_dev
    assert "Child development" in k_dev
    lesson = world.lessons[0]
    assert f'href="/courses/WORLD-101/lessons/{lesson.id}">导论</a>' in k_dev
    assert f'href="/quizzes/{world.quiz.id}">综合测验</a>' in k_dev
    assert f"{earlier:%b} {earlier.day}, {earlier.year}" in k_dev  # first evidenced

    e_resp = row(page, "E-RESP")
    assert "职业伦理</a>" in e_resp and "综合测验</a>" in e_resp

    s_hyg = row(page, "S-HYG")
    href = f'href="/courses/WORLD-101#practical-{world.practical.id}">Seven-step handwashing</a>'
    assert href in s_hyg
    assert "Professional skills — 1 of 1 evidenced" in page
    assert attempt.id and result.id


def test_staff_see_the_profile_on_the_person_record(
    client: Any, learning_world: Any, make_user: Any
) -> None:
    world = learning_world
    finish_lesson(world.trainee.id, world.lessons[0].id)
    completion.recompute_course(world.trainee.id, world.course.id)
    db.session.commit()
    client.login(make_user("hr"))
    client.use_language("en")
    page = client.get(f"/people/{world.trainee.id}/learning").get_data(as_text=True)
    section = page[page.index('id="competencies"') :]
    assert "导论</a>" in row(section, "K-DEV")
    assert "Not yet" in row(section, "S-HYG")


def test_an_archived_competency_shows_only_with_evidence(client: Any, learning_world: Any) -> None:
    world = learning_world
    world.competencies["S-HYG"].archived = True
    page = signed_in_trainee(client, world).get("/learning/competencies").get_data(as_text=True)
    assert 'id="competency-S-HYG"' not in page
    assert 'id="competency-K-DEV"' in page


def test_profile_runs_a_fixed_number_of_queries(
    client: Any, learning_world: Any, count_queries: Any
) -> None:
    world = learning_world
    trainee = world.trainee.id
    course_id = world.course.id
    lessons = [lesson.id for lesson in world.lessons]
    finish_lesson(trainee, lessons[0])
    pass_quiz(world, trainee)
    observe(world, trainee)
    completion.recompute_course(trainee, course_id)
    client = signed_in_trainee(client, world)

    def count() -> int:
        db.session.commit()
        db.session.expunge_all()
        with count_queries as q:
            assert client.get("/learning/competencies").status_code == 200
        return q.count

    few = count()
    finish_lesson(trainee, lessons[1])
    completion.recompute_course(trainee, course_id)
    assert count() == few
