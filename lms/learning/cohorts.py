"""Cohorts (班级): creating and changing them, and the queries behind the cohort pages.

Creating and editing is for administrators, HR officers and coordinators
(:func:`lms.learning.policy.can_manage_cohorts`). Every function validates everything before
changing anything, records the change in the audit log and flushes; the caller commits.
Enrolment lives in :mod:`lms.learning.enrolment`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from lms.audit import services as audit
from lms.auth.models import RoleAssignment, User
from lms.auth.policy import visible_users
from lms.auth.roles import Role
from lms.catalog.models import Course
from lms.extensions import db
from lms.learning.models import (
    Cohort,
    CohortStatus,
    Enrolment,
    EnrolmentStatus,
    Programme,
)
from lms.learning.policy import can_view_cohort, visible_cohorts
from lms.orgs.models import Organisation, OrgKind
from lms.validation import ValidationError

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,39}$")
TITLE_MAX = 200
# Organisation kinds a cohort may meet at.
LOCATION_KINDS = (OrgKind.CENTRE.value, OrgKind.STATION.value)


@dataclass
class CohortData:
    """The editable facts of a cohort (ids of the records it names)."""

    code: str
    title: str
    starts_on: date | None
    ends_on: date | None
    course_id: int | None = None
    programme_id: int | None = None
    partner_id: int | None = None
    location_id: int | None = None
    online: bool = False
    capacity: int | None = None
    self_enrolment: bool = False
    status: str = CohortStatus.OPEN.value
    instructor_ids: list[int] = field(default_factory=list)


# Validating and saving ----------------------------------------------------------------------


def active_count(cohort_id: int) -> int:
    """How many people are enrolled (not withdrawn) in the cohort."""
    stmt = sa.select(sa.func.count(Enrolment.id)).where(
        Enrolment.cohort_id == cohort_id, Enrolment.status == EnrolmentStatus.ENROLLED
    )
    return db.session.scalar(stmt) or 0


def _check_offering(data: CohortData, errors: dict[str, str]) -> None:
    """Exactly one course or programme, which exists and is not archived."""
    if (data.course_id is None) == (data.programme_id is None):
        message = _("Choose either a course or a programme (one of the two).")
        errors["course_id"] = message
        errors["programme_id"] = message
        return
    if data.course_id is not None:
        course = db.session.get(Course, data.course_id)
        if course is None:
            errors["course_id"] = _("Unknown course.")
        elif course.status == "archived":
            errors["course_id"] = _("This course is archived.")
    else:
        programme = db.session.get(Programme, data.programme_id)
        if programme is None:
            errors["programme_id"] = _("Unknown programme.")
        elif programme.archived:
            errors["programme_id"] = _("This programme is archived.")


def _check_places(data: CohortData, errors: dict[str, str]) -> None:
    """A university partner; a centre or station, or online (or both, when blended)."""
    if data.partner_id is None:
        errors["partner_id"] = _("Choose the university partner.")
    else:
        partner = db.session.get(Organisation, data.partner_id)
        if partner is None or partner.kind != OrgKind.UNIVERSITY:
            errors["partner_id"] = _("Choose a university partner.")
    if data.location_id is not None:
        location = db.session.get(Organisation, data.location_id)
        if location is None or location.kind not in LOCATION_KINDS:
            errors["location_id"] = _("Choose a guidance centre or a street/town station.")
    elif not data.online:
        errors["location_id"] = _("Choose where the cohort meets, or mark it as online.")


def _check_instructors(ids: Sequence[int], errors: dict[str, str]) -> list[User]:
    wanted = set(ids)
    if not wanted:
        return []
    stmt = (
        sa.select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(User.id.in_(wanted), RoleAssignment.role == Role.INSTRUCTOR.value)
        .order_by(User.name, User.id)
    )
    found = list(db.session.scalars(stmt))
    if len(found) != len(wanted):
        errors["instructor_ids"] = _("Choose people who hold the instructor role.")
    return found


def validate_cohort(data: CohortData, existing: Cohort | None = None) -> dict[str, Any]:
    """Check ``data``; return the column values and instructors, or raise ``ValidationError``."""
    errors: dict[str, str] = {}
    code = data.code.strip().upper()
    if not CODE_PATTERN.match(code):
        errors["code"] = _("Use 1 to 40 capital letters, digits or dashes, e.g. PRE-101-2026-01.")
    else:
        clash = db.session.scalar(sa.select(Cohort.id).where(Cohort.code == code))
        if clash is not None and (existing is None or clash != existing.id):
            errors["code"] = _("Another cohort already uses this code.")
    title = " ".join(data.title.split())
    if not title:
        errors["title"] = _("A title is required.")
    elif len(title) > TITLE_MAX:
        errors["title"] = _("At most %(n)d characters.", n=TITLE_MAX)
    _check_offering(data, errors)
    _check_places(data, errors)
    if data.starts_on is None:
        errors["starts_on"] = _("A start date is required.")
    if data.ends_on is None:
        errors["ends_on"] = _("An end date is required.")
    elif data.starts_on is not None and data.ends_on < data.starts_on:
        errors["ends_on"] = _("The cohort cannot end before it starts.")
    if data.capacity is not None:
        if data.capacity < 1:
            errors["capacity"] = _("At least 1, or leave empty for no limit.")
        elif existing is not None:
            enrolled = active_count(existing.id)
            if data.capacity < enrolled:
                errors["capacity"] = _(
                    "%(n)d people are already enrolled: the capacity cannot be lower.", n=enrolled
                )
    if data.status not in {s.value for s in CohortStatus}:
        errors["status"] = _("Unknown status.")
    instructors = _check_instructors(data.instructor_ids, errors)
    if errors:
        raise ValidationError(errors)
    return {
        "code": code,
        "title": title,
        "course_id": data.course_id,
        "programme_id": data.programme_id,
        "partner_id": data.partner_id,
        "location_id": data.location_id,
        "online": data.online,
        "starts_on": data.starts_on,
        "ends_on": data.ends_on,
        "capacity": data.capacity,
        "self_enrolment": data.self_enrolment,
        "status": data.status,
        "instructors": instructors,
    }


def snapshot(cohort: Cohort) -> dict[str, Any]:
    """The audited facts of a cohort, as JSON values."""
    return {
        "code": cohort.code,
        "title": cohort.title,
        "course_id": cohort.course_id,
        "programme_id": cohort.programme_id,
        "partner_id": cohort.partner_id,
        "location_id": cohort.location_id,
        "online": cohort.online,
        "starts_on": cohort.starts_on.isoformat() if cohort.starts_on else None,
        "ends_on": cohort.ends_on.isoformat() if cohort.ends_on else None,
        "capacity": cohort.capacity,
        "self_enrolment": cohort.self_enrolment,
        "status": cohort.status,
        "instructor_ids": sorted(i.id for i in cohort.instructors),
    }


def _apply(cohort: Cohort, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "instructors":
            cohort.instructors = list(value)
        else:
            setattr(cohort, key, value)


def _check_partner_in_scope(actor_id: int, cohort: Cohort) -> None:
    """A coordinator limited to a partner cannot save a cohort they would no longer see.

    Checked after the flush, through the same rule as every cohort page; the caller rolls
    back on the error, so nothing is saved.
    """
    actor = db.session.get(User, actor_id)
    if actor is not None and not can_view_cohort(actor, cohort):
        raise ValidationError(
            {"partner_id": _("Choose the university partner you coordinate for.")}
        )


def create_cohort(actor_id: int, data: CohortData) -> Cohort:
    """Create a cohort; audited ``cohort.created``. Flushes; the caller commits."""
    values = validate_cohort(data)
    cohort = Cohort()
    _apply(cohort, values)
    db.session.add(cohort)
    db.session.flush()
    _check_partner_in_scope(actor_id, cohort)
    audit.record(actor_id, "cohort.created", "cohort", cohort.id, after=snapshot(cohort))
    return cohort


def update_cohort(actor_id: int, cohort: Cohort, data: CohortData) -> Cohort:
    """Change a cohort; audited ``cohort.updated`` (only what changed). Flushes."""
    values = validate_cohort(data, cohort)
    before = snapshot(cohort)
    _apply(cohort, values)
    db.session.flush()
    _check_partner_in_scope(actor_id, cohort)
    audit.record(actor_id, "cohort.updated", "cohort", cohort.id, before, snapshot(cohort))
    return cohort


# Queries behind the pages ---------------------------------------------------------------------


@dataclass
class CohortFilter:
    """What the cohort list is narrowed to; None or empty means "any"."""

    q: str = ""
    status: str | None = None
    course_id: int | None = None
    programme_id: int | None = None
    partner_id: int | None = None


def cohorts_query(actor: User, filters: CohortFilter) -> sa.Select[tuple[Cohort]]:
    """The cohorts ``actor`` may see that match ``filters``, latest start first.

    What each row shows is joined in, so a page costs the same whatever its length.
    """
    stmt = sa.select(Cohort).options(
        joinedload(Cohort.course),
        joinedload(Cohort.programme),
        joinedload(Cohort.partner),
        joinedload(Cohort.location),
    )
    q = " ".join(filters.q.split())
    if q:
        stmt = stmt.where(
            sa.or_(
                Cohort.code.icontains(q, autoescape=True),
                Cohort.title.icontains(q, autoescape=True),
            )
        )
    if filters.status:
        stmt = stmt.where(Cohort.status == filters.status)
    if filters.course_id is not None:
        stmt = stmt.where(Cohort.course_id == filters.course_id)
    if filters.programme_id is not None:
        stmt = stmt.where(Cohort.programme_id == filters.programme_id)
    if filters.partner_id is not None:
        stmt = stmt.where(Cohort.partner_id == filters.partner_id)
    return visible_cohorts(actor, stmt).order_by(Cohort.starts_on.desc(), Cohort.code)


def enrolled_counts(cohort_ids: Iterable[int]) -> dict[int, int]:
    """People enrolled (not withdrawn) per cohort, in one query; 0 for empty cohorts."""
    ids = list(cohort_ids)
    counts = dict.fromkeys(ids, 0)
    if not ids:
        return counts
    stmt = (
        sa.select(Enrolment.cohort_id, sa.func.count(Enrolment.id))
        .where(Enrolment.cohort_id.in_(ids), Enrolment.status == EnrolmentStatus.ENROLLED)
        .group_by(Enrolment.cohort_id)
    )
    counts.update(dict(db.session.execute(stmt).tuples().all()))
    return counts


def seats_left(cohort: Cohort, enrolled: int) -> int | None:
    """Free places (None: no limit), never below 0."""
    return None if cohort.capacity is None else max(cohort.capacity - enrolled, 0)


def open_cohorts_query(
    course_id: int | None = None, programme_id: int | None = None
) -> sa.Select[tuple[Cohort]]:
    """Cohorts open for self-enrolment that have not ended, soonest first.

    The course and its prerequisites come with the cohorts (one extra query per page).
    """
    stmt = (
        sa.select(Cohort)
        .where(
            Cohort.status == CohortStatus.OPEN,
            Cohort.self_enrolment.is_(True),
            Cohort.ends_on >= date.today(),
        )
        .options(
            joinedload(Cohort.course),
            selectinload(Cohort.course, Course.prerequisites),
            joinedload(Cohort.programme),
            joinedload(Cohort.partner),
            joinedload(Cohort.location),
        )
    )
    if course_id is not None:
        stmt = stmt.where(Cohort.course_id == course_id)
    if programme_id is not None:
        stmt = stmt.where(Cohort.programme_id == programme_id)
    return stmt.order_by(Cohort.starts_on, Cohort.code)


def my_enrolments(user_id: int, cohort_ids: Iterable[int]) -> dict[int, Enrolment]:
    """The person's enrolment rows (active or withdrawn) in these cohorts, by cohort id."""
    ids = list(cohort_ids)
    if not ids:
        return {}
    stmt = sa.select(Enrolment).where(Enrolment.user_id == user_id, Enrolment.cohort_id.in_(ids))
    return {e.cohort_id: e for e in db.session.scalars(stmt)}


