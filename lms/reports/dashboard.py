"""The coordinator dashboard's figures, as :class:`~lms.reports.tables.ReportTable` objects.

Every table is registered in :data:`~lms.reports.tables.TABLES` (the exports find them there)
and :func:`dashboard_tables` builds them all, in page order, for the page and the benchmark.
A :class:`Dashboard` runs each query once for all its tables, so the page runs the same small
number of queries however many people there are:

- the people counted on ``as_of`` (the targets report, and one ``GROUP BY`` over the tier
  periods that every breakdown sums up, so that each breakdown adds up to the tier's figure);
- the certificates issued per type and kind, a ``count(*) FILTER`` per year (over the index
  ``ix_certificates_report``), and course and programme completions per year and track
  (counted per course or programme, then per track); CE hours per cycle and kind;
- the certificates expiring within :data:`EXPIRY_DAYS` days, per type;
- the trend: the tier periods starting and ending on each day, run up in Python, so that the
  count on day ``d`` is ``#(starts_on <= d) - #(ends_before <= d)`` without a query per point.

People are counted on ``as_of``; the per-year figures (issued, completions, CE hours) go by
UTC year (CE: cycle), every year or the filter's, like the drill-down lists behind them.
"""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property, partial
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.auth.models import User
from lms.catalog.models import Course
from lms.catalog.models.course import Track
from lms.certificates.models import Certificate, CertificateType, IssueKind, valid_on
from lms.db import utcnow
from lms.extensions import db
from lms.i18n import locale_code
from lms.learning.models import (
    CeEntry,
    CeKind,
    CourseCompletion,
    Programme,
    ProgrammeCompletion,
    ProgrammeCourse,
    Tier,
)
from lms.orgs.models import District, Organisation, OrgKind
from lms.reports.filters import ReportFilters
from lms.reports.models import Target, TierPeriod
from lms.reports.periods import counted_on
from lms.reports.scope import home_district
from lms.reports.tables import TABLES, Column, ReportTable, Row, list_url
from lms.reports.targets import targets_report

TIERS = (Tier.TALENT_POOL, Tier.LEAD_TRAINER)
KINDS = tuple(str(kind) for kind in IssueKind)
TRACKS = (Track.PRE_SERVICE, Track.IN_SERVICE, Track.LEAD_TRAINER)
#: "Expiring" means expiring within this many days after ``as_of`` (inclusive).
EXPIRY_DAYS = 90
#: Months the trend shows without a year filter (with one: the year's months).
TREND_MONTHS = 24


@dataclass(frozen=True)
class Named:
    """An organisation, district or certificate type as the tables label it."""

    id: int
    code: str
    name: str
    tier: str | None = None


def _year_start(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=UTC)


def university_partners(locale: str) -> list[Named]:
    """Every university partner, by name (the filter's choices and the partner rows)."""
    rows = db.session.execute(
        sa.select(Organisation.id, Organisation.code, Organisation.name, Organisation.name_en)
        .where(Organisation.kind == OrgKind.UNIVERSITY)
        .order_by(Organisation.name)
    )
    return [Named(r.id, r.code, _localised(r.name, r.name_en, locale)) for r in rows]


def all_districts(locale: str) -> list[Named]:
    """Every district, by code."""
    rows = db.session.execute(
        sa.select(District.id, District.code, District.name, District.name_en).order_by(
            District.code
        )
    )
    return [Named(r.id, r.code, _localised(r.name, r.name_en, locale)) for r in rows]


def first_year() -> int | None:
    """The year of the first certificate or completion (None: there is none yet)."""
    firsts = db.session.execute(
        sa.select(
            *(
                sa.select(sa.func.min(column)).scalar_subquery()
                for column in (
                    Certificate.issued_at,
                    CourseCompletion.completed_at,
                    ProgrammeCompletion.completed_at,
                )
            )
        )
    ).one()
    return min((moment.year for moment in firsts if moment is not None), default=None)


def last_year(as_of: date) -> int:
    """The last year of the per-year figures (they do not stop at ``as_of``)."""
    return max(utcnow().year, as_of.year)


def _localised(name: str, name_en: str, locale: str) -> str:
    return name_en if locale.startswith("en") and name_en else name


