"""``lms demo``: idempotent demo data and working demo logins."""

from __future__ import annotations

import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.auth.models import RoleAssignment, User
from lms.demo import steps
from lms.extensions import db
from lms.orgs.models import District, Organisation

MODELS = (District, Organisation, User, RoleAssignment, AuditEntry)


def row_counts() -> dict[str, int]:
    return {
        m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
        for m in MODELS
    }


def test_demo_twice_gives_the_same_output_and_rows(runner):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    counts = row_counts()
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert second.stdout == first.stdout
    assert row_counts() == counts


def test_demo_prints_one_line_per_login_in_role_order(runner):
    result = runner.invoke(args=["demo"])
    lines = result.stdout.splitlines()
    logins = [line.split(" ") for line in lines]
    assert all(len(parts) == 3 for parts in logins), lines
    roles = [role for role, _email, _password in logins]
    order = list(steps.ROLE_ORDER)
    assert roles == sorted(roles, key=order.index)
    assert {r: roles.count(r) for r in order} == {
        "admin": 1,
        "hr": 2,
        "coordinator": 2,
        "instructor": 3,
        "trainee": 12,
    }
    emails = [email for _role, email, _password in logins]
    assert len(set(emails)) == len(emails)
    assert all(len(password) >= 10 for _role, _email, password in logins)


def test_demo_data_has_the_districts_organisations_and_scopes(runner):
    runner.invoke(args=["demo"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(District)) >= 11
    kinds = dict(
        db.session.execute(
            sa.select(Organisation.kind, sa.func.count()).group_by(Organisation.kind)
        ).all()
    )
    assert kinds["university"] >= 3
    assert kinds["centre"] >= 2
    assert kinds["station"] >= 3
    assert kinds["nursery"] + kinds["parent_child_centre"] + kinds["care_point"] >= 4
    stations = db.session.scalars(sa.select(Organisation).where(Organisation.kind == "station"))
    assert all(s.parent is not None and s.parent.kind == "centre" for s in stations)
    hrs = db.session.scalars(
        sa.select(User).join(User.role_assignments).where(RoleAssignment.role == "hr")
    ).all()
    assert sorted(h.scope_of("hr") is None for h in hrs) == [False, True]
    coordinators = db.session.scalars(
        sa.select(User).join(User.role_assignments).where(RoleAssignment.role == "coordinator")
    ).all()
    scoped = [c for c in coordinators if c.scope_of("coordinator") is not None]
    assert len(scoped) == 1
    assert db.session.get(Organisation, scoped[0].scope_of("coordinator")).kind == "university"
    trainees = db.session.scalars(
        sa.select(User).join(User.role_assignments).where(RoleAssignment.role == "trainee")
    ).all()
    assert all(t.phone and t.employer is not None for t in trainees)
    assert all(
        t.employer.kind in ("nursery", "parent_child_centre", "care_point") for t in trainees
    )


def test_every_printed_login_works(runner, client):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    for line in result.stdout.splitlines():
        _role, email, password = line.split(" ")
        response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 302, (line, response.get_data(as_text=True))
        assert response.headers["Location"].endswith("/"), line
        client.post("/logout")


def test_demo_repairs_a_demo_account_whose_password_was_changed(runner, client):
    first = runner.invoke(args=["demo"])
    _role, email, password = first.stdout.splitlines()[0].split(" ")
    admin = db.session.scalar(sa.select(User).where(User.email == email))
    admin.password_hash = None
    db.session.commit()
    again = runner.invoke(args=["demo"])
    assert again.stdout == first.stdout
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302


def test_demo_instructors_own_their_university_s_imported_courses(runner, client):
    from pathlib import Path

    from lms.catalog.models import Course

    courses = Path(__file__).resolve().parents[2] / "courses"
    assert runner.invoke(args=["courses", "import", str(courses)]).exit_code == 0
    assert runner.invoke(args=["demo"]).exit_code == 0
    course = db.session.scalars(sa.select(Course).where(Course.code == "PRE-DEV-101")).one()
    assert [owner.email for owner in course.owners] == ["instructor.nnu@demo.example.org"]
    # The owner reaches the course's authoring page; a second run adds no owner.
    client.post(
        "/login",
        data={"email": "instructor.nnu@demo.example.org", "password": "demo-instructor-2026"},
    )
    assert client.get("/author/courses/PRE-DEV-101").status_code == 200
    assert runner.invoke(args=["demo"]).exit_code == 0
    db.session.expire_all()
    assert len(db.session.get(Course, course.id).owners) == 1


def test_demo_learning_shows_every_stage_and_runs_twice_unchanged(runner):
    from lms.assessments.models import PracticalResult, QuizAttempt
    from lms.learning.completion import holds_tier
    from lms.learning.models import (
        CeEntry,
        Cohort,
        CourseCompletion,
        Enrolment,
        LessonProgress,
        ProgrammeCompletion,
    )
    from tests.catalog import REPOSITORY_COURSES

    imported = runner.invoke(args=["courses", "import", str(REPOSITORY_COURSES)])
    assert imported.exit_code == 0, imported.output
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    tables = (Cohort, Enrolment, LessonProgress, QuizAttempt, PracticalResult, CourseCompletion)
    tables += (ProgrammeCompletion, CeEntry)

    def counts() -> dict[str, int]:
        return {
            m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
            for m in tables
        }

    before = counts()
    assert before["cohorts"] == 4 and before["enrolments"] == 17
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert counts() == before

    def person(number: int) -> User:
        email = f"trainee{number:02d}@demo.example.org"
        return db.session.scalar(sa.select(User).where(User.email == email))

    assert holds_tier(person(1).id, "talent_pool")
    assert holds_tier(person(2).id, "talent_pool")
    assert not holds_tier(person(3).id, "talent_pool")
    waiting = db.session.scalars(
        sa.select(QuizAttempt.user_id).where(QuizAttempt.pending_review.is_(True))
    ).all()
    assert waiting == [person(4).id]
    external = db.session.scalar(sa.select(CeEntry).where(CeEntry.kind == "external"))
    assert external.user_id == person(10).id

    # Certificates at every stage of their life, each with its PDF.
    from lms.certificates.models import Certificate

    found = {
        c.holder_id: c.status
        for c in db.session.scalars(sa.select(Certificate))
        if c.pdf_sha256 is not None
    }
    assert found == {
        person(1).id: "valid",
        person(2).id: "valid",
        person(9).id: "valid",
        person(11).id: "expired",
        person(12).id: "revoked",
    }
