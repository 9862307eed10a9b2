"""Object-level permission: who may see or change which person.

Views call these on every object they load, after the role check of the view itself. A
refused object answers 404 (``get_visible_user_or_404``) so that ids cannot be probed.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from lms.auth.models import User
from lms.auth.roles import Role
from lms.extensions import db
from lms.orgs.models import Organisation

# Roles that look after other people; admins see everyone.
PEOPLE_ROLES = (Role.ADMIN, Role.HR, Role.COORDINATOR)


def people_scope(actor: User) -> int | None | bool:
    """The organisation whose people ``actor`` sees.

    Returns None for the whole city, an organisation id for a scoped HR officer or
    coordinator, and False for someone who sees no one else.
    """
    if actor.has_role(Role.ADMIN):
        return None
    scopes = [actor.scope_of(r) for r in (Role.HR, Role.COORDINATOR) if actor.has_role(r)]
    if not scopes:
        return False
    if any(s is None for s in scopes):
        return None
    # Two different scoped roles: keep the first (one organisation per person in practice).
    return scopes[0]


def organisation_ids_in_scope(org_id: int) -> sa.Select[tuple[int]]:
    """The organisation and those directly under it, as a subquery of ids."""
    return sa.select(Organisation.id).where(
        sa.or_(Organisation.id == org_id, Organisation.parent_id == org_id)
    )


def visible_users(actor: User, stmt: sa.Select[tuple[User]]) -> sa.Select[tuple[User]]:
    """Limit a ``select(User)`` to the people ``actor`` may see."""
    scope = people_scope(actor)
    if scope is None:
        return stmt
    if scope is False:
        return stmt.where(User.id == actor.id)
    return stmt.where(User.employer_id.in_(organisation_ids_in_scope(scope)))


def can_view_user(actor: User, person: User) -> bool:
    """Whether ``actor`` may see ``person``'s record."""
    if actor.id == person.id:
        return True
    scope = people_scope(actor)
    if scope is None:
        return True
    if scope is False or person.employer_id is None:
        return False
    stmt = sa.select(sa.literal(True)).where(
        sa.literal(person.employer_id).in_(organisation_ids_in_scope(scope))
    )
    return bool(db.session.scalar(stmt))


def can_manage_users(actor: User) -> bool:
    """Only administrators create and edit accounts and roles."""
    return actor.has_role(Role.ADMIN)


def get_visible_user_or_404(actor: User, user_id: int) -> User:
    """Load a person ``actor`` may see, or answer 404 as if they did not exist."""
    person = db.session.get(User, user_id)
    if person is None or not can_view_user(actor, person):
        abort(404)
    return person
