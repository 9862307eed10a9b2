"""The cohort gradebook and its CSV: people × assessments, for teachers and HR."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from lms.assessments.models import PracticalResult, QuizAttempt
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import Cohort, CourseCompletion, Enrolment, LessonProgress
from tests.builders import LearningWorld
from tests.factories import UserFactory

COMPLETED = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)  # noon in Shanghai


@pytest.fixture
def world(learning_world: LearningWorld) -> LearningWorld:
    learning_world.trainee.name = "Dora Zhang"
    db.session.commit()
    return learning_world


def enrol(cohort: Cohort, name: str, **kwargs: Any) -> Any:
    person = UserFactory(roles=["trainee"], name=name, **kwargs)
    db.session.add(Enrolment(cohort=cohort, user_id=person.id, enrolled_at=utcnow()))
    db.session.flush()
    return person


def lessons_done(world: LearningWorld, person: Any, count: int) -> None:
    for lesson in world.lessons[:count]:
        db.session.add(
            LessonProgress(user_id=person.id, lesson_id=lesson.id, completed_at=utcnow())
        )


def attempt(
    world: LearningWorld, person: Any, number: int, percent: str, *, pending: bool = False
) -> None:
    db.session.add(
        QuizAttempt(
            quiz_id=world.quiz.id,
            user_id=person.id,
            number=number,
            status="submitted",
            submitted_at=utcnow(),
            questions=[],
            percent=Decimal(percent),
            passed=None if pending else Decimal(percent) >= 60,
            pending_review=pending,
        )
    )


def observed(world: LearningWorld, person: Any, steps: int, time: int) -> None:
    total = steps + time
    db.session.add(
        PracticalResult(
            practical_id=world.practical.id,
            user_id=person.id,
            assessor_id=world.instructor.id,
            observed_on=date.today(),
            scores={"steps": steps, "time": time},
            total=total,
            max_total=4,
            passed=total >= 2 and min(steps, time) >= 1,
        )
    )
    db.session.flush()


def completed(world: LearningWorld, person: Any) -> None:
    db.session.add(
        CourseCompletion(
            user_id=person.id, course_id=world.course.id, completed_at=COMPLETED, ce_hours=8
        )
    )


@pytest.fixture
def book(world: LearningWorld) -> dict[str, Any]:
    """Four people with known records (Dora, the world's trainee, has done nothing)."""
    anna = enrol(world.cohort, "Anna Li")
    lessons_done(world, anna, 2)
    attempt(world, anna, 1, "40.00")
    attempt(world, anna, 2, "85.71")
    observed(world, anna, 0, 1)
    observed(world, anna, 2, 1)  # the latest: passed, 3 of 4
    bella = enrol(world.cohort, "Bella Wu")
    db.session.flush()
    attempt(world, bella, 1, "50.00", pending=True)
    db.session.execute(
        Enrolment.__table__.update()
        .where(Enrolment.user_id == bella.id)
        .values(status="withdrawn", withdrawn_at=utcnow())
    )
    cora = enrol(world.cohort, "Cora Sun")
    lessons_done(world, cora, 3)
    attempt(world, cora, 1, "100.00")
    observed(world, cora, 2, 2)
    completed(world, cora)
    db.session.commit()
    return {"anna": anna, "bella": bella, "cora": cora, "dora": world.trainee}


def row_html(html: str, person: Any) -> str:
    start = html.index(f'<tr id="person-{person.id}"')
    return html[start : html.index("</tr>", start)]


def cell(html: str, person: Any, css: str) -> str:
    found = re.search(rf'<td class="{css}">(.*?)</td>', row_html(html, person), re.S)
    assert found, css
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_the_gradebook_shows_each_persons_numbers(
    client: Any, world: LearningWorld, book: dict[str, Any]
) -> None:
    client.use_language("en")
    client.login(world.instructor)
    response = client.get(f"/cohorts/{world.cohort.id}/gradebook")
    assert response.status_code == 200
    html = response.text
    names = re.findall(r'<tr id="person-(\d+)"', html)
    assert names == [str(book[k].id) for k in ("anna", "bella", "cora", "dora")]
    anna, bella, cora, dora = (book[k] for k in ("anna", "bella", "cora", "dora"))
    quiz, practical = f"quiz-{world.quiz.id}", f"practical-{world.practical.id}"
    assert cell(html, anna, "lessons") == "2/3"
    assert cell(html, anna, quiz) == "85.71% 2 attempts"
    assert cell(html, anna, practical) == "Passed 3/4"
    assert cell(html, anna, "completed") == "—"
    assert cell(html, anna, "ce-hours") == "0"
    assert "Withdrawn" in row_html(html, bella)
    assert cell(html, bella, quiz) == "50% 1 attempt Essays to mark"
    assert cell(html, bella, practical) == "—"
    assert cell(html, cora, "lessons") == "3/3"
    assert cell(html, cora, quiz) == "100% 1 attempt"
    assert cell(html, cora, practical) == "Passed 4/4"
    assert cell(html, cora, "completed") == "2026-03-01"
    assert cell(html, cora, "ce-hours") == "8"
    assert cell(html, dora, "lessons") == "0/3"
    assert cell(html, dora, quiz) == "— 0 attempts"


def read_csv(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_the_csv_has_a_bom_headers_in_the_page_language_and_one_row_per_person(
    client: Any, world: LearningWorld, book: dict[str, Any]
) -> None:
    client.use_language("en")
    client.login(world.instructor)
    response = client.get(f"/cohorts/{world.cohort.id}/gradebook.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith("\ufeff".encode())
    header, *rows = read_csv(response)
    assert header == [
        "Name",
        "Email",
        "Enrolment",
        "Lessons done",
        "Lessons in the course",
        "综合测验: best (%)",
        "综合测验: attempts",
        "综合测验: essays awaiting a mark",
        "Seven-step handwashing: result",
        "Seven-step handwashing: points (of 4)",
        "Completed on",
        "CE hours",
    ]
    assert [r[0] for r in rows] == ["Anna Li", "Bella Wu", "Cora Sun", "Dora Zhang"]
    anna, bella, cora, dora = rows
    assert anna[2:] == ["Enrolled", "2", "3", "85.71", "2", "0", "Passed", "3", "", "0"]
    assert bella[2:] == ["Withdrawn", "0", "3", "50", "1", "1", "", "", "", "0"]
    assert cora[2:] == ["Enrolled", "3", "3", "100", "1", "0", "Passed", "4", "2026-03-01", "8"]
    assert dora[2:] == ["Enrolled", "0", "3", "", "0", "0", "", "", "", "0"]


def test_the_csv_speaks_chinese_by_default(
    client: Any, world: LearningWorld, book: dict[str, Any]
) -> None:
    client.login(world.instructor)
    header = read_csv(client.get(f"/cohorts/{world.cohort.id}/gradebook.csv"))[0]
    assert header[0] != "Name"
    assert "七步洗手法示范" in header[8]


def test_the_csv_neutralises_formulas(client: Any, world: LearningWorld) -> None:
    enrol(world.cohort, "=HYPERLINK(1)", email="plus@example.org")
    enrol(world.cohort, "@SUM(A1)")
    enrol(world.cohort, "-2+3")
    enrol(world.cohort, "+86 Wang")
    db.session.commit()
    client.login(world.instructor)
    rows = read_csv(client.get(f"/cohorts/{world.cohort.id}/gradebook.csv"))[1:]
    names = sorted(r[0] for r in rows)
    assert names == sorted(["'=HYPERLINK(1)", "'@SUM(A1)", "'-2+3", "'+86 Wang", "Dora Zhang"])


def test_a_programme_cohort_shows_each_course_and_the_programmes_practicals(
    client: Any, world: LearningWorld
) -> None:
    cohort = Cohort(
        code="WORLD-QUAL-2026",
        title="项目班",
        programme=world.programme,
        starts_on=date.today(),
        ends_on=date.today() + timedelta(days=30),
    )
    cohort.instructors.append(world.instructor)
    db.session.add(cohort)
    done = enrol(cohort, "Cora Sun")
    lessons_done(world, done, 3)
    observed(world, done, 2, 2)
    completed(world, done)
    halfway = enrol(cohort, "Evan Qian")
    lessons_done(world, halfway, 2)
    db.session.commit()
    client.use_language("en")
    client.login(world.instructor)
    html = client.get(f"/cohorts/{cohort.id}/gradebook").text
    course = f"course-{world.course.id}"
    assert cell(html, done, course) == "Completed 2026-03-01"
    # 2 of 5 steps (3 lessons, a quiz, a practical): 40%.
    assert cell(html, halfway, course) == "40% · 2/3 lessons"
    assert cell(html, done, f"practical-{world.practical.id}") == "Passed 4/4"
    assert cell(html, done, "ce-hours") == "8"
    header, *rows = read_csv(client.get(f"/cohorts/{cohort.id}/gradebook.csv"))
    assert header == [
        "Name",
        "Email",
        "Enrolment",
        "Care basics: progress (%)",
        "Care basics: completed on",
        "Seven-step handwashing: result",
        "Seven-step handwashing: points (of 4)",
        "CE hours",
    ]
    assert rows[0][2:] == ["Enrolled", "100", "2026-03-01", "Passed", "4", "8"]
    assert rows[1][2:] == ["Enrolled", "40", "", "", "", "0"]


def test_hr_sees_only_the_people_they_may_see(
    client: Any, world: LearningWorld, book: dict[str, Any], make_user: Any
) -> None:
    client.login(make_user(("hr", world.employer)))
    html = client.get(f"/cohorts/{world.cohort.id}/gradebook").text
    assert re.findall(r'<tr id="person-(\d+)"', html) == [str(world.trainee.id)]
    rows = read_csv(client.get(f"/cohorts/{world.cohort.id}/gradebook.csv"))[1:]
    assert [r[0] for r in rows] == ["Dora Zhang"]
    client.login(make_user("coordinator"))
    assert len(read_csv(client.get(f"/cohorts/{world.cohort.id}/gradebook.csv"))) == 5


@pytest.mark.parametrize("suffix", ["", ".csv"])
def test_who_may_not_open_the_gradebook(
    client: Any, world: LearningWorld, make_user: Any, suffix: str
) -> None:
    url = f"/cohorts/{world.cohort.id}/gradebook{suffix}"
    client.login(world.trainee)
    assert client.get(url).status_code == 403
    client.login(make_user("instructor"))  # teaches another cohort, if any
    assert client.get(url).status_code == 404
    client.login(make_user(("coordinator", world.centre)))  # another partner's coordinator
    assert client.get(url).status_code == 404
    assert client.get(f"/cohorts/999999/gradebook{suffix}").status_code == 404


@pytest.mark.parametrize("suffix", ["", ".csv"])
def test_the_gradebook_runs_a_fixed_number_of_queries(
    client: Any, world: LearningWorld, count_queries: Any, suffix: str
) -> None:
    def people(start: int, stop: int) -> None:
        for i in range(start, stop):
            person = enrol(world.cohort, f"Person {i:02d}")
            lessons_done(world, person, 2)
            attempt(world, person, 1, "70.00")
            observed(world, person, 1, 1)
        db.session.commit()

    client.login(world.instructor)
    url = f"/cohorts/{world.cohort.id}/gradebook{suffix}"
    people(0, 1)  # with the world's trainee: 2 people
    with count_queries as few:
        assert client.get(url).status_code == 200
    people(1, 19)
    with count_queries as many:
        assert client.get(url).status_code == 200
    assert many.count == few.count
    if suffix:
        assert len(read_csv(client.get(url))) == 1 + 20
