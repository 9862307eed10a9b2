"""The cohort pages: list, open cohorts, detail and roster, forms, enrolment and withdrawal."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from lms.audit.models import AuditEntry
from lms.catalog.models import Course
from lms.extensions import db
from lms.learning.enrolment import enrol_people, withdraw
from lms.learning.models import Cohort, CourseCompletion, Enrolment
from tests.conftest import form_errors, run_queued_jobs
from tests.factories import OrganisationFactory, UserFactory


@pytest.fixture
def world(learning_world: Any) -> Any:
    """The world, committed, with staff: an HR officer limited to the trainees' employer,
    a coordinator limited to the world's partner, and an administrator."""
    w = learning_world
    w.hr = UserFactory(roles=[("hr", w.employer)], name="人事甲")
    w.coordinator = UserFactory(roles=[("coordinator", w.partner)], name="协调乙")
    w.admin = UserFactory(roles=["admin"], name="管理丙")
    w.other_partner = OrganisationFactory(kind="university", code="OTHERU")
    today = date.today()
    w.other_cohort = Cohort(
        code="OTHER-2026-01",
        title="别的大学的班",
        course=w.course,
        partner=w.other_partner,
        online=True,
        starts_on=today,
        ends_on=today + timedelta(days=10),
        status="closed",
    )
    db.session.add(w.other_cohort)
    db.session.commit()
    return w


def signed_in(app: Flask, user: Any) -> Any:
    client = app.test_client()
    client.use_language("en")
    client.login(user)
    return client


def row_ids(html: str, prefix: str) -> set[int]:
    return {int(n) for n in re.findall(rf'id="{prefix}-(\d+)"', html)}


def trainees(world: Any, n: int, employer: Any = None) -> list[Any]:
    people = [UserFactory(roles=["trainee"], employer=employer or world.employer) for _ in range(n)]
    db.session.commit()
    return people


# Who may go where ------------------------------------------------------------------------------


def test_trainees_cannot_reach_staff_pages(app: Flask, world: Any) -> None:
    client = signed_in(app, world.trainee)
    cohort_id = world.cohort.id
    for path in (
        "/cohorts/new",
        f"/cohorts/{cohort_id}/edit",
        f"/cohorts/{cohort_id}/enrol",
        f"/cohorts/{cohort_id}/enrol/csv",
        f"/cohorts/{cohort_id}/enrol/csv/some-job",
    ):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/cohorts/{cohort_id}/enrol", data={"one": "1"}).status_code == 403


