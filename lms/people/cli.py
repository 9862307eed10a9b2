"""``lms users``: create accounts, import rosters and set passwords from the command line.

Passwords are never command-line options (they would end up in the shell history and the
process list): they are asked for, twice, on a terminal, or read as one line from stdin when
it is not one (``echo "$PW" | lms users create ...``). Each command commits once; on bad
input it prints what and where to stderr, exits 1 and saves nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from lms.auth.models import User
from lms.auth.roles import SCOPABLE_ROLES, Role
from lms.auth.services import find_by_email, set_password
from lms.extensions import db
from lms.orgs.services import find_district, find_organisation
from lms.people import roster
from lms.people.services import PersonData, RoleGrant, create_person, validate_person
from lms.validation import ValidationError

users_group = AppGroup("users", help="Create accounts, import rosters, set passwords.")

# validate_person's field names, as the options of `lms users create` call them.
OPTION_NAMES = {"employer_id": "org", "district_id": "district", "roles": "role"}


def fail(errors: dict[str, str] | list[str]) -> NoReturn:
    """Print ``field: message`` lines (or plain lines) to stderr, roll back, exit 1."""
    db.session.rollback()
    lines = errors if isinstance(errors, list) else [f"{k}: {v}" for k, v in errors.items()]
    for line in lines:
        click.echo(line, err=True)
    sys.exit(1)


def read_password(email: str) -> str:
    """Ask twice on a terminal; otherwise read one line from stdin."""
    if sys.stdin.isatty():
        return click.prompt(
            _("Password for %(email)s", email=email), hide_input=True, confirmation_prompt=True
        )
    return sys.stdin.readline().rstrip("\r\n")


@users_group.command("create")
@click.option("--email", required=True, help="Email address (the sign-in name).")
@click.option("--name", required=True, help="Full name.")
@click.option(
    "--role",
    "role_names",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in Role], case_sensitive=False),
    help="A role to hold; repeat for several.",
)
@click.option("--org", help="Employer: organisation code or exact name.")
@click.option("--scope", help="Limit the hr/coordinator roles to this organisation's people.")
@click.option("--phone", help="Phone number.")
@click.option("--district", help="District code or name.")
def create_command(
    email: str,
    name: str,
    role_names: tuple[str, ...],
    org: str | None,
    scope: str | None,
    phone: str | None,
    district: str | None,
) -> None:
    """Create an account; the password is asked for (or read from stdin)."""
    errors: dict[str, str] = {}
    employer_id = _organisation_id(org, "org", errors)
    scope_id = _organisation_id(scope, "scope", errors)
    district_id = None
    if district:
        found = find_district(district)
        if found is None:
            errors["district"] = _("Unknown district.")
        else:
            district_id = found.id
    roles = list(dict.fromkeys(Role(r.lower()) for r in role_names))
    if scope_id is not None and not SCOPABLE_ROLES.intersection(roles):
        errors["scope"] = _("Only HR officers and coordinators can be limited to an organisation.")
    data = PersonData(
        name=name,
        email=email,
        phone=phone,
        employer_id=employer_id,
        district_id=district_id,
        roles=[RoleGrant(r, scope_id if r in SCOPABLE_ROLES else None) for r in roles],
    )
    try:  # everything but the password, before asking for it
        validate_person(data)
    except ValidationError as error:
        errors.update(_by_option(error))
    if errors:
        fail(errors)
    password = read_password(email)
    try:
        user = create_person(None, data, password=password)
    except ValidationError as error:
        fail(_by_option(error))
    db.session.commit()
    click.echo(_describe(user))


def _by_option(error: ValidationError) -> dict[str, str]:
    """The service's messages keyed by the options they are about."""
    return {OPTION_NAMES.get(k, k or "error"): v for k, v in error.errors.items()}


def _organisation_id(ref: str | None, option: str, errors: dict[str, str]) -> int | None:
    if not ref:
        return None
    try:
        org = find_organisation(ref)
    except ValueError as problem:  # namesakes
        errors[option] = str(problem)
        return None
    if org is None:
        errors[option] = _("Unknown organisation.")
        return None
    return org.id


def _describe(user: User) -> str:
    roles = ", ".join(
        f"{a.role}@{a.scope_org.code}" if a.scope_org else a.role for a in user.role_assignments
    )
    employer = f" {user.employer.code}" if user.employer else ""
    return f"{user.id} {user.email} {user.name}{employer} [{roles}]"


@users_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Import a roster CSV: all rows or none, errors as ``row N, column C: message``."""
    if file.stat().st_size > roster.MAX_BYTES:
        fail([str(roster.too_large_error())])
    try:
        result = roster.import_roster(file.read_bytes(), None)
    except roster.RosterInvalid as invalid:
        fail([str(e) for e in invalid.row_errors])
    db.session.commit()
    if result.ignored_columns:
        click.echo(
            _("Columns ignored: %(columns)s", columns=", ".join(result.ignored_columns)),
            err=True,
        )
    click.echo(f"created {result.created}, updated {result.updated}, unchanged {result.unchanged}")


@users_group.command("set-password")
@click.option("--email", required=True, help="The account's email address.")
@click.option("--temporary", is_flag=True, help="Make the person choose a new one at next sign-in.")
def set_password_command(email: str, temporary: bool) -> None:
    """Set an account's password (asked for, or read from stdin); unlocks the account."""
    user = find_by_email(email)
    if user is None:
        fail({"email": _("No account has this email address.")})
    password = read_password(user.email)
    try:
        set_password(None, user, password, must_change=temporary)
    except ValidationError as error:
        fail({"password": " ".join(error.errors.values())})
    db.session.commit()
    click.echo(_("Password set for %(email)s.", email=user.email))
