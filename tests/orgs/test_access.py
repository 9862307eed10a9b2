"""Only administrators reach the organisation, district and audit pages."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from lms.extensions import db
from lms.orgs.models import Organisation
from tests import factories


@pytest.fixture
def org() -> Organisation:
    org = factories.OrganisationFactory()
    db.session.commit()
    return org


def get_urls(org: Organisation) -> list[str]:
    return [
        "/organisations",
        f"/organisations/{org.id}",
        "/organisations/new",
        f"/organisations/{org.id}/edit",
        "/districts",
        "/districts/new",
        f"/districts/{org.district_id}/edit",
        "/audit",
    ]


def post_urls(org: Organisation) -> list[str]:
    return [
        "/organisations/new",
        f"/organisations/{org.id}/edit",
        f"/organisations/{org.id}/deactivate",
        f"/organisations/{org.id}/reactivate",
        "/districts/new",
        f"/districts/{org.district_id}/edit",
    ]


@pytest.mark.parametrize("role", ["trainee", "instructor", "hr", "coordinator"])
def test_other_roles_are_refused(client, make_user, org, role):
    user = make_user(role)
    client.login(user)
    for url in get_urls(org):
        assert client.get(url).status_code == 403, url
    for url in post_urls(org):
        assert client.post(
            url, data={"code": "X1", "name": "x", "kind": "nursery"}
        ).status_code == (403), url
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).active is True
    assert db.session.query(Organisation).count() == 1


def test_scoped_hr_and_coordinator_are_refused_too(client, make_user, org):
    user = make_user(("hr", org), ("coordinator", org))
    client.login(user)
    for url in get_urls(org):
        assert client.get(url).status_code == 403, url


def test_anonymous_is_sent_to_sign_in(client, org):
    for url in get_urls(org):
        response = client.get(url)
        assert response.status_code == 302, url
        assert urlsplit(response.location).path == "/login", url
    for url in post_urls(org):
        response = client.post(url, data={})
        assert response.status_code == 302, url
        assert urlsplit(response.location).path == "/login", url


def test_admin_reaches_every_page(client, make_user, org):
    client.login(make_user("admin"))
    for url in get_urls(org):
        assert client.get(url).status_code == 200, url


def test_unknown_ids_answer_404(client, make_user):
    client.login(make_user("admin"))
    for url in (
        "/organisations/999999",
        "/organisations/999999/edit",
        "/districts/999999/edit",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post("/organisations/999999/deactivate").status_code == 404
