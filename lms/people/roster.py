"""Roster import: a CSV file of people, validated as a whole and imported all or nothing.

The file has a header row naming its columns (English or Chinese headers, any case); rows are
people. Every row is checked before anything is written, and errors name the row and column
as a spreadsheet user sees them (the header is row 1). A row whose email address already has
an account updates that person (name, phone, employer, district; roles are only ever added),
so importing the same file twice changes nothing the second time.

Used by the web upload (through the ``users.import_roster`` job) and by ``lms users import``.
These functions flush; the caller commits, or rolls back on :class:`RosterInvalid`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from lms.auth.models import RoleAssignment, User
from lms.auth.policy import organisation_ids_in_scope
from lms.auth.roles import Role
from lms.extensions import db
from lms.orgs.models import Organisation
from lms.orgs.services import find_district, find_organisation
from lms.people.services import (
    PersonData,
    RoleGrant,
    check_email,
    check_name,
    check_phone,
    create_person,
    update_person,
)
from lms.validation import ValidationError

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
# Rows fetched per query when looking up existing accounts (keeps IN lists short).
CHUNK = 500

COLUMNS = ("name", "email", "phone", "employer", "district", "roles")
REQUIRED_COLUMNS = ("name", "email")

# Accepted headers (compared after lower-casing and removing spaces and "*"), by column.
HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("name", "姓名"),
    "email": ("email", "e-mail", "邮箱", "电子邮箱", "邮箱地址"),
    "phone": ("phone", "mobile", "手机", "电话", "手机号", "手机号码", "联系电话"),
    "employer": ("employer", "organisation", "organization", "单位", "工作单位"),
    "district": ("district", "区", "所在区"),
    "roles": ("roles", "role", "角色"),
}
_HEADER_TO_COLUMN = {alias: column for column, aliases in HEADERS.items() for alias in aliases}

# What the roles cell may say, in either language.
ROLE_NAMES: dict[str, Role] = {
    **{role.value: role for role in Role},
    "hr officer": Role.HR,
    "administrator": Role.ADMIN,
    "学员": Role.TRAINEE,
    "讲师": Role.INSTRUCTOR,
    "人事专员": Role.HR,
    "项目协调员": Role.COORDINATOR,
    "管理员": Role.ADMIN,
}
ROLE_SEPARATORS = re.compile(r"[;,，；、]")

# Which file column a field of lms.people.services.validate_person comes from.
_FIELD_COLUMNS = {
    "name": "name",
    "email": "email",
    "phone": "phone",
    "employer_id": "employer",
    "district_id": "district",
    "roles": "roles",
}

# Shown on the upload page; (column, required, what it holds).
COLUMN_HELP = (
    ("name", True, _l("The person's full name.")),
    ("email", True, _l("Their email address; it identifies the person.")),
    ("phone", False, _l("A mobile or landline number.")),
    ("employer", False, _l("The organisation's code or exact name.")),
    ("district", False, _l("The district's code, Chinese or English name.")),
    (
        "roles",
        False,
        _l(
            "trainee (the default), instructor, hr, coordinator or admin, or their Chinese "
            "names; separate several with semicolons."
        ),
    ),
)


@dataclass(frozen=True)
class RowError:
    """One problem, placed where a spreadsheet user finds it (row None: the whole file)."""

    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        # A fixed, parseable format (like ``file:line: message``); the message is translated.
        if self.row is None:
            return self.message
        if self.column is None:
            return f"row {self.row}: {self.message}"
        return f"row {self.row}, column {self.column}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message, "text": str(self)}


class RosterInvalid(ValidationError):
    """The roster cannot be imported; ``row_errors`` says why, row by row."""

    def __init__(self, row_errors: list[RowError]) -> None:
        self.row_errors = row_errors
        super().__init__("\n".join(str(e) for e in row_errors))


@dataclass
class RosterRow:
    """One valid row, ready to be written."""

    row: int
    name: str
    email: str
    phone: str | None
    employer_id: int | None
    district_id: int | None
    roles: list[Role]
    existing_id: int | None = None


@dataclass
class ParsedRoster:
    """A validated roster: its rows and where its columns are."""

    rows: list[RosterRow]
    headers: dict[str, str]  # column -> header as written in the file
    ignored_columns: list[str] = field(default_factory=list)

    def header(self, column: str) -> str:
        return self.headers.get(column, column)


@dataclass
class RosterResult:
    """What an import did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored_columns: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "ignored_columns": self.ignored_columns,
            "errors": [],
        }


