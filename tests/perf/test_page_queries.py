"""Queries per page on the two pages a trainee opens most: a lesson and the catalogue.

A lesson page of an enrolled trainee runs 3 queries (the person with their roles; the lesson
with its course, published version and the reader's enrolment and progress; the course's
lesson order), and neither page runs more queries when there are more
courses, lessons, people, enrolments or progress rows. See ``benchmarks/pages.py`` for the
speed of the same pages under gunicorn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from lms.catalog.models import Lesson, Module
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import Cohort, Enrolment
from lms.learning.progress import complete_lesson
from tests.builders import LearningWorld, add_world_lesson
from tests.catalog.conftest import new_course
from tests.factories import UserFactory

# The goal is at most 4; the page runs 3.
MAX_LESSON_QUERIES = 3


def queries_of(client: Any, count_queries: Any, path: str, *, must_contain: str = "") -> int:
    """The statements one GET of ``path`` runs, with nothing left in the session's cache
    (as at the start of a real request)."""
    db.session.commit()
    db.session.expunge_all()
    with count_queries as q:
        answer = client.get(path)
    assert answer.status_code == 200, path
    assert must_contain in answer.get_data(as_text=True)
    return q.count


def add_courses(n: int, start: int) -> None:
    """``n`` more published courses, each with a module and two lessons."""
    for i in range(start, start + n):
        course = new_course(f"PERF-{i:03d}", partner_code="WORLDU")
        module = Module(course=course, key="01-m", title="单元", title_en="Unit", position=1)
        db.session.add(module)
        db.session.flush()
        for position in (1, 2):
            add_world_lesson(module, f"{position:02d}-l", position, f"课{i}-{position}", [])


def add_people(cohort_id: int, n: int) -> None:
    """``n`` more trainees enrolled in the cohort."""
    cohort = db.session.get_one(Cohort, cohort_id)
    cohort.capacity = 1000
    for _ in range(n):
        person = UserFactory(roles=["trainee"])
        db.session.flush()
        db.session.add(
            Enrolment(cohort=cohort, user_id=person.id, source="staff", enrolled_at=utcnow())
        )
    db.session.flush()


@dataclass(frozen=True)
class World:
    """What the tests need of the learning world, as plain values (the session is emptied
    before each measured request)."""

    trainee_id: int
    cohort_id: int
    module_id: int
    course_code: str
    lesson_ids: list[int]

    def lesson_url(self, i: int) -> str:
        return f"/courses/{self.course_code}/lessons/{self.lesson_ids[i]}"


@pytest.fixture
def world(learning_world: LearningWorld, client: Any) -> World:
    """The learning world's trainee, signed in, enrolled in ``WORLD-101``."""
    client.login(learning_world.trainee)
    return World(
        trainee_id=learning_world.trainee.id,
        cohort_id=learning_world.cohort.id,
        module_id=learning_world.modules[1].id,
        course_code=learning_world.course.code,
        lesson_ids=[lesson.id for lesson in learning_world.lessons],
    )


def test_lesson_page_of_an_enrolled_trainee_runs_at_most_four_queries(
    world: World, client: Any, count_queries: Any
) -> None:
    path = world.lesson_url(1)
    few = queries_of(client, count_queries, path, must_contain='id="completion"')
    assert few <= MAX_LESSON_QUERIES

    # More courses, lessons in this course, people in the cohort, and lessons completed.
    add_courses(10, 0)
    module = db.session.get_one(Module, world.module_id)
    for position in range(3, 13):
        add_world_lesson(module, f"{position:02d}-more", position, f"更多{position}", [])
    add_people(world.cohort_id, 20)
    complete_lesson(world.trainee_id, db.session.get_one(Lesson, world.lesson_ids[0]))
    many = queries_of(client, count_queries, path, must_contain='id="completion"')
    assert many == few
    # A lesson the trainee completed costs the same.
    assert queries_of(client, count_queries, world.lesson_url(0)) == few


def test_catalogue_runs_the_same_queries_whatever_the_number_of_courses_and_people(
    world: World, client: Any, count_queries: Any
) -> None:
    one = queries_of(client, count_queries, "/courses", must_contain=world.course_code)

    add_courses(12, 0)
    add_people(world.cohort_id, 20)
    many = queries_of(client, count_queries, "/courses", must_contain="PERF-011")
    assert many == one
    # A filtered page costs the same.
    assert queries_of(client, count_queries, "/courses?track=pre_service&partner=WORLDU") == one
