"""Creating, changing and deactivating people and their roles.

Used alike by the admin pages, the roster import, ``lms users`` and ``lms demo``. Every
function validates everything before changing anything, records the change in the audit log
and flushes; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _

from lms.audit import services as audit
from lms.auth.models import RoleAssignment, User
from lms.auth.passwords import hash_password, password_problem
from lms.auth.roles import SCOPABLE_ROLES, Role
from lms.auth.services import normalise_email
from lms.extensions import db
from lms.orgs.models import District, Organisation
from lms.validation import ValidationError

NAME_MAX = 100  # the column's length


@dataclass
class RoleGrant:
    """A role to hold, with the organisation it is limited to (HR and coordinator only)."""

    role: Role
    scope_org_id: int | None = None


@dataclass
class PersonData:
    """The editable facts about a person."""

    name: str
    email: str
    phone: str | None = None
    employer_id: int | None = None
    district_id: int | None = None
    roles: list[RoleGrant] = field(default_factory=list)


def check_name(name: str) -> str:
    """A name with its spaces tidied, or ValueError with a message for people."""
    name = " ".join(name.split())
    if not name:
        raise ValueError(_("A name is required."))
    if len(name) > NAME_MAX:
        raise ValueError(_("At most %(n)d characters.", n=NAME_MAX))
    return name


def check_email(email: str) -> str:
    """A normalised email address, or ValueError with a message for people."""
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(_("Not a valid email address.")) from error
    return normalise_email(result.normalized)


def check_phone(phone: str | None) -> str | None:
    """Digits with an optional leading +, spaces and dashes removed; None when empty."""
    if not phone or not phone.strip():
        return None
    cleaned = "".join(ch for ch in phone.strip() if ch not in " -()")
    digits = cleaned.removeprefix("+")
    if not digits.isascii() or not digits.isdigit() or not 5 <= len(digits) <= 20:
        raise ValueError(_("Not a valid phone number."))
    return cleaned


def validate_person(data: PersonData, existing: User | None = None) -> dict[str, Any]:
    """Check ``data``; return the cleaned column values or raise ``ValidationError``."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    try:
        values["name"] = check_name(data.name)
    except ValueError as error:
        errors["name"] = str(error)
    try:
        values["email"] = check_email(data.email)
    except ValueError as error:
        errors["email"] = str(error)
    else:
        clash = db.session.scalar(sa.select(User.id).where(User.email == values["email"]))
        if clash is not None and (existing is None or clash != existing.id):
            errors["email"] = _("Another account already uses this email address.")
    try:
        values["phone"] = check_phone(data.phone)
    except ValueError as error:
        errors["phone"] = str(error)
    if data.employer_id is not None and db.session.get(Organisation, data.employer_id) is None:
        errors["employer_id"] = _("Unknown organisation.")
    values["employer_id"] = data.employer_id
    if data.district_id is not None and db.session.get(District, data.district_id) is None:
        errors["district_id"] = _("Unknown district.")
    values["district_id"] = data.district_id
    role_problem = check_roles(data.roles)
    if role_problem:
        errors["roles"] = role_problem
    if errors:
        raise ValidationError(errors)
    return values


def check_roles(grants: Iterable[RoleGrant]) -> str | None:
    """Why this set of roles cannot be held, or None."""
    seen: set[Role] = set()
    for grant in grants:
        if grant.role in seen:
            return _("A role is given twice.")
        seen.add(grant.role)
        if grant.scope_org_id is not None:
            if grant.role not in SCOPABLE_ROLES:
                return _("Only HR officers and coordinators can be limited to an organisation.")
            if db.session.get(Organisation, grant.scope_org_id) is None:
                return _("Unknown organisation.")
    if not seen:
        return _("Choose at least one role.")
    return None


def _check_password(password: str, email: str, errors: dict[str, str]) -> None:
    problem = password_problem(password, current_app.config["PASSWORD_MIN_LENGTH"], email)
    if problem:
        errors["password"] = problem


def _is_last_admin(user: User) -> bool:
    """Whether ``user`` is the only active administrator left."""
    if not user.active or not user.has_role(Role.ADMIN):
        return False
    others = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(RoleAssignment)
        .join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.role == Role.ADMIN.value, User.active, User.id != user.id)
    )
    return others == 0


def snapshot(user: User) -> dict[str, Any]:
    """The audited facts of a person, as plain JSON values."""
    return {
        "name": user.name,
        "email": user.email,
        "phone": user.phone,
        "employer_id": user.employer_id,
        "district_id": user.district_id,
        "active": user.active,
        "roles": sorted(
            f"{a.role}@{a.scope_org_id}" if a.scope_org_id else a.role
            for a in user.role_assignments
        ),
    }


def _apply_roles(user: User, grants: list[RoleGrant]) -> None:
    wanted = {g.role.value: g.scope_org_id for g in grants}
    for assignment in list(user.role_assignments):
        if assignment.role not in wanted:
            user.role_assignments.remove(assignment)
        else:
            assignment.scope_org_id = wanted.pop(assignment.role)
    for role, scope in sorted(wanted.items()):
        user.role_assignments.append(RoleAssignment(role=role, scope_org_id=scope))


def create_person(
    actor_id: int | None,
    data: PersonData,
    password: str | None = None,
    *,
    temporary: bool = False,
) -> User:
    """Create an account; without a password the person cannot sign in until one is set.

    A ``temporary`` password (one an administrator chose) must be changed at first sign-in.
    """
    try:
        values = validate_person(data)
    except ValidationError as error:
        if password:
            _check_password(password, data.email, error.errors)
        raise
    if password:
        errors: dict[str, str] = {}
        _check_password(password, data.email, errors)
        if errors:
            raise ValidationError(errors)
    user = User(
        **values,
        password_hash=hash_password(password) if password else None,
        must_change_password=bool(password) and temporary,
    )
    _apply_roles(user, data.roles)
    db.session.add(user)
    db.session.flush()
    audit.record(actor_id, "user.created", "user", user.id, after=snapshot(user))
    return user


def update_person(actor_id: int | None, user: User, data: PersonData) -> User:
    """Change a person's facts and roles."""
    keeps_admin = Role.ADMIN in {g.role for g in data.roles}
    if actor_id == user.id and user.has_role(Role.ADMIN) and not keeps_admin:
        raise ValidationError({"roles": _("You cannot remove your own administrator role.")})
    values = validate_person(data, existing=user)
    if not keeps_admin and _is_last_admin(user):
        raise ValidationError({"roles": _("The last active administrator must stay one.")})
    before = snapshot(user)
    for key, value in values.items():
        setattr(user, key, value)
    _apply_roles(user, data.roles)
    db.session.flush()
    audit.record(actor_id, "user.updated", "user", user.id, before=before, after=snapshot(user))
    return user


def set_active(actor_id: int | None, user: User, active: bool) -> None:
    """Deactivate (sign out everywhere, keep all records) or reactivate an account."""
    if actor_id == user.id and not active:
        raise ValidationError(_("You cannot deactivate your own account."))
    if user.active == active:
        return
    if not active and _is_last_admin(user):
        raise ValidationError(_("The last active administrator cannot be deactivated."))
    before = snapshot(user)
    user.active = active
    if not active:
        user.session_version += 1
    db.session.flush()
    action = "user.reactivated" if active else "user.deactivated"
    audit.record(actor_id, action, "user", user.id, before=before, after=snapshot(user))