@dataclass(frozen=True)
class Rights:
    """What the person importing may do: any role, and employers (None: any)."""

    any_role: bool
    employer_ids: frozenset[int] | None
    admin: bool


Progress = Callable[[int, int], None]


# Reading the file -------------------------------------------------------------------------------


def decode(data: bytes | str) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK."""
    if isinstance(data, str):
        if len(data.encode("utf-8", "replace")) > MAX_BYTES:
            raise RosterInvalid([too_large_error()])
        return data.removeprefix("\ufeff")
    if len(data) > MAX_BYTES:
        raise RosterInvalid([too_large_error()])
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise RosterInvalid(
            [RowError(None, None, _("This is an Excel workbook; save it as CSV (UTF-8) first."))]
        )
    encodings = ["utf-16"] if data.startswith((b"\xff\xfe", b"\xfe\xff")) else []
    for encoding in [*encodings, "utf-8-sig", "gb18030"]:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text.removeprefix("\ufeff")
    raise RosterInvalid(
        [
            RowError(
                None,
                None,
                _(
                    "The file is not text in a known encoding; save it as CSV (UTF-8) "
                    "from your spreadsheet program."
                ),
            )
        ]
    )


def too_large_error() -> RowError:
    return RowError(
        None, None, _("The file is larger than %(n)d MB; split it.", n=MAX_BYTES // 2**20)
    )


def _delimiter(text: str) -> str:
    """Comma, unless the header line is clearly separated by tabs or semicolons."""
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in ",\t;"}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def csv_records(text: str) -> list[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) for every record, blank ones included."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    records: list[tuple[int, list[str]]] = []
    filled = 0
    number = 0
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return records
        except csv.Error as error:
            raise RosterInvalid(
                [RowError(number, None, _("Cannot read this row (%(error)s).", error=str(error)))]
            ) from error
        if not any(c.strip() for c in cells):
            cells = []
        records.append((number, cells))
        filled += bool(cells)
        if filled > MAX_ROWS + 1:  # the header and MAX_ROWS people
            raise RosterInvalid(
                [
                    RowError(
                        None,
                        None,
                        _("The file has more than %(n)d rows; split it.", n=MAX_ROWS),
                    )
                ]
            )


def header_key(text: str) -> str:
    return re.sub(r"[\s*＊]", "", text).lower()


def _read_header(number: int, cells: list[str]) -> tuple[dict[str, int], dict[str, str], list[str]]:
    """Column positions and headers as written; raises on a missing or repeated column."""
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    ignored: list[str] = []
    errors: list[RowError] = []
    for index, raw in enumerate(cells):
        text = raw.strip()
        column = _HEADER_TO_COLUMN.get(header_key(text))
        if column is None:
            if text:
                ignored.append(text)
        elif column in positions:
            errors.append(RowError(number, text, _("This column appears twice.")))
        else:
            positions[column] = index
            headers[column] = text
    for column in REQUIRED_COLUMNS:
        if column not in positions:
            errors.append(
                RowError(
                    number,
                    column,
                    _(
                        "This required column is missing (accepted headers: %(headers)s).",
                        headers=", ".join(HEADERS[column]),
                    ),
                )
            )
    if errors:
        raise RosterInvalid(errors)
    return positions, headers, ignored


# Validating --------------------------------------------------------------------------------------


def rights_of(actor_id: int | None) -> Rights:
    """What ``actor_id`` may import (None: the system, e.g. the CLI, may do anything).

    Administrators import anyone with any role. HR officers import trainees only, and an HR
    officer limited to an organisation only people employed there (or directly under it, as
    :mod:`lms.auth.policy` scopes people).
    """
    if actor_id is None:
        return Rights(any_role=True, employer_ids=None, admin=True)
    actor = db.session.get(User, actor_id)
    if actor is None or not actor.active:
        raise RosterInvalid([RowError(None, None, _("You may not import rosters."))])
    if actor.has_role(Role.ADMIN):
        return Rights(any_role=True, employer_ids=None, admin=True)
    if not actor.has_role(Role.HR):
        raise RosterInvalid([RowError(None, None, _("You may not import rosters."))])
    scope = actor.scope_of(Role.HR)
    if scope is None:
        return Rights(any_role=False, employer_ids=None, admin=False)
    ids = frozenset(db.session.scalars(organisation_ids_in_scope(scope)))
    return Rights(any_role=False, employer_ids=ids, admin=False)


class _Lookups:
    """Organisation and district references, resolved once per distinct value."""

    def __init__(self) -> None:
        self.orgs: dict[str, tuple[int | None, str | None]] = {}
        self.districts: dict[str, tuple[int | None, str | None]] = {}

    def organisation(self, ref: str) -> tuple[int | None, str | None]:
        if ref not in self.orgs:
            self.orgs[ref] = self._organisation(ref)
        return self.orgs[ref]

    @staticmethod
    def _organisation(ref: str) -> tuple[int | None, str | None]:
        try:
            org = find_organisation(ref)
        except ValueError as problem:  # namesakes
            return None, str(problem)
        if org is None:
            return None, _("Unknown organisation: use its code or exact name.")
        if not org.active:
            return None, _("This organisation is inactive.")
        return org.id, None

    def district(self, ref: str) -> tuple[int | None, str | None]:
        if ref not in self.districts:
            district = find_district(ref)
            self.districts[ref] = (
                (district.id, None)
                if district is not None
                else (None, _("Unknown district: use its code, Chinese or English name."))
            )
        return self.districts[ref]


def parse_roles(cell: str) -> tuple[list[Role], list[str]]:
    """The roles named in a cell (in order, once each) and the names not understood."""
    roles: list[Role] = []
    unknown: list[str] = []
    for token in ROLE_SEPARATORS.split(cell):
        token = " ".join(token.split())
        if not token:
            continue
        role = ROLE_NAMES.get(token.lower())
        if role is None:
            unknown.append(token)
        elif role not in roles:
            roles.append(role)
    return roles, unknown


@dataclass
class _Existing:
    id: int
    employer_id: int | None
    roles: set[str]


def _existing_accounts(emails: Iterable[str]) -> dict[str, _Existing]:
    """Accounts already using these email addresses, fetched in chunks."""
    emails = sorted(set(emails))
    found: dict[str, _Existing] = {}
    for start in range(0, len(emails), CHUNK):
        chunk = emails[start : start + CHUNK]
        rows = db.session.execute(
            sa.select(User.id, User.email, User.employer_id).where(User.email.in_(chunk))
        ).all()
        for user_id, email, employer_id in rows:
            found[email] = _Existing(user_id, employer_id, set())
    by_id = {e.id: e for e in found.values()}
    ids = sorted(by_id)
    for start in range(0, len(ids), CHUNK):
        chunk_ids = ids[start : start + CHUNK]
        for user_id, role in db.session.execute(
            sa.select(RoleAssignment.user_id, RoleAssignment.role).where(
                RoleAssignment.user_id.in_(chunk_ids)
            )
        ):
            by_id[user_id].roles.add(role)
    return found


class _RowChecker:
    """Checks rows one by one, remembering emails seen and references resolved."""

    def __init__(self, positions: dict[str, int], headers: dict[str, str], rights: Rights):
        self.positions = positions
        self.headers = headers
        self.rights = rights
        self.lookups = _Lookups()
        self.first_row_of: dict[str, int] = {}

    def column(self, name: str) -> str:
        """The column's header as written in the file (its English name when absent)."""
        return self.headers.get(name, name)

    def check(self, number: int, cells: list[str]) -> tuple[RosterRow | None, list[RowError]]:
        """The row, ready to write, or None and what is wrong with it."""
        errors: list[RowError] = []

        def cell(name: str) -> str:
            index = self.positions.get(name)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        def error(name: str, message: str) -> None:
            errors.append(RowError(number, self.column(name), message))

        name = ""
        try:
            name = check_name(cell("name"))
        except ValueError as problem:
            error("name", str(problem))

        email = ""
        try:
            email = check_email(cell("email")) if cell("email") else ""
        except ValueError as problem:
            error("email", str(problem))
        else:
            if not email:
                error("email", _("An email address is required."))
            elif email in self.first_row_of:
                first = self.first_row_of[email]
                error("email", _("The same email address is already on row %(row)d.", row=first))
            else:
                self.first_row_of[email] = number

        phone = None
        try:
            phone = check_phone(cell("phone"))
        except ValueError as problem:
            error("phone", str(problem))

        employer_id, problem = None, None
        if cell("employer"):
            employer_id, problem = self.lookups.organisation(cell("employer"))
        if problem:
            error("employer", problem)
        elif self.rights.employer_ids is not None and employer_id not in self.rights.employer_ids:
            error("employer", _("You may only import people employed by your organisation."))

        district_id = None
        if cell("district"):
            district_id, problem = self.lookups.district(cell("district"))
            if problem:
                error("district", problem)

        roles, unknown = parse_roles(cell("roles"))
        if unknown:
            message = _(
                "Unknown role “%(role)s”: use trainee, instructor, hr, coordinator or admin.",
                role=unknown[0],
            )
            error("roles", message)
        elif not self.rights.any_role and any(r != Role.TRAINEE for r in roles):
            error("roles", _("You may only import trainees."))

        if errors:
            return None, errors
        return RosterRow(number, name, email, phone, employer_id, district_id, roles), []

    def check_existing(self, rows: list[RosterRow]) -> list[RowError]:
        """Mark rows whose person has an account; refuse those the importer may not change."""
        errors: list[RowError] = []
        existing = _existing_accounts(r.email for r in rows)
        for row in rows:
            account = existing.get(row.email)
            if account is None:
                continue
            row.existing_id = account.id
            if self.rights.admin:
                continue
            if account.roles - {Role.TRAINEE.value}:
                message = _("Only an administrator can change this person's account.")
            elif (
                self.rights.employer_ids is not None
                and account.employer_id not in self.rights.employer_ids
            ):
                message = _("This person has an account with another organisation.")
            else:
                continue
            errors.append(RowError(row.row, self.column("email"), message))
        return errors