def _tier_label(tier: str | None) -> str:
    return Tier(tier).label if tier else _("No tier")


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def trend_days(as_of: date, year: int | None) -> list[date]:
    """The trend's points: the month ends of ``year`` (or of the last :data:`TREND_MONTHS`
    months) up to ``as_of``, then ``as_of`` itself."""
    if year is not None:
        ends = [_month_end(year, m) for m in range(1, 13)]
    else:
        months = [(as_of.year * 12 + as_of.month - 1) - i for i in range(TREND_MONTHS + 1)]
        ends = sorted(_month_end(m // 12, m % 12 + 1) for m in months)
    days = [d for d in ends if d < as_of][-TREND_MONTHS:]
    return [*days, as_of]


class Dashboard:
    """The dashboard for one set of filters; each query runs at most once."""

    def __init__(self, filters: ReportFilters, locale: str | None = None) -> None:
        self.filters = filters
        self.scope = filters.scope
        self.locale = locale or locale_code()

    # Shared look-ups ----------------------------------------------------------------------

    @cached_property
    def partners(self) -> list[Named]:
        return university_partners(self.locale)

    @cached_property
    def districts(self) -> list[Named]:
        return all_districts(self.locale)

    @cached_property
    def types(self) -> dict[int, Named]:
        """Certificate types by id, named by their programme."""
        rows = db.session.execute(
            sa.select(
                CertificateType.id,
                CertificateType.serial_code,
                CertificateType.tier,
                Programme.title,
                Programme.title_en,
            )
            .join(Programme, Programme.id == CertificateType.programme_id)
            .order_by(CertificateType.serial_code)
        )
        return {
            r.id: Named(r.id, r.serial_code, _localised(r.title, r.title_en, self.locale), r.tier)
            for r in rows
        }

    def _scoped(self, stmt: sa.Select[Any], partner: Any, district: Any) -> sa.Select[Any]:
        """``stmt`` limited to the filters' partner and district (given as SQL columns)."""
        if self.scope.partner_id is not None:
            stmt = stmt.where(partner == self.scope.partner_id)
        if self.scope.district_id is not None:
            stmt = stmt.where(district == self.scope.district_id)
        return stmt

    def _link(self, name: str, **params: Any) -> str:
        return list_url(name, self.filters, **params)

    # Targets and breakdowns ---------------------------------------------------------------

    @cached_property
    def targets(self) -> dict[str, Any]:
        return targets_report(self.filters.as_of, self.scope)

    @cached_property
    def counted(self) -> list[Any]:
        """People counted on ``as_of``: (tier, partner, district, employer kind, type, n)."""
        keys = (
            TierPeriod.tier,
            TierPeriod.partner_id,
            TierPeriod.district_id,
            TierPeriod.employer_kind,
            TierPeriod.type_id,
        )
        stmt = sa.select(*keys, sa.func.count().label("n")).where(counted_on(self.filters.as_of))
        stmt = self._scoped(stmt, TierPeriod.partner_id, TierPeriod.district_id)
        return list(db.session.execute(stmt.group_by(*keys)))

    def _counts_by(self, attr: str) -> dict[Any, Counter[str]]:
        out: dict[Any, Counter[str]] = {}
        for row in self.counted:
            out.setdefault(getattr(row, attr), Counter())[row.tier] += row.n
        return out

    @cached_property
    def shares(self) -> dict[tuple[str, int, str], int]:
        """Share targets (no year): ``("partner" | "district", id, tier) -> target``."""
        rows = db.session.execute(
            sa.select(Target.tier, Target.partner_id, Target.district_id, Target.target).where(
                Target.year.is_(None),
                sa.or_(Target.partner_id.is_not(None), Target.district_id.is_not(None)),
            )
        )
        return {
            ("partner", r.partner_id, r.tier)
            if r.partner_id is not None
            else ("district", r.district_id, r.tier): r.target
            for r in rows
        }

    def _has_shares(self, kind: str) -> bool:
        return any(key[0] == kind for key in self.shares)

    def _tier_columns(self, first: Column, shares: bool = False) -> list[Column]:
        columns = [first]
        for tier in TIERS:
            columns.append(Column(str(tier), Tier(tier).label, numeric=True))
            if shares:
                columns.append(
                    Column(
                        f"{tier}_target",
                        _("%(tier)s target", tier=Tier(tier).label),
                        numeric=True,
                    )
                )
        return columns

    def _total_row(self, rows: list[Row], keys: Iterable[str], label_key: str) -> Row:
        cells: dict[str, Any] = {label_key: _("Total")}
        for key in keys:
            cells[key] = sum(row.cells.get(key) or 0 for row in rows)
        return Row(cells)

    def _breakdown(
        self,
        key: str,
        title: str,
        first: Column,
        attr: str,
        members: list[tuple[Any, str, dict[str, Any]]],
        none_label: str,
        share: str | None = None,
    ) -> ReportTable:
        """A breakdown of the people counted: one row per member ``(value, label, link
        args)``, then the people with no value or another one (unlinked: the lists have no
        argument for "none"), and the total, equal to the targets report's figure."""
        counts = self._counts_by(attr)
        rows = []
        for value, label, args in members:
            got = counts.pop(value, Counter())
            cells: dict[str, Any] = {first.key: label}
            for tier in TIERS:
                cells[str(tier)] = got[tier]
                if share:
                    cells[f"{tier}_target"] = self.shares.get((share, value, tier))
            links = {str(t): self._link("holders", tier=t, **args) for t in TIERS}
            rows.append(Row(cells, links))
        rest = sum(counts.values(), Counter())
        if rest:
            rows.append(Row({first.key: none_label, **{str(t): rest[t] for t in TIERS}}))
        total = self._total_row(rows, [str(t) for t in TIERS], first.key)
        total.links = {str(t): self._link("holders", tier=t) for t in TIERS}
        return ReportTable(key, title, self._tier_columns(first, bool(share)), rows, total)

    def targets_table(self) -> ReportTable:
        columns = [
            Column("tier", _("Tier")),
            Column("valid", _("People counted"), numeric=True),
            Column("target", _("Target"), numeric=True),
            Column("percent", _("Percent of target"), numeric=True),
            Column("remaining", _("Remaining"), numeric=True),
            Column(
                "milestone",
                _("Milestone for %(year)s", year=self.filters.as_of.year),
                numeric=True,
            ),
        ]
        rows = []
        for tier in self.targets["tiers"]:
            milestone = tier["milestone"]
            cells = {
                "tier": Tier(tier["tier"]).label,
                "tier_key": tier["tier"],
                "valid": tier["valid"],
                "target": tier["target"],
                "percent": tier["percent"],
                "remaining": tier["remaining"],
                "milestone": milestone["target"] if milestone else None,
            }
            rows.append(Row(cells, {"valid": self._link("holders", tier=tier["tier"])}))
        return ReportTable("targets", _("People counted against the targets"), columns, rows)

    def by_partner(self) -> ReportTable:
        members = [
            (p.id, p.name, {"partner": p.code})
            for p in self.partners
            if self.scope.partner_id in (None, p.id)
        ]
        share = (
            "partner" if self.scope.district_id is None and self._has_shares("partner") else None
        )
        first = Column("partner", _("University partner"))
        return self._breakdown(
            "by_partner",
            _("People counted by university partner"),
            first,
            "partner_id",
            members,
            _("No university partner"),
            share,
        )

    def by_district(self) -> ReportTable:
        members = [
            (d.id, d.name, {"district": d.code})
            for d in self.districts
            if self.scope.district_id in (None, d.id)
        ]
        share = (
            "district" if self.scope.partner_id is None and self._has_shares("district") else None
        )
        return self._breakdown(
            "by_district",
            _("People counted by district"),
            Column("district", _("District")),
            "district_id",
            members,
            _("No district"),
            share,
        )

    def by_employer_kind(self) -> ReportTable:
        members = [(str(k), k.label, {"employer_kind": str(k)}) for k in OrgKind]
        return self._breakdown(
            "by_employer_kind",
            _("People counted by kind of employer"),
            Column("employer_kind", _("Kind of employer")),
            "employer_kind",
            members,
            _("No employer"),
        )

    def by_programme(self) -> ReportTable:
        members = [
            (t.id, t.name, {"type": t.code}) for t in self.types.values() if t.tier is not None
        ]
        return self._breakdown(
            "by_programme",
            _("People counted by programme"),
            Column("programme", _("Programme")),
            "type_id",
            members,
            _("Unknown"),
        )

    # Certificates issued ------------------------------------------------------------------

    @cached_property
    def first_year(self) -> int | None:
        return first_year()

    @cached_property
    def years(self) -> list[int]:
        """The years of the per-year figures: the filter's, or every year from the first
        certificate or completion to this one."""
        if self.filters.year is not None:
            return [self.filters.year]
        last = last_year(self.filters.as_of)
        return list(range(min(self.first_year or last, last), last + 1))

    def _per_year(self, stmt: sa.Select[Any], moment: Any) -> sa.Select[Any]:
        """``stmt`` with a count per year of :attr:`years` (columns ``y<year>``), and limited
        to the filter's year if any: ``count(*) FILTER (WHERE ...)`` per year, so that the
        rows are grouped by plain columns (an index's) rather than by a computed year."""
        counts = [
            sa.func.count()
            .filter(moment >= _year_start(year), moment < _year_start(year + 1))
            .label(f"y{year}")
            for year in self.years
        ]
        if self.filters.year is not None:
            stmt = stmt.where(
                moment >= _year_start(self.filters.year),
                moment < _year_start(self.filters.year + 1),
            )
        return stmt.add_columns(*counts)

    @cached_property
    def issued(self) -> list[Any]:
        """Per type and kind, the certificates issued per year, read from the index
        ``ix_certificates_report`` alone."""
        stmt = self._per_year(
            sa.select(Certificate.type_id, Certificate.kind), Certificate.issued_at
        )
        stmt = self._scoped(stmt, Certificate.partner_id, Certificate.district_id)
        return list(db.session.execute(stmt.group_by(Certificate.type_id, Certificate.kind)))

    def issued_by_year(self) -> ReportTable:
        grid: dict[tuple[int, str | None], Counter[str]] = {}
        for row in self.issued:
            ctype = self.types.get(row.type_id)
            tier = ctype.tier if ctype else None
            for year in self.years:
                if n := row._mapping[f"y{year}"]:
                    grid.setdefault((year, tier), Counter())[row.kind] += n
        order = {None: len(TIERS), **{str(t): i for i, t in enumerate(TIERS)}}
        rows = []
        for (year, tier), counts in sorted(grid.items(), key=lambda i: (-i[0][0], order[i[0][1]])):
            cells: dict[str, Any] = {"year": year, "tier": _tier_label(tier)}
            cells.update({k: counts[k] for k in KINDS})
            cells["total"] = sum(counts.values())
            links = {}
            if tier is not None:
                links = {k: self._link("issued", year=year, tier=tier, kind=k) for k in KINDS}
                links["total"] = self._link("issued", year=year, tier=tier)
            rows.append(Row(cells, links))
        columns = [
            Column("year", _("Year")),
            Column("tier", _("Tier")),
            *(Column(k, label, numeric=True) for k, label in self._issue_kind_labels()),
            Column("total", _("Total"), numeric=True),
        ]
        total = self._total_row(rows, [*KINDS, "total"], "year")
        total.cells["tier"] = ""
        total.links = {k: self._link("issued", kind=k) for k in KINDS}
        total.links["total"] = self._link("issued")
        return ReportTable(
            "issued_by_year", _("Certificates issued per year"), columns, rows, total
        )

    @staticmethod
    def _issue_kind_labels() -> list[tuple[str, str]]:
        return [("issue", _("First issue")), ("renewal", _("Renewal")), ("reissue", _("Reissue"))]

    # Training volume and CE hours ---------------------------------------------------------

    def _in_home_district(self, stmt: sa.Select[Any], user_id: Any) -> sa.Select[Any]:
        """``stmt`` limited to people of the filters' district (theirs, else their
        employer's), ``user_id`` being the person's column."""
        if self.scope.district_id is None:
            return stmt
        return stmt.join(User, User.id == user_id).where(home_district() == self.scope.district_id)

    def _completions(
        self, what: str, model: Any, owner: Any, kind: Any, partner_owners: sa.Select[Any]
    ) -> sa.Select[Any]:
        """Completions per year of each track: counted per course or programme (``owner``)
        first, then added up per track of its ``kind`` (Course or Programme)."""
        stmt = self._per_year(sa.select(owner.label("owner")), model.completed_at)
        if self.scope.partner_id is not None:
            stmt = stmt.where(owner.in_(partner_owners))
        per_owner = self._in_home_district(stmt, model.user_id).group_by(owner).subquery()
        return (
            sa.select(
                sa.literal(what).label("what"),
                kind.track,
                *(sa.func.sum(per_owner.c[f"y{y}"]).label(f"y{y}") for y in self.years),
            )
            .join(kind, kind.id == per_owner.c.owner)
            .group_by(kind.track)
        )

    @cached_property
    def partner_code(self) -> str | None:
        """The code of the scope's partner (courses name their partner by code)."""
        return next((p.code for p in self.partners if p.id == self.scope.partner_id), None)

    def training_volume(self) -> ReportTable:
        code = self.partner_code
        partner_courses = sa.select(Course.id).where(Course.partner_code == code)
        partner_programmes = (
            sa.select(ProgrammeCourse.programme_id)
            .join(Course, Course.id == ProgrammeCourse.course_id)
            .where(Course.partner_code == code)
        )
        stmt = sa.union_all(
            self._completions(
                "course", CourseCompletion, CourseCompletion.course_id, Course, partner_courses
            ),
            self._completions(
                "programme",
                ProgrammeCompletion,
                ProgrammeCompletion.programme_id,
                Programme,
                partner_programmes,
            ),
        )
        counts: dict[tuple[int, str], dict[str, int]] = {}
        for row in db.session.execute(stmt):
            for year in self.years:
                if n := row._mapping[f"y{year}"]:
                    counts.setdefault((year, row.track), {})[row.what] = int(n)
        rows = []
        for (year, track), got in sorted(counts.items(), key=_year_then_track):
            cells = {
                "year": year,
                "track": Track(track).label if track in set(Track) else track,
                "course": got.get("course", 0),
                "programme": got.get("programme", 0),
            }
            links = {
                w: self._link("completions", track=track, year=year, what=w)
                for w in ("course", "programme")
            }
            rows.append(Row(cells, links))
        columns = [
            Column("year", _("Year")),
            Column("track", _("Track")),
            Column("course", _("Course completions"), numeric=True),
            Column("programme", _("Programme completions"), numeric=True),
        ]
        total = self._total_row(rows, ["course", "programme"], "year")
        total.cells["track"] = ""
        return ReportTable("training_volume", _("Training volume by track"), columns, rows, total)

    def ce_hours(self) -> ReportTable:
        stmt = sa.select(
            CeEntry.cycle,
            CeEntry.kind,
            sa.func.sum(CeEntry.hours).label("hours"),
            sa.func.count(sa.distinct(CeEntry.user_id)).label("people"),
        ).group_by(CeEntry.cycle, CeEntry.kind)
        if self.filters.year is not None:
            stmt = stmt.where(CeEntry.cycle == self.filters.year)
        if self.scope.partner_id is not None:
            stmt = stmt.join(Course, Course.id == CeEntry.course_id).where(
                Course.partner_code == self.partner_code
            )
        stmt = self._in_home_district(stmt, CeEntry.user_id)
        order = {str(k): i for i, k in enumerate(CeKind)}
        found = sorted(
            db.session.execute(stmt), key=lambda r: (-r.cycle, order.get(r.kind, len(order)))
        )
        rows = [
            Row(
                {
                    "year": r.cycle,
                    "kind": CeKind(r.kind).label if r.kind in set(CeKind) else r.kind,
                    "hours": Decimal(str(r.hours)),
                    "people": r.people,
                },
                {"hours": self._link("ce", year=r.cycle, kind=r.kind)},
            )
            for r in found
        ]
        columns = [
            Column("year", _("Year")),
            Column("kind", _("Kind")),
            Column("hours", _("CE hours"), numeric=True),
            Column("people", _("People"), numeric=True),
        ]
        total = self._total_row(rows, ["hours"], "year")
        total.cells |= {"kind": "", "people": None}
        return ReportTable("ce_hours", _("CE hours delivered per year"), columns, rows, total)

    # Expiring certificates ----------------------------------------------------------------

    def expiring(self) -> ReportTable:
        as_of = self.filters.as_of
        stmt = (
            sa.select(Certificate.type_id, sa.func.count().label("n"))
            .where(
                valid_on(as_of),
                Certificate.expires_on.between(as_of, as_of + timedelta(days=EXPIRY_DAYS)),
            )
            .group_by(Certificate.type_id)
        )
        stmt = self._scoped(stmt, Certificate.partner_id, Certificate.district_id)
        counts = dict(db.session.execute(stmt).tuples().all())
        rows = []
        for ctype in self.types.values():
            n = counts.get(ctype.id, 0)
            if n == 0 and ctype.tier is None:
                continue
            cells = {"programme": ctype.name, "tier": _tier_label(ctype.tier), "count": n}
            link = self._link("expiring", type=ctype.code, tier=ctype.tier)
            rows.append(Row(cells, {"count": link}))
        columns = [
            Column("programme", _("Programme")),
            Column("tier", _("Tier")),
            Column("count", _("Certificates"), numeric=True),
        ]
        total = self._total_row(rows, ["count"], "programme")
        total.cells["tier"] = ""
        total.links = {"count": self._link("expiring")}
        title = _("Certificates expiring within %(days)d days", days=EXPIRY_DAYS)
        return ReportTable("expiring", title, columns, rows, total)

    # Trend --------------------------------------------------------------------------------

    def _running(self, column: Any) -> dict[str, tuple[list[date], list[int]]]:
        """Per tier, the days up to ``as_of`` on which ``column`` of some periods falls, and
        the number of periods with ``column`` on or before each of those days."""
        stmt = (
            sa.select(TierPeriod.tier, column, sa.func.count())
            .where(column <= self.filters.as_of)
            .group_by(TierPeriod.tier, column)
            .order_by(TierPeriod.tier, column)
        )
        stmt = self._scoped(stmt, TierPeriod.partner_id, TierPeriod.district_id)
        out: dict[str, tuple[list[date], list[int]]] = {}
        for tier, day, n in db.session.execute(stmt):
            days, totals = out.setdefault(tier, ([], []))
            days.append(day)
            totals.append((totals[-1] if totals else 0) + n)
        return out

    @staticmethod
    def _up_to(running: tuple[list[date], list[int]] | None, day: date) -> int:
        if running is None:
            return 0
        index = bisect_right(running[0], day)
        return running[1][index - 1] if index else 0

    def trend(self) -> ReportTable:
        starts = self._running(TierPeriod.starts_on)
        ends = self._running(TierPeriod.ends_before)
        rows = []
        for day in trend_days(self.filters.as_of, self.filters.year):
            cells: dict[str, Any] = {"day": day}
            for tier in TIERS:
                began = self._up_to(starts.get(tier), day)
                cells[str(tier)] = began - self._up_to(ends.get(tier), day)
            links = {str(t): self._link("holders", tier=t, as_of=day.isoformat()) for t in TIERS}
            rows.append(Row(cells, links))
        columns = self._tier_columns(Column("day", _("Day")))
        return ReportTable("trend", _("People counted over time"), columns, rows)

    # All of them --------------------------------------------------------------------------

    def tables(self) -> list[ReportTable]:
        """Every table, in page order."""
        return [build(self) for build in BUILDERS.values()]


def _year_then_track(item: tuple[tuple[int, str], Any]) -> tuple[int, int]:
    (year, track), _counts = item
    order = {str(t): i for i, t in enumerate(TRACKS)}
    return -year, order.get(track, len(order))


#: Table key -> how a dashboard builds it, in page order.
BUILDERS: dict[str, Callable[[Dashboard], ReportTable]] = {
    "targets": Dashboard.targets_table,
    "issued_by_year": Dashboard.issued_by_year,
    "by_partner": Dashboard.by_partner,
    "by_district": Dashboard.by_district,
    "by_employer_kind": Dashboard.by_employer_kind,
    "by_programme": Dashboard.by_programme,
    "training_volume": Dashboard.training_volume,
    "ce_hours": Dashboard.ce_hours,
    "expiring": Dashboard.expiring,
    "trend": Dashboard.trend,
}


def _one_table(build: Callable[[Dashboard], ReportTable], filters: ReportFilters) -> ReportTable:
    return build(Dashboard(filters))


def dashboard_tables(filters: ReportFilters) -> list[ReportTable]:
    """Every dashboard table for the filters, in page order (one query of each kind)."""
    return Dashboard(filters).tables()


def _register() -> None:
    for key, build in BUILDERS.items():
        TABLES[key] = partial(_one_table, build)


_register()
