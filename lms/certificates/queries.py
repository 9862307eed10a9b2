"""Read-only queries behind the certificate pages, and who may see or act on a certificate.

A certificate is seen by its holder and by the staff who see the holder
(:func:`lms.auth.policy.people_scope`): administrators, and HR officers and coordinators within
their scope. HR officers and administrators also act on it (issue, revoke, reissue, renew);
coordinators only read. Instructors see none but their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import joinedload

from lms.auth.models import User
from lms.auth.policy import can_view_user, organisation_ids_in_scope, people_scope
from lms.auth.roles import Role
from lms.certificates.issuing import normalise_code
from lms.certificates.models import Certificate, CertificateType, OutboxMessage, Status, valid_on
from lms.extensions import db
from lms.learning.models import Cohort, ProgrammeCourse
from lms.learning.policy import visible_cohorts

STAFF_ROLES = (Role.ADMIN, Role.HR, Role.COORDINATOR)
MANAGER_ROLES = (Role.ADMIN, Role.HR)


# Permission ---------------------------------------------------------------------------------


def can_view_certificate(actor: User, certificate: Certificate) -> bool:
    """The holder, and staff who see the holder."""
    if certificate.holder_id == actor.id:
        return True
    return actor.has_role(*STAFF_ROLES) and can_view_user(actor, certificate.holder)


def can_manage_certificate(actor: User, certificate: Certificate) -> bool:
    """HR officers and administrators who see the holder revoke, reissue and renew."""
    return actor.has_role(*MANAGER_ROLES) and can_view_user(actor, certificate.holder)


def get_certificate_or_404(actor: User, certificate_id: int) -> Certificate:
    """Load a certificate ``actor`` may see (with its type, programme and people), or 404."""
    certificate = db.session.scalar(
        sa.select(Certificate)
        .where(Certificate.id == certificate_id)
        .options(
            joinedload(Certificate.certificate_type).joinedload(CertificateType.programme),
            joinedload(Certificate.holder),
            joinedload(Certificate.issued_by),
            joinedload(Certificate.revoked_by),
        )
    )
    if certificate is None or not can_view_certificate(actor, certificate):
        abort(404)
    return certificate


def visible_certificates(actor: User, stmt: sa.Select) -> sa.Select:
    """Limit a select over ``Certificate`` to those whose holder ``actor`` sees."""
    scope = people_scope(actor)
    if scope is None:
        return stmt
    if scope is False:
        return stmt.where(Certificate.holder_id == actor.id)
    in_scope = sa.select(User.id).where(User.employer_id.in_(organisation_ids_in_scope(scope)))
    return stmt.where(Certificate.holder_id.in_(in_scope))


def visible_user_ids(actor: User) -> sa.Select[tuple[int]] | None:
    """The ids of the people ``actor`` sees, as a subquery; None for everyone."""
    scope = people_scope(actor)
    if scope is None:
        return None
    if scope is False:
        return sa.select(User.id).where(User.id == actor.id)
    return sa.select(User.id).where(User.employer_id.in_(organisation_ids_in_scope(scope)))


# The list -----------------------------------------------------------------------------------


@dataclass
class CertificateFilter:
    """What the list is searched by; empty values do not filter."""

    q: str = ""
    type_id: int | None = None
    status: Status | None = None
    year: int | None = None


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def status_clause(status: Status, day: date) -> sa.ColumnElement[bool]:
    """SQL for "has ``status`` on ``day``", the rule of :meth:`Certificate.status_on`."""
    end = _end_of(day)
    revoked = sa.and_(Certificate.revoked_at.is_not(None), Certificate.revoked_at <= end)
    superseded = sa.and_(Certificate.superseded_at.is_not(None), Certificate.superseded_at <= end)
    if status is Status.VALID:
        return valid_on(day)
    if status is Status.REVOKED:
        return revoked
    if status is Status.SUPERSEDED:
        return sa.and_(sa.not_(revoked), superseded)
    return sa.and_(
        sa.not_(revoked),
        sa.not_(superseded),
        Certificate.expires_on.is_not(None),
        Certificate.expires_on < day,
    )


def certificates_query(actor: User, filters: CertificateFilter, today: date) -> sa.Select:
    """The certificates ``actor`` sees matching ``filters``, newest first.

    The type and the holder are joined in, so a page costs the same whatever its length. The
    search matches the holder's name (as printed and as now), the serial, or the code.
    """
    stmt = sa.select(Certificate).options(
        joinedload(Certificate.certificate_type), joinedload(Certificate.holder)
    )
    q = " ".join(filters.q.split())
    if q:
        holders = sa.select(User.id).where(User.name.icontains(q, autoescape=True))
        stmt = stmt.where(
            sa.or_(
                Certificate.holder_name.icontains(q, autoescape=True),
                Certificate.holder_id.in_(holders),
                Certificate.serial.icontains(q, autoescape=True),
                Certificate.code == normalise_code(q),
            )
        )
    if filters.type_id is not None:
        stmt = stmt.where(Certificate.type_id == filters.type_id)
    if filters.status is not None:
        stmt = stmt.where(status_clause(filters.status, today))
    if filters.year is not None:
        start = datetime(filters.year, 1, 1, tzinfo=UTC)
        stmt = stmt.where(
            Certificate.issued_at >= start,
            Certificate.issued_at < start.replace(year=filters.year + 1),
        )
    return visible_certificates(actor, stmt).order_by(
        Certificate.issued_at.desc(), Certificate.id.desc()
    )


def certificate_types(*, active_only: bool = False) -> list[CertificateType]:
    """Certificate types by serial code, for the choices."""
    stmt = sa.select(CertificateType).order_by(CertificateType.serial_code)
    if active_only:
        stmt = stmt.where(CertificateType.active.is_(True))
    return list(db.session.scalars(stmt))


def issue_years(today: date) -> list[int]:
    """The years from the first certificate issued to this one, newest first."""
    first = db.session.scalar(sa.select(sa.func.min(Certificate.issued_at)))
    start = first.year if first else today.year
    return list(range(today.year, start - 1, -1))


# One certificate ----------------------------------------------------------------------------


@dataclass
class Chain:
    """The certificates a certificate replaces (oldest first) and those replacing it."""

    replaces: list[Certificate]
    replaced_by: list[Certificate]


def certificate_chain(certificate: Certificate) -> Chain:
    """Walk the renewals and reissues around ``certificate`` in one query: a chain never
    leaves its holder and type."""
    family = {
        c.id: c
        for c in db.session.scalars(
            sa.select(Certificate).where(
                Certificate.holder_id == certificate.holder_id,
                Certificate.type_id == certificate.type_id,
            )
        )
    }
    replaces: list[Certificate] = []
    current = certificate
    while current.replaces_id is not None and current.replaces_id in family:
        current = family[current.replaces_id]
        if current in replaces or current.id == certificate.id:
            break
        replaces.insert(0, current)
    children: dict[int, list[Certificate]] = {}
    for c in family.values():
        if c.replaces_id is not None:
            children.setdefault(c.replaces_id, []).append(c)
    replaced_by: list[Certificate] = []
    frontier = sorted(children.get(certificate.id, []), key=lambda c: c.id)
    while frontier:
        nxt = frontier.pop(0)
        if nxt in replaced_by or nxt.id == certificate.id:
            continue
        replaced_by.append(nxt)
        frontier.extend(sorted(children.get(nxt.id, []), key=lambda c: c.id))
    return Chain(replaces=replaces, replaced_by=replaced_by)


def holder_certificates(user_id: int) -> list[Certificate]:
    """A person's own certificates, newest first, with their types."""
    return list(
        db.session.scalars(
            sa.select(Certificate)
            .where(Certificate.holder_id == user_id)
            .options(joinedload(Certificate.certificate_type))
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
    )


# Bulk issue ---------------------------------------------------------------------------------


def cohorts_for_type(actor: User, certificate_type: CertificateType) -> list[Cohort]:
    """The cohorts ``actor`` sees of the type's programme or of its courses, newest first."""
    courses = sa.select(ProgrammeCourse.course_id).where(
        ProgrammeCourse.programme_id == certificate_type.programme_id
    )
    stmt = sa.select(Cohort).where(
        sa.or_(Cohort.programme_id == certificate_type.programme_id, Cohort.course_id.in_(courses))
    )
    return list(
        db.session.scalars(
            visible_cohorts(actor, stmt).order_by(Cohort.starts_on.desc(), Cohort.id.desc())
        )
    )


def count_eligible(actor: User, eligible: sa.Select) -> int:
    """How many rows of ``eligible`` (``issuing.eligible_holders``: user id first) are people
    ``actor`` sees."""
    sub = eligible.subquery()
    user_id = next(iter(sub.c))
    stmt = sa.select(sa.func.count()).select_from(sub)
    people = visible_user_ids(actor)
    if people is not None:
        stmt = stmt.where(user_id.in_(people))
    return db.session.scalar(stmt) or 0


# Outbox -------------------------------------------------------------------------------------


def outbox_query(actor: User) -> sa.Select[tuple[OutboxMessage]]:
    """The messages to the people ``actor`` sees (administrators: all), newest first."""
    stmt = sa.select(OutboxMessage).order_by(
        OutboxMessage.created_at.desc(), OutboxMessage.id.desc()
    )
    people = visible_user_ids(actor)
    if people is not None:
        stmt = stmt.where(OutboxMessage.user_id.in_(people))
    return stmt