def read_roster(
    data: bytes | str, actor_id: int | None, progress: Progress | None = None
) -> ParsedRoster:
    """Check a whole roster without changing anything; raise :class:`RosterInvalid`.

    ``progress(done, total)`` is called now and then while rows are checked.
    """
    rights = rights_of(actor_id)
    records = csv_records(decode(data))
    while records and not records[0][1]:
        records.pop(0)  # blank lines above the header
    if not records:
        raise RosterInvalid([RowError(None, None, _("The file is empty."))])
    header_number, header_cells = records.pop(0)
    positions, headers, ignored = _read_header(header_number, header_cells)
    records = [(n, cells) for n, cells in records if cells]
    if not records:
        raise RosterInvalid([RowError(None, None, _("The file has no rows below its header."))])

    checker = _RowChecker(positions, headers, rights)
    errors: list[RowError] = []
    rows: list[RosterRow] = []
    for done, (number, cells) in enumerate(records):
        if progress is not None and done % 200 == 0:
            progress(done, len(records))
        row, row_errors = checker.check(number, cells)
        errors.extend(row_errors)
        if row is not None:
            rows.append(row)
    errors.extend(checker.check_existing(rows))
    if progress is not None:
        progress(len(records), len(records))
    if errors:
        errors.sort(key=lambda e: e.row or 0)  # stable: columns stay in file order per row
        raise RosterInvalid(errors)
    return ParsedRoster(rows=rows, headers=headers, ignored_columns=ignored)


