"""Consistency checks: the audit of the figures the reports count.

Each check is a count and a list of findings, both in SQL, for the report filters (the day
``as_of`` and the scope). The summary (:func:`summary`) runs every count in one statement of
scalar subqueries, so the page costs the same whatever the size of the database. A check's
severity says what a finding means: an *error* is data the application should never have
written, a *warning* something a person should review, *information* a figure worth knowing
that is correct as it is.

Days are UTC days, as in :func:`lms.certificates.models.valid_on` and the tier periods:
timestamps are stored as naive UTC, so the SQL ``date()`` of one is its UTC day on both
databases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from lms.auth.models import User
from lms.certificates.models import Certificate, CertificateType, valid_on
from lms.extensions import db
from lms.learning.models import Tier
from lms.reports.filters import ReportFilters
from lms.reports.models import TierPeriod
from lms.reports.periods import counted_on
from lms.reports.targets import Scope


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"

    @property
    def label(self) -> str:
        return str(SEVERITY_LABELS[self])


SEVERITY_LABELS = {
    Severity.ERROR: _l("Error"),
    Severity.WARNING: _l("Warning"),
    Severity.INFORMATION: _l("Information"),
}

#: What is wrong with a counted period (the ``problem`` column of ``revoked_counted``).
PROBLEM_LABELS = {
    "after_end": _l("Counted after the certificate was revoked or superseded"),
    "not_counted": _l("Holds a valid certificate but is not counted"),
    "not_valid": _l("Counted without a valid certificate"),
}

#: How the people of a ``duplicate_people`` group match.
MATCH_LABELS = {"phone": _l("Same name and phone"), "email": _l("Same name and email")}


@dataclass(frozen=True)
class Field:
    """A column of a check's findings. ``kind`` says how to show ``row[key]``: ``person`` and
    ``certificate`` link to the page of the id in ``row[key + "_id"]``; ``tier``,
    ``problem`` and ``match`` are codes shown by their labels; ``date``, ``datetime``,
    ``days``, ``flag`` (an error mark when true) and ``people`` (a group's members) as such."""

    key: str
    label: Any
    kind: str = "text"


@dataclass(frozen=True)
class Check:
    """One consistency check: ``count`` and ``findings`` build the SQL for the filters;
    ``errors`` (if any) counts the findings that are errors in a check that is otherwise a
    warning; ``expand`` completes a page of findings (one query for the whole page)."""

    name: str
    title: Any
    explanation: Any
    severity: Severity
    fields: tuple[Field, ...]
    count: Callable[[ReportFilters], sa.Select[Any]]
    findings: Callable[[ReportFilters], sa.Select[Any]]
    errors: Callable[[ReportFilters], sa.Select[Any]] | None = None
    expand: Callable[[ReportFilters, Sequence[Any]], list[dict[str, Any]]] | None = None


@dataclass(frozen=True)
class Result:
    """A check's figures for the summary: ``severity`` is the check's, raised to an error
    when some findings are errors."""

    check: Check
    count: int
    errors: int | None

    @property
    def severity(self) -> Severity:
        return Severity.ERROR if self.errors else self.check.severity


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def _certificate_scope(scope: Scope) -> list[sa.ColumnElement[bool]]:
    out = []
    if scope.partner_id is not None:
        out.append(Certificate.partner_id == scope.partner_id)
    if scope.district_id is not None:
        out.append(Certificate.district_id == scope.district_id)
    return out


def _period_scope(scope: Scope) -> list[sa.ColumnElement[bool]]:
    out = []
    if scope.partner_id is not None:
        out.append(TierPeriod.partner_id == scope.partner_id)
    if scope.district_id is not None:
        out.append(TierPeriod.district_id == scope.district_id)
    return out


def _count(rows: sa.Select[Any]) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(rows.subquery())


def _holder_and_certificate(source: Any) -> sa.Select[Any]:
    """The person and certificate of each row of ``source`` (columns ``holder_id`` and
    ``certificate_id``), named for :class:`Field` kinds ``person`` and ``certificate``."""
    return (
        sa.select(
            User.id.label("holder_id"),
            User.name.label("holder"),
            Certificate.id.label("certificate_id"),
            Certificate.serial.label("certificate"),
        )
        .select_from(source)
        .join(User, User.id == source.c.holder_id)
        .outerjoin(Certificate, Certificate.id == source.c.certificate_id)
    )


# 1. Certificates without completion evidence ------------------------------------------------

_NO_REASON = sa.func.coalesce(sa.func.trim(Certificate.override_reason), "") == ""


def _no_evidence_where(filters: ReportFilters) -> list[sa.ColumnElement[bool]]:
    return [
        Certificate.completion_id.is_(None),
        Certificate.issued_at <= _end_of(filters.as_of),
        *_certificate_scope(filters.scope),
    ]


def _unexplained() -> sa.ColumnElement[bool]:
    """A first issue without evidence or reason: the issuing service refuses it, so such a
    certificate was written around it. Renewals and reissues need no evidence of their own."""
    return sa.and_(_NO_REASON, Certificate.kind == "issue")


def _no_evidence_count(filters: ReportFilters) -> sa.Select[Any]:
    return sa.select(sa.func.count()).where(*_no_evidence_where(filters))


def _no_evidence_errors(filters: ReportFilters) -> sa.Select[Any]:
    return sa.select(sa.func.count()).where(*_no_evidence_where(filters), _unexplained())


def _no_evidence_findings(filters: ReportFilters) -> sa.Select[Any]:
    issuer = aliased(User)
    unexplained = _unexplained()
    return (
        sa.select(
            Certificate.id.label("certificate_id"),
            Certificate.serial.label("certificate"),
            User.id.label("holder_id"),
            User.name.label("holder"),
            Certificate.override_reason.label("reason"),
            issuer.id.label("issued_by_id"),
            issuer.name.label("issued_by"),
            Certificate.issued_at,
            sa.case((unexplained, 1), else_=0).label("error"),
        )
        .join(User, User.id == Certificate.holder_id)
        .outerjoin(issuer, issuer.id == Certificate.issued_by_id)
        .where(*_no_evidence_where(filters))
        .order_by(sa.case((unexplained, 0), else_=1), Certificate.issued_at.desc(), Certificate.id)
    )


# 2. People counted in both tiers -------------------------------------------------------------


def _counted(tier: str, filters: ReportFilters) -> sa.Subquery:
    return (
        sa.select(TierPeriod.holder_id, TierPeriod.certificate_id)
        .where(TierPeriod.tier == tier, counted_on(filters.as_of), *_period_scope(filters.scope))
        .subquery(tier)
    )


def _both_tiers_findings(filters: ReportFilters) -> sa.Select[Any]:
    talent = _counted(Tier.TALENT_POOL, filters)
    lead = _counted(Tier.LEAD_TRAINER, filters)
    lead_certificate = aliased(Certificate)
    return (
        sa.select(
            User.id.label("holder_id"),
            User.name.label("holder"),
            Certificate.id.label("talent_id"),
            Certificate.serial.label("talent"),
            lead_certificate.id.label("lead_id"),
            lead_certificate.serial.label("lead"),
        )
        .select_from(talent)
        .join(lead, lead.c.holder_id == talent.c.holder_id)
        .join(User, User.id == talent.c.holder_id)
        .join(Certificate, Certificate.id == talent.c.certificate_id)
        .join(lead_certificate, lead_certificate.id == lead.c.certificate_id)
        .order_by(User.name, User.id)
    )


def _both_tiers_count(filters: ReportFilters) -> sa.Select[Any]:
    talent = _counted(Tier.TALENT_POOL, filters)
    lead = _counted(Tier.LEAD_TRAINER, filters)
    return (
        sa.select(sa.func.count())
        .select_from(talent)
        .join(lead, lead.c.holder_id == talent.c.holder_id)
    )


# 3. Revoked or superseded certificates still counted, and the reconciliation ----------------


def _problem(code: str) -> sa.ColumnElement[str]:
    return sa.literal_column(f"'{code}'", sa.String).label("problem")


def _counted_after(moment: Any) -> sa.ColumnElement[bool]:
    """The period goes on past the UTC day of ``moment`` (its certificate's end)."""
    return sa.and_(
        moment.is_not(None),
        sa.or_(TierPeriod.ends_before.is_(None), TierPeriod.ends_before > sa.func.date(moment)),
    )


def _live(filters: ReportFilters) -> sa.Subquery:
    """The live rule: per person and tier, the most recently issued certificate valid on
    ``as_of`` (``rank`` 1), which is the one they should be counted under."""
    rank = sa.func.row_number().over(
        partition_by=(Certificate.holder_id, CertificateType.tier),
        order_by=(Certificate.issued_at.desc(), Certificate.id.desc()),
    )
    return (
        sa.select(
            Certificate.holder_id,
            CertificateType.tier,
            Certificate.id.label("certificate_id"),
            Certificate.partner_id,
            Certificate.district_id,
            rank.label("rank"),
        )
        .join(CertificateType, CertificateType.id == Certificate.type_id)
        .where(CertificateType.tier.is_not(None), valid_on(filters.as_of))
        .subquery("live")
    )


def _live_in_scope(live: sa.Subquery, scope: Scope) -> list[sa.ColumnElement[bool]]:
    out = [live.c.rank == 1]
    if scope.partner_id is not None:
        out.append(live.c.partner_id == scope.partner_id)
    if scope.district_id is not None:
        out.append(live.c.district_id == scope.district_id)
    return out


def _revoked_counted_rows(filters: ReportFilters) -> sa.Subquery:
    """(problem, holder_id, tier, certificate_id): periods running past their certificate's
    revocation or supersession (any day), then the people the live rule and the periods
    disagree on for ``as_of``."""
    scope, as_of = filters.scope, filters.as_of
    after_end = (
        sa.select(
            _problem("after_end"),
            TierPeriod.holder_id,
            TierPeriod.tier,
            TierPeriod.certificate_id,
        )
        .join(Certificate, Certificate.id == TierPeriod.certificate_id)
        .where(
            sa.or_(
                _counted_after(Certificate.revoked_at), _counted_after(Certificate.superseded_at)
            ),
            *_period_scope(scope),
        )
    )
    live = _live(filters)
    not_counted = sa.select(
        _problem("not_counted"), live.c.holder_id, live.c.tier, live.c.certificate_id
    ).where(
        *_live_in_scope(live, scope),
        ~sa.exists().where(
            TierPeriod.holder_id == live.c.holder_id,
            TierPeriod.tier == live.c.tier,
            counted_on(as_of),
            *_period_scope(scope),
        ),
    )
    live_again = _live(filters)
    not_valid = sa.select(
        _problem("not_valid"), TierPeriod.holder_id, TierPeriod.tier, TierPeriod.certificate_id
    ).where(
        counted_on(as_of),
        *_period_scope(scope),
        ~sa.exists()
        .select_from(live_again)
        .where(
            live_again.c.holder_id == TierPeriod.holder_id,
            live_again.c.tier == TierPeriod.tier,
            *_live_in_scope(live_again, scope),
        ),
    )
    return sa.union_all(after_end, not_counted, not_valid).subquery("wrong")


def _revoked_counted_count(filters: ReportFilters) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(_revoked_counted_rows(filters))


def _revoked_counted_findings(filters: ReportFilters) -> sa.Select[Any]:
    rows = _revoked_counted_rows(filters)
    return (
        _holder_and_certificate(rows)
        .add_columns(rows.c.problem, rows.c.tier)
        .order_by(rows.c.problem, User.name, User.id, rows.c.tier)
    )


# 4. Duplicate people -------------------------------------------------------------------------


def _name_key() -> sa.ColumnElement[str]:
    return sa.func.lower(sa.func.trim(User.name))


def _match_keys() -> dict[str, sa.ColumnElement[str]]:
    """What else the people of a group share, by ``match``."""
    return {"phone": sa.func.trim(User.phone), "email": sa.func.lower(sa.func.trim(User.email))}


def _people_in_scope(scope: Scope) -> list[sa.ColumnElement[bool]]:
    """Everyone for the city; for a partner or district, the people holding one of its
    certificates."""
    where = _certificate_scope(scope)
    if not where:
        return []
    return [sa.exists().where(Certificate.holder_id == User.id, *where)]


def _duplicate_groups(filters: ReportFilters) -> sa.Subquery:
    """(match, name_key, value, people): the groups of two or more people with the same name
    (case blind) and the same phone, or the same name and email (case blind)."""
    selects = []
    name_key = _name_key()
    for match, key in _match_keys().items():
        selects.append(
            sa.select(
                sa.literal_column(f"'{match}'", sa.String).label("match"),
                name_key.label("name_key"),
                key.label("value"),
                sa.func.count().label("people"),
            )
            .where(
                sa.func.coalesce(key, "") != "",
                *_people_in_scope(filters.scope),
            )
            .group_by(name_key, key)
            .having(sa.func.count() > 1)
        )
    return sa.union_all(*selects).subquery("groups")


def _duplicates_count(filters: ReportFilters) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(_duplicate_groups(filters))


def _duplicates_findings(filters: ReportFilters) -> sa.Select[Any]:
    groups = _duplicate_groups(filters)
    return sa.select(groups).order_by(groups.c.name_key, groups.c.match, groups.c.value)


def _duplicate_members(filters: ReportFilters, groups: Sequence[Any]) -> list[dict[str, Any]]:
    """The page's groups with their people (``members``: id and name), in one query."""
    if not groups:
        return []
    name_key, keys = _name_key(), _match_keys()
    matches = [sa.and_(name_key == g.name_key, keys[g.match] == g.value) for g in groups]
    people = db.session.execute(
        sa.select(
            User.id,
            User.name,
            name_key.label("name_key"),
            *(key.label(match) for match, key in keys.items()),
        )
        .where(sa.or_(*matches), *_people_in_scope(filters.scope))
        .order_by(User.id)
    ).all()
    out = []
    for group in groups:
        members = [
            {"id": p.id, "name": p.name}
            for p in people
            if p.name_key == group.name_key and getattr(p, group.match) == group.value
        ]
        out.append(group._asdict() | {"members": members})
    return out


# 5. Expired and not renewed ------------------------------------------------------------------


def _lapsed(filters: ReportFilters) -> sa.Subquery:
    """Per person and tier, their latest certificate that ran out (not revoked or superseded
    by ``as_of``) before ``as_of``, when nothing counts them in that tier on ``as_of``."""
    end = _end_of(filters.as_of)
    rank = sa.func.row_number().over(
        partition_by=(Certificate.holder_id, CertificateType.tier),
        order_by=(Certificate.expires_on.desc(), Certificate.id.desc()),
    )
    ranked = (
        sa.select(
            Certificate.holder_id,
            Certificate.id.label("certificate_id"),
            CertificateType.tier,
            Certificate.expires_on,
            rank.label("rank"),
        )
        .join(CertificateType, CertificateType.id == Certificate.type_id)
        .where(
            CertificateType.tier.is_not(None),
            Certificate.expires_on < filters.as_of,
            sa.or_(Certificate.revoked_at.is_(None), Certificate.revoked_at > end),
            sa.or_(Certificate.superseded_at.is_(None), Certificate.superseded_at > end),
            *_certificate_scope(filters.scope),
        )
        .subquery("ranked")
    )
    return (
        sa.select(ranked)
        .where(
            ranked.c.rank == 1,
            ~sa.exists().where(
                TierPeriod.holder_id == ranked.c.holder_id,
                TierPeriod.tier == ranked.c.tier,
                counted_on(filters.as_of),
            ),
        )
        .subquery("lapsed")
    )


def _expired_count(filters: ReportFilters) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(_lapsed(filters))


def _expired_findings(filters: ReportFilters) -> sa.Select[Any]:
    lapsed = _lapsed(filters)
    return (
        _holder_and_certificate(lapsed)
        .add_columns(lapsed.c.tier, lapsed.c.expires_on)
        .order_by(lapsed.c.expires_on.desc(), User.name, User.id)
    )


def _days_since_expiry(filters: ReportFilters, rows: Sequence[Any]) -> list[dict[str, Any]]:
    return [r._asdict() | {"days": (filters.as_of - r.expires_on).days} for r in rows]


# 6. Lead trainers without the talent pool ----------------------------------------------------


def _lead_only(filters: ReportFilters) -> sa.Select[Any]:
    talent = aliased(TierPeriod)
    return sa.select(
        TierPeriod.holder_id.label("holder_id"), TierPeriod.certificate_id.label("certificate_id")
    ).where(
        TierPeriod.tier == Tier.LEAD_TRAINER,
        counted_on(filters.as_of),
        *_period_scope(filters.scope),
        ~sa.exists().where(
            talent.holder_id == TierPeriod.holder_id,
            talent.tier == Tier.TALENT_POOL,
            talent.starts_on <= filters.as_of,
            sa.or_(talent.ends_before.is_(None), talent.ends_before > filters.as_of),
        ),
    )


def _lead_only_findings(filters: ReportFilters) -> sa.Select[Any]:
    return _holder_and_certificate(_lead_only(filters).subquery("lead_only")).order_by(
        User.name, User.id
    )


# The registry --------------------------------------------------------------------------------

_HOLDER = Field("holder", _l("Person"), "person")
_CERTIFICATE = Field("certificate", _l("Certificate"), "certificate")

CHECKS: dict[str, Check] = {
    check.name: check
    for check in (
        Check(
            name="no_evidence",
            title=_l("Certificates issued without completion evidence"),
            explanation=_l(
                "Certificates issued by exception, with the reason given and who issued them. "
                "A first issue with neither evidence nor reason is an error: the application "
                "refuses it, so it was written around it. Renewals and reissues carry the "
                "reason of the certificate they replace."
            ),
            severity=Severity.WARNING,
            fields=(
                _CERTIFICATE,
                _HOLDER,
                Field("reason", _l("Reason given")),
                Field("issued_by", _l("Issued by"), "person"),
                Field("issued_at", _l("Issued"), "datetime"),
                Field("error", _l("No reason"), "flag"),
            ),
            count=_no_evidence_count,
            errors=_no_evidence_errors,
            findings=_no_evidence_findings,
        ),
        Check(
            name="both_tiers",
            title=_l("People counted in both tiers"),
            explanation=_l(
                "Shown, not an error: lead trainers usually come from the talent pool, and "
                "each tier counts people independently."
            ),
            severity=Severity.INFORMATION,
            fields=(
                _HOLDER,
                Field("talent", _l("Talent pool certificate"), "certificate"),
                Field("lead", _l("Lead trainer certificate"), "certificate"),
            ),
            count=_both_tiers_count,
            findings=_both_tiers_findings,
        ),
        Check(
            name="revoked_counted",
            title=_l("Revoked or superseded certificates still counted"),
            explanation=_l(
                "Counted periods that go on after their certificate was revoked or "
                "superseded, and the people the figures and the validity rule disagree on "
                "for the day chosen. There should be none."
            ),
            severity=Severity.ERROR,
            fields=(
                _HOLDER,
                Field("tier", _l("Tier"), "tier"),
                _CERTIFICATE,
                Field("problem", _l("Problem"), "problem"),
            ),
            count=_revoked_counted_count,
            findings=_revoked_counted_findings,
        ),
        Check(
            name="duplicate_people",
            title=_l("Possible duplicate people"),
            explanation=_l(
                "People with the same name and the same phone, or the same name and the same "
                "email (ignoring case). A person recorded twice may be counted twice."
            ),
            severity=Severity.WARNING,
            fields=(
                Field("match", _l("Match"), "match"),
                Field("value", _l("Phone or email")),
                Field("members", _l("People"), "people"),
            ),
            count=_duplicates_count,
            findings=_duplicates_findings,
            expand=_duplicate_members,
        ),
        Check(
            name="expired_not_renewed",
            title=_l("Expired and not renewed"),
            explanation=_l(
                "People whose certificate of a tier expired and who hold no valid certificate "
                "of that tier on the day chosen."
            ),
            severity=Severity.WARNING,
            fields=(
                _HOLDER,
                Field("tier", _l("Tier"), "tier"),
                _CERTIFICATE,
                Field("expires_on", _l("Expired on"), "date"),
                Field("days", _l("Days since"), "days"),
            ),
            count=_expired_count,
            findings=_expired_findings,
            expand=_days_since_expiry,
        ),
        Check(
            name="lead_without_talent",
            title=_l("Lead trainers not counted in the talent pool"),
            explanation=_l(
                "Shown, not an error: lead trainers counted on the day chosen who are not "
                "counted in the talent pool that day."
            ),
            severity=Severity.INFORMATION,
            fields=(_HOLDER, _CERTIFICATE),
            count=lambda filters: _count(_lead_only(filters)),
            findings=_lead_only_findings,
        ),
    )
}


def summary(filters: ReportFilters) -> list[Result]:
    """Every check's count (and error count), in one statement."""
    columns = []
    for check in CHECKS.values():
        columns.append(check.count(filters).scalar_subquery().label(check.name))
        if check.errors is not None:
            columns.append(check.errors(filters).scalar_subquery().label(f"{check.name}_errors"))
    row: Mapping[str, Any] = db.session.execute(sa.select(*columns)).mappings().one()
    return [
        Result(
            check,
            int(row[check.name]),
            int(row[f"{check.name}_errors"]) if check.errors is not None else None,
        )
        for check in CHECKS.values()
    ]


def findings_rows(
    check: Check, filters: ReportFilters, rows: Sequence[Any]
) -> list[dict[str, Any]]:
    """A page of findings as dicts, completed by the check's ``expand`` if any."""
    if check.expand is not None:
        return check.expand(filters, rows)
    return [row._asdict() for row in rows]
