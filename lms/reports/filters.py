"""The filters every report page, list and export shares: the day, the year and the scope,
read from query arguments and checked against what the person may see."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.auth.models import User
from lms.certificates.issuing import local_today
from lms.extensions import db
from lms.orgs.models import Organisation
from lms.reports.scope import allowed_scope, parse_as_of, scope_from_codes
from lms.reports.targets import Scope
from lms.validation import ValidationError

FIRST_YEAR = 2000


class ScopeRefused(Exception):
    """The person asked for a partner or district outside what they may see (answer 403)."""


@dataclass(frozen=True)
class ReportFilters:
    """``as_of``: the day people are counted on; ``year``: the one year the per-year figures
    show (None: every year); ``scope``: the city, one partner or one district, with the codes
    it was asked by (for links)."""

    as_of: date
    year: int | None
    scope: Scope
    partner_code: str | None = None
    district_code: str | None = None

    def args(self) -> dict[str, str]:
        """The query arguments that give these filters again (for links and exports)."""
        out = {"as_of": self.as_of.isoformat()}
        if self.year is not None:
            out["year"] = str(self.year)
        if self.partner_code:
            out["partner"] = self.partner_code
        if self.district_code:
            out["district"] = self.district_code
        return out


def _year(text: str | None, today: date) -> int | None:
    if not text:
        return None
    try:
        year = int(text)
    except ValueError as error:
        raise ValidationError({"year": _("Give the year as four digits.")}) from error
    if not FIRST_YEAR <= year <= today.year:
        raise ValidationError(
            {
                "year": _(
                    "Choose a year from %(first)s to %(last)s.", first=FIRST_YEAR, last=today.year
                )
            }
        )
    return year


def filters_from_args(args: Mapping[str, str], actor: User) -> ReportFilters:
    """Filters from ``as_of``, ``year``, ``partner`` and ``district`` arguments.

    Without ``as_of``, a past ``year`` counts people on its last day, otherwise today. A
    coordinator limited to a partner gets that partner whatever they ask for nothing, and
    :class:`ScopeRefused` for anything else; bad values raise ``ValidationError`` naming
    the argument."""
    today = local_today()
    year = _year(args.get("year"), today)
    default = date(year, 12, 31) if year is not None and year < today.year else today
    as_of = parse_as_of(args.get("as_of"), today) if args.get("as_of") else default
    partner, district = args.get("partner") or None, args.get("district") or None
    asked = scope_from_codes(partner, district)
    scope = allowed_scope(actor, asked)
    if scope is None:
        raise ScopeRefused
    if scope != asked:  # a partner coordinator who asked for the whole city
        partner = db.session.scalar(
            sa.select(Organisation.code).where(Organisation.id == scope.partner_id)
        )
    return ReportFilters(as_of, year, scope, partner, district)
