"""The coordinator dashboard: every figure of the known population (tests/reports/conftest.py)
counted by hand, today and as of past dates, breakdowns adding up to the targets, scopes and
permissions, the page in both languages, and a constant number of queries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import CeEntry, CourseCompletion, ProgrammeCompletion, Tier
from lms.reports.charts import chart_for
from lms.reports.dashboard import Dashboard, dashboard_tables, trend_days
from lms.reports.filters import ReportFilters, filters_from_args
from lms.reports.models import Target
from lms.reports.tables import LISTS, TABLES, ReportTable
from lms.reports.targets import Scope, targets_report
from tests.factories import DistrictFactory
from tests.reports.conftest import issue

TP, LT = "talent_pool", "lead_trainer"


@pytest.fixture(autouse=True)
def _english(english: None) -> Iterator[None]:
    """Labels in English (the figures do not depend on it)."""
    yield


def tables(as_of: date, year: int | None = None, **scope: Any) -> dict[str, ReportTable]:
    filters = ReportFilters(as_of, year, Scope(**scope))
    return {table.key: table for table in dashboard_tables(filters)}


def arg_of(link: str | None, name: str) -> str | None:
    if link is None:
        return None
    return parse_qs(urlsplit(link).query).get(name, [None])[0]


def by_arg(table: ReportTable, arg: str) -> dict[str | None, tuple[int, int]]:
    """A breakdown's rows keyed by the list argument of their links (None: the unlinked
    "none" row), as (talent pool, lead trainer)."""
    return {arg_of(row.links.get(TP), arg): (row.cells[TP], row.cells[LT]) for row in table.rows}


def totals(table: ReportTable) -> tuple[int, int]:
    assert table.total is not None
    return table.total.cells[TP], table.total.cells[LT]


def target_figures(as_of: date, scope: Scope | None = None) -> tuple[int, int]:
    report = targets_report(as_of, scope)
    return tuple(t["valid"] for t in report["tiers"])  # type: ignore[return-value]


BREAKDOWNS = ("by_partner", "by_district", "by_employer_kind", "by_programme")


def assert_reconciles(found: dict[str, ReportTable], as_of: date, scope: Scope) -> None:
    """Every breakdown's rows add up to its total, which is the targets report's figure,
    and the trend ends on it."""
    expected = target_figures(as_of, scope)
    for key in BREAKDOWNS:
        table = found[key]
        sums = tuple(sum(row.cells[t] for row in table.rows) for t in (TP, LT))
        assert sums == totals(table) == expected, key
    last = found["trend"].rows[-1]
    assert last.cells["day"] == as_of
    assert (last.cells[TP], last.cells[LT]) == expected
    targets = {row.cells["tier_key"]: row.cells["valid"] for row in found["targets"].rows}
    assert (targets[TP], targets[LT]) == expected


def test_today(population: dict[str, Any], today: date) -> None:
    world, other = population["world"], population["other"]
    found = tables(today)
    # a, b, e (once, under the reissue), f; not c (expired), not d (revoked). Lead: a.
    assert_reconciles(found, today, Scope())
    assert target_figures(today) == (4, 1)
    targets = found["targets"].rows
    assert [(r.cells["valid"], r.cells["target"], r.cells["remaining"]) for r in targets] == [
        (4, 1000, 996),
        (1, 100, 99),
    ]
    assert targets[0].cells["percent"] == 0.4
    assert arg_of(targets[0].links["valid"], "tier") == TP
    assert by_arg(found["by_partner"], "partner") == {
        world.partner.code: (3, 0),  # a, b, e
        other.code: (1, 0),  # f
        None: (0, 1),  # the lead-trainer programme has no partner
    }
    districts = by_arg(found["by_district"], "district")
    assert districts["NORTH"] == (2, 1) and districts["SOUTH"] == (2, 0)
    assert {k: v for k, v in districts.items() if v != (0, 0)} == {
        "NORTH": (2, 1),
        "SOUTH": (2, 0),
    }
    kinds = by_arg(found["by_employer_kind"], "employer_kind")
    assert {k: v for k, v in kinds.items() if v != (0, 0)} == {
        "nursery": (2, 1),
        "care_point": (2, 0),
    }
    assert by_arg(found["by_programme"], "type") == {"WQ": (4, 0), "WL": (0, 1)}
    assert found["expiring"].total is not None and found["expiring"].total.cells["count"] == 0


def test_as_of_past_dates(population: dict[str, Any], today: date) -> None:
    world = population["world"]
    # 60 days ago: a (north), d (south, not yet revoked), e (south, the first certificate).
    past = today - timedelta(days=60)
    found = tables(past)
    assert_reconciles(found, past, Scope())
    assert totals(found["by_partner"]) == (3, 0)
    assert by_arg(found["by_partner"], "partner")[world.partner.code] == (3, 0)
    districts = by_arg(found["by_district"], "district")
    assert (districts["NORTH"], districts["SOUTH"]) == ((1, 0), (2, 0))
    # 2022-01-01: c only (valid 2021-03-01 .. 2024-02-29); expiring within 90 days on
    # 2024-01-01 (on 2024-02-29, 59 days later).
    assert totals(tables(date(2022, 1, 1))["by_district"]) == (1, 0)
    assert tables(date(2022, 1, 1))["expiring"].total.cells["count"] == 0  # type: ignore[union-attr]
    expiring = tables(date(2024, 1, 1))["expiring"]
    assert [(arg_of(r.links["count"], "type"), r.cells["count"]) for r in expiring.rows] == [
        ("WL", 0),
        ("WQ", 1),
    ]
    assert expiring.total is not None and expiring.total.cells["count"] == 1


def test_the_trend_counts_each_month_end(population: dict[str, Any], today: date) -> None:
    as_of = date(2024, 6, 30)
    trend = tables(as_of)["trend"]
    days = [row.cells["day"] for row in trend.rows]
    assert days == trend_days(as_of, None)
    assert days[0] == date(2022, 6, 30) and days[-2:] == [date(2024, 5, 31), as_of]
    assert len(days) == 25
    counted = {row.cells["day"]: row.cells[TP] for row in trend.rows}
    # c counts through 2024-02-29 (its last valid day), not on 2024-03-31.
    assert counted[date(2024, 2, 29)] == 1 and counted[date(2024, 3, 31)] == 0
    for row in trend.rows:
        assert (row.cells[TP], row.cells[LT]) == target_figures(row.cells["day"])
        assert arg_of(row.links[TP], "as_of") == row.cells["day"].isoformat()
    # Today: every point agrees with the targets report on that day.
    for row in tables(today)["trend"].rows:
        assert (row.cells[TP], row.cells[LT]) == target_figures(row.cells["day"])
    # A year's trend: its month ends up to the day asked.
    assert trend_days(date(2023, 12, 31), 2023) == [
        *(date(2023, m, 28 if m == 2 else 30 if m in (4, 6, 9, 11) else 31) for m in range(1, 12)),
        date(2023, 12, 31),
    ]


def expected_issued() -> dict[tuple[int, str, str], int]:
    now = utcnow()
    issued: dict[tuple[int, str, str], int] = {}
    for days, tier, kind in [
        (400, TP, "issue"),  # a
        (10, TP, "issue"),  # b
        (100, TP, "issue"),  # d
        (200, TP, "issue"),  # e
        (50, TP, "reissue"),  # e again
        (30, TP, "issue"),  # f
        (20, LT, "issue"),  # a, lead trainer
    ]:
        key = ((now - timedelta(days=days)).year, tier, kind)
        issued[key] = issued.get(key, 0) + 1
    issued[(2021, TP, "issue")] = 1  # c
    return issued


def issued_grid(table: ReportTable) -> dict[tuple[int, str, str], int]:
    tiers = {Tier(t).label: str(t) for t in Tier}
    return {
        (row.cells["year"], tiers[row.cells["tier"]], kind): row.cells[kind]
        for row in table.rows
        for kind in ("issue", "renewal", "reissue")
        if row.cells[kind]
    }


def test_certificates_issued_per_year(population: dict[str, Any], today: date) -> None:
    table = tables(today)["issued_by_year"]
    assert issued_grid(table) == expected_issued()
    assert table.total is not None
    assert (table.total.cells["issue"], table.total.cells["reissue"]) == (7, 1)
    assert table.total.cells["total"] == 8 == sum(r.cells["total"] for r in table.rows)
    row = next(r for r in table.rows if r.cells["year"] == 2021)
    assert {k: arg_of(row.links["issue"], k) for k in ("year", "tier", "kind")} == {
        "year": "2021",
        "tier": TP,
        "kind": "issue",
    }
    # One year: only its certificates.
    year = today.year
    only = tables(today, year)["issued_by_year"]
    assert issued_grid(only) == {k: v for k, v in expected_issued().items() if k[0] == year}
    # A partner's: not the lead trainer's (no partner), not f's (OTHERU).
    mine = tables(today, partner_id=population["world"].partner.id)["issued_by_year"]
    assert mine.total is not None and mine.total.cells["total"] == 6


@pytest.fixture
def training(population: dict[str, Any]) -> dict[str, Any]:
    """A course completion with its CE entry (the world's trainee, whose district is their
    employer's), a programme completion (a, in the north) and external CE hours (b)."""
    world, people = population["world"], population["people"]
    completed = datetime(2025, 5, 1, 9, tzinfo=UTC)
    completion = CourseCompletion(
        user_id=world.trainee.id,
        course_id=world.course.id,
        completed_at=completed,
        ce_hours=Decimal(8),
    )
    db.session.add(completion)
    db.session.add(
        ProgrammeCompletion(
            user_id=people["a"].id,
            programme_id=world.programme.id,
            completed_at=datetime(2025, 6, 1, 9, tzinfo=UTC),
        )
    )
    db.session.flush()
    db.session.add_all(
        [
            CeEntry(
                user_id=world.trainee.id,
                cycle=2025,
                hours=Decimal(8),
                kind="course",
                course_id=world.course.id,
                completion_id=completion.id,
                occurred_on=completed.date(),
            ),
            CeEntry(
                user_id=people["b"].id,
                cycle=2025,
                hours=Decimal("6.5"),
                kind="external",
                title="外部培训",
                reason="测试",
                occurred_on=date(2025, 3, 3),
            ),
        ]
    )
    db.session.flush()
    return population


def volume(table: ReportTable) -> dict[tuple[int, str | None], tuple[int, int]]:
    return {
        (r.cells["year"], arg_of(r.links["course"], "track")): (
            r.cells["course"],
            r.cells["programme"],
        )
        for r in table.rows
    }


def ce(table: ReportTable) -> dict[tuple[int, str | None], tuple[Decimal, int]]:
    return {
        (r.cells["year"], arg_of(r.links["hours"], "kind")): (r.cells["hours"], r.cells["people"])
        for r in table.rows
    }


def test_training_volume_and_ce_hours(training: dict[str, Any], today: date) -> None:
    world, other = training["world"], training["other"]
    found = tables(today)
    assert volume(found["training_volume"]) == {(2025, "pre_service"): (1, 1)}
    link = found["training_volume"].rows[0].links["programme"]
    assert (arg_of(link, "what"), arg_of(link, "year")) == ("programme", "2025")
    assert ce(found["ce_hours"]) == {
        (2025, "course"): (Decimal(8), 1),
        (2025, "external"): (Decimal("6.5"), 1),
    }
    assert found["ce_hours"].total.cells["hours"] == Decimal("14.5")  # type: ignore[union-attr]
    # The partner delivering the course (and the programme): not the external hours.
    mine = tables(today, partner_id=world.partner.id)
    assert volume(mine["training_volume"]) == {(2025, "pre_service"): (1, 1)}
    assert ce(mine["ce_hours"]) == {(2025, "course"): (Decimal(8), 1)}
    theirs = tables(today, partner_id=other.id)
    assert theirs["training_volume"].rows == [] and theirs["ce_hours"].rows == []
    # By the person's district, else their employer's.
    north = tables(today, district_id=training["north"].id)
    assert volume(north["training_volume"]) == {(2025, "pre_service"): (0, 1)}
    assert ce(north["ce_hours"]) == {(2025, "external"): (Decimal("6.5"), 1)}
    employer = tables(today, district_id=world.employer.district_id)
    assert volume(employer["training_volume"]) == {(2025, "pre_service"): (1, 0)}
    # Another year: nothing.
    assert tables(date(2024, 12, 31), 2024)["training_volume"].rows == []


def test_scopes_and_share_targets(population: dict[str, Any], today: date) -> None:
    world, north = population["world"], population["north"]
    db.session.add(Target(tier=TP, district_id=north.id, target=50))
    db.session.flush()
    city = tables(today)
    rows = {arg_of(r.links.get(TP), "district"): r.cells for r in city["by_district"].rows}
    assert rows["NORTH"][f"{TP}_target"] == 50 and rows["SOUTH"][f"{TP}_target"] is None
    for scope in (
        Scope(partner_id=world.partner.id),
        Scope(district_id=north.id),
        Scope(partner_id=world.partner.id, district_id=population["south"].id),
    ):
        filters = ReportFilters(today, None, scope)
        assert_reconciles({t.key: t for t in dashboard_tables(filters)}, today, scope)
    mine = tables(today, partner_id=world.partner.id)
    assert by_arg(mine["by_partner"], "partner") == {world.partner.code: (3, 0)}
    assert f"{TP}_target" not in {c.key for c in mine["by_district"].columns}


def test_every_table_is_registered(population: dict[str, Any], today: date) -> None:
    filters = ReportFilters(today, None, Scope())
    keys = [t.key for t in Dashboard(filters).tables()]
    assert keys == [
        "targets",
        "issued_by_year",
        *BREAKDOWNS,
        "training_volume",
        "ce_hours",
        "expiring",
        "trend",
    ]
    for key in keys:
        assert TABLES[key](filters).key == key
    assert TABLES["by_district"](filters).total.cells[TP] == 4  # type: ignore[union-attr]


def test_charts_are_inline_svg_without_script(population: dict[str, Any], today: date) -> None:
    found = tables(today)
    svg = str(chart_for(found["by_partner"]))
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert 'aria-label="People counted by university partner"' in svg
    assert "<script" not in svg and "Noto Sans CJK SC" in svg
    assert chart_for(found["targets"]) is None
    found["by_district"].rows[0].cells["district"] = "<b>&"
    assert "&lt;b&gt;&amp;" in str(chart_for(found["by_district"]))


# The page -----------------------------------------------------------------------------------


def figure(html: str, tier: str) -> int:
    """The people counted in a tier as the page's progress card shows them."""
    card = re.search(rf'id="target-{tier}">.*?</article>', html, re.S)
    assert card is not None
    number = re.search(r'<p class="report-figure">\s*<a [^>]*>([\d,]+)</a>', card.group(0))
    assert number is not None
    return int(number.group(1).replace(",", ""))


def table_html(html: str, key: str) -> str:
    found = re.search(rf'<table id="table-{key}".*?</table>', html, re.S)
    assert found is not None
    return found.group(0)


def test_the_page(population: dict[str, Any], client: Any, make_user: Any) -> None:
    client.login(make_user("coordinator"))
    client.use_language("en")
    page = client.get("/reports/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert (figure(html, TP), figure(html, LT)) == (4, 1)
    assert '<progress value="4" max="1000"' in html
    districts = table_html(html, "by_district")
    assert re.search(r"<tfoot>.*>4</a>.*>1</a>", districts, re.S)
    assert "district=NORTH" in districts and "OTHERU" in table_html(html, "by_partner")
    main = html.split('<main class="container" id="content">', 1)[1]
    assert main.count('<svg xmlns="http://www.w3.org/2000/svg"') >= 5
    assert "<script" not in main
    assert 'value="OTHERU"' in html and 'value="NORTH"' in html
    past = client.get("/reports/?as_of=2022-01-01").get_data(as_text=True)
    assert (figure(past, TP), figure(past, LT)) == (1, 0)
    assert client.get("/reports/?year=2021&district=NORTH").status_code == 200


def test_both_languages(population: dict[str, Any], client: Any, make_user: Any) -> None:
    client.login(make_user("admin"))
    chinese = client.get("/reports/")
    assert chinese.status_code == 200
    assert 'lang="zh-Hans-CN"' in chinese.get_data(as_text=True)
    assert figure(chinese.get_data(as_text=True), TP) == 4
    client.use_language("en")
    english = client.get("/reports/").get_data(as_text=True)
    assert 'lang="en"' in english and "Workforce dashboard" in english


def test_a_partner_coordinator_sees_their_partner_only(
    population: dict[str, Any], client: Any, make_user: Any
) -> None:
    world = population["world"]
    client.login(make_user(("coordinator", world.partner)))
    client.use_language("en")
    html = client.get("/reports/").get_data(as_text=True)
    assert (figure(html, TP), figure(html, LT)) == (3, 0)
    select = re.search(r'<select id="partner".*?</select>', html, re.S)
    assert select is not None
    assert re.findall(r'value="([^"]*)"', select.group(0)) == [world.partner.code]
    assert "OTHERU" not in html
    assert client.get("/reports/?partner=OTHERU").status_code == 403
    assert client.get(f"/reports/?partner={world.partner.code}").status_code == 200


def test_who_may_see_it(population: dict[str, Any], client: Any, make_user: Any) -> None:
    anonymous = client.get("/reports/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for role in ("trainee", "hr", "instructor"):
        client.login(make_user(role))
        assert client.get("/reports/").status_code == 403
    client.login(make_user("admin"))
    assert client.get("/reports/?partner=OTHERU").status_code == 200


def test_bad_filters_are_explained(population: dict[str, Any], client: Any, make_user: Any) -> None:
    client.login(make_user("coordinator"))
    client.use_language("en")
    for query, message in [
        ("year=abc", "Give the year as four digits."),
        ("year=1999", "Choose a year from 2000 to"),
        ("as_of=2022-13-01", "Give the date as YYYY-MM-DD."),
        ("partner=NOPE", "No university partner has the code NOPE."),
        ("district=NOPE", "No district has the code NOPE."),
    ]:
        page = client.get(f"/reports/?{query}")
        assert page.status_code == 400, query
        html = page.get_data(as_text=True)
        assert message in html and 'class="field-error"' in html
        assert 'id="dashboard-filters"' in html and "<table" not in html


def test_the_number_of_queries_does_not_grow(
    population: dict[str, Any], client: Any, make_user: Any, count_queries: Any, today: date
) -> None:
    client.login(make_user("coordinator"))
    with count_queries as few:
        assert client.get("/reports/").status_code == 200
    talent = population["world"].certificate_type
    for n in range(6):
        district = DistrictFactory()
        person = make_user("trainee", district=district)
        issue(person, talent, utcnow() - timedelta(days=300 * n + 1))
    db.session.add(Target(tier=TP, district_id=population["north"].id, target=10))
    db.session.commit()
    with count_queries as many:
        assert client.get("/reports/?year=2024").status_code == 200
    with count_queries as more:
        assert client.get("/reports/").status_code == 200
    assert few.count == many.count == more.count
    assert few.count <= 25, few.statements
    assert target_figures(today)[0] == 8  # 4, and the new ones issued under three years ago


def list_total(link: str, actor: Any) -> Decimal:
    """What the drill-down list behind a link holds: its rows (its hours, for the CE list)."""
    parts = urlsplit(link)
    name = parts.path.rsplit("/", 1)[-1]
    args = {k: v[0] for k, v in parse_qs(parts.query).items()}
    spec = LISTS[name]
    params = {k: args[k] for k in spec.params if args.get(k)}
    rows = spec.statement(filters_from_args(args, actor), params).subquery()
    what = sa.func.sum(rows.c.hours) if name == "ce" else sa.func.count()
    return Decimal(db.session.scalar(sa.select(what).select_from(rows)) or 0)


@pytest.mark.parametrize("query", [{}, {"as_of": "PAST"}, {"partner": "WORLDU"}])
def test_every_number_is_the_size_of_its_list(
    training: dict[str, Any], today: date, make_user: Any, query: dict[str, str]
) -> None:
    admin = make_user("admin")
    if query.get("as_of"):
        query = {"as_of": (today - timedelta(days=60)).isoformat()}
    checked = 0
    for table in dashboard_tables(filters_from_args(query, admin)):
        for row in [*table.rows, *([table.total] if table.total else [])]:
            for key, link in row.links.items():
                assert list_total(link, admin) == row.cells[key], (table.key, row.cells, key)
                checked += 1
    assert checked > 50
