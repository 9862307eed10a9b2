"""The organisation pages: list, search, detail, create, edit, deactivate."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.extensions import db
from lms.orgs.models import Organisation
from tests import factories
from tests.conftest import form_errors


@pytest.fixture
def admin(client, make_user):
    user = make_user("admin")
    client.use_language("en")  # first: the language is fixed by the test's first request
    client.login(user)
    return user


def row_ids(html: str) -> set[int]:
    """The ids of the organisations listed in the table."""
    return {int(i) for i in re.findall(r'<tr id="org-(\d+)"', html)}


def audit_entries(action: str, org_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.action == action, AuditEntry.entity_id == org_id)
            .order_by(AuditEntry.id)
        )
    )


def form_data(**values: object) -> dict[str, object]:
    data: dict[str, object] = {
        "code": "NEW-1",
        "name": "南京市示范性指导服务中心",
        "name_en": "Nanjing Guidance Centre",
        "kind": "centre",
        "district_id": "",
        "parent_id": "",
    }
    data.update(values)
    return data


# List and search ------------------------------------------------------------------------------


def test_list_shows_columns_and_head_counts(client, admin):
    district = factories.DistrictFactory(name="玄武区", name_en="Xuanwu")
    centre = factories.OrganisationFactory(code="C1", name="中心", kind="centre", district=district)
    nursery = factories.OrganisationFactory(
        code="N1", name="育儿园", name_en="", kind="nursery", parent=centre, district=district
    )
    factories.UserFactory.create_batch(3, employer=nursery)
    factories.UserFactory(employer=nursery, active=False)  # left: not counted
    db.session.commit()

    html = client.get("/organisations").get_data(as_text=True)

    assert row_ids(html) == {centre.id, nursery.id}
    row = html[html.index(f'id="org-{nursery.id}"') :].split("</tr>")[0]
    assert "育儿园" in row
    assert "Nursery" in row
    assert "Xuanwu" in row
    assert f'href="/organisations/{centre.id}"' in row  # the parent
    assert f'href="/people?organisation={nursery.id}">3</a>' in row
    assert 'id="new-organisation"' in html
    assert 'href="/districts"' in html


def test_chinese_substring_search(client, admin):
    njnu = factories.OrganisationFactory(name="南京师范大学", name_en="Nanjing Normal University")
    other = factories.OrganisationFactory(name="南京大学", name_en="Nanjing University")
    db.session.commit()

    html = client.get("/organisations", query_string={"q": "师范"}).get_data(as_text=True)

    assert row_ids(html) == {njnu.id}
    assert other.id not in row_ids(html)


def test_search_by_code_and_english_name_ignores_case(client, admin):
    a = factories.OrganisationFactory(code="NJNU", name_en="Nanjing Normal University")
    b = factories.OrganisationFactory(code="SEU", name_en="Southeast University")
    db.session.commit()

    assert row_ids(client.get("/organisations?q=njn").get_data(as_text=True)) == {a.id}
    assert row_ids(client.get("/organisations?q=southEAST").get_data(as_text=True)) == {b.id}


def test_search_treats_like_wildcards_literally(client, admin):
    plain = factories.OrganisationFactory(name="普通机构")
    percent = factories.OrganisationFactory(name="百分之100%机构")
    db.session.commit()

    assert row_ids(client.get("/organisations?q=%25").get_data(as_text=True)) == {percent.id}
    assert row_ids(client.get("/organisations?q=_").get_data(as_text=True)) == set()
    assert plain.id not in row_ids(client.get("/organisations?q=%25").get_data(as_text=True))


def test_filters_by_kind_district_and_status(client, admin):
    d1, d2 = factories.DistrictFactory(), factories.DistrictFactory()
    uni = factories.OrganisationFactory(kind="university", district=d1)
    station = factories.OrganisationFactory(kind="station", district=d2)
    closed = factories.OrganisationFactory(kind="station", district=d2, active=False)
    db.session.commit()

    def ids(**args: object) -> set[int]:
        response = client.get("/organisations", query_string=args)
        assert response.status_code == 200
        return row_ids(response.get_data(as_text=True))

    assert ids() == {uni.id, station.id}  # active ones by default
    assert ids(kind="university") == {uni.id}
    assert ids(district=d2.id) == {station.id}
    assert ids(status="inactive") == {closed.id}
    assert ids(status="all", district=d2.id) == {station.id, closed.id}


def test_bad_filter_values_are_ignored_not_a_crash(client, admin):
    org = factories.OrganisationFactory()
    db.session.commit()

    response = client.get(
        "/organisations",
        query_string={"kind": "spaceship", "district": "abc", "status": "x", "page": "-3"},
    )

    assert response.status_code in (200, 422)
    assert org.id in row_ids(response.get_data(as_text=True))
    assert client.get("/organisations?page=999").status_code == 200
    assert client.get("/organisations?page=99999999999999999999").status_code == 200


def test_pagination_keeps_filters(app, client, admin):
    for n in range(app.config["PAGE_SIZE"] + 2):
        factories.OrganisationFactory(code=f"P{n:03d}", kind="care_point")
    db.session.commit()

    html = client.get("/organisations?kind=care_point").get_data(as_text=True)

    assert len(row_ids(html)) == app.config["PAGE_SIZE"]
    assert re.search(r'href="/organisations\?[^"]*kind=care_point[^"]*page=2', html) or re.search(
        r'href="/organisations\?[^"]*page=2[^"]*kind=care_point', html
    )
    page2 = client.get("/organisations?kind=care_point&page=2").get_data(as_text=True)
    assert len(row_ids(page2)) == 2


def test_list_query_count_does_not_grow_with_rows(client, admin, count_queries):
    def fill(n: int) -> None:
        parent = factories.OrganisationFactory()
        for _ in range(n):
            org = factories.OrganisationFactory(parent=parent)
            factories.UserFactory(employer=org)
        db.session.commit()

    fill(3)
    with count_queries as few:
        assert client.get("/organisations?status=all").status_code == 200
    fill(27)
    with count_queries as many:
        response = client.get("/organisations?status=all")
    assert response.status_code == 200
    assert len(row_ids(response.get_data(as_text=True))) == 25
    assert many.count == few.count, many.statements


# Detail ---------------------------------------------------------------------------------------


def test_detail_shows_facts_children_people_link_and_changes(client, admin):
    response = client.post("/organisations/new", data=form_data(code="HUB"))
    org = db.session.scalar(sa.select(Organisation).where(Organisation.code == "HUB"))
    child = factories.OrganisationFactory(parent=org, name="下属站点", name_en="")
    factories.UserFactory.create_batch(2, employer=org)
    db.session.commit()

    response = client.get(f"/organisations/{org.id}")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "南京市示范性指导服务中心" in html
    assert "Guidance centre" in html
    assert f'href="/organisations/{child.id}"' in html
    assert "下属站点" in html
    assert f'href="/people?organisation={org.id}"' in html
    assert "organisation.created" in html
    assert f'href="/audit?entity_type=organisation&amp;entity_id={org.id}"' in html
    title = html[html.index("<title>") : html.index("</title>")]
    assert "南京市示范性指导服务中心" in title
    assert "<form" not in title
    assert html.count('id="deactivate-form"') == 1


# Create ---------------------------------------------------------------------------------------


def test_admin_creates_an_organisation(client, admin):
    district = factories.DistrictFactory()
    parent = factories.OrganisationFactory(kind="centre")
    db.session.commit()

    response = client.post(
        "/organisations/new",
        data=form_data(code="st-01", kind="station", district_id=district.id, parent_id=parent.id),
    )

    assert response.status_code == 302
    org = db.session.scalar(sa.select(Organisation).where(Organisation.code == "ST-01"))
    assert org is not None
    assert urlsplit(response.location).path == f"/organisations/{org.id}"
    assert (org.name, org.kind, org.district_id, org.parent_id) == (
        "南京市示范性指导服务中心",
        "station",
        district.id,
        parent.id,
    )
    [entry] = audit_entries("organisation.created", org.id)
    assert entry.actor_id == admin.id
    assert entry.before is None
    assert entry.after["code"] == "ST-01"
    assert entry.after["kind"] == "station"
    assert entry.after["parent_id"] == parent.id


def test_new_form_offers_translated_kinds(client, admin):
    html = client.get("/organisations/new").get_data(as_text=True)
    assert '<option value="university">University partner</option>' in html
    assert '<option value="care_point">Care point</option>' in html


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"code": "DUP"}, "code"),
        ({"kind": "spaceship"}, "kind"),
        ({"kind": ""}, "kind"),
        ({"code": "bad code!"}, "code"),
        ({"name": ""}, "name"),
        ({"district_id": "999999"}, "district_id"),
        ({"district_id": "abc"}, "district_id"),
        ({"parent_id": "999999"}, "parent_id"),
    ],
)
def test_bad_organisation_shows_field_error_and_saves_nothing(client, admin, values, field):
    factories.OrganisationFactory(code="DUP")
    db.session.commit()
    before = db.session.query(Organisation).count()

    response = client.post("/organisations/new", data=form_data(**values))

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert form_errors(html)
    assert re.search(rf'id="{field}-error" class="field-error"', html), html
    db.session.expire_all()
    assert db.session.query(Organisation).count() == before
    assert db.session.query(AuditEntry).filter_by(action="organisation.created").count() == 0


def test_duplicate_code_message(client, admin):
    factories.OrganisationFactory(code="DUP")
    db.session.commit()

    response = client.post("/organisations/new", data=form_data(code="dup"))

    assert "Another organisation already has this code." in form_errors(
        response.get_data(as_text=True)
    )


def test_unknown_kind_message(client, admin):
    response = client.post("/organisations/new", data=form_data(kind="spaceship"))
    assert "Unknown kind of organisation." in form_errors(response.get_data(as_text=True))


def test_post_without_csrf_token_is_refused(client, admin):
    response = client.post("/organisations/new", data=form_data(), csrf=False)
    assert response.status_code == 400
    assert db.session.query(Organisation).count() == 0


# Edit -----------------------------------------------------------------------------------------


def test_edit_records_only_the_changed_keys(client, admin):
    org = factories.OrganisationFactory(code="ED1", name="旧名", name_en="Old", kind="nursery")
    db.session.commit()

    response = client.get(f"/organisations/{org.id}/edit")
    assert 'value="ED1"' in response.get_data(as_text=True)

    response = client.post(
        f"/organisations/{org.id}/edit",
        data=form_data(
            code="ED1", name="新名", name_en="Old", kind="care_point", district_id=org.district_id
        ),
    )

    assert response.status_code == 302
    db.session.expire_all()
    assert (org.name, org.kind) == ("新名", "care_point")
    [entry] = audit_entries("organisation.updated", org.id)
    assert entry.before == {"kind": "nursery", "name": "旧名"}
    assert entry.after == {"kind": "care_point", "name": "新名"}


def test_edit_with_a_duplicate_code_saves_nothing(client, admin):
    factories.OrganisationFactory(code="TAKEN")
    org = factories.OrganisationFactory(code="MINE", name="原名")
    db.session.commit()

    response = client.post(
        f"/organisations/{org.id}/edit", data=form_data(code="TAKEN", name="改名")
    )

    assert response.status_code == 422
    assert "Another organisation already has this code." in form_errors(
        response.get_data(as_text=True)
    )
    db.session.expire_all()
    assert (org.code, org.name) == ("MINE", "原名")
    assert audit_entries("organisation.updated", org.id) == []


def test_an_organisation_cannot_be_placed_under_itself(client, admin):
    org = factories.OrganisationFactory(code="SELF", kind="centre")
    child = factories.OrganisationFactory(parent=org)
    db.session.commit()

    form = client.get(f"/organisations/{org.id}/edit").get_data(as_text=True)
    parent_select = form[form.index('id="parent_id"') :].split("</select>")[0]
    assert f'value="{org.id}"' not in parent_select  # not even offered

    for parent in (org, child):
        response = client.post(
            f"/organisations/{org.id}/edit",
            data=form_data(code="SELF", kind="centre", parent_id=parent.id),
        )
        assert response.status_code == 422
        assert "An organisation cannot be placed under itself." in form_errors(
            response.get_data(as_text=True)
        )
    db.session.expire_all()
    assert org.parent_id is None
    assert audit_entries("organisation.updated", org.id) == []


def test_an_organisation_cannot_be_placed_under_its_grandchild(client, admin):
    top = factories.OrganisationFactory(code="TOP", kind="centre")
    middle = factories.OrganisationFactory(parent=top)
    bottom = factories.OrganisationFactory(parent=middle)
    db.session.commit()

    response = client.post(
        f"/organisations/{top.id}/edit",
        data=form_data(code="TOP", kind="centre", parent_id=bottom.id),
    )

    assert response.status_code == 422
    db.session.expire_all()
    assert top.parent_id is None


# Deactivate and reactivate --------------------------------------------------------------------


def test_deactivate_and_reactivate_are_audited(client, admin):
    org = factories.OrganisationFactory()
    db.session.commit()

    response = client.post(f"/organisations/{org.id}/deactivate")
    assert response.status_code == 302
    assert urlsplit(response.location).path == f"/organisations/{org.id}"
    db.session.expire_all()
    assert org.active is False
    [entry] = audit_entries("organisation.deactivated", org.id)
    assert (entry.before, entry.after, entry.actor_id) == (
        {"active": True},
        {"active": False},
        admin.id,
    )
    assert org.id not in row_ids(client.get("/organisations").get_data(as_text=True))
    assert 'id="reactivate"' in client.get(f"/organisations/{org.id}").get_data(as_text=True)

    assert client.post(f"/organisations/{org.id}/reactivate").status_code == 302
    db.session.expire_all()
    assert org.active is True
    [entry] = audit_entries("organisation.reactivated", org.id)
    assert (entry.before, entry.after) == ({"active": False}, {"active": True})


def test_deactivating_twice_records_once(client, admin):
    org = factories.OrganisationFactory()
    db.session.commit()

    client.post(f"/organisations/{org.id}/deactivate")
    client.post(f"/organisations/{org.id}/deactivate")

    assert len(audit_entries("organisation.deactivated", org.id)) == 1


def test_deactivate_needs_a_post_with_csrf(client, admin):
    org = factories.OrganisationFactory()
    db.session.commit()

    assert client.get(f"/organisations/{org.id}/deactivate").status_code == 405
    assert client.post(f"/organisations/{org.id}/deactivate", csrf=False).status_code == 400
    db.session.expire_all()
    assert org.active is True
