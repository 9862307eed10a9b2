"""Session cookies, session rotation, signing out everywhere, CSRF on every POST, the
sign-in rate limit and the password rules wherever a password is set."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import Rule

from lms.auth import services
from lms.auth.models import User
from lms.auth.passwords import password_problem
from lms.extensions import db
from lms.ratelimit import limiter
from tests.factories import TEST_PASSWORD

NEW = "a new long passphrase 2026"


@pytest.fixture
def fresh_rate_limits() -> Iterator[None]:
    """Counters are per address and outlive a test: start and end with none."""
    limiter.reset()
    yield
    limiter.reset()


def session_cookie(response: Any, app: Flask) -> str:
    """The ``Set-Cookie`` header of the session cookie."""
    name = app.config["SESSION_COOKIE_NAME"]
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def cookie_value(client: Any, app: Flask) -> str | None:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else None


def signed_in(client: Any) -> bool:
    return client.get("/").status_code == 200


# Cookies and sessions ---------------------------------------------------------------------


def test_the_session_cookie_is_http_only_and_same_site(
    client: Any, make_user: Any, app: Flask
) -> None:
    cookie = session_cookie(client.login(make_user("trainee")), app)
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in attributes  # plain-HTTP default (the embedded mode)


def test_the_session_cookie_is_secure_when_configured(
    client: Any, make_user: Any, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    response = client.login(make_user("trainee"))
    assert response.status_code == 302
    attributes = [part.strip().lower() for part in session_cookie(response, app).split(";")]
    assert "secure" in attributes and "httponly" in attributes


def test_signing_in_starts_a_new_session(client: Any, make_user: Any, app: Flask) -> None:
    """Nothing planted in the session before sign-in survives it, and the cookie from
    before sign-in does not become a signed-in one (no session fixation)."""
    user = make_user("trainee")
    client.get("/login")
    with client.session_transaction() as sess:
        sess["planted"] = "by someone else"
    before = cookie_value(client, app)
    assert before is not None
    assert client.login(user).status_code == 302
    after = cookie_value(client, app)
    assert after is not None and after != before
    with client.session_transaction() as sess:
        assert "planted" not in sess
    assert signed_in(client)
    replayed = app.test_client()
    replayed.set_cookie(app.config["SESSION_COOKIE_NAME"], before, domain="localhost")
    assert not signed_in(replayed)


def test_a_password_change_signs_out_the_old_cookie_everywhere(app: Flask, make_user: Any) -> None:
    """Another browser, and even a copy of this browser's own cookie from before the
    change, are signed out; the browser that made the change gets a new cookie."""
    user = make_user("trainee")
    phone, laptop = app.test_client(), app.test_client()
    phone.login(user)
    laptop.login(user)
    old_cookie = cookie_value(laptop, app)
    response = laptop.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "new_password": NEW, "confirm": NEW},
    )
    assert response.status_code == 302
    assert signed_in(laptop)
    assert not signed_in(phone)
    copy = app.test_client()
    copy.set_cookie(app.config["SESSION_COOKIE_NAME"], old_cookie, domain="localhost")
    assert not signed_in(copy)


def test_an_administrators_reset_signs_the_person_out_everywhere(
    app: Flask, make_user: Any
) -> None:
    person = make_user("trainee")
    browser, admin = app.test_client(), app.test_client()
    browser.login(person)
    admin.login(make_user("admin"))
    assert signed_in(browser)
    assert admin.post(f"/people/{person.id}/reset-password").status_code == 302
    assert not signed_in(browser)


# CSRF -------------------------------------------------------------------------------------

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def post_rules(app: Flask) -> list[Rule]:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.methods & STATE_CHANGING),
        key=lambda rule: rule.rule,
    )


def placeholder_url(rule: Rule) -> str:
    """The rule's path with ``1`` for every argument (the CSRF check comes first)."""
    built = rule.build(dict.fromkeys(rule.arguments, "1"), append_unknown=False)
    assert built is not None, rule
    return built[1]


def test_every_state_changing_route_refuses_a_request_without_a_token(
    app: Flask, client: Any, make_user: Any
) -> None:
    rules = post_rules(app)
    assert len(rules) > 40
    assert not [rule for rule in rules if rule.methods & {"PUT", "PATCH", "DELETE"}]
    client.login(make_user("admin"))
    refused = {
        rule.rule: client.post(placeholder_url(rule), data={}, csrf=False).status_code
        for rule in rules
    }
    assert set(refused.values()) == {400}, {k: v for k, v in refused.items() if v != 400}
    # A token from another session, or a made-up one, is no better.
    foreign = app.test_client().csrf_token()
    for token in (foreign, "made-up"):
        response = client.post("/logout", data={"csrf_token": token}, csrf=False)
        assert response.status_code == 400
    assert signed_in(client)


def test_refused_posts_change_nothing(
    app: Flask, client: Any, make_user: Any, learning_world: Any
) -> None:
    admin = make_user("admin")
    person = make_user("trainee")
    client.login(admin)
    before_hash = person.password_hash
    people = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    requests = [
        ("/logout", {}),
        ("/account/password", {"current_password": TEST_PASSWORD, "new_password": NEW}),
        ("/people/new", {"name": "新人", "email": "new@example.org", "roles": ["trainee"]}),
        (f"/people/{person.id}/reset-password", {}),
        (f"/people/{person.id}/deactivate", {}),
        (f"/learning/lessons/{learning_world.lessons[0].id}/complete", {}),
    ]
    for path, data in requests:
        assert client.post(path, data=data, csrf=False).status_code == 400, path
    db.session.expire_all()
    assert signed_in(client)
    assert services.authenticate(admin.email, TEST_PASSWORD) is not None
    assert person.password_hash == before_hash and person.active
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == people