# Writing -----------------------------------------------------------------------------------------


def apply_roster(parsed: ParsedRoster, actor_id: int | None) -> RosterResult:
    """Create or update the people of a checked roster; flushes, the caller commits.

    Raises :class:`RosterInvalid` if a row is refused after all (say, an account created
    with the same email since the check): the caller must then roll back.
    """
    result = RosterResult(ignored_columns=list(parsed.ignored_columns))
    ids = sorted(r.existing_id for r in parsed.rows if r.existing_id is not None)
    accounts: dict[int, User] = {}
    for start in range(0, len(ids), CHUNK):
        for user in db.session.scalars(
            sa.select(User).where(User.id.in_(ids[start : start + CHUNK]))
        ):
            accounts[user.id] = user
    errors: list[RowError] = []
    for row in parsed.rows:
        try:
            if row.existing_id is None:
                create_person(
                    actor_id,
                    PersonData(
                        name=row.name,
                        email=row.email,
                        phone=row.phone,
                        employer_id=row.employer_id,
                        district_id=row.district_id,
                        roles=[RoleGrant(r) for r in row.roles or [Role.TRAINEE]],
                    ),
                )
                result.created += 1
                continue
            user = accounts[row.existing_id]
            data = _merged(user, row)
            if _unchanged(user, data):
                result.unchanged += 1
            else:
                update_person(actor_id, user, data)
                result.updated += 1
        except ValidationError as refused:
            for key, message in refused.errors.items():
                column = _FIELD_COLUMNS.get(key)
                errors.append(RowError(row.row, parsed.header(column) if column else None, message))
    if errors:
        raise RosterInvalid(errors)
    return result


