"""Enrolment by file: encodings and headers, all rows or none, row-numbered errors, the job."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from lms import jobs
from lms.catalog.models import Course
from lms.extensions import db
from lms.learning import enrolment_csv
from lms.learning.enrolment_jobs import JOB_KIND
from lms.learning.models import CourseCompletion, Enrolment
from lms.people.roster import RosterInvalid
from lms.people.roster_jobs import upload_path
from tests.conftest import run_queued_jobs
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def world(learning_world: Any) -> Any:
    learning_world.hr = UserFactory(roles=[("hr", learning_world.employer)], name="人事甲")
    learning_world.people = [
        UserFactory(
            roles=["trainee"],
            employer=learning_world.employer,
            email=f"csv{n}@example.org",
            phone=f"1370000000{n}",
        )
        for n in range(3)
    ]
    db.session.commit()
    return learning_world


def enrolled_ids(world: Any) -> set[int]:
    stmt = sa.select(Enrolment.user_id).where(
        Enrolment.cohort_id == world.cohort.id, Enrolment.status == "enrolled"
    )
    return set(db.session.scalars(stmt))


def errors_of(data: bytes | str, world: Any, actor: Any = None) -> list[str]:
    with pytest.raises(RosterInvalid) as excinfo:
        enrolment_csv.enrol_from_file(data, (actor or world.hr).id, world.cohort.id)
    db.session.rollback()
    return [str(e) for e in excinfo.value.row_errors]


def test_emails_enrol_everyone(world: Any) -> None:
    text = "email\n" + "".join(f"{p.email.upper()}\n" for p in world.people)
    result = enrolment_csv.enrol_from_file(text, world.hr.id, world.cohort.id)
    db.session.commit()
    assert (result.enrolled, result.reenrolled) == (3, 0)
    assert enrolled_ids(world) == {world.trainee.id, *(p.id for p in world.people)}
    sources = db.session.scalars(
        sa.select(Enrolment.source).where(Enrolment.user_id == world.people[0].id)
    ).all()
    assert sources == ["csv"]


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-16"])
def test_chinese_phone_header_in_every_encoding(world: Any, encoding: str) -> None:
    text = "姓名,手机\n" + "".join(f"某人,{p.phone[:3]} {p.phone[3:]}\n" for p in world.people)
    data = text.encode(encoding)
    result = enrolment_csv.enrol_from_file(data, world.hr.id, world.cohort.id)
    assert result.enrolled == 3


def test_chinese_email_header_in_gbk(world: Any) -> None:
    data = ("邮箱\r\n" + world.people[0].email + "\r\n").encode("gbk")
    assert enrolment_csv.enrol_from_file(data, world.hr.id, world.cohort.id).enrolled == 1


def test_every_problem_is_named_by_row_and_column_and_nothing_is_saved(world: Any) -> None:
    stranger = UserFactory(roles=["trainee"], employer=OrganisationFactory(), email="x@example.org")
    teacher = UserFactory(roles=["instructor"], employer=world.employer, email="t@example.org")
    UserFactory(roles=["trainee"], employer=world.employer, email="off@example.org", active=False)
    db.session.commit()
    text = (
        "邮箱,备注\n"
        f"{world.people[0].email},ok\n"  # row 2: fine
        "nobody@example.org,\n"  # 3
        f"{stranger.email},\n"  # 4
        f"{teacher.email},\n"  # 5
        "off@example.org,\n"  # 6
        f"{world.people[0].email},\n"  # 7: again
        f"{world.trainee.email},\n"  # 8
        "not an email,\n"  # 9
        ",note\n"  # 10
    )
    assert errors_of(text, world) == [
        "row 3, column 邮箱: No one has this email address.",
        "row 4, column 邮箱: This person is not among the people you look after.",
        f"row 5, column 邮箱: {teacher.name} is not a trainee.",
        f"row 6, column 邮箱: The account of {_name('off@example.org')} is inactive.",
        "row 7, column 邮箱: The same person is already on row 2.",
        f"row 8, column 邮箱: {world.trainee.name} is already enrolled in this cohort.",
        "row 9, column 邮箱: Not a valid email address.",
        "row 10, column 邮箱: An email address or a mobile number is required.",
    ]
    assert enrolled_ids(world) == {world.trainee.id}


def _name(email: str) -> str:
    from lms.auth.models import User

    return db.session.scalars(sa.select(User.name).where(User.email == email)).one()


def test_same_person_by_email_and_by_phone_is_a_duplicate(world: Any) -> None:
    person = world.people[1]
    text = f"email,phone\n{person.email},\n,{person.phone}\n"
    assert errors_of(text, world) == ["row 3, column phone: The same person is already on row 2."]


def test_rows_beyond_the_capacity_are_named(world: Any) -> None:
    world.cohort.capacity = 2  # one place left
    db.session.commit()
    text = "email\n" + "".join(f"{p.email}\n" for p in world.people)
    message = "The cohort has 1 places left (capacity 2): this row is one too many."
    assert errors_of(text, world) == [
        f"row 3, column email: {message}",
        f"row 4, column email: {message}",
    ]


def test_missing_prerequisite_is_named(world: Any) -> None:
    basics = Course(
        code="WORLD-000", title="入门", track="pre_service", level="foundation", status="published"
    )
    db.session.add(basics)
    world.course.prerequisites.append(basics)
    done = world.people[0]
    db.session.add(CourseCompletion(user_id=done.id, course_id=basics.id, ce_hours=Decimal(1)))
    db.session.commit()
    text = f"email\n{done.email}\n{world.people[1].email}\n"
    assert errors_of(text, world) == [
        f"row 3, column email: {world.people[1].name} has not completed the prerequisite "
        "courses: WORLD-000."
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "The file is empty."),
        ("email\n\n", "The file has no rows below its header."),
        ("name\n张三\n", "row 1: Name a column of email addresses or of mobile numbers"),
        ("email,邮箱\na@example.org,a@example.org\n", "row 1, column 邮箱: This column appears"),
        (b"PK\x03\x04rest", "This is an Excel workbook; save it as CSV (UTF-8) first."),
    ],
)
def test_file_level_problems(world: Any, data: str | bytes, message: str) -> None:
    errors = errors_of(data, world)
    assert len(errors) == 1
    assert errors[0].startswith(message)


def test_archived_cohort_and_foreign_actor_are_refused(world: Any) -> None:
    text = f"email\n{world.people[0].email}\n"
    message = "You may not enrol people in this cohort."
    assert errors_of(text, world, world.instructor) == [message]
    assert errors_of(text, world, world.trainee) == [message]
    world.cohort.status = "archived"
    db.session.commit()
    assert errors_of(text, world) == ["This cohort is archived: no one can enrol in it."]


def test_progress_is_reported_while_checking(world: Any) -> None:
    calls: list[tuple[int, int]] = []
    text = "email\n" + "".join(f"{p.email}\n" for p in world.people)
    enrolment_csv.read_enrolment_file(
        text, world.hr.id, world.cohort.id, lambda done, total: calls.append((done, total))
    )
    assert calls[0] == (0, 3)
    assert calls[-1] == (3, 3)


# The job ---------------------------------------------------------------------------------------


def run_job(app: Flask, world: Any, data: bytes) -> jobs.Job:
    stored = "0a1b2c3d-0000-4000-8000-000000000001.csv"
    path = upload_path(stored)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    job = jobs.enqueue(JOB_KIND, stored, world.cohort.id, world.hr.id, requested_by_id=world.hr.id)
    run_queued_jobs(app)
    db.session.expire_all()
    return db.session.get(jobs.Job, job.id)


def test_job_enrols_and_reports(app: Flask, world: Any) -> None:
    data = ("邮箱\n" + "".join(f"{p.email}\n" for p in world.people)).encode("gbk")
    job = run_job(app, world, data)
    assert job.state == "finished"
    assert job.progress == 100
    assert job.result == {
        "cohort_id": world.cohort.id,
        "enrolled": 3,
        "reenrolled": 0,
        "errors": [],
    }
    assert job.message == "新报名 3 人，重新报名 0 人。"  # the default language
    assert len(enrolled_ids(world)) == 4
    # Running the same file again enrols no one twice.
    again = run_job(app, world, data)
    assert again.result["enrolled"] == 0
    assert again.result["errors"][0]["text"].endswith("已报名本班级。")
    assert len(enrolled_ids(world)) == 4


def test_job_with_errors_enrols_no_one(app: Flask, world: Any) -> None:
    data = f"email\n{world.people[0].email}\nnobody@example.org\n".encode()
    job = run_job(app, world, data)
    assert job.state == "finished"
    assert job.message == "未为任何人办理报名：文件中有 1 处问题需要更正。"
    assert [e["text"] for e in job.result["errors"]] == [
        "row 3, column email: 没有人员使用此电子邮箱。"
    ]
    assert enrolled_ids(world) == {world.trainee.id}
