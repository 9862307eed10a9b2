"""Targets as data: administrators add, change and delete targets (city-wide, milestones,
partner and district shares) through the pages, every change audited; coordinators read.

Counted today in the known population (tests/reports/conftest.py): talent pool a, b, e, f
(4: partner WORLDU a, b, e = 3, OTHERU f = 1; district NORTH a, b = 2, SOUTH e, f = 2); lead
trainers a (1, NORTH, no partner).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.extensions import db
from lms.reports import target_admin
from lms.reports.models import Target
from lms.reports.target_admin import TargetData
from lms.reports.targets import Scope, targets_report
from lms.validation import ValidationError
from tests.conftest import form_errors

INDEX = "/reports/targets"


def rows() -> list[tuple[Any, ...]]:
    stmt = sa.select(
        Target.tier, Target.year, Target.partner_id, Target.district_id, Target.target
    ).order_by(Target.id)
    return list(db.session.execute(stmt).tuples())


def target_entries() -> int:
    stmt = sa.select(sa.func.count()).where(AuditEntry.entity_type == "target")
    return db.session.scalar(stmt) or 0


def cells(html: str, row_id: str) -> list[str]:
    """The text of a table row's cells (tags stripped, spaces squeezed)."""
    match = re.search(rf'<tr id="{re.escape(row_id)}">(.*?)</tr>', html, re.S)
    assert match, f"no row {row_id}"
    found = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", match.group(1), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in found]


def form(tier: str = "talent_pool", **values: Any) -> dict[str, Any]:
    data = {"tier": tier, "year": "", "partner_id": "", "district_id": "", "target": ""}
    data.update({k: str(v) for k, v in values.items()})
    return data


@pytest.fixture
def admin(client: Any, make_user: Any) -> Any:
    user = make_user("admin")
    client.login(user)
    client.use_language("en")
    return user


def test_an_admin_sets_the_city_target_seen_by_the_report_and_the_api(
    population: dict[str, Any], today: date, client: Any, admin: Any
) -> None:
    page = client.get(INDEX).get_data(as_text=True)
    assert cells(page, "talent_pool-city")[:5] == [
        "The whole city",
        "Final",
        "1000 from the plan",
        "4",
        "0.4%",
    ]
    answer = client.post(f"{INDEX}/new", data=form(target=1200))
    assert answer.status_code == 302
    assert rows() == [("talent_pool", None, None, None, 1200)]
    assert targets_report(today)["tiers"][0]["target"] == 1200
    assert client.get("/api/v1/reports/targets").get_json()["tiers"][0]["target"] == 1200
    page = client.get(INDEX).get_data(as_text=True)
    assert cells(page, "talent_pool-city")[:5] == ["The whole city", "Final", "1200", "4", "0.3%"]
    assert cells(page, "lead_trainer-city")[2:5] == ["100 from the plan", "1", "1.0%"]


def test_a_yearly_milestone(
    population: dict[str, Any], today: date, client: Any, admin: Any
) -> None:
    client.post(f"{INDEX}/new", data=form("lead_trainer", year=today.year, target=10))
    assert targets_report(today)["tiers"][1]["milestone"] == {"year": today.year, "target": 10}
    page = client.get(INDEX).get_data(as_text=True)
    assert cells(page, f"lead_trainer-milestone-{today.year}")[1:5] == [
        f"By the end of {today.year}",
        "10",
        "1",
        "10.0%",
    ]


def test_partner_and_district_shares(
    population: dict[str, Any], today: date, client: Any, admin: Any
) -> None:
    partner, north = population["world"].partner, population["north"]
    client.post(f"{INDEX}/new", data=form(partner_id=partner.id, target=300))
    client.post(f"{INDEX}/new", data=form(district_id=north.id, target=8))
    client.post(f"{INDEX}/new", data=form("lead_trainer", district_id=north.id, target=2))
    mine = targets_report(today, Scope(partner_id=partner.id))["tiers"][0]
    assert (mine["target"], mine["valid"]) == (300, 3)
    page = client.get(INDEX).get_data(as_text=True)
    assert cells(page, "talent_pool-partner-WORLDU-final")[1:5] == ["Final", "300", "3", "1.0%"]
    assert cells(page, "talent_pool-district-NORTH-final")[1:5] == ["Final", "8", "2", "25.0%"]
    assert cells(page, "lead_trainer-district-NORTH-final")[1:5] == ["Final", "2", "1", "50.0%"]


