"""Enrolment by file: a CSV listing the people to enrol in a cohort, all of them or none.

The file has a header row and one column that identifies each person: their email address
or their mobile number (headers in English or Chinese, e.g. ``email``/``邮箱`` or
``phone``/``手机``; other columns are ignored, so a roster export works as it is). Encodings
and headers are read as the roster import reads them (:mod:`lms.people.roster`). Every row is
checked before anything is written, with the rules of :mod:`lms.learning.enrolment`, and
errors name the row and column as a spreadsheet user sees them (the header is row 1).

Used by the ``cohorts.enrol_csv`` job. These functions flush; the caller commits, or rolls
back on :class:`lms.people.roster.RosterInvalid`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.auth.models import User
from lms.extensions import db
from lms.learning.cohorts import active_count
from lms.learning.enrolment import (
    EnrolmentRefused,
    cohort_problem,
    enrol_people,
    person_problem,
    visible_ids,
)
from lms.learning.models import Cohort, Enrolment, EnrolmentSource
from lms.learning.policy import can_manage_enrolments, can_view_cohort
from lms.people import roster
from lms.people.roster import RosterInvalid, RowError
from lms.people.services import check_email, check_phone

COLUMNS = ("email", "phone")
# Accepted headers, by column: the roster's own.
HEADERS: dict[str, tuple[str, ...]] = {column: roster.HEADERS[column] for column in COLUMNS}
_HEADER_TO_COLUMN = {alias: column for column, aliases in HEADERS.items() for alias in aliases}
CHUNK = roster.CHUNK

Progress = Callable[[int, int], None]


@dataclass
class EnrolmentRow:
    """One valid row: the person it names."""

    row: int
    user_id: int


@dataclass
class EnrolmentResult:
    """What an enrolment file did."""

    enrolled: int = 0
    reenrolled: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"enrolled": self.enrolled, "reenrolled": self.reenrolled, "errors": []}


def _file_error(message: str) -> RosterInvalid:
    return RosterInvalid([RowError(None, None, message)])


def _checked_cohort(actor_id: int, cohort_id: int) -> tuple[User, Cohort]:
    """The actor and the cohort, if the actor may enrol people in it now."""
    actor = db.session.get(User, actor_id)
    cohort = db.session.get(Cohort, cohort_id)
    if (
        actor is None
        or not actor.active
        or cohort is None
        or not can_manage_enrolments(actor)
        or not can_view_cohort(actor, cohort)
    ):
        raise _file_error(_("You may not enrol people in this cohort."))
    problem = cohort_problem(cohort, self_service=False)
    if problem:
        raise _file_error(problem)
    return actor, cohort


def _read_header(number: int, cells: list[str]) -> tuple[dict[str, int], dict[str, str]]:
    """Where the email and phone columns are, and their headers as written."""
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    errors: list[RowError] = []
    for index, raw in enumerate(cells):
        text = raw.strip()
        column = _HEADER_TO_COLUMN.get(roster.header_key(text))
        if column is None:
            continue
        if column in positions:
            errors.append(RowError(number, text, _("This column appears twice.")))
        else:
            positions[column] = index
            headers[column] = text
    if not positions and not errors:
        accepted = ", ".join(alias for column in COLUMNS for alias in HEADERS[column])
        errors.append(
            RowError(
                number,
                None,
                _(
                    "Name a column of email addresses or of mobile numbers in the first row "
                    "(accepted headers: %(headers)s).",
                    headers=accepted,
                ),
            )
        )
    if errors:
        raise RosterInvalid(errors)
    return positions, headers


@dataclass
class _Key:
    """What a row identifies its person by."""

    row: int
    column: str  # "email" or "phone"
    value: str


def _lookup(column: str, values: Iterable[str]) -> dict[str, list[int]]:
    """Ids of the people with these email addresses or phone numbers, fetched in chunks."""
    found: dict[str, list[int]] = {}
    wanted = sorted(set(values))
    attribute = User.email if column == "email" else User.phone
    for start in range(0, len(wanted), CHUNK):
        stmt = sa.select(attribute, User.id).where(attribute.in_(wanted[start : start + CHUNK]))
        for value, user_id in db.session.execute(stmt):
            found.setdefault(value, []).append(user_id)
    return found


def _load(model: Any, column: Any, ids: list[int], *where: Any) -> list[Any]:
    rows: list[Any] = []
    for start in range(0, len(ids), CHUNK):
        stmt = sa.select(model).where(column.in_(ids[start : start + CHUNK]), *where)
        rows.extend(db.session.scalars(stmt))
    return rows


def _identify(cell: str, column: str) -> str:
    """The normalised email address or phone number; ValueError with a message if invalid."""
    value = check_email(cell) if column == "email" else check_phone(cell)
    if not value:
        raise ValueError(_("An email address or a mobile number is required."))
    return value


def _read_keys(
    records: list[tuple[int, list[str]]],
    positions: dict[str, int],
    headers: dict[str, str],
    progress: Progress | None,
) -> tuple[list[_Key], list[RowError]]:
    """What each row identifies its person by (the email cell, else the phone cell)."""
    errors: list[RowError] = []
    keys: list[_Key] = []
    first_row_of: dict[tuple[str, str], int] = {}
    for done, (number, cells) in enumerate(records):
        if progress is not None and done % 200 == 0:
            progress(done, len(records))
        filled = {
            column: cells[index].strip()
            for column, index in positions.items()
            if index < len(cells) and cells[index].strip()
        }
        column = "email" if "email" in filled else "phone" if "phone" in filled else None
        if column is None:
            first_column = "email" if "email" in positions else "phone"
            errors.append(
                RowError(
                    number,
                    headers[first_column],
                    _("An email address or a mobile number is required."),
                )
            )
            continue
        try:
            value = _identify(filled[column], column)
        except ValueError as problem:
            errors.append(RowError(number, headers[column], str(problem)))
            continue
        first = first_row_of.setdefault((column, value), number)
        if first != number:
            message = _("The same person is already on row %(row)d.", row=first)
            errors.append(RowError(number, headers[column], message))
        else:
            keys.append(_Key(number, column, value))
    return keys, errors


def _resolve(
    keys: list[_Key], headers: dict[str, str]
) -> tuple[list[EnrolmentRow], list[RowError]]:
    """The person each row names: known, not ambiguous, once in the file."""
    found = {
        column: _lookup(column, (k.value for k in keys if k.column == column)) for column in COLUMNS
    }
    rows: list[EnrolmentRow] = []
    errors: list[RowError] = []
    row_of_user: dict[int, int] = {}
    for key in keys:
        ids = found[key.column].get(key.value, [])
        message = None
        if not ids:
            message = (
                _("No one has this email address.")
                if key.column == "email"
                else _("No one has this mobile number.")
            )
        elif len(ids) > 1:
            message = _("Several people have this mobile number: use their email address.")
        elif ids[0] in row_of_user:
            message = _("The same person is already on row %(row)d.", row=row_of_user[ids[0]])
        if message:
            errors.append(RowError(key.row, headers[key.column], message))
        else:
            row_of_user[ids[0]] = key.row
            rows.append(EnrolmentRow(key.row, ids[0]))
    return rows, errors


def _check_people(
    actor: User, cohort: Cohort, rows: list[EnrolmentRow], column_of: dict[int, str]
) -> list[RowError]:
    """The enrolment rules (:func:`lms.learning.enrolment.person_problem`) for each row, then
    the places left for the rows that pass them."""
    user_ids = [r.user_id for r in rows]
    people = {u.id: u for u in _load(User, User.id, user_ids)}
    existing = {
        e.user_id: e
        for e in _load(Enrolment, Enrolment.user_id, user_ids, Enrolment.cohort_id == cohort.id)
    }
    seen: set[int] = set()
    for start in range(0, len(user_ids), CHUNK):
        seen |= visible_ids(actor, user_ids[start : start + CHUNK])
    errors: list[RowError] = []
    valid: list[EnrolmentRow] = []
    for row in rows:
        problem = person_problem(
            people[row.user_id],
            cohort,
            existing.get(row.user_id),
            visible=row.user_id in seen,
            self_service=False,
        )
        if problem:
            errors.append(RowError(row.row, column_of[row.row], problem))
        else:
            valid.append(row)
    if cohort.capacity is not None:
        left = max(cohort.capacity - active_count(cohort.id), 0)
        message = _(
            "The cohort has %(left)d places left (capacity %(capacity)d): this row is one "
            "too many.",
            left=left,
            capacity=cohort.capacity,
        )
        errors.extend(RowError(row.row, column_of[row.row], message) for row in valid[left:])
    return errors


def read_enrolment_file(
    data: bytes | str, actor_id: int, cohort_id: int, progress: Progress | None = None
) -> list[EnrolmentRow]:
    """Check a whole file without changing anything; raise
    :class:`lms.people.roster.RosterInvalid` with every problem, by row and column.

    ``progress(done, total)`` is called now and then while rows are checked.
    """
    actor, cohort = _checked_cohort(actor_id, cohort_id)
    records = roster.csv_records(roster.decode(data))
    while records and not records[0][1]:
        records.pop(0)  # blank lines above the header
    if not records:
        raise _file_error(_("The file is empty."))
    header_number, header_cells = records.pop(0)
    positions, headers = _read_header(header_number, header_cells)
    records = [(n, cells) for n, cells in records if cells]
    if not records:
        raise _file_error(_("The file has no rows below its header."))

    keys, errors = _read_keys(records, positions, headers, progress)
    rows, unresolved = _resolve(keys, headers)
    errors.extend(unresolved)
    errors.extend(_check_people(actor, cohort, rows, {k.row: headers[k.column] for k in keys}))
    if progress is not None:
        progress(len(records), len(records))
    if errors:
        errors.sort(key=lambda e: e.row or 0)
        raise RosterInvalid(errors)
    return rows


def apply_enrolment_file(
    rows: list[EnrolmentRow], actor_id: int, cohort_id: int
) -> EnrolmentResult:
    """Enrol the people of a checked file (through :func:`lms.learning.enrolment.enrol_people`,
    which checks again with the cohort locked). Flushes; the caller commits.

    Raises :class:`RosterInvalid` when refused after all (say, the cohort filled up since the
    check); the caller must then roll back.
    """
    try:
        done = enrol_people(
            actor_id, cohort_id, [r.user_id for r in rows], source=EnrolmentSource.CSV
        )
    except EnrolmentRefused as refused:
        row_of = {r.user_id: r.row for r in rows}
        errors = [
            RowError(row_of.get(user_id) if user_id is not None else None, None, message)
            for user_id, message in refused.problems.items()
        ]
        errors.sort(key=lambda e: e.row or 0)
        raise RosterInvalid(errors) from refused
    reenrolled = sum(1 for d in done if d.reenrolled)
    return EnrolmentResult(enrolled=len(done) - reenrolled, reenrolled=reenrolled)


def enrol_from_file(
    data: bytes | str, actor_id: int, cohort_id: int, progress: Progress | None = None
) -> EnrolmentResult:
    """Check then enrol, all rows or none; flushes, the caller commits (or rolls back on
    :class:`RosterInvalid`)."""
    return apply_enrolment_file(
        read_enrolment_file(data, actor_id, cohort_id, progress), actor_id, cohort_id
    )