def _merged(user: User, row: RosterRow) -> PersonData:
    """The person's facts after this row: blank cells keep what is there, roles are added."""
    held = [RoleGrant(Role(a.role), a.scope_org_id) for a in user.role_assignments]
    held_roles = {g.role for g in held}
    return PersonData(
        name=row.name,
        email=user.email,
        phone=row.phone if row.phone is not None else user.phone,
        employer_id=row.employer_id if row.employer_id is not None else user.employer_id,
        district_id=row.district_id if row.district_id is not None else user.district_id,
        roles=held + [RoleGrant(r) for r in row.roles if r not in held_roles],
    )


def _unchanged(user: User, data: PersonData) -> bool:
    return (
        user.name == data.name
        and user.phone == data.phone
        and user.employer_id == data.employer_id
        and user.district_id == data.district_id
        and len(data.roles) == len(user.role_assignments)
    )


def import_roster(
    data: bytes | str, actor_id: int | None, progress: Progress | None = None
) -> RosterResult:
    """Check then import a roster, all rows or none; flushes, the caller commits.

    Raises :class:`RosterInvalid` with every problem found; the caller then rolls back.
    """
    return apply_roster(read_roster(data, actor_id, progress), actor_id)


# The example file -------------------------------------------------------------------------------


def example_csv(actor_id: int | None) -> str:
    """A small roster to start from, naming an organisation the person may import into."""
    rights = rights_of(actor_id)
    stmt = sa.select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.code)
    if rights.employer_ids is not None:
        stmt = stmt.where(Organisation.id.in_(rights.employer_ids))
    else:
        stmt = stmt.where(
            Organisation.kind.in_(("nursery", "parent_child_centre", "care_point", "centre"))
        )
    org = db.session.scalars(stmt.limit(1)).first()
    employer = org.code if org else ""
    district = org.district.code if org and org.district else ""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerow(
        ["张晓燕", "zhang.xiaoyan@example.org", "13912345678", employer, district, "trainee"]
    )
    writer.writerow(["李静", "li.jing@example.org", "13812345678", employer, district, "学员"])
    return out.getvalue()