def test_a_duplicate_is_refused_with_a_message(
    population: dict[str, Any], client: Any, admin: Any
) -> None:
    partner = population["world"].partner
    client.post(f"{INDEX}/new", data=form(partner_id=partner.id, year=2026, target=100))
    before = rows()
    answer = client.post(f"{INDEX}/new", data=form(partner_id=partner.id, year=2026, target=50))
    assert answer.status_code == 422
    assert "A target for this tier, year and share already exists." in answer.get_data(True)
    assert rows() == before
    assert target_entries() == 1


def test_the_unique_index_is_caught_when_the_check_misses_a_row(
    population: dict[str, Any], monkeypatch: pytest.MonkeyPatch, english: None
) -> None:
    """Two administrators saving at once: the first check sees nothing, the index refuses."""
    target_admin.save_target(None, TargetData("talent_pool", None, None, None, 1200))
    monkeypatch.setattr(target_admin, "_same_scope", lambda data: sa.false())
    with pytest.raises(ValidationError) as refused:
        target_admin.save_target(None, TargetData("talent_pool", None, None, None, 900))
    assert refused.value.errors == {"": "A target for this tier, year and share already exists."}
    assert rows() == [("talent_pool", None, None, None, 1200)]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"target": -1}, "target", "Give a whole number from 0 to 1000000."),
        ({"target": 1_000_001}, "target", "Give a whole number from 0 to 1000000."),
        ({"target": "many"}, "target", "Not a valid integer value."),
        ({"target": ""}, "target", "This field is required."),
        ({"target": 5, "year": 1999}, "year", "Choose a year from 2000 to 2100."),
        ({"target": 5, "year": "next"}, "year", "Not a valid integer value."),
        ({"target": 5, "tier": "everyone"}, "tier", "Choose a tier."),
        ({"target": 5, "both": True}, "partner_id", "not both"),
        ({"target": 5, "partner_id": "north"}, "partner_id", "Invalid Choice"),
    ],
)
def test_bad_values_name_the_field_and_save_nothing(
    population: dict[str, Any],
    client: Any,
    admin: Any,
    values: dict[str, Any],
    field: str,
    message: str,
) -> None:
    if values.pop("both", False):
        values.update(partner_id=population["world"].partner.id, district_id=population["north"].id)
    data = form(**values)
    answer = client.post(f"{INDEX}/new", data=data)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    error = re.search(rf'<small id="{field}-error" class="field-error">([^<]*)<', html)
    assert error and message in error.group(1), form_errors(html)
    assert rows() == []
    assert target_entries() == 0


def test_editing_and_deleting_bring_the_plan_figure_back(
    population: dict[str, Any], today: date, client: Any, admin: Any
) -> None:
    client.post(f"{INDEX}/new", data=form(target=1200))
    row = db.session.scalars(sa.select(Target)).one()
    edit = client.get(f"{INDEX}/{row.id}/edit").get_data(as_text=True)
    assert 'value="1200"' in edit
    assert client.post(f"{INDEX}/{row.id}/edit", data=form(target=1100)).status_code == 302
    assert targets_report(today)["tiers"][0]["target"] == 1100
    page = client.get(INDEX).get_data(as_text=True)
    assert "The plan&#39;s figure applies again." in page or "plan's figure applies again" in page
    assert client.post(f"{INDEX}/{row.id}/delete", csrf=False).status_code == 400
    assert rows() == [("talent_pool", None, None, None, 1100)]
    assert client.post(f"{INDEX}/{row.id}/delete").status_code == 302
    assert rows() == []
    assert targets_report(today)["tiers"][0]["target"] == 1000
    page = client.get(INDEX).get_data(as_text=True)
    assert cells(page, "talent_pool-city")[2] == "1000 from the plan"