def test_htmx_requests_send_the_token_in_a_header(client: Any, make_user: Any) -> None:
    """Pages give htmx the token (``hx-headers``); Flask-WTF accepts it from the header."""
    client.login(make_user("trainee"))
    html = client.get("/").get_data(as_text=True)
    token = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", html)
    assert token is not None
    response = client.post("/logout", headers={"X-CSRFToken": token.group(1)}, csrf=False)
    assert response.status_code == 302


# Sign-in rate limit -----------------------------------------------------------------------


def test_the_failed_sign_in_after_the_budget_is_refused_with_429(
    app: Flask,
    client: Any,
    make_user: Any,
    monkeypatch: pytest.MonkeyPatch,
    fresh_rate_limits: None,
) -> None:
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    client.use_language("en")
    users = [make_user("trainee") for _ in range(3)]
    for user in users:  # one failure each: no account reaches its own lock-out
        wrong = client.post("/login", data={"email": user.email, "password": "wrong password"})
        assert wrong.status_code == 422
    limited = client.login(users[0])  # even the right password waits now
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers
    html = limited.get_data(as_text=True)
    assert "Too many failed sign-ins from your network. Wait a minute" in html
    assert 'name="email"' in html  # the sign-in form again
    assert client.get("/login").status_code == 200  # the form itself is not limited
    other_address = client.post(
        "/login",
        data={"email": users[0].email, "password": TEST_PASSWORD},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert other_address.status_code == 302  # the budget is per address
    for user in users:
        db.session.refresh(user)
        assert user.locked_until is None


def test_successful_sign_ins_do_not_spend_the_budget(
    app: Flask, make_user: Any, monkeypatch: pytest.MonkeyPatch, fresh_rate_limits: None
) -> None:
    """A nursery's staff behind one address can all sign in."""
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    for _ in range(4):
        assert app.test_client().login(make_user("trainee")).status_code == 302


def test_sign_in_counters_are_kept_where_the_app_keeps_shared_state(app: Flask) -> None:
    """Redis (``REDIS_URL``) in production, so every web process shares the budget."""
    kind = type(limiter.storage).__name__
    assert kind == ("RedisStorage" if app.config.get("REDIS_URL") else "MemoryStorage")


# Password rules ---------------------------------------------------------------------------

EMAIL = "zhang.weiming@example.org"
WEAK = {
    "short": ("short1", "Use at least"),
    "same characters": ("aaaabbbbaaaabbbb", "Use more varied characters."),
    "the email": (EMAIL.upper(), "Do not use your email address"),
    "the email's name": ("Zhang.Weiming", "Do not use your email address"),
    "common": ("Password 123", "one of the most common"),
    "common keyboard walk": ("1qaz2wsx3edc", "one of the most common"),
    "common Chinese": ("woaini1314", "one of the most common"),
}


@pytest.mark.parametrize(("password", "message"), list(WEAK.values()), ids=list(WEAK))
def test_weak_passwords_are_refused(app: Flask, english: None, password: str, message: str) -> None:
    problem = password_problem(password, app.config["PASSWORD_MIN_LENGTH"], EMAIL)
    assert problem is not None and message in problem


def test_good_passwords_pass(app: Flask) -> None:
    for password in (TEST_PASSWORD, NEW, "小明的生日是2021年3月"):
        assert password_problem(password, app.config["PASSWORD_MIN_LENGTH"], EMAIL) is None


def test_a_weak_password_is_refused_wherever_a_password_is_set(
    app: Flask, client: Any, runner: Any, make_user: Any
) -> None:
    common = "Password 123"
    client.use_language("en")
    message = "This password is one of the most common; choose another."
    # 1. Changing one's own password.
    user = make_user("trainee")
    client.login(user)
    response = client.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "new_password": common, "confirm": common},
    )
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    client.post("/logout")
    # 2. An administrator creating an account with a password.
    client.login(make_user("admin"))
    client.use_language("en")
    response = client.post(
        "/people/new",
        data={
            "name": "王芳",
            "email": "wang.fang@example.org",
            "roles": ["trainee"],
            "password": common,
        },
    )
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    # 3. ``lms users create`` and ``lms users set-password``.
    created = runner.invoke(
        args=["users", "create", "--email", "li@example.org", "--name", "李", "--role", "trainee"],
        input=common + "\n",
    )
    assert created.exit_code == 1 and created.stderr.startswith("password: ")
    reset = runner.invoke(args=["users", "set-password", "--email", user.email], input=common)
    assert reset.exit_code == 1
    # Nothing was saved anywhere.
    db.session.expire_all()
    assert services.authenticate(user.email, TEST_PASSWORD) is not None
    emails = {"wang.fang@example.org", "li@example.org"}
    assert not db.session.scalars(sa.select(User).where(User.email.in_(emails))).all()
