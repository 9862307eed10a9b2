"""The CE-hours ledger: the trainee's own, a person's learning record, and the external
training HR officers record and remove."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.auth.models import User
from lms.extensions import db
from lms.learning import completion
from lms.learning.models import CeEntry, Programme, ProgrammeCompletion
from tests.conftest import form_errors
from tests.learning.test_progress import finish_lesson, observe, pass_quiz

TODAY = date.today()


def record_url(user_id: int) -> str:
    return f"/people/{user_id}/learning/ce"


def external(user_id: int, hours: str = "3", title: str = "区级培训", **kwargs: Any) -> CeEntry:
    entry = CeEntry(
        user_id=user_id,
        cycle=kwargs.pop("cycle", TODAY.year),
        hours=Decimal(hours),
        kind="external",
        title=title,
        reason=kwargs.pop("reason", "区卫健委组织"),
        occurred_on=kwargs.pop("occurred_on", TODAY),
        **kwargs,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def entries(user_id: int) -> list[CeEntry]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(CeEntry).where(CeEntry.user_id == user_id)))


def audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


@pytest.fixture
def hr_client(client: Any, make_user: Any, learning_world: Any) -> Any:
    db.session.commit()
    client.hr = make_user("hr", name="人事王")
    client.login(client.hr)
    client.use_language("en")
    return client


def valid_form(**changes: str) -> dict[str, str]:
    data = {
        "title": "市级婴幼儿照护研讨会",
        "hours": "2.5",
        "occurred_on": (TODAY - timedelta(days=3)).isoformat(),
        "reason": "经区卫健委认定",
    }
    data.update(changes)
    return data


# Recording external training -------------------------------------------------------------------


def test_hr_records_external_training(hr_client: Any, learning_world: Any) -> None:
    trainee = learning_world.trainee
    page = hr_client.get(f"/people/{trainee.id}/learning").get_data(as_text=True)
    assert 'id="record-ce-form"' in page
    response = hr_client.post(record_url(trainee.id), data=valid_form())
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/people/{trainee.id}/learning#ce")
    [entry] = entries(trainee.id)
    assert entry.kind == "external"
    assert entry.hours == Decimal("2.5")
    assert entry.cycle == (TODAY - timedelta(days=3)).year
    assert entry.recorded_by_id == hr_client.hr.id
    assert entry.reason == "经区卫健委认定"
    [logged] = audit("ce.recorded")
    assert logged.actor_id == hr_client.hr.id
    assert (logged.entity_type, logged.entity_id) == ("user", trainee.id)
    assert logged.after["hours"] == "2.5" and logged.reason == "经区卫健委认定"
    html = hr_client.get(f"/people/{trainee.id}/learning").get_data(as_text=True)
    assert "The CE hours have been recorded." in html
    row = html[html.index(f'id="ce-entry-{entry.id}"') :]
    assert "市级婴幼儿照护研讨会" in row and "Recorded by 人事王" in row


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "  "}, "title", "Enter the title of the training."),
        ({"title": "长" * 201}, "title", "At most 200 characters."),
        ({"hours": ""}, "hours", "Enter the hours, e.g. 2.5."),
        ({"hours": "0"}, "hours", "Enter more than 0 and at most 2000 hours."),
        ({"hours": "-1"}, "hours", "Enter more than 0 and at most 2000 hours."),
        ({"hours": "1.25"}, "hours", "Use at most one decimal, e.g. 2.5."),
        ({"hours": "abc"}, "hours", "Not a valid decimal value."),
        ({"hours": "NaN"}, "hours", "Not a valid decimal value."),
        ({"occurred_on": ""}, "occurred_on", "Enter the date of the training."),
        (
            {"occurred_on": (TODAY + timedelta(days=1)).isoformat()},
            "occurred_on",
            "The date cannot be in the future.",
        ),
        ({"occurred_on": "2026-13-40"}, "occurred_on", "Not a valid date value."),
        ({"reason": ""}, "reason", "Say why these hours count."),
    ],
)
def test_bad_input_is_refused_field_by_field(
    hr_client: Any, learning_world: Any, changes: dict[str, str], field: str, message: str
) -> None:
    trainee = learning_world.trainee
    response = hr_client.post(record_url(trainee.id), data=valid_form(**changes))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in form_errors(html)
    assert f'id="{field}-error"' in html
    assert entries(trainee.id) == []
    assert audit("ce.recorded") == []


@pytest.mark.parametrize("hours", ["0", "abc"])
def test_several_errors_at_once(hr_client: Any, learning_world: Any, hours: str) -> None:
    trainee = learning_world.trainee
    data = {"title": "", "hours": hours, "occurred_on": "", "reason": ""}
    response = hr_client.post(record_url(trainee.id), data=data)
    assert response.status_code == 422
    errors = form_errors(response.get_data(as_text=True))
    assert len(errors) == 4
    assert "Enter the title of the training." in errors
    assert entries(trainee.id) == []


def test_external_hours_count_towards_programmes(hr_client: Any, learning_world: Any) -> None:
    world = learning_world
    annual = Programme(
        code="WORLD-CE",
        title="年度继续教育",
        track="in_service",
        cycle="annual",
        min_ce_hours=Decimal(2),
    )
    db.session.add(annual)
    db.session.commit()

    def held() -> list[int]:
        db.session.expire_all()
        return list(
            db.session.scalars(
                sa.select(ProgrammeCompletion.programme_id).where(
                    ProgrammeCompletion.user_id == world.trainee.id
                )
            )
        )

    occurred = TODAY.replace(day=1).isoformat()
    response = hr_client.post(record_url(world.trainee.id), data=valid_form(occurred_on=occurred))
    assert response.status_code == 302
    assert held() == [annual.id]
    [entry] = entries(world.trainee.id)
    url = f"/people/{world.trainee.id}/learning/ce/{entry.id}/remove"
    assert hr_client.post(url, data={"reason": "重复录入"}).status_code == 302
    assert held() == []


# Removing an entry ------------------------------------------------------------------------------


def test_hr_removes_a_wrong_external_entry_with_a_reason(
    hr_client: Any, learning_world: Any
) -> None:
    trainee = learning_world.trainee
    entry = external(trainee.id)
    db.session.commit()
    url = f"/people/{trainee.id}/learning/ce/{entry.id}/remove"
    response = hr_client.post(url, data={"reason": " "})
    assert response.status_code == 422
    assert "Say why this entry is removed." in form_errors(response.get_data(as_text=True))
    assert len(entries(trainee.id)) == 1

    assert hr_client.post(url, data={"reason": "录错了人"}).status_code == 302
    assert entries(trainee.id) == []
    [logged] = audit("ce.removed")
    assert logged.reason == "录错了人"
    assert logged.before["title"] == "区级培训" and logged.before["hours"] == "3.0"
    assert hr_client.post(url, data={"reason": "again"}).status_code == 404


def test_a_course_entry_cannot_be_removed_by_hand(hr_client: Any, learning_world: Any) -> None:
    world = learning_world
    trainee = world.trainee.id
    for lesson in world.lessons:
        finish_lesson(trainee, lesson.id)
    pass_quiz(world, trainee)
    observe(world, trainee)
    completion.recompute_course(trainee, world.course.id)
    db.session.commit()
    [entry] = entries(trainee)
    assert entry.kind == "course"
    html = hr_client.get(f"/people/{trainee}/learning").get_data(as_text=True)
    assert f'id="remove-ce-{entry.id}"' not in html
    url = f"/people/{trainee}/learning/ce/{entry.id}/remove"
    assert hr_client.post(url, data={"reason": "试试"}).status_code == 404
    assert len(entries(trainee)) == 1


# Who may see and record ------------------------------------------------------------------------


def test_a_trainee_sees_their_own_record_but_not_anothers(
    client: Any, learning_world: Any, make_user: Any
) -> None:
    world = learning_world
    db.session.commit()
    other = make_user("trainee")
    client.login(world.trainee)
    assert client.get(f"/people/{world.trainee.id}/learning").status_code == 200
    assert client.get(f"/people/{other.id}/learning").status_code == 404
    assert client.get("/people/999999/learning").status_code == 404
    assert client.post(record_url(world.trainee.id), data=valid_form()).status_code == 403
    assert entries(world.trainee.id) == []


def test_who_may_record(client: Any, learning_world: Any, make_user: Any) -> None:
    world = learning_world
    db.session.commit()
    employer = world.employer
    elsewhere = world.centre
    cases = [
        (make_user(("hr", employer)), 200, True),
        (make_user(("hr", elsewhere)), 404, False),
        (make_user("admin"), 200, True),
        (make_user("coordinator"), 200, False),  # sees the record, records nothing
        (world.instructor, 200, False),  # teaches the trainee
    ]
    for user, status, may_record in cases:
        client.login(user)
        response = client.get(f"/people/{world.trainee.id}/learning")
        assert response.status_code == status, user.roles
        if status == 200:
            assert ('id="record-ce-form"' in response.get_data(as_text=True)) == may_record
        posted = client.post(record_url(world.trainee.id), data=valid_form())
        assert posted.status_code == (302 if may_record else (404 if status == 404 else 403))
        client.post("/logout")
    assert len(entries(world.trainee.id)) == 2


# The trainee's ledger --------------------------------------------------------------------------


def test_my_ce_ledger_per_cycle(client: Any, learning_world: Any, make_user: Any) -> None:
    world = learning_world
    trainee = world.trainee.id
    hr = make_user("hr", name="人事李")
    for lesson in world.lessons:
        finish_lesson(trainee, lesson.id)
    pass_quiz(world, trainee)
    observe(world, trainee)
    completion.recompute_course(trainee, world.course.id)
    external(trainee, "1.5", recorded_by_id=hr.id)
    last_year = external(
        trainee, "4", "去年的培训", cycle=TODAY.year - 1, occurred_on=date(TODAY.year - 1, 6, 1)
    )
    db.session.commit()
    client.login(world.trainee)
    client.use_language("en")
    html = client.get("/learning/ce").get_data(as_text=True)
    this_year = html[html.index(f'id="ce-cycle-{TODAY.year}"') :]
    this_year = this_year[: this_year.index("</table>")]
    assert f"{TODAY.year}: 9.5 CE hours" in this_year
    assert 'href="/courses/WORLD-101">Care basics</a>' in this_year
    assert "区级培训" in this_year and "区卫健委组织" in this_year
    assert "Recorded by 人事李" in this_year
    assert "Remove" not in this_year
    assert f"{TODAY.year - 1}: 4 CE hours" in html
    assert html.index(f'id="ce-cycle-{TODAY.year}"') < html.index(f'id="ce-entry-{last_year.id}"')


def test_my_ce_is_for_trainees(client: Any, make_user: Any) -> None:
    client.login(make_user("coordinator"))
    assert client.get("/learning/ce").status_code == 403


def test_ledger_pages_run_a_fixed_number_of_queries(
    client: Any, learning_world: Any, make_user: Any, count_queries: Any
) -> None:
    world = learning_world
    trainee_id = world.trainee.id
    hr_id = make_user("hr").id
    external(trainee_id, recorded_by_id=hr_id)
    db.session.commit()

    def counts() -> tuple[int, int]:
        db.session.commit()
        db.session.expunge_all()
        client.login(db.session.get(User, trainee_id))
        with count_queries as mine:
            assert client.get("/learning/ce").status_code == 200
        client.post("/logout")
        client.login(db.session.get(User, hr_id))
        with count_queries as record:
            assert client.get(f"/people/{trainee_id}/learning").status_code == 200
        client.post("/logout")
        return mine.count, record.count

    few = counts()
    for n in range(5):
        external(
            trainee_id,
            title=f"培训{n}",
            recorded_by_id=hr_id,
            cycle=TODAY.year - n,
            occurred_on=date(TODAY.year - n, 3, 1),
        )
    assert counts() == few