def roster(actor: User, cohort: Cohort, *, everyone: bool) -> list[Enrolment]:
    """The cohort's enrolments, active first, with who enrolled and withdrew them.

    ``everyone`` (the cohort's teachers) lists every person; otherwise only the people
    ``actor`` may see (:func:`lms.auth.policy.visible_users`).
    """
    stmt = (
        sa.select(Enrolment)
        .join(User, User.id == Enrolment.user_id)
        .where(Enrolment.cohort_id == cohort.id)
        .options(
            joinedload(Enrolment.user).joinedload(User.employer),
            joinedload(Enrolment.enrolled_by),
            joinedload(Enrolment.withdrawn_by),
        )
        .order_by(Enrolment.status, User.name, User.id)
    )
    if not everyone:
        stmt = visible_users(actor, stmt)  # type: ignore[arg-type]
    return list(db.session.scalars(stmt))


def load_cohort_details(cohort: Cohort) -> Cohort:
    """Load what the detail page shows of the cohort itself, in a fixed number of queries."""
    stmt = (
        sa.select(Cohort)
        .where(Cohort.id == cohort.id)
        .options(
            joinedload(Cohort.course),
            selectinload(Cohort.course, Course.prerequisites),
            joinedload(Cohort.programme),
            joinedload(Cohort.partner),
            joinedload(Cohort.location),
            selectinload(Cohort.instructors),
        )
        .execution_options(populate_existing=True)
    )
    return db.session.scalars(stmt).unique().one()