def test_the_history_shows_each_change_with_before_and_after(
    population: dict[str, Any], client: Any, admin: Any, count_queries: Any
) -> None:
    partner = population["world"].partner
    client.post(f"{INDEX}/new", data=form(partner_id=partner.id, year=2027, target=300))
    row = db.session.scalars(sa.select(Target)).one()
    client.post(f"{INDEX}/{row.id}/edit", data=form(partner_id=partner.id, year=2027, target=350))
    client.post(f"{INDEX}/{row.id}/delete")
    stmt = sa.select(AuditEntry).where(AuditEntry.entity_type == "target")
    entries = db.session.scalars(stmt.order_by(AuditEntry.id)).all()
    assert [(e.action, e.entity_type, e.entity_id) for e in entries] == [
        ("target.saved", "target", row.id),
        ("target.saved", "target", row.id),
        ("target.deleted", "target", row.id),
    ]
    snapshot = {
        "tier": "talent_pool",
        "year": 2027,
        "partner_code": "WORLDU",
        "district_code": None,
        "target": 300,
    }
    assert (entries[0].before, entries[0].after) == (None, snapshot)
    assert (entries[1].before, entries[1].after) == ({"target": 300}, {"target": 350})
    assert (entries[2].before, entries[2].after) == ({**snapshot, "target": 350}, None)
    assert all(e.actor_id == admin.id for e in entries)
    with count_queries as q:
        page = client.get(INDEX).get_data(as_text=True)
    history = page[page.index('id="history"') :]
    order = [history.index(f'id="audit-entry-{e.id}"') for e in reversed(entries)]
    assert order == sorted(order)  # newest first
    update = cells(history, f"audit-entry-{entries[1].id}")
    assert "Partner WORLDU" in update[3] and "By the end of 2027" in update[3]
    assert "300 → 350" in update[4]
    assert admin.email in update[1]
    assert "Talent pool" in cells(history, f"audit-entry-{entries[0].id}")[3]
    assert q.count <= 15


def test_a_coordinator_reads_but_may_not_change(
    population: dict[str, Any], client: Any, make_user: Any
) -> None:
    db.session.add(Target(tier="talent_pool", target=1200))
    db.session.commit()
    row_id = db.session.scalar(sa.select(Target.id))
    client.login(make_user("coordinator"))
    client.use_language("en")
    page = client.get(INDEX)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert cells(html, "talent_pool-city")[2:4] == ["1200", "4"]
    assert "new-target" not in html and f"delete-target-{row_id}" not in html
    assert client.get(f"{INDEX}/new").status_code == 403
    assert client.post(f"{INDEX}/new", data=form(target=5)).status_code == 403
    assert client.get(f"{INDEX}/{row_id}/edit").status_code == 403
    assert client.post(f"{INDEX}/{row_id}/delete").status_code == 403
    assert rows() == [("talent_pool", None, None, None, 1200)]


def test_a_partner_coordinator_sees_only_their_partners_shares(
    population: dict[str, Any], client: Any, make_user: Any
) -> None:
    world, other, north = population["world"], population["other"], population["north"]
    admin = make_user("admin")
    for data in (
        TargetData("talent_pool", None, world.partner.id, None, 300),
        TargetData("talent_pool", None, other.id, None, 200),
        TargetData("talent_pool", None, None, north.id, 8),
    ):
        target_admin.save_target(admin.id, data)
    db.session.commit()
    client.login(make_user(("coordinator", world.partner)))
    client.use_language("en")
    html = client.get(INDEX).get_data(as_text=True)
    assert cells(html, "talent_pool-city")[2:4] == ["1000 from the plan", "—"]
    assert cells(html, "talent_pool-partner-WORLDU-final")[2:4] == ["300", "3"]
    assert "OTHERU" not in html and "NORTH" not in html
    assert html.count('id="audit-entry-') == 1


def test_a_trainee_is_refused(population: dict[str, Any], client: Any, make_user: Any) -> None:
    client.login(make_user("trainee"))
    assert client.get(INDEX).status_code == 403
    assert client.get(f"{INDEX}/new").status_code == 403
