"""Loading the signed-in person for Flask-Login."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from lms.auth.models import User
from lms.extensions import db

# Built once: every request runs it, and a built statement keeps its compiled form's cache
# key, so a request pays only for the round trip and the rows. One query, with the roles,
# which every page checks.
_PERSON = (
    sa.select(User)
    .options(joinedload(User.role_assignments))
    .where(User.id == sa.bindparam("user_id"))
)


def load_user(session_id: str) -> User | None:
    """The person behind a session id ``"<user id>.<session version>"``.

    A session made before the person's password changed (an older version) or of a
    deactivated account loads no one, which signs that browser out.
    """
    user_id, _, version = session_id.partition(".")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.execute(_PERSON, {"user_id": int(user_id)}).unique().scalar_one_or_none()
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user