def course_choices() -> list[Course]:
    """Courses a cohort may offer: those not archived, by code."""
    stmt = sa.select(Course).where(Course.status != "archived").order_by(Course.code)
    return list(db.session.scalars(stmt))


def programme_choices() -> list[Programme]:
    stmt = sa.select(Programme).where(Programme.archived.is_(False)).order_by(Programme.code)
    return list(db.session.scalars(stmt))


def organisations_of_kind(kinds: Sequence[str], include: int | None = None) -> list[Organisation]:
    """Active organisations of these kinds (plus ``include``, kept although inactive)."""
    shown = Organisation.active.is_(True)
    if include is not None:
        shown = sa.or_(shown, Organisation.id == include)
    stmt = (
        sa.select(Organisation)
        .where(Organisation.kind.in_(kinds), shown)
        .order_by(Organisation.code)
    )
    return list(db.session.scalars(stmt))


def instructor_choices(include: Iterable[int] = ()) -> list[User]:
    """Active people with the instructor role (plus ``include``), by name."""
    extra = list(include)
    shown = User.active.is_(True)
    if extra:
        shown = sa.or_(shown, User.id.in_(extra))
    stmt = (
        sa.select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == Role.INSTRUCTOR.value, shown)
        .order_by(User.name, User.id)
    )
    return list(db.session.scalars(stmt))


