"""Signing in and out, lock-out, safe redirects, sessions and CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lms.audit.models import AuditEntry
from lms.auth.passwords import hash_password
from lms.auth.views import safe_next
from lms.db import utcnow
from lms.extensions import db


def test_login_page_is_chinese_by_default(client):
    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="zh-Hans-CN"' in html
    assert 'name="email"' in html and 'name="password"' in html and 'name="csrf_token"' in html


def test_sign_in_records_last_login_and_opens_home(client, make_user):
    user = make_user("trainee")
    response = client.login(user)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")
    db.session.refresh(user)
    assert user.last_login_at is not None
    assert client.get("/").status_code == 200


def test_email_is_matched_case_insensitively(client, make_user):
    make_user("trainee", email="wang.li@example.org")
    response = client.post(
        "/login", data={"email": " WANG.LI@example.org ", "password": "correct horse battery"}
    )
    assert response.status_code == 302


@pytest.mark.parametrize("email", ["nobody@example.org", "known"])
def test_wrong_credentials_give_one_message_whatever_the_email(client, make_user, email):
    """The form never tells whether an account exists."""
    user = make_user("trainee")
    client.use_language("en")
    address = user.email if email == "known" else email
    response = client.post("/login", data={"email": address, "password": "wrong password"})
    assert response.status_code == 422
    assert "The email or password is not correct." in response.get_data(as_text=True)


def test_repeated_failures_lock_the_account(client, make_user, app):
    user = make_user("trainee")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/login", data={"email": user.email, "password": "wrong password"})
    db.session.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow()
    # Even the right password is refused while locked, with the same message.
    assert client.login(user).status_code == 422
    assert (
        db.session.query(AuditEntry).filter_by(action="user.locked", entity_id=user.id).count() == 1
    )
    # After the lock expires the right password works again.
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.login(user).status_code == 302


def test_inactive_account_cannot_sign_in(client, make_user):
    user = make_user("trainee", active=False)
    assert client.login(user).status_code == 422


def test_safe_next_redirect(client, make_user):
    user = make_user("trainee")
    response = client.post(
        "/login",
        data={
            "email": user.email,
            "password": "correct horse battery",
            "next": "/account/password",
        },
    )
    assert response.headers["Location"].endswith("/account/password")


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", "evil"],
)
def test_unsafe_next_is_ignored(client, make_user, target):
    user = make_user("trainee")
    response = client.post(
        "/login", data={"email": user.email, "password": "correct horse battery", "next": target}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert safe_next(target) is None


def test_control_characters_in_next_are_refused():
    assert safe_next("/\x00/x") is None
    assert safe_next("/\r\nSet-Cookie: x") is None


def test_anonymous_is_sent_to_sign_in_with_next(client):
    response = client.get("/account/password")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/account/password"


def test_post_without_csrf_token_is_refused(client, make_user):
    user = make_user("trainee")
    response = client.post(
        "/login", data={"email": user.email, "password": "correct horse battery"}, csrf=False
    )
    assert response.status_code == 400
    db.session.refresh(user)
    assert user.last_login_at is None


def test_logout_needs_post_and_ends_the_session(client, make_user):
    user = make_user("trainee")
    client.login(user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_session_cookie_is_http_only(client, make_user):
    user = make_user("trainee")
    response = client.login(user)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_old_hash_parameters_are_upgraded_on_sign_in(client, make_user):
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    old_hash = weak.hash("correct horse battery")
    user = make_user("trainee", password_hash=old_hash)
    assert client.login(user).status_code == 302
    db.session.refresh(user)
    assert user.password_hash != old_hash
    assert "m=8192" not in user.password_hash
    assert user.password_hash.startswith("$argon2id$")
    assert client.login(user).status_code == 302  # the new hash still verifies


def test_hash_is_argon2id():
    """With the OWASP parameters (lms.auth.passwords)."""
    assert hash_password("a long password").startswith("$argon2id$v=19$m=19456,t=2,p=1$")
