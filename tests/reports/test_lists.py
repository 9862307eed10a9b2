"""The drill-down lists behind the dashboard's numbers, through the page, compared with the
hand-counted population (tests/reports/conftest.py): who is in each list on a day, for a
partner or a district, sorted and paginated, with the evidence one click away; and who may
see which list."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from lms.certificates.models import Certificate
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import CeEntry, CourseCompletion, ProgrammeCompletion

TALENT_TODAY = ["学员a", "学员b", "学员e", "学员f"]  # not c (expired), not d (revoked)


def cells(page: str, key: str) -> list[str]:
    """The text of the column ``key`` in each row of the list, in order."""
    found = re.findall(rf'data-column="{key}">(?:<a href="[^"]*">)?([^<]*)<', page)
    return [html.unescape(text) for text in found]


def links(page: str, key: str) -> list[str]:
    return [
        html.unescape(href) for href in re.findall(rf'data-column="{key}"><a href="([^"]*)"', page)
    ]


def get(client: Any, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


@pytest.fixture
def admin(client: Any, make_user: Any) -> Any:
    user = make_user("admin")
    client.login(user)
    return user


@pytest.fixture
def learning(population: dict[str, Any], make_user: Any, today: date) -> dict[str, Any]:
    """a completed the course (8 CE hours) and recorded 2.5 external hours; b completed the
    programme, and b's certificate points at that completion; b's certificate expires in 30
    days."""
    world, people = population["world"], population["people"]
    hr = make_user("hr", name="人事甲")
    course_done = CourseCompletion(
        user_id=people["a"].id, course_id=world.course.id, ce_hours=Decimal(8)
    )
    programme_done = ProgrammeCompletion(user_id=people["b"].id, programme_id=world.programme.id)
    db.session.add_all([course_done, programme_done])
    db.session.flush()
    db.session.add_all(
        [
            CeEntry(
                user_id=people["a"].id,
                cycle=today.year,
                hours=Decimal(8),
                kind="course",
                course_id=world.course.id,
                completion_id=course_done.id,
                occurred_on=today,
            ),
            CeEntry(
                user_id=people["a"].id,
                cycle=today.year,
                hours=Decimal("2.5"),
                kind="external",
                title="外部讲座",
                reason="市级培训",
                occurred_on=today,
                recorded_by_id=hr.id,
            ),
        ]
    )
    certificate = db.session.scalar(
        db.select(Certificate).where(Certificate.holder_id == people["b"].id)
    )
    certificate.completion_id = programme_done.id
    certificate.expires_on = today + timedelta(days=30)
    db.session.flush()
    return {"course": course_done, "programme": programme_done, "certificate": certificate}


# Who is in the talent pool -----------------------------------------------------------------------


def test_holders_today_and_on_past_days(
    population: dict[str, Any], admin: Any, client: Any, today: date
) -> None:
    page = get(client, "/reports/lists/holders?tier=talent_pool")
    assert cells(page, "name") == TALENT_TODAY
    assert "<strong>4 " in page  # the count of rows
    assert cells(page, "override_reason") == ["测试人群"] * 4
    # 60 days ago: a, d (not yet revoked), e (not yet superseded); b, f not issued yet.
    past = (today - timedelta(days=60)).isoformat()
    assert cells(get(client, f"/reports/lists/holders?tier=talent_pool&as_of={past}"), "name") == [
        "学员a",
        "学员d",
        "学员e",
    ]
    # 2022-01-01: only c's certificate existed.
    old = get(client, "/reports/lists/holders?tier=talent_pool&as_of=2022-01-01")
    assert cells(old, "name") == ["学员c"]
    assert cells(get(client, "/reports/lists/holders?tier=lead_trainer"), "name") == ["学员a"]


def test_holders_link_to_the_person_and_the_certificate(
    population: dict[str, Any], admin: Any, client: Any
) -> None:
    client.use_language("en")
    page = get(client, "/reports/lists/holders?tier=talent_pool&sort=name")
    people = population["people"]
    assert links(page, "name")[0] == f"/people/{people['a'].id}/learning"
    first = db.session.scalar(
        db.select(Certificate)
        .where(Certificate.holder_id == people["a"].id)
        .order_by(Certificate.id)
    )
    assert links(page, "serial")[0] == f"/certificates/{first.id}"
    assert cells(page, "serial")[0] == first.serial
    assert cells(page, "evidence") == ["Override"] * 4
    assert cells(page, "district") == ["North", "North", "South", "South"]
    assert cells(page, "type")[0] == "Certificate of the infant-care talent pool"
    assert "Talent pool (qualified professional): people counted" in page
    assert 'href="/reports/exports"' not in page  # forms post to the exports endpoint
    assert 'action="/reports/exports"' in page
    assert 'name="q_tier" value="talent_pool"' in page
    assert 'name="q_sort" value="name"' in page


def test_holders_by_partner_and_district(
    population: dict[str, Any], admin: Any, client: Any
) -> None:
    url = "/reports/lists/holders?tier=talent_pool"
    world = population["world"]
    assert cells(get(client, f"{url}&partner={world.partner.code}"), "name") == [
        "学员a",
        "学员b",
        "学员e",
    ]
    other = get(client, f"{url}&partner=OTHERU")
    assert cells(other, "name") == ["学员f"]
    assert cells(get(client, f"{url}&district=NORTH"), "name") == ["学员a", "学员b"]
    assert cells(get(client, f"{url}&district=SOUTH"), "name") == ["学员e", "学员f"]
    both = f"{url}&district=SOUTH&partner={world.partner.code}"
    assert cells(get(client, both), "name") == ["学员e"]
    assert cells(get(client, f"{url}&employer_kind=nursery"), "name") == ["学员a", "学员b"]
    assert cells(get(client, f"{url}&type=WL"), "name") == []


def test_evidence_and_ce_hours_one_click_away(
    learning: dict[str, Any], population: dict[str, Any], admin: Any, client: Any
) -> None:
    client.use_language("en")
    page = get(client, "/reports/lists/holders?tier=talent_pool")
    people = population["people"]
    assert cells(page, "evidence") == ["Override", "Programme completion", "Override", "Override"]
    completion = learning["programme"].id
    assert links(page, "evidence") == [
        f"/people/{people['b'].id}/learning#programme-completion-{completion}"
    ]
    assert cells(page, "ce_hours") == ["10.5", "0", "0", "0"]
    assert links(page, "ce_hours")[0] == f"/people/{people['a'].id}/learning#ce"


# Certificates issued and expiring ----------------------------------------------------------------


def test_issued_in_a_year_with_their_status(
    population: dict[str, Any], admin: Any, client: Any, today: date
) -> None:
    client.use_language("en")
    now = utcnow()
    issued_days = {"a": [400, 20], "b": [10], "d": [100], "e": [200, 50], "f": [30]}
    expected = sorted(
        f"学员{k}"
        for k, ago in issued_days.items()
        for days in ago
        if (now - timedelta(days=days)).year == today.year
    )
    page = get(client, f"/reports/lists/issued?year={today.year}")
    assert sorted(cells(page, "holder")) == expected
    # c's certificate of 2021: valid at the end of 2021, expired today.
    in_2021 = get(client, "/reports/lists/issued?year=2021")
    assert (cells(in_2021, "holder"), cells(in_2021, "status")) == (["学员c"], ["Valid"])
    today_2021 = get(client, f"/reports/lists/issued?year=2021&as_of={today.isoformat()}")
    assert cells(today_2021, "status") == ["Expired"]
    everything = get(client, f"/reports/lists/issued?as_of={today.isoformat()}&sort=holder")
    assert cells(everything, "holder") == sorted(
        ["学员a", "学员a", "学员b", "学员c", "学员d", "学员e", "学员e", "学员f"]
    )
    statuses = dict(zip(cells(everything, "serial"), cells(everything, "status"), strict=True))
    assert sorted(statuses.values()) == sorted(["Valid"] * 5 + ["Expired", "Revoked", "Superseded"])
    reissued = get(client, "/reports/lists/issued?kind=reissue")
    assert (cells(reissued, "holder"), cells(reissued, "kind")) == (["学员e"], ["Reissue"])
    assert cells(get(client, "/reports/lists/issued?tier=lead_trainer"), "holder") == ["学员a"]
    assert cells(get(client, "/reports/lists/issued?partner=OTHERU"), "holder") == ["学员f"]


def test_expiring_within_90_days(
    learning: dict[str, Any], population: dict[str, Any], admin: Any, client: Any
) -> None:
    page = get(client, "/reports/lists/expiring")
    assert cells(page, "holder") == ["学员b"]
    assert cells(page, "days_left") == ["30"]
    assert cells(page, "email") == [population["people"]["b"].email]
    assert cells(get(client, "/reports/lists/expiring?tier=lead_trainer"), "holder") == []
    assert cells(get(client, "/reports/lists/expiring?district=SOUTH"), "holder") == []


# Completions and CE hours ------------------------------------------------------------------------


def test_completions_by_kind_partner_and_district(
    learning: dict[str, Any], population: dict[str, Any], admin: Any, client: Any, today: date
) -> None:
    client.use_language("en")
    url = f"/reports/lists/completions?year={today.year}"
    page = get(client, f"{url}&sort=name")
    assert cells(page, "name") == ["学员a", "学员b"]
    assert cells(page, "title") == ["Care basics", "Carer pre-service qualification"]
    assert cells(page, "ce_hours") == ["8", "—"]
    people = population["people"]
    assert links(page, "title") == [
        f"/people/{people['a'].id}/learning#course-completion-{learning['course'].id}",
        f"/people/{people['b'].id}/learning#programme-completion-{learning['programme'].id}",
    ]
    assert cells(get(client, f"{url}&what=programme"), "name") == ["学员b"]
    assert cells(get(client, f"{url}&track=in_service"), "name") == []
    world = population["world"]
    assert len(cells(get(client, f"{url}&partner={world.partner.code}"), "name")) == 2
    assert cells(get(client, f"{url}&partner=OTHERU"), "name") == []
    assert len(cells(get(client, f"{url}&district=NORTH"), "name")) == 2
    assert cells(get(client, f"{url}&district=SOUTH"), "name") == []
    assert cells(get(client, f"/reports/lists/completions?year={today.year - 1}"), "name") == []


def test_ce_entries_of_a_cycle(
    learning: dict[str, Any], population: dict[str, Any], admin: Any, client: Any, today: date
) -> None:
    client.use_language("en")
    url = f"/reports/lists/ce?year={today.year}"
    page = get(client, f"{url}&sort=hours&dir=desc")
    assert cells(page, "hours") == ["8", "2.5"]
    assert cells(page, "title") == ["Care basics", "外部讲座"]
    assert cells(page, "kind") == ["Course completed", "External training"]
    assert cells(page, "recorded_by") == ["—", "人事甲"]
    assert cells(get(client, f"{url}&kind=external"), "hours") == ["2.5"]
    # External training has no partner: a partner's list has the course hours only.
    world = population["world"]
    assert cells(get(client, f"{url}&partner={world.partner.code}"), "hours") == ["8"]
    assert cells(get(client, f"{url}&district=SOUTH"), "hours") == []


# Sorting and pages -------------------------------------------------------------------------------


def test_sorting_by_name(population: dict[str, Any], admin: Any, client: Any) -> None:
    url = "/reports/lists/holders?tier=talent_pool&sort=name"
    ascending = get(client, f"{url}&dir=asc")
    assert cells(ascending, "name") == TALENT_TODAY
    assert 'id="col-name" aria-sort="ascending"' in ascending
    # The header now sorts the other way.
    toggle = re.search(r'id="col-name"[^>]*><a href="([^"]*)"', ascending)
    assert toggle is not None and "dir=desc" in toggle.group(1)
    descending = get(client, f"{url}&dir=desc")
    assert cells(descending, "name") == TALENT_TODAY[::-1]
    assert 'aria-sort="descending"' in descending
    # Unknown sort keys are ignored: the default order, by name.
    assert cells(get(client, f"{url[:-4]}evil&dir=desc"), "name") == TALENT_TODAY


def test_pages_keep_the_filters_and_the_sort(
    population: dict[str, Any], admin: Any, client: Any, app: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "PAGE_SIZE", 3)
    url = "/reports/lists/holders?tier=talent_pool&sort=name&dir=desc"
    first = get(client, url)
    assert cells(first, "name") == ["学员f", "学员e", "学员b"]
    assert "<strong>4 " in first
    following = re.search(r'href="([^"]*)" rel="next"', first)
    assert following is not None
    second_url = html.unescape(following.group(1))
    assert "tier=talent_pool" in second_url and "dir=desc" in second_url
    assert cells(get(client, second_url), "name") == ["学员a"]


def test_no_query_per_row(
    learning: dict[str, Any], admin: Any, client: Any, count_queries: Any, today: date
) -> None:
    now, year = today.isoformat(), today.year
    for one, several in [  # the same page with fewer and more rows
        (
            "/reports/lists/holders?tier=talent_pool&as_of=2022-01-01",
            f"/reports/lists/holders?tier=talent_pool&as_of={now}",
        ),
        ("/reports/lists/issued?year=2021", f"/reports/lists/issued?as_of={now}"),
        ("/reports/lists/expiring?as_of=2022-01-01", f"/reports/lists/expiring?as_of={now}"),
        ("/reports/lists/completions?what=course", f"/reports/lists/completions?year={year}"),
        ("/reports/lists/ce?kind=external", f"/reports/lists/ce?year={year}"),
    ]:
        client.get(one)  # warm up
        with count_queries as few:
            assert client.get(one).status_code == 200
        with count_queries as many:
            assert client.get(several).status_code == 200
        assert few.count == many.count, (one, few.statements, many.statements)


# Who may see which list --------------------------------------------------------------------------


def test_a_partner_coordinator_sees_their_partner_only(
    population: dict[str, Any], client: Any, make_user: Any
) -> None:
    world = population["world"]
    client.login(make_user(("coordinator", world.partner)))
    mine = get(client, "/reports/lists/holders?tier=talent_pool")
    assert cells(mine, "name") == ["学员a", "学员b", "学员e"]
    assert f'name="q_partner" value="{world.partner.code}"' in mine
    get(client, f"/reports/lists/holders?tier=talent_pool&partner={world.partner.code}")
    get(client, "/reports/lists/holders?tier=talent_pool&partner=OTHERU", 403)
    get(client, "/reports/lists/issued?partner=OTHERU", 403)


def test_trainees_and_strangers_are_refused(
    population: dict[str, Any], client: Any, make_user: Any
) -> None:
    assert client.get("/reports/lists/holders?tier=talent_pool").status_code in (302, 401)
    client.login(make_user("trainee"))
    get(client, "/reports/lists/holders?tier=talent_pool", 403)
    client.login(make_user("hr"))
    get(client, "/reports/lists/holders?tier=talent_pool", 403)


def test_bad_arguments_are_named(population: dict[str, Any], admin: Any, client: Any) -> None:
    client.use_language("en")
    get(client, "/reports/lists/nothing", 404)
    for url, argument in [
        ("/reports/lists/holders", "tier"),
        ("/reports/lists/holders?tier=gold", "tier"),
        ("/reports/lists/holders?tier=talent_pool&type=NOPE", "type"),
        ("/reports/lists/holders?tier=talent_pool&employer_kind=farm", "employer_kind"),
        ("/reports/lists/holders?tier=talent_pool&as_of=2022-13-01", "as_of"),
        ("/reports/lists/holders?tier=talent_pool&partner=NOPE", "partner"),
        ("/reports/lists/issued?year=abc", "year"),
        ("/reports/lists/issued?kind=gift", "kind"),
        ("/reports/lists/completions?track=space", "track"),
        ("/reports/lists/completions?what=everything", "what"),
        ("/reports/lists/ce?kind=magic", "kind"),
    ]:
        page = get(client, url, 400)
        assert f"<code>{argument}</code>:" in page, url
        assert "This list cannot be shown" in page
