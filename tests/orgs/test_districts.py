"""The district pages: list with counts, create, edit."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.extensions import db
from lms.orgs.models import District
from tests import factories
from tests.conftest import form_errors


@pytest.fixture
def admin(client, make_user):
    user = make_user("admin")
    client.use_language("en")  # first: the language is fixed by the test's first request
    client.login(user)
    return user


def test_list_counts_active_organisations_and_people(client, admin):
    district = factories.DistrictFactory(name="鼓楼区", name_en="Gulou")
    empty = factories.DistrictFactory(name="空区")
    factories.OrganisationFactory.create_batch(2, district=district)
    factories.OrganisationFactory(district=district, active=False)
    factories.UserFactory.create_batch(4, district=district)
    factories.UserFactory(district=district, active=False)
    db.session.commit()

    html = client.get("/districts").get_data(as_text=True)

    row = html[html.index(f'id="district-{district.id}"') :].split("</tr>")[0]
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    assert "鼓楼区" in cells[1] and "Gulou" in cells[1]
    assert f'href="/organisations?district={district.id}">2</a>' in cells[2]
    assert cells[3] == "4"
    empty_row = html[html.index(f'id="district-{empty.id}"') :].split("</tr>")[0]
    assert re.findall(r"<td>(.*?)</td>", empty_row, re.S)[3] == "0"


def test_create_district(client, admin):
    response = client.post(
        "/districts/new", data={"code": "qh", "name": "秦淮区", "name_en": "Qinhuai"}
    )

    assert response.status_code == 302
    district = db.session.scalar(sa.select(District).where(District.code == "QH"))
    assert (district.name, district.name_en) == ("秦淮区", "Qinhuai")
    entry = db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.action == "district.created", AuditEntry.entity_id == district.id
        )
    )
    assert entry.after == {"code": "QH", "name": "秦淮区", "name_en": "Qinhuai"}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"code": "NEW", "name": "建邺区"}, "name"),
        ({"code": "JY", "name": "新区"}, "code"),
        ({"code": "", "name": "新区"}, "code"),
        ({"code": "N2", "name": ""}, "name"),
    ],
)
def test_create_district_refuses_duplicates_and_blanks(client, admin, values, field):
    factories.DistrictFactory(code="JY", name="建邺区")
    db.session.commit()

    response = client.post("/districts/new", data={"name_en": "", **values})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'id="{field}-error" class="field-error"', html)
    assert db.session.query(District).count() == 1


def test_duplicate_name_message(client, admin):
    factories.DistrictFactory(name="建邺区")
    db.session.commit()

    response = client.post("/districts/new", data={"code": "X", "name": "建邺区"})

    assert "Another district already uses this." in form_errors(response.get_data(as_text=True))


def test_edit_district(client, admin):
    district = factories.DistrictFactory(code="PK", name="浦口", name_en="")
    db.session.commit()

    assert 'value="浦口"' in client.get(f"/districts/{district.id}/edit").get_data(as_text=True)
    response = client.post(
        f"/districts/{district.id}/edit", data={"code": "PK", "name": "浦口区", "name_en": "Pukou"}
    )

    assert response.status_code == 302
    db.session.expire_all()
    assert (district.name, district.name_en) == ("浦口区", "Pukou")
    entry = db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.action == "district.updated", AuditEntry.entity_id == district.id
        )
    )
    assert entry.before == {"name": "浦口", "name_en": ""}
    assert entry.after == {"name": "浦口区", "name_en": "Pukou"}


def test_edit_district_refuses_a_name_in_use(client, admin):
    factories.DistrictFactory(name="六合区")
    district = factories.DistrictFactory(code="LS", name="溧水区")
    db.session.commit()

    response = client.post(
        f"/districts/{district.id}/edit", data={"code": "LS", "name": "六合区", "name_en": ""}
    )

    assert response.status_code == 422
    assert "Another district already uses this." in form_errors(response.get_data(as_text=True))
    db.session.expire_all()
    assert district.name == "溧水区"
    assert db.session.query(AuditEntry).filter_by(action="district.updated").count() == 0


def test_district_name_longer_than_the_column_is_a_field_error(client, admin):
    response = client.post("/districts/new", data={"code": "LONG", "name": "区" * 150})

    assert response.status_code == 422
    assert form_errors(response.get_data(as_text=True))
    assert db.session.query(District).count() == 0
