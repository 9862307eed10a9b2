"""Home page per role, health check, language switch and error pages."""

from __future__ import annotations

import pytest

from lms import create_app
from lms.auth.access import public
from lms.auth.models import User
from lms.extensions import db


def test_healthz_answers_after_a_database_round_trip(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_healthz_reports_503_when_the_database_fails(tmp_path):
    """A database that cannot be opened (a real failure, not a mock) answers 503."""
    unreachable = f"sqlite:///{tmp_path / 'no such folder' / 'lms.sqlite3'}"
    broken = create_app(
        {"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": unreachable}
    )
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


@pytest.mark.parametrize(
    ("role", "links"),
    [
        ("trainee", ["/account/password"]),
        ("hr", ["/people"]),
        ("coordinator", ["/people"]),
        ("admin", ["/people", "/organisations", "/audit", "/people/import"]),
    ],
)
def test_home_shows_each_role_what_it_can_do(client, make_user, role, links):
    client.login(make_user(role))
    html = client.get("/").get_data(as_text=True)
    for link in links:
        assert f'href="{link}"' in html


def test_trainee_home_has_no_admin_links(client, make_user):
    client.login(make_user("trainee"))
    html = client.get("/").get_data(as_text=True)
    assert 'href="/organisations"' not in html and 'href="/audit"' not in html


def test_language_switch_is_remembered_on_the_account(app, client, make_user):
    user = make_user("trainee")
    client.login(user)
    assert 'lang="zh-Hans-CN"' in client.get("/").get_data(as_text=True)
    response = client.post("/language", data={"locale": "en", "next": "/account/password"})
    assert response.headers["Location"].endswith("/account/password")
    assert '<html lang="en"' in client.get("/").get_data(as_text=True)
    db.session.refresh(user)
    assert user.locale == "en"
    # A new browser picks the saved language up at sign-in.
    other = app.test_client()
    other.login(user)
    assert '<html lang="en"' in other.get("/").get_data(as_text=True)


def test_language_switch_for_anonymous_visitors(client):
    client.post("/language", data={"locale": "en", "next": "/login"})
    assert '<html lang="en"' in client.get("/login").get_data(as_text=True)
    client.post("/language", data={"locale": "xx", "next": "https://evil.example/"})
    assert '<html lang="en"' in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize(("locale", "text"), [("zh_Hans_CN", "找不到"), ("en", "Not found")])
def test_404_page_in_both_languages(client, locale, text):
    client.use_language(locale)
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert text in response.get_data(as_text=True)


def test_403_page(client, make_user):
    client.use_language("en")
    client.login(make_user("trainee"))
    response = client.get("/organisations")
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True)


def test_unhandled_error_shows_the_500_page(app):
    """An exception in a view becomes a page in the person's language, not a traceback."""
    other = create_app(
        {
            "TESTING": False,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        }
    )

    @other.route("/boom")
    @public
    def boom() -> str:
        raise RuntimeError("kaboom")

    response = other.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "kaboom" not in html and "Traceback" not in html
    assert "<html" in html


def test_api_errors_are_json(client):
    response = client.get("/api/v1/nothing", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["status"] == 404


@pytest.mark.parametrize("url", ["/people?q=a%00b", "/organisations?q=%00", "/courses?q=x%00"])
def test_nul_bytes_are_a_bad_request_not_a_server_error(client, make_user, url):
    client.login(make_user("admin"))
    assert client.get(url).status_code == 400


def test_nul_bytes_in_a_form_change_nothing(client, make_user):
    admin = make_user("admin")
    client.login(admin)
    response = client.post(
        "/people/new", data={"name": "王\x00五", "email": "w5@example.org", "roles": "trainee"}
    )
    assert response.status_code == 400
    assert db.session.query(User).filter_by(email="w5@example.org").count() == 0
