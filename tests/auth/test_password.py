"""Changing one's password, admin resets and signing out other sessions."""

from __future__ import annotations

from lms.audit.models import AuditEntry
from lms.auth import services
from lms.extensions import db

OLD = "correct horse battery"
NEW = "a new long passphrase 2026"


def change(client, current=OLD, new=NEW, confirm=None):
    return client.post(
        "/account/password",
        data={"current_password": current, "new_password": new, "confirm": confirm or new},
    )


def test_change_password(client, make_user):
    user = make_user("trainee")
    client.login(user)
    assert change(client).status_code == 302
    client.post("/logout")
    assert client.login(user, OLD).status_code == 422
    assert client.login(user, NEW).status_code == 302
    assert db.session.query(AuditEntry).filter_by(action="user.password_changed").count() == 1


def test_wrong_current_password_is_a_field_error(client, make_user):
    user = make_user("trainee")
    client.use_language("en")
    client.login(user)
    response = change(client, current="not my password")
    assert response.status_code == 422
    assert "The current password is not correct." in response.get_data(as_text=True)


def test_short_or_mismatched_password_is_refused(client, make_user):
    user = make_user("trainee")
    client.use_language("en")
    client.login(user)
    assert "Use at least 10 characters." in change(client, new="short").get_data(as_text=True)
    response = change(client, new=NEW, confirm=NEW + "x")
    assert "The passwords differ." in response.get_data(as_text=True)
    db.session.refresh(user)
    assert services.authenticate(user.email, OLD) is not None


def test_password_change_signs_out_other_sessions(app, make_user):
    user = make_user("trainee")
    phone, laptop = app.test_client(), app.test_client()
    phone.login(user)
    laptop.login(user)
    assert change(laptop).status_code == 302
    assert laptop.get("/").status_code == 200  # the session that changed it stays signed in
    assert phone.get("/").status_code == 302  # the other one is signed out


def test_admin_reset_forces_a_change_at_next_sign_in(client, make_user):
    admin = make_user("admin")
    user = make_user("trainee")
    services.reset_password(admin, user, "temporary pass 123")
    db.session.commit()
    assert (
        client.login(user, "temporary pass 123").headers["Location"].endswith("/account/password")
    )
    # Everything else redirects to the change form until the password is changed.
    assert client.get("/").headers["Location"].endswith("/account/password")
    assert change(client, current="temporary pass 123").status_code == 302
    assert client.get("/").status_code == 200
    db.session.refresh(user)
    assert not user.must_change_password
