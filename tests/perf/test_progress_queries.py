"""Queries of "mark complete", the request a trainee sends most after opening pages.

Marking a lesson complete that neither adds competency evidence nor completes the course
cannot change a programme completion, so it does not recompute the programmes; one that adds
evidence recomputes only the programmes with competency rules. Its cost does not grow with
the number of other programmes. (It used to recompute every programme with a CE-hour
rule, which was most of its cost under load: see ``benchmarks/journey.py``.)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from lms.auth.models import User
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import Enrolment, Programme, ProgrammeCompletion
from tests.builders import LearningWorld
from tests.factories import UserFactory


def add_programmes(n: int) -> None:
    """``n`` more programmes with a CE-hour rule (which every person's records may meet)."""
    for i in range(n):
        db.session.add(
            Programme(
                code=f"PERF-CE-{i}",
                title=f"继续教育{i}",
                track="in_service",
                cycle="annual",
                min_ce_hours=Decimal(40),
            )
        )
    db.session.flush()


def enrolled_trainee(cohort_id: int) -> int:
    person = UserFactory(roles=["trainee"])
    db.session.flush()
    db.session.add(
        Enrolment(cohort_id=cohort_id, user_id=person.id, source="staff", enrolled_at=utcnow())
    )
    db.session.flush()
    return person.id


def complete_queries(client: Any, count_queries: Any, person_id: int, lesson_id: int) -> int:
    """The statements of one "mark complete" by the person, signed in afresh."""
    client.login(db.session.get_one(User, person_id))
    db.session.commit()
    db.session.expunge_all()
    with count_queries as q:
        answer = client.post(f"/learning/lessons/{lesson_id}/complete")
    assert answer.status_code == 302
    return q.count


def test_marking_a_lesson_complete_costs_the_same_whatever_the_number_of_programmes(
    learning_world: LearningWorld, client: Any, count_queries: Any
) -> None:
    # The hygiene lesson evidences no competency, and the course needs its quiz too.
    # The ethics lesson evidences a competency: only programmes with competency rules (the
    # world's qualification) are looked at again, not the CE-hour programmes.
    hygiene, ethics = learning_world.lessons[2].id, learning_world.lessons[1].id
    cohort = learning_world.cohort.id
    first, second = enrolled_trainee(cohort), enrolled_trainee(cohort)

    few = complete_queries(client, count_queries, first, hygiene)
    few_with_evidence = complete_queries(client, count_queries, first, ethics)
    add_programmes(8)
    many = complete_queries(client, count_queries, second, hygiene)
    many_with_evidence = complete_queries(client, count_queries, second, ethics)

    assert many == few
    assert many_with_evidence == few_with_evidence > few
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProgrammeCompletion)) == 0
