"""The shared learning world builds on both databases."""

from __future__ import annotations

from typing import Any


def test_world_has_one_question_of_every_kind(learning_world: Any) -> None:
    kinds = {q["kind"] for q in learning_world.quiz.questions}
    assert kinds == {
        "multiple_choice",
        "multiple_answer",
        "true_false",
        "short_answer",
        "numerical",
        "matching",
        "essay",
    }
    assert learning_world.enrolment.active
    assert learning_world.cohort.is_taught_by(learning_world.instructor)


def test_enrolment_opens_the_course_and_withdrawal_closes_it(learning_world: Any) -> None:
    from lms.extensions import db
    from lms.learning.access import is_enrolled_in_course

    world = learning_world
    assert is_enrolled_in_course(world.trainee.id, world.course.id)
    world.enrolment.status = "withdrawn"
    db.session.flush()
    assert not is_enrolled_in_course(world.trainee.id, world.course.id)