def test_anonymous_is_sent_to_sign_in(client: Any, world: Any) -> None:
    response = client.get(f"/cohorts/{world.cohort.id}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_scoped_coordinator_sees_only_their_partners_cohorts(app: Flask, world: Any) -> None:
    client = signed_in(app, world.coordinator)
    html = client.get("/cohorts").get_data(as_text=True)
    assert row_ids(html, "cohort") == {world.cohort.id}
    assert client.get(f"/cohorts/{world.other_cohort.id}").status_code == 404
    assert client.get(f"/cohorts/{world.other_cohort.id}/enrol").status_code == 404
    everyone = signed_in(app, world.admin).get("/cohorts").get_data(as_text=True)
    assert row_ids(everyone, "cohort") == {world.cohort.id, world.other_cohort.id}


def test_trainee_list_shows_their_cohorts_and_open_ones(app: Flask, world: Any) -> None:
    html = signed_in(app, world.trainee).get("/cohorts").get_data(as_text=True)
    assert row_ids(html, "cohort") == {world.cohort.id}
    newcomer = trainees(world, 1)[0]
    html = signed_in(app, newcomer).get("/cohorts").get_data(as_text=True)
    assert row_ids(html, "cohort") == {world.cohort.id}  # open for self-enrolment
    assert "New cohort" not in html


# The list --------------------------------------------------------------------------------------


def test_list_filters_searches_and_shows_places(app: Flask, world: Any) -> None:
    client = signed_in(app, world.admin)
    html = client.get("/cohorts").get_data(as_text=True)
    assert "1 / 30" in html
    assert "0 (no limit)" in html
    assert 'id="new-cohort"' in html
    by_status = client.get("/cohorts?status=closed").get_data(as_text=True)
    assert row_ids(by_status, "cohort") == {world.other_cohort.id}
    by_partner = client.get(f"/cohorts?partner={world.partner.id}").get_data(as_text=True)
    assert row_ids(by_partner, "cohort") == {world.cohort.id}
    by_text = client.get("/cohorts?q=other-2026").get_data(as_text=True)
    assert row_ids(by_text, "cohort") == {world.other_cohort.id}
    by_programme = client.get(f"/cohorts?programme={world.programme.id}").get_data(as_text=True)
    assert row_ids(by_programme, "cohort") == set()
    assert client.get("/cohorts?course=nonsense&page=99999999999").status_code == 200


def _more_cohorts(world: Any, n: int, start: int) -> None:
    today = date.today()
    for i in range(start, start + n):
        cohort = Cohort(
            code=f"MORE-{i:03d}",
            title=f"更多 {i}",
            course=world.course,
            partner=world.partner,
            location=world.centre,
            starts_on=today,
            ends_on=today + timedelta(days=5),
            capacity=10,
            self_enrolment=True,
            status="open",
        )
        cohort.instructors.append(world.instructor)
        db.session.add(cohort)
        db.session.flush()
        for person in trainees(world, 2):
            db.session.add(Enrolment(cohort_id=cohort.id, user_id=person.id, source="staff"))
    db.session.commit()


def test_list_runs_a_fixed_number_of_queries(app: Flask, world: Any, count_queries: Any) -> None:
    client = signed_in(app, world.coordinator)
    _more_cohorts(world, 2, 0)
    with count_queries as few:
        assert client.get("/cohorts").status_code == 200
    _more_cohorts(world, 10, 2)
    with count_queries as many:
        html = client.get("/cohorts").get_data(as_text=True)
    assert len(row_ids(html, "cohort")) == 13
    assert many.count == few.count


# Open cohorts ----------------------------------------------------------------------------------


def test_open_cohorts_show_places_and_the_button_or_the_reason(app: Flask, world: Any) -> None:
    _more_cohorts(world, 1, 0)
    full = db.session.scalars(sa.select(Cohort).where(Cohort.code == "MORE-000")).one()
    full.capacity = 2
    db.session.commit()
    newcomer = trainees(world, 1)[0]
    client = signed_in(app, newcomer)
    html = client.get("/cohorts/open").get_data(as_text=True)
    assert row_ids(html, "offering") == {world.cohort.id, full.id}
    mine = _card(html, world.cohort.id)
    assert "29" in mine  # places left
    assert f'action="/cohorts/{world.cohort.id}/self-enrol"' in mine
    assert "This cohort is full (2 places)." in _card(html, full.id)
    assert "/self-enrol" not in _card(html, full.id)
    enrolled = signed_in(app, world.trainee).get("/cohorts/open").get_data(as_text=True)
    assert "You are already enrolled in this cohort." in _card(enrolled, world.cohort.id)
    other_course = client.get("/cohorts/open?course=999999").get_data(as_text=True)
    assert 'id="no-offerings"' in other_course


def _card(html: str, cohort_id: int) -> str:
    start = html.index(f'id="offering-{cohort_id}"')
    return html[start : html.index("</article>", start)]


def test_open_cohorts_name_a_missing_prerequisite(app: Flask, world: Any) -> None:
    basics = Course(
        code="WORLD-000", title="入门", track="pre_service", level="foundation", status="published"
    )
    db.session.add(basics)
    world.course.prerequisites.append(basics)
    db.session.commit()
    newcomer = trainees(world, 1)[0]
    client = signed_in(app, newcomer)
    card = _card(client.get("/cohorts/open").get_data(as_text=True), world.cohort.id)
    assert "Complete the prerequisite courses first: WORLD-000." in card
    db.session.add(CourseCompletion(user_id=newcomer.id, course_id=basics.id, ce_hours=Decimal(1)))
    db.session.commit()
    card = _card(client.get("/cohorts/open").get_data(as_text=True), world.cohort.id)
    assert "/self-enrol" in card


def test_open_cohorts_run_a_fixed_number_of_queries(
    app: Flask, world: Any, count_queries: Any
) -> None:
    client = signed_in(app, trainees(world, 1)[0])
    _more_cohorts(world, 2, 0)
    with count_queries as few:
        assert client.get("/cohorts/open").status_code == 200
    _more_cohorts(world, 8, 2)
    with count_queries as many:
        html = client.get("/cohorts/open").get_data(as_text=True)
    assert len(row_ids(html, "offering")) == 11
    assert many.count == few.count


def test_trainee_enrols_and_withdraws_themself(app: Flask, world: Any) -> None:
    newcomer = trainees(world, 1)[0]
    client = signed_in(app, newcomer)
    response = client.post(f"/cohorts/{world.cohort.id}/self-enrol", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "You are enrolled in" in html
    enrolment = db.session.scalars(
        sa.select(Enrolment).where(Enrolment.user_id == newcomer.id)
    ).one()
    assert enrolment.source == "self"
    again = client.post(f"/cohorts/{world.cohort.id}/self-enrol", follow_redirects=True)
    assert "You are already enrolled in this cohort." in again.get_data(as_text=True)
    url = f"/cohorts/{world.cohort.id}/enrolments/{enrolment.id}/withdraw"
    html = client.post(url, data={"reason": ""}, follow_redirects=True).get_data(as_text=True)
    assert "You have withdrawn from" in html
    db.session.expire_all()
    assert db.session.get(Enrolment, enrolment.id).status == "withdrawn"
    # Another trainee may not withdraw someone else.
    other = signed_in(app, world.trainee)
    refused = other.post(url, data={"reason": "x"})
    assert refused.status_code == 403


def test_trainee_cannot_see_or_join_a_cohort_closed_to_them(app: Flask, world: Any) -> None:
    world.cohort.status = "closed"
    db.session.commit()
    newcomer = trainees(world, 1)[0]
    client = signed_in(app, newcomer)
    # A closed cohort is not visible to a trainee who is not in it.
    assert client.post(f"/cohorts/{world.cohort.id}/self-enrol").status_code == 404
    world.cohort.status = "open"
    world.cohort.self_enrolment = False
    db.session.commit()
    assert client.get(f"/cohorts/{world.cohort.id}").status_code == 404


# The detail page and its roster ----------------------------------------------------------------


def test_detail_shows_facts_and_roster_with_withdrawals(app: Flask, world: Any) -> None:
    people = trainees(world, 2)
    enrol_people(world.hr.id, world.cohort.id, [p.id for p in people])
    db.session.commit()
    gone = db.session.scalars(sa.select(Enrolment).where(Enrolment.user_id == people[1].id)).one()
    withdraw(world.hr.id, gone.id, "Changed jobs")
    db.session.commit()
    html = signed_in(app, world.admin).get(f"/cohorts/{world.cohort.id}").get_data(as_text=True)
    assert "WORLD-101" in html
    assert world.partner.name_en in html or world.partner.name in html
    assert world.instructor.name in html
    assert "2 enrolled of 30 places (28 left)" in html
    assert row_ids(html, "enrolment") == {world.enrolment.id, gone.id} | {
        e.id
        for e in db.session.scalars(sa.select(Enrolment).where(Enrolment.user_id == people[0].id))
    }
    row = html[html.index(f'id="enrolment-{gone.id}"') :]
    row = row[: row.index("</tr>")]
    assert "Withdrawn" in row
    assert "Changed jobs" in row
    assert f"by {world.hr.name}" in row


def test_roster_lists_only_the_people_a_scoped_officer_sees(app: Flask, world: Any) -> None:
    outsider = trainees(world, 1, employer=OrganisationFactory())[0]
    enrol_people(world.admin.id, world.cohort.id, [outsider.id])
    db.session.commit()
    outsider_row = db.session.scalars(
        sa.select(Enrolment.id).where(Enrolment.user_id == outsider.id)
    ).one()
    scoped = signed_in(app, world.hr).get(f"/cohorts/{world.cohort.id}").get_data(as_text=True)
    assert row_ids(scoped, "enrolment") == {world.enrolment.id}
    teacher = signed_in(app, world.instructor).get(f"/cohorts/{world.cohort.id}")
    assert row_ids(teacher.get_data(as_text=True), "enrolment") == {
        world.enrolment.id,
        outsider_row,
    }
    own = signed_in(app, world.trainee).get(f"/cohorts/{world.cohort.id}").get_data(as_text=True)
    assert 'id="roster"' not in own
    assert "You are enrolled since" in own


def test_detail_runs_a_fixed_number_of_queries(app: Flask, world: Any, count_queries: Any) -> None:
    client = signed_in(app, world.admin)
    admin_id, cohort_id = world.admin.id, world.cohort.id
    url = f"/cohorts/{cohort_id}"
    more = [p.id for p in trainees(world, 10)]
    enrol_people(admin_id, cohort_id, [p.id for p in trainees(world, 2)])
    db.session.commit()
    db.session.expunge_all()  # nothing cached from the test, as in a real request
    with count_queries as few:
        assert client.get(url).status_code == 200
    enrol_people(admin_id, cohort_id, more)
    db.session.commit()
    db.session.expunge_all()
    with count_queries as many:
        html = client.get(url).get_data(as_text=True)
    assert len(row_ids(html, "enrolment")) == 13
    assert many.count == few.count


# Creating and editing --------------------------------------------------------------------------


def _form(world: Any, **changes: Any) -> dict[str, Any]:
    today = date.today()
    values: dict[str, Any] = {
        "code": "WORLD-101-2026-09",
        "title": "照护基础 第9期",
        "course_id": str(world.course.id),
        "programme_id": "",
        "partner_id": str(world.partner.id),
        "location_id": str(world.centre.id),
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=30)).isoformat(),
        "capacity": "25",
        "self_enrolment": "y",
        "status": "open",
        "instructor_ids": [str(world.instructor.id)],
    }
    values.update(changes)
    return values


