"""Reading a report's scope and date from a request or the command line, with permission."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.auth.models import User
from lms.auth.roles import Role
from lms.extensions import db
from lms.orgs.models import District, Organisation, OrgKind
from lms.reports.targets import Scope
from lms.validation import ValidationError


def parse_as_of(text: str | None, today: date) -> date:
    """The "as of" date (YYYY-MM-DD), today when empty; never in the future."""
    if not text:
        return today
    try:
        day = date.fromisoformat(text)
    except ValueError as error:
        raise ValidationError({"as_of": _("Give the date as YYYY-MM-DD.")}) from error
    if day > today:
        raise ValidationError({"as_of": _("The date cannot be in the future.")})
    return day


def scope_from_codes(partner: str | None, district: str | None) -> Scope:
    """A scope from an organisation code of a university partner and a district code (both:
    the partner's people in that district)."""
    partner_id = district_id = None
    if partner:
        partner_id = db.session.scalar(
            sa.select(Organisation.id).where(
                Organisation.code == partner, Organisation.kind == OrgKind.UNIVERSITY
            )
        )
        if partner_id is None:
            raise ValidationError(
                {"partner": _("No university partner has the code %(code)s.", code=partner)}
            )
    if district:
        district_id = db.session.scalar(sa.select(District.id).where(District.code == district))
        if district_id is None:
            raise ValidationError(
                {"district": _("No district has the code %(code)s.", code=district)}
            )
    return Scope(partner_id=partner_id, district_id=district_id)


def allowed_scope(actor: User, asked: Scope) -> Scope | None:
    """The scope ``actor`` may see for what they asked, or None when refused: a coordinator
    limited to a partner sees that partner only (asking for no partner means theirs)."""
    if actor.has_role(Role.ADMIN):
        return asked
    limit = actor.scope_of(Role.COORDINATOR) if actor.has_role(Role.COORDINATOR) else None
    if limit is None:
        return asked
    if asked.partner_id is None:
        return Scope(partner_id=limit, district_id=asked.district_id)
    return asked if asked.partner_id == limit else None


def home_district() -> sa.ColumnElement[int | None]:
    """SQL for where a person is counted by district in training figures: their own
    district, else their employer's (``User`` must be in the query)."""
    employer_district = (
        sa.select(Organisation.district_id)
        .where(Organisation.id == User.employer_id)
        .scalar_subquery()
    )
    return sa.func.coalesce(User.district_id, employer_district)
