"""Sign-in, lock-out and password changes."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from lms.audit import services as audit
from lms.auth.models import User
from lms.auth.passwords import hash_password, needs_rehash, password_problem, verify_password
from lms.db import utcnow
from lms.extensions import db
from lms.validation import ValidationError


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def authenticate(email: str, password: str, now: datetime | None = None) -> User | None:
    """The active person with these credentials, or None.

    Consecutive failures lock the account for a while; a locked account is refused even with
    the right password, and the caller shows the same message either way, so the sign-in
    form never tells whether an email exists.
    """
    now = now or utcnow()
    user = find_by_email(email)
    if user is None:
        verify_password(None, password)  # same cost as a real check
        return None
    if user.locked_until and user.locked_until > now:
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
            user.failed_logins = 0
            audit.record(None, "user.locked", "user", user.id, reason="repeated sign-in failures")
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def check_new_password(user: User, password: str) -> None:
    problem = password_problem(password, current_app.config["PASSWORD_MIN_LENGTH"], user.email)
    if problem:
        raise ValidationError({"new_password": problem})


def change_password(user: User, current: str, new: str) -> None:
    """The person's own change: needs the current password; signs out other sessions."""
    if not verify_password(user.password_hash, current):
        raise ValidationError({"current_password": _("The current password is not correct.")})
    if current == new:
        raise ValidationError({"new_password": _("Choose a password different from the old one.")})
    check_new_password(user, new)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.session_version += 1
    audit.record(user.id, "user.password_changed", "user", user.id)


def set_password(actor_id: int | None, user: User, password: str, *, must_change: bool) -> None:
    """Set a password for someone (an administrator, or ``lms users set-password``).

    Unlocks the account and signs it out everywhere; with ``must_change`` the person has to
    choose their own password at next sign-in.
    """
    check_new_password(user, password)
    user.password_hash = hash_password(password)
    user.must_change_password = must_change
    user.failed_logins = 0
    user.locked_until = None
    user.session_version += 1
    audit.record(actor_id, "user.password_reset", "user", user.id)


def reset_password(actor: User, user: User, temporary: str) -> None:
    """An administrator sets a temporary password that must be changed at next sign-in."""
    set_password(actor.id, user, temporary, must_change=True)


def set_locale(user: User, locale: str) -> None:
    if locale not in current_app.config["LANGUAGES"]:
        raise ValidationError({"locale": _("Unknown language.")})
    user.locale = locale