def test_coordinator_creates_a_cohort(app: Flask, world: Any) -> None:
    client = signed_in(app, world.coordinator)
    assert client.get("/cohorts/new").status_code == 200
    response = client.post("/cohorts/new", data=_form(world))
    assert response.status_code == 302
    cohort = db.session.scalars(sa.select(Cohort).where(Cohort.code == "WORLD-101-2026-09")).one()
    assert response.headers["Location"].endswith(f"/cohorts/{cohort.id}")
    assert cohort.capacity == 25
    assert cohort.self_enrolment
    assert [i.id for i in cohort.instructors] == [world.instructor.id]
    assert db.session.scalar(
        sa.select(AuditEntry.actor_id).where(
            AuditEntry.action == "cohort.created", AuditEntry.entity_id == cohort.id
        )
    ) == (world.coordinator.id)


def test_form_errors_name_the_field_and_save_nothing(app: Flask, world: Any) -> None:
    client = signed_in(app, world.admin)
    response = client.post(
        "/cohorts/new",
        data=_form(world, programme_id=str(world.programme.id), location_id=""),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="course_id-error"' in html
    assert 'id="programme_id-error"' in html
    assert 'id="location_id-error"' in html
    assert "Choose either a course or a programme (one of the two)." in form_errors(html)
    assert db.session.scalar(sa.select(Cohort.id).where(Cohort.code == "WORLD-101-2026-09")) is None
    bad_number = client.post("/cohorts/new", data=_form(world, capacity="0"))
    assert bad_number.status_code == 422
    assert 'id="capacity-error"' in bad_number.get_data(as_text=True)


def test_edit_refuses_a_capacity_below_the_enrolled(app: Flask, world: Any) -> None:
    client = signed_in(app, world.hr)
    enrol_people(world.hr.id, world.cohort.id, [p.id for p in trainees(world, 2)])
    db.session.commit()
    url = f"/cohorts/{world.cohort.id}/edit"
    assert "WORLD-101-2026-01" in client.get(url).get_data(as_text=True)
    response = client.post(url, data=_form(world, code=world.cohort.code, capacity="2"))
    assert response.status_code == 422
    assert "3 people are already enrolled: the capacity cannot be lower." in form_errors(
        response.get_data(as_text=True)
    )
    ok = client.post(url, data=_form(world, code=world.cohort.code, capacity="3", status="closed"))
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Cohort, world.cohort.id).status == "closed"
    assert db.session.scalar(sa.select(AuditEntry.id).where(AuditEntry.action == "cohort.updated"))


