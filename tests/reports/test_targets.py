"""The targets report: a known population counted by hand, through the service, the command
line and the API, as of today and as of past dates, and the partner scope."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from lms.extensions import db
from lms.reports.models import Target
from lms.reports.targets import Scope, targets_report


def tiers(report: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {t["tier"]: (t["target"], t["valid"], t["remaining"]) for t in report["tiers"]}


def test_today_counts_people_with_a_valid_certificate(
    population: dict[str, Any], today: date
) -> None:
    report = targets_report(today)
    assert report["as_of"] == today.isoformat()
    # a, b, e (reissued), f; not c (expired), not d (revoked), e once.
    assert tiers(report) == {"talent_pool": (1000, 4, 996), "lead_trainer": (100, 1, 99)}
    assert report["tiers"][0]["percent"] == 0.4


def test_as_of_a_past_date(population: dict[str, Any], today: date) -> None:
    # 2022-01-01: only c's certificate (issued 2021-03-01, valid until 2024-02-29) existed.
    assert tiers(targets_report(date(2022, 1, 1)))["talent_pool"] == (1000, 1, 999)
    # 60 days ago: a, d (not yet revoked), e (not yet superseded); b, f not issued yet.
    past = today - timedelta(days=60)
    assert tiers(targets_report(past))["talent_pool"] == (1000, 3, 997)


def test_partner_scope_and_share_targets(population: dict[str, Any], today: date) -> None:
    world = population["world"]
    db.session.add(Target(tier="talent_pool", partner_id=world.partner.id, target=300))
    db.session.flush()
    report = targets_report(today, Scope(partner_id=world.partner.id))
    assert tiers(report) == {"talent_pool": (300, 3, 297), "lead_trainer": (None, 0, None)}


def test_an_edited_city_target_and_a_milestone(population: dict[str, Any], today: date) -> None:
    db.session.add(Target(tier="talent_pool", target=1200))
    db.session.add(Target(tier="talent_pool", year=today.year, target=400))
    db.session.flush()
    row = targets_report(today)["tiers"][0]
    assert (row["target"], row["milestone"]) == (1200, {"year": today.year, "target": 400})


def test_the_command_line_and_the_api_agree(
    population: dict[str, Any], today: date, runner: Any, client: Any, make_user: Any
) -> None:
    result = runner.invoke(args=["report", "targets", "--format", "json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed == json.loads(json.dumps(targets_report(today)))
    csv = runner.invoke(args=["report", "targets", "--format", "csv", "--as-of", "2022-01-01"])
    assert csv.output.splitlines()[1] == "2022-01-01,talent_pool,1000,1,0.1,999"
    bad = runner.invoke(args=["report", "targets", "--as-of", "2022-13-01"])
    assert bad.exit_code == 1
    client.login(make_user("coordinator"))
    answer = client.get("/api/v1/reports/targets")
    assert answer.status_code == 200 and answer.get_json() == printed


def test_a_partner_coordinator_sees_only_their_partner(
    population: dict[str, Any], today: date, client: Any, make_user: Any
) -> None:
    world = population["world"]
    client.login(make_user(("coordinator", world.partner)))
    mine = client.get("/api/v1/reports/targets").get_json()
    assert mine["partner_id"] == world.partner.id
    assert tiers(mine)["talent_pool"][1] == 3
    assert client.get("/api/v1/reports/targets?partner=OTHERU").status_code == 403
    assert client.get(f"/api/v1/reports/targets?partner={world.partner.code}").status_code == 200


def test_trainees_and_instructors_cannot_read_reports(client: Any, make_user: Any) -> None:
    for role in ("trainee", "instructor", "hr"):
        client.login(make_user(role))
        assert client.get("/api/v1/reports/targets").status_code == 403
