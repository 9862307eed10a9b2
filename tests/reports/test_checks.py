"""The consistency checks against the known population (tests/reports/conftest.py), hand
counted: its certificates are all overrides, a holds both tiers, c expired on 2024-02-29
and was not renewed, d was revoked. Corrupting rows directly proves each check can fail."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import sqlalchemy as sa

from lms.certificates.models import Certificate
from lms.extensions import db
from lms.reports.check_cli import FOUND_ERRORS, checks_command
from lms.reports.checks import CHECKS, findings_rows, summary
from lms.reports.filters import ReportFilters
from lms.reports.models import TierPeriod
from lms.reports.targets import Scope


def counts(filters: ReportFilters) -> dict[str, tuple[int, int | None]]:
    return {r.check.name: (r.count, r.errors) for r in summary(filters)}


def findings(name: str, filters: ReportFilters) -> list[dict[str, Any]]:
    check = CHECKS[name]
    rows = db.session.execute(check.findings(filters)).all()
    return findings_rows(check, filters, rows)


def city(today: date) -> ReportFilters:
    return ReportFilters(today, None, Scope())


def page_counts(html: str) -> dict[str, int]:
    return {
        name: int(n)
        for name, n in re.findall(r'<tr id="check-(\w+)".*?data-count="(\d+)"', html, re.S)
    }


def certificate_of(person: Any) -> Certificate:
    return db.session.scalars(
        sa.select(Certificate).where(Certificate.holder_id == person.id)
    ).first()


ZEROS = dict.fromkeys(CHECKS, 0)


def test_a_clean_database_is_all_well(today: date, client: Any, make_user: Any) -> None:
    assert {k: v[0] for k, v in counts(city(today)).items()} == ZEROS
    client.login(make_user("coordinator"))
    client.use_language("en")
    html = client.get("/reports/checks").get_data(as_text=True)
    assert page_counts(html) == ZEROS
    assert html.count("All well") == len(CHECKS)


def test_the_population_counted_by_hand(population: dict[str, Any], today: date) -> None:
    people = population["people"]
    filters = city(today)
    assert counts(filters) == {
        # 8 certificates, every one an override with a reason: none is an error.
        "no_evidence": (8, 0),
        "both_tiers": (1, None),
        "revoked_counted": (0, None),
        "duplicate_people": (0, None),
        "expired_not_renewed": (1, None),
        "lead_without_talent": (0, None),
    }
    assert [r["holder_id"] for r in findings("both_tiers", filters)] == [people["a"].id]
    (lapsed,) = findings("expired_not_renewed", filters)
    assert (lapsed["holder_id"], lapsed["tier"]) == (people["c"].id, "talent_pool")
    assert lapsed["expires_on"] == date(2024, 2, 29)
    assert lapsed["days"] == (today - date(2024, 2, 29)).days
    overrides = findings("no_evidence", filters)
    assert {r["reason"] for r in overrides} == {"测试人群"}
    assert {r["issued_by_id"] for r in overrides} == {None}


def test_as_of_a_past_date(population: dict[str, Any]) -> None:
    # 2023-01-01: only c's certificate existed, valid then; nothing had expired.
    figures = counts(city(date(2023, 1, 1)))
    assert figures["no_evidence"] == (1, 0)
    assert figures["expired_not_renewed"][0] == 0
    assert figures["both_tiers"][0] == 0


def test_a_certificate_without_evidence_or_reason_is_an_error(
    population: dict[str, Any], today: date
) -> None:
    b = certificate_of(population["people"]["b"])
    db.session.execute(
        sa.update(Certificate).where(Certificate.id == b.id).values(override_reason=None)
    )
    result = {r.check.name: r for r in summary(city(today))}["no_evidence"]
    assert (result.count, result.errors, str(result.severity)) == (8, 1, "error")
    first = findings("no_evidence", city(today))[0]
    assert (first["certificate_id"], first["error"]) == (b.id, 1)


def test_a_corrupted_period_is_found(population: dict[str, Any], today: date) -> None:
    people = population["people"]
    d = certificate_of(people["d"])
    # d's certificate was revoked 5 days ago; make its period run on.
    db.session.execute(
        sa.update(TierPeriod).where(TierPeriod.certificate_id == d.id).values(ends_before=None)
    )
    wrong = findings("revoked_counted", city(today))
    assert sorted((r["problem"], r["holder_id"]) for r in wrong) == [
        ("after_end", people["d"].id),
        ("not_valid", people["d"].id),
    ]
    assert counts(city(today))["revoked_counted"] == (2, None)


def test_a_missing_period_is_found_by_the_reconciliation(
    population: dict[str, Any], today: date
) -> None:
    b = population["people"]["b"]
    db.session.execute(sa.delete(TierPeriod).where(TierPeriod.holder_id == b.id))
    (wrong,) = findings("revoked_counted", city(today))
    assert (wrong["problem"], wrong["holder_id"], wrong["tier"]) == (
        "not_counted",
        b.id,
        "talent_pool",
    )


def test_duplicate_people_are_grouped(
    population: dict[str, Any], today: date, make_user: Any
) -> None:
    one = make_user("trainee", name="王芳", phone="13900000001")
    two = make_user("trainee", name="王芳 ", phone="13900000001")
    make_user("trainee", name="王芳", phone="13900000002")  # another phone: not a duplicate
    three = make_user("trainee", name="Li Lei", email="li.lei@example.org")
    four = make_user("trainee", name="li lei", email="LI.LEI@example.org ")
    assert counts(city(today))["duplicate_people"] == (2, None)
    groups = findings("duplicate_people", city(today))
    assert {(g["match"], tuple(m["id"] for m in g["members"])) for g in groups} == {
        ("phone", (one.id, two.id)),
        ("email", (three.id, four.id)),
    }
    # For a partner, only people holding one of its certificates.
    partner = ReportFilters(today, None, Scope(partner_id=population["world"].partner.id))
    assert counts(partner)["duplicate_people"] == (0, None)


def test_lead_trainers_without_the_talent_pool(population: dict[str, Any], today: date) -> None:
    a = population["people"]["a"]
    db.session.execute(
        sa.delete(TierPeriod).where(TierPeriod.holder_id == a.id, TierPeriod.tier == "talent_pool")
    )
    assert [r["holder_id"] for r in findings("lead_without_talent", city(today))] == [a.id]


def test_the_pages(population: dict[str, Any], client: Any, make_user: Any) -> None:
    client.login(make_user("coordinator"))
    answer = client.get("/reports/checks")
    assert answer.status_code == 200
    assert page_counts(answer.get_data(as_text=True)) == {
        "no_evidence": 8,
        "both_tiers": 1,
        "revoked_counted": 0,
        "duplicate_people": 0,
        "expired_not_renewed": 1,
        "lead_without_talent": 0,
    }
    client.use_language("en")
    html = client.get("/reports/checks/both_tiers").get_data(as_text=True)
    assert "People counted in both tiers" in html
    assert f'href="/people/{population["people"]["a"].id}"' in html
    html = client.get("/reports/checks/expired_not_renewed?as_of=2024-03-10").get_data(as_text=True)
    assert "10 days" in html and population["people"]["c"].name in html
    assert client.get("/reports/checks/nothing").status_code == 404
    bad = client.get("/reports/checks?as_of=2024-13-01")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_data(as_text=True)
    assert client.get("/reports/checks/no_evidence?partner=NOPE").status_code == 400


def test_every_check_page_renders_in_both_languages(
    population: dict[str, Any], client: Any, make_user: Any
) -> None:
    client.login(make_user("admin"))
    for language in ("zh_Hans_CN", "en"):
        client.use_language(language)
        assert client.get("/reports/checks").status_code == 200
        for name in CHECKS:
            assert client.get(f"/reports/checks/{name}").status_code == 200, (language, name)


def test_the_summary_runs_a_constant_number_of_queries(
    population: dict[str, Any], client: Any, make_user: Any, count_queries: Any
) -> None:
    client.login(make_user("coordinator"))
    with count_queries as small:
        client.get("/reports/checks")
    for k in "ghij":
        make_user("trainee", name=f"学员{k}", phone="13911112222")
    with count_queries as larger:
        client.get("/reports/checks")
    assert small.count == larger.count <= 8


def test_a_partner_coordinator_sees_their_partner_only(
    population: dict[str, Any], client: Any, make_user: Any
) -> None:
    world = population["world"]
    client.login(make_user(("coordinator", world.partner)))
    html = client.get("/reports/checks").get_data(as_text=True)
    # Their partner's certificates: a, b, c, d and e's two (f is OTHERU's, a's lead has none).
    assert page_counts(html)["no_evidence"] == 6
    assert client.get("/reports/checks?partner=OTHERU").status_code == 403
    assert client.get("/reports/checks/both_tiers?partner=OTHERU").status_code == 403
    assert client.get(f"/reports/checks?partner={world.partner.code}").status_code == 200


def test_trainees_are_refused(client: Any, make_user: Any) -> None:
    client.login(make_user("trainee"))
    assert client.get("/reports/checks").status_code == 403
    assert client.get("/reports/checks/no_evidence").status_code == 403


def test_the_command_line(population: dict[str, Any], runner: Any, today: date) -> None:
    result = runner.invoke(checks_command, ["--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"name": "expired_not_renewed"' in result.output
    c = certificate_of(population["people"]["c"])
    db.session.execute(
        sa.update(TierPeriod).where(TierPeriod.certificate_id == c.id).values(ends_before=None)
    )
    found = runner.invoke(checks_command, [])
    assert found.exit_code == FOUND_ERRORS
    assert runner.invoke(checks_command, ["--partner", "NOPE"]).exit_code == 1
