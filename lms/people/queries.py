"""Read-only queries behind the people pages: the directory search and its choices.

Every statement that selects people goes through :func:`lms.auth.policy.visible_users`, so
a scoped HR officer or coordinator never sees another partner's people.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from lms.auth.models import RoleAssignment, User
from lms.auth.passwords import password_problem
from lms.auth.policy import organisation_ids_in_scope, people_scope, visible_users
from lms.auth.roles import Role
from lms.extensions import db
from lms.orgs.models import Organisation

STATUSES = ("active", "inactive", "all")

# No 0/o, 1/l/i: a temporary password is read aloud or copied by hand.
_READABLE = "abcdefghjkmnpqrstuvwxyz23456789"


@dataclass
class PeopleFilter:
    """What the directory is searched by; empty values do not filter."""

    q: str = ""
    role: Role | None = None
    organisation_id: int | None = None
    district_id: int | None = None
    status: str = "active"


def people_query(actor: User, filters: PeopleFilter) -> sa.Select[tuple[User]]:
    """The people ``actor`` may see that match ``filters``, ordered by name then id.

    Employer and district are joined in, roles come with the model's ``selectin`` loading, so
    a page of results costs the same number of queries whatever its length.
    """
    stmt = sa.select(User).options(joinedload(User.employer), joinedload(User.district))
    q = " ".join(filters.q.split())
    if q:
        # autoescape: a "%" or "_" typed by the person matches itself, not any text.
        matches = [
            User.name.icontains(q, autoescape=True),
            User.email.icontains(q, autoescape=True),
            User.phone.icontains(q, autoescape=True),
        ]
        digits = "".join(ch for ch in q if ch not in " -()")
        if digits != q and digits.removeprefix("+").isdigit():
            matches.append(User.phone.contains(digits, autoescape=True))
        stmt = stmt.where(sa.or_(*matches))
    if filters.role is not None:
        stmt = stmt.where(User.role_assignments.any(RoleAssignment.role == filters.role.value))
    if filters.organisation_id is not None:
        stmt = stmt.where(User.employer_id == filters.organisation_id)
    if filters.district_id is not None:
        stmt = stmt.where(User.district_id == filters.district_id)
    if filters.status == "active":
        stmt = stmt.where(User.active.is_(True))
    elif filters.status == "inactive":
        stmt = stmt.where(User.active.is_(False))
    return visible_users(actor, stmt).order_by(User.name, User.id)


def organisations_for(actor: User, include: Iterable[int | None] = ()) -> list[Organisation]:
    """Active organisations ``actor`` looks after (all for city-wide roles), by name.

    ``include`` adds organisations that must stay choosable although inactive, such as the
    current employer of the person being edited.
    """
    extra = {i for i in include if i is not None}
    shown = Organisation.active.is_(True)
    if extra:
        shown = sa.or_(shown, Organisation.id.in_(extra))
    stmt = sa.select(Organisation).where(shown).order_by(Organisation.name, Organisation.id)
    scope = people_scope(actor)
    if scope is False:
        return []
    if scope is not None:
        stmt = stmt.where(Organisation.id.in_(organisation_ids_in_scope(scope)))
    return list(db.session.scalars(stmt))


def temporary_password(email: str | None = None) -> str:
    """A random password that is easy to read out: groups of four like ``k7mq-4xtp-9wha``.

    At least three groups (about 59 bits), more when the minimum length asks for it; drawn
    again in the (very unlikely) case it breaks the password rules.
    """
    count = max(3, -(-(current_app.config["PASSWORD_MIN_LENGTH"] + 1) // 5))
    while True:
        groups = ("".join(secrets.choice(_READABLE) for _ in range(4)) for _ in range(count))
        candidate = "-".join(groups)
        if not password_problem(candidate, current_app.config["PASSWORD_MIN_LENGTH"], email):
            return candidate