# Enrolling by search ---------------------------------------------------------------------------


def test_search_lists_visible_active_trainees_and_htmx_gets_the_results_only(
    app: Flask, world: Any
) -> None:
    mine = UserFactory(roles=["trainee"], employer=world.employer, name="李找得到")
    UserFactory(roles=["trainee"], employer=OrganisationFactory(), name="李找不到")
    UserFactory(roles=["trainee"], employer=world.employer, name="李停用", active=False)
    UserFactory(roles=["instructor"], employer=world.employer, name="李讲师")
    db.session.commit()
    client = signed_in(app, world.hr)
    page = client.get(f"/cohorts/{world.cohort.id}/enrol?q=李").get_data(as_text=True)
    assert "<html" in page
    assert row_ids(page, "candidate") == {mine.id}
    partial = client.get(
        f"/cohorts/{world.cohort.id}/enrol?q=李", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" not in partial
    assert row_ids(partial, "candidate") == {mine.id}
    already = client.get(f"/cohorts/{world.cohort.id}/enrol?q={world.trainee.email}")
    assert "Already enrolled" in already.get_data(as_text=True)


def test_enrol_several_ticked_or_one(app: Flask, world: Any) -> None:
    people = trainees(world, 3)
    client = signed_in(app, world.hr)
    url = f"/cohorts/{world.cohort.id}/enrol"
    response = client.post(url, data={"user_ids": [str(people[0].id), str(people[1].id)]})
    assert response.status_code == 302
    response = client.post(url, data={"one": str(people[2].id), "user_ids": [str(people[0].id)]})
    assert response.status_code == 302
    stmt = sa.select(Enrolment.user_id, Enrolment.enrolled_by_id).where(
        Enrolment.cohort_id == world.cohort.id, Enrolment.source == "staff"
    )
    rows = set(db.session.execute(stmt).tuples())
    assert {(p.id, world.hr.id) for p in people} <= rows
    html = client.post(url, data={"one": str(people[0].id)}, follow_redirects=True)
    assert "is already enrolled in this cohort." in html.get_data(as_text=True)


def test_scoped_officer_cannot_enrol_someone_outside_their_organisations(
    app: Flask, world: Any
) -> None:
    outsider = trainees(world, 1, employer=OrganisationFactory())[0]
    client = signed_in(app, world.hr)
    url = f"/cohorts/{world.cohort.id}/enrol"
    assert client.post(url, data={"one": str(outsider.id)}).status_code == 404
    assert client.post(url, data={"user_ids": [str(outsider.id)]}).status_code == 404
    assert (
        db.session.scalar(sa.select(Enrolment.id).where(Enrolment.user_id == outsider.id)) is None
    )


def test_staff_withdraw_with_a_reason(app: Flask, world: Any) -> None:
    client = signed_in(app, world.hr)
    url = f"/cohorts/{world.cohort.id}/enrolments/{world.enrolment.id}/withdraw"
    html = client.post(url, data={"reason": ""}, follow_redirects=True).get_data(as_text=True)
    assert "Give the reason for the withdrawal." in html
    html = client.post(url, data={"reason": "Left the nursery"}, follow_redirects=True).get_data(
        as_text=True
    )
    assert f"{world.trainee.name} has been withdrawn." in html
    db.session.expire_all()
    enrolment = db.session.get(Enrolment, world.enrolment.id)
    assert (enrolment.status, enrolment.withdrawal_reason) == ("withdrawn", "Left the nursery")
    assert enrolment.withdrawn_by_id == world.hr.id


def test_scoped_officer_cannot_withdraw_someone_they_do_not_see(app: Flask, world: Any) -> None:
    outsider = trainees(world, 1, employer=OrganisationFactory())[0]
    done = enrol_people(world.admin.id, world.cohort.id, [outsider.id])
    db.session.commit()
    client = signed_in(app, world.hr)
    url = f"/cohorts/{world.cohort.id}/enrolments/{done[0].enrolment.id}/withdraw"
    assert client.post(url, data={"reason": "x"}).status_code == 404


# Enrolling by file -----------------------------------------------------------------------------


def test_upload_runs_the_job_and_shows_progress_and_summary(app: Flask, world: Any) -> None:
    people = trainees(world, 2)
    client = signed_in(app, world.hr)
    url = f"/cohorts/{world.cohort.id}/enrol/csv"
    page = client.get(url).get_data(as_text=True)
    assert "邮箱" in page and "手机" in page
    data = ("手机\n" + "".join(f"{p.phone}\n" for p in people)).encode("gbk")
    response = client.post(
        url, data={"file": (io.BytesIO(data), "people.csv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    status_url = response.headers["Location"]
    run_queued_jobs(app)
    html = client.get(status_url).get_data(as_text=True)
    assert "<progress" in html
    assert 'id="enrol-summary"' in html
    assert "Enrolled 2, enrolled again 0." in html
    assert f"/cohorts/{world.cohort.id}/enrol/csv/" in client.get(url).get_data(as_text=True)
    # Someone else's job is not theirs to see; another cohort's URL does not show it.
    assert signed_in(app, world.coordinator).get(status_url).status_code == 404


def test_upload_with_errors_lists_them_by_row(app: Flask, world: Any) -> None:
    client = signed_in(app, world.hr)
    url = f"/cohorts/{world.cohort.id}/enrol/csv"
    data = f"email\n{world.trainee.email}\n".encode()
    response = client.post(
        url, data={"file": (io.BytesIO(data), "people.csv")}, content_type="multipart/form-data"
    )
    run_queued_jobs(app)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="enrol-errors"' in html
    assert f"row 2, column email: {world.trainee.name} is already enrolled" in html