CANDIDATES_SHOWN = 20


def enrol_candidates(actor: User, cohort: Cohort, q: str) -> list[tuple[User, Enrolment | None]]:
    """Active trainees ``actor`` may see whose name, email or phone contains ``q`` (at most
    :data:`CANDIDATES_SHOWN`), each with their enrolment in ``cohort`` if any."""
    q = " ".join(q.split())
    if not q:
        return []
    stmt = (
        sa.select(User)
        .options(joinedload(User.employer))
        .where(
            User.active.is_(True),
            User.role_assignments.any(RoleAssignment.role == Role.TRAINEE.value),
            sa.or_(
                User.name.icontains(q, autoescape=True),
                User.email.icontains(q, autoescape=True),
                User.phone.icontains(q, autoescape=True),
            ),
        )
        .order_by(User.name, User.id)
        .limit(CANDIDATES_SHOWN)
    )
    people = list(db.session.scalars(visible_users(actor, stmt)))
    enrolments = (
        {
            e.user_id: e
            for e in db.session.scalars(
                sa.select(Enrolment).where(
                    Enrolment.cohort_id == cohort.id, Enrolment.user_id.in_([p.id for p in people])
                )
            )
        }
        if people
        else {}
    )
    return [(p, enrolments.get(p.id)) for p in people]
