"""Read-only queries behind the organisation and district pages.

Kept apart from :mod:`lms.orgs.services` (which changes things) so the list pages can be
tuned, and their query counts kept flat, without touching the write path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from lms.auth.models import User
from lms.extensions import db
from lms.orgs.models import District, Organisation

STATUSES = ("active", "inactive", "all")


@dataclass
class OrganisationFilters:
    """What the organisation list is narrowed to; empty values mean "any"."""

    q: str = ""
    kind: str | None = None
    district_id: int | None = None
    status: str = "active"


def organisations_select(filters: OrganisationFilters) -> sa.Select[tuple[Organisation]]:
    """``select(Organisation)`` narrowed by ``filters``, with district and parent loaded.

    The text search matches a substring of the code, the Chinese or the English name, case
    blind; ``%`` and ``_`` typed by the person are matched literally.
    """
    stmt = sa.select(Organisation).options(
        joinedload(Organisation.district), joinedload(Organisation.parent)
    )
    q = " ".join(filters.q.split())
    if q:
        stmt = stmt.where(
            sa.or_(
                Organisation.code.icontains(q, autoescape=True),
                Organisation.name.icontains(q, autoescape=True),
                Organisation.name_en.icontains(q, autoescape=True),
            )
        )
    if filters.kind:
        stmt = stmt.where(Organisation.kind == filters.kind)
    if filters.district_id is not None:
        stmt = stmt.where(Organisation.district_id == filters.district_id)
    if filters.status == "active":
        stmt = stmt.where(Organisation.active.is_(True))
    elif filters.status == "inactive":
        stmt = stmt.where(Organisation.active.is_(False))
    return stmt.order_by(Organisation.code, Organisation.id)


def people_counts(org_ids: Iterable[int]) -> dict[int, int]:
    """How many active people each organisation employs, in one grouped query."""
    ids = list(org_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(User.employer_id, sa.func.count(User.id))
        .where(User.employer_id.in_(ids), User.active.is_(True))
        .group_by(User.employer_id)
    )
    return {org_id: n for org_id, n in rows.tuples() if org_id is not None}


def all_districts() -> list[District]:
    """Every district, by code (for filters and choices)."""
    return list(db.session.scalars(sa.select(District).order_by(District.code)))


def parent_choices(exclude: Organisation | None = None) -> list[Organisation]:
    """Organisations another one may be placed under: the active ones, and its own parent.

    ``exclude`` itself is left out; the service refuses other loops.
    """
    stmt = sa.select(Organisation).order_by(Organisation.code)
    keep = Organisation.active.is_(True)
    if exclude is not None and exclude.parent_id is not None:
        keep = sa.or_(keep, Organisation.id == exclude.parent_id)
    stmt = stmt.where(keep)
    if exclude is not None and exclude.id is not None:
        stmt = stmt.where(Organisation.id != exclude.id)
    return list(db.session.scalars(stmt))


def children_of(org: Organisation) -> list[Organisation]:
    """The organisations directly under ``org``, active first, with their districts."""
    return list(
        db.session.scalars(
            sa.select(Organisation)
            .options(joinedload(Organisation.district))
            .where(Organisation.parent_id == org.id)
            .order_by(Organisation.active.desc(), Organisation.code)
        )
    )


@dataclass
class DistrictRow:
    """A district with how many active organisations and people it has."""

    district: District
    organisations: int
    people: int


def districts_with_counts() -> list[DistrictRow]:
    """Every district with its counts, in one query (grouped subqueries, outer-joined)."""
    orgs = (
        sa.select(Organisation.district_id.label("district_id"), sa.func.count().label("n"))
        .where(Organisation.active.is_(True), Organisation.district_id.is_not(None))
        .group_by(Organisation.district_id)
        .subquery()
    )
    people = (
        sa.select(User.district_id.label("district_id"), sa.func.count().label("n"))
        .where(User.active.is_(True), User.district_id.is_not(None))
        .group_by(User.district_id)
        .subquery()
    )
    stmt = (
        sa.select(District, sa.func.coalesce(orgs.c.n, 0), sa.func.coalesce(people.c.n, 0))
        .outerjoin(orgs, orgs.c.district_id == District.id)
        .outerjoin(people, people.c.district_id == District.id)
        .order_by(District.code)
    )
    return [DistrictRow(d, n_orgs, n_people) for d, n_orgs, n_people in db.session.execute(stmt)]
