"""The drill-down lists: the people and certificates behind each number of the dashboard.

Each list is a :class:`~lms.reports.tables.ListSpec` registered in
:data:`~lms.reports.tables.LISTS` (the page, :mod:`lms.reports.list_views`, and the exports find
them there). A list's statement applies the filters' scope and day and the list's own
arguments, and selects every column as a plain display value (names in the page language,
labels translated, dates as dates) plus the ids the page needs for its links, so that a page
and its export show the same rows from one query.

Where a list is scoped:

- ``holders``: by the tier period (the partner and district of the counting certificate), the
  rule the dashboard counts by, so the list has exactly as many rows as the number behind it;
- ``issued`` and ``expiring``: by the certificate's partner and district (recorded at issue);
- ``completions`` and ``ce``: by the person's district, and by the partner delivering the
  course (its ``partner_code``) or the programme (that of its first course with a partner, as
  printed on its certificates); external CE entries have no partner.

Sorting (``?sort=``) orders by the output column of that name, so a list sorts by what it
shows; the row ids come last, so that pages never shuffle rows of equal values.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from lms.auth.models import User
from lms.catalog.models import Course
from lms.catalog.models.course import TRACK_LABELS, Track
from lms.certificates.models import Certificate, CertificateType, IssueKind, Status, valid_on
from lms.certificates.models.certificate import STATUS_LABELS
from lms.extensions import db
from lms.i18n import locale_code
from lms.learning.models import CourseCompletion, Programme, ProgrammeCompletion, Tier
from lms.learning.models.ce import CE_KIND_LABELS, CeEntry, CeKind
from lms.learning.models.programme import TIER_LABELS, ProgrammeCourse
from lms.orgs.models import ORG_KIND_LABELS, District, Organisation, OrgKind
from lms.reports.filters import ReportFilters
from lms.reports.models import TierPeriod
from lms.reports.periods import counted_on
from lms.reports.scope import home_district
from lms.reports.tables import LISTS, Column, ListSpec
from lms.validation import ValidationError

#: How far ahead the ``expiring`` list looks from its day.
EXPIRING_DAYS = 90

#: The lists whose rows depend on the filters' day (the others go by year).
DATED = frozenset({"holders", "issued", "expiring"})

KIND_LABELS = {
    IssueKind.ISSUE: _l("First issue"),
    IssueKind.RENEWAL: _l("Renewal"),
    IssueKind.REISSUE: _l("Reissue"),
}

WHAT_LABELS = {"course": _l("Course"), "programme": _l("Programme")}

Employer = aliased(Organisation, name="employer")
Partner = aliased(Organisation, name="partner")
Recorder = aliased(User, name="recorder")


# Display values in SQL -------------------------------------------------------------------------


def _shown(chinese: Any, english: Any) -> sa.ColumnElement[str]:
    """A name in the page's language: the English one in English pages when there is one."""
    if not locale_code().startswith("en"):
        return chinese
    return sa.case((sa.func.coalesce(english, "") != "", english), else_=chinese)


def _labelled(column: Any, labels: Mapping[str, Any]) -> sa.ColumnElement[str]:
    """The translated label of a stored code (the code itself when it has none)."""
    whens = {str(code): str(label) for code, label in labels.items()}
    return sa.case(whens, value=column, else_=column)


def _day(moment: Any) -> sa.ColumnElement[date]:
    """The (UTC) day of a timestamp, as a date on both databases."""
    return sa.type_coerce(sa.func.date(moment), sa.Date)


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def _year_span(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def status_label_on(day: date) -> sa.ColumnElement[str]:
    """The label of the certificate's status on ``day``: the rule of
    :meth:`Certificate.status_on` in SQL."""
    end = _end_of(day)
    values = {status: str(STATUS_LABELS[status]) for status in Status}
    return sa.case(
        (
            sa.and_(Certificate.revoked_at.is_not(None), Certificate.revoked_at <= end),
            values[Status.REVOKED],
        ),
        (
            sa.and_(Certificate.superseded_at.is_not(None), Certificate.superseded_at <= end),
            values[Status.SUPERSEDED],
        ),
        (
            sa.and_(Certificate.expires_on.is_not(None), Certificate.expires_on < day),
            values[Status.EXPIRED],
        ),
        else_=values[Status.VALID],
    )


def _days_until(column: Any, day: date) -> sa.ColumnElement[int]:
    """Whole days from ``day`` to the date in ``column``."""
    if db.session.get_bind().dialect.name == "sqlite":
        return sa.cast(sa.func.julianday(column) - sa.func.julianday(day.isoformat()), sa.Integer)
    return sa.type_coerce(column - sa.literal(day, sa.Date), sa.Integer)


def _programme_partner() -> sa.ScalarSelect[str]:
    """The code of the partner delivering a completed programme: that of its first course
    with a partner (:func:`lms.certificates.issuing.programme_partner`)."""
    return (
        sa.select(Organisation.code)
        .select_from(ProgrammeCourse)
        .join(Course, Course.id == ProgrammeCourse.course_id)
        .join(Organisation, Organisation.code == Course.partner_code)
        .where(ProgrammeCourse.programme_id == ProgrammeCompletion.programme_id)
        .order_by(ProgrammeCourse.position, Course.id)
        .limit(1)
        .correlate(ProgrammeCompletion)
        .scalar_subquery()
    )


# Checking arguments ------------------------------------------------------------------------------


def _choice(params: Mapping[str, str], argument: str, allowed: Collection[str]) -> None:
    value = params.get(argument)
    if value and value not in allowed:
        raise ValidationError(
            {
                argument: _(
                    "%(argument)s must be one of %(choices)s, not %(value)s.",
                    argument=argument,
                    choices=", ".join(allowed),
                    value=value,
                )
            }
        )


def _required(params: Mapping[str, str], argument: str) -> None:
    if not params.get(argument):
        raise ValidationError({argument: _("%(argument)s is required.", argument=argument)})


def _serial_code(params: Mapping[str, str]) -> None:
    code = params.get("type")
    if code and not db.session.scalar(
        sa.select(sa.exists().where(CertificateType.serial_code == code))
    ):
        raise ValidationError(
            {"type": _("No certificate type has the serial code %(code)s.", code=code)}
        )


def _year(params: Mapping[str, str]) -> None:
    text = params.get("year")
    if text and not (text.isascii() and text.isdigit() and len(text) == 4):
        raise ValidationError({"year": _("Give the year as four digits.")})


def _checks(*steps: Callable[[Mapping[str, str]], None]) -> Callable[[Mapping[str, str]], None]:
    def check(params: Mapping[str, str]) -> None:
        for step in steps:
            step(params)

    return check


def _tier(params: Mapping[str, str]) -> None:
    _choice(params, "tier", [t.value for t in Tier])


# Scope -------------------------------------------------------------------------------------------


def _scoped(stmt: sa.Select[Any], filters: ReportFilters, partner: Any, district: Any) -> Any:
    """Limit to the filters' partner (by id) and district (by id)."""
    if filters.scope.partner_id is not None:
        stmt = stmt.where(partner == filters.scope.partner_id)
    if filters.scope.district_id is not None:
        stmt = stmt.where(district == filters.scope.district_id)
    return stmt


def _person_scoped(stmt: sa.Select[Any], filters: ReportFilters, partner_code: Any) -> Any:
    """Limit to the people of the filters' district (theirs, else their employer's), and to
    what the partner delivered."""
    if filters.partner_code is not None:
        stmt = stmt.where(partner_code == filters.partner_code)
    if filters.scope.district_id is not None:
        stmt = stmt.where(home_district() == filters.scope.district_id)
    return stmt


def _sorts(*keys: str) -> Callable[[], Mapping[str, Any]]:
    """Sort by the output columns of these names."""
    return lambda: {key: sa.column(key) for key in keys}


# holders -----------------------------------------------------------------------------------------


def _holders_title(params: Mapping[str, str]) -> str:
    tier = params.get("tier")
    label = TIER_LABELS[Tier(tier)] if tier in set(Tier) else tier
    return _("%(tier)s: people counted", tier=label)


def _holders_columns() -> list[Column]:
    return [
        Column("name", _("Person")),
        Column("district", _("District")),
        Column("employer", _("Employer")),
        Column("serial", _("Certificate")),
        Column("type", _("Certificate type")),
        Column("partner", _("University partner")),
        Column("issued_on", _("Issued on")),
        Column("expires_on", _("Expires on")),
        Column("evidence", _("Completion evidence")),
        Column("override_reason", _("Override reason")),
        Column("ce_hours", _("CE hours this year"), numeric=True),
    ]


def _holders(filters: ReportFilters, params: Mapping[str, str]) -> sa.Select[Any]:
    """The people counted in the tier on the day, each under their counting certificate;
    the partner and district asked for are the filters' (the list's own ``partner`` and
    ``district`` arguments are the same query arguments)."""
    ce_hours = (
        sa.select(sa.func.coalesce(sa.func.sum(CeEntry.hours), 0))
        .where(CeEntry.user_id == TierPeriod.holder_id, CeEntry.cycle == filters.as_of.year)
        .correlate(TierPeriod)
        .scalar_subquery()
    )
    evidence = sa.case(
        (Certificate.completion_id.is_not(None), _("Programme completion")), else_=_("Override")
    )
    stmt = (
        sa.select(
            TierPeriod.id.label("id"),
            User.id.label("person_id"),
            User.name.label("name"),
            _shown(District.name, District.name_en).label("district"),
            _shown(Employer.name, Employer.name_en).label("employer"),
            Certificate.id.label("certificate_id"),
            Certificate.serial.label("serial"),
            _shown(CertificateType.title, CertificateType.title_en).label("type"),
            _shown(Partner.name, Partner.name_en).label("partner"),
            Certificate.valid_from.label("issued_on"),
            Certificate.expires_on.label("expires_on"),
            Certificate.completion_id.label("completion_id"),
            evidence.label("evidence"),
            Certificate.override_reason.label("override_reason"),
            ce_hours.label("ce_hours"),
        )
        .select_from(TierPeriod)
        .join(User, User.id == TierPeriod.holder_id)
        .join(Certificate, Certificate.id == TierPeriod.certificate_id)
        .join(CertificateType, CertificateType.id == TierPeriod.type_id)
        .outerjoin(District, District.id == TierPeriod.district_id)
        .outerjoin(Employer, Employer.id == User.employer_id)
        .outerjoin(Partner, Partner.id == TierPeriod.partner_id)
        .where(TierPeriod.tier == params["tier"], counted_on(filters.as_of))
        .order_by(User.name, TierPeriod.id)
    )
    if params.get("employer_kind"):
        stmt = stmt.where(TierPeriod.employer_kind == params["employer_kind"])
    if params.get("type"):
        stmt = stmt.where(CertificateType.serial_code == params["type"])
    return _scoped(stmt, filters, TierPeriod.partner_id, TierPeriod.district_id)


LISTS["holders"] = ListSpec(
    name="holders",
    title=_holders_title,
    columns=_holders_columns,
    statement=_holders,
    params=("tier", "partner", "district", "employer_kind", "type"),
    sorts=_sorts(
        "name",
        "district",
        "employer",
        "serial",
        "type",
        "partner",
        "issued_on",
        "expires_on",
        "ce_hours",
    ),
    check=_checks(
        lambda p: _required(p, "tier"),
        _tier,
        lambda p: _choice(p, "employer_kind", [k.value for k in OrgKind]),
        _serial_code,
    ),
)


# issued ------------------------------------------------------------------------------------------


def _issued_title(params: Mapping[str, str]) -> str:
    if params.get("year"):
        return _("Certificates issued in %(year)s", year=params["year"])
    return _("Certificates issued")


def _issued_columns() -> list[Column]:
    return [
        Column("serial", _("Certificate")),
        Column("holder", _("Holder")),
        Column("type", _("Certificate type")),
        Column("kind", _("Kind")),
        Column("issued_on", _("Issued on")),
        Column("status", _("Status on the day")),
        Column("partner", _("University partner")),
        Column("district", _("District")),
    ]


def _certificates(filters: ReportFilters, params: Mapping[str, str]) -> sa.Select[Any]:
    """What the certificate lists share: the certificate, its type and its holder, limited
    to the type and tier asked and the filters' scope."""
    stmt = (
        sa.select(
            Certificate.id.label("id"),
            Certificate.id.label("certificate_id"),
            Certificate.serial.label("serial"),
            User.id.label("person_id"),
            User.name.label("holder"),
            _shown(CertificateType.title, CertificateType.title_en).label("type"),
        )
        .select_from(Certificate)
        .join(User, User.id == Certificate.holder_id)
        .join(CertificateType, CertificateType.id == Certificate.type_id)
    )
    if params.get("type"):
        stmt = stmt.where(CertificateType.serial_code == params["type"])
    if params.get("tier"):
        stmt = stmt.where(CertificateType.tier == params["tier"])
    return _scoped(stmt, filters, Certificate.partner_id, Certificate.district_id)


def _issued(filters: ReportFilters, params: Mapping[str, str]) -> sa.Select[Any]:
    """Certificates issued in the year (every year without one), newest first."""
    stmt = (
        _certificates(filters, params)
        .add_columns(
            _labelled(Certificate.kind, KIND_LABELS).label("kind"),
            Certificate.valid_from.label("issued_on"),
            status_label_on(filters.as_of).label("status"),
            _shown(Partner.name, Partner.name_en).label("partner"),
            _shown(District.name, District.name_en).label("district"),
        )
        .outerjoin(Partner, Partner.id == Certificate.partner_id)
        .outerjoin(District, District.id == Certificate.district_id)
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    )
    if params.get("year"):
        start, end = _year_span(int(params["year"]))
        stmt = stmt.where(Certificate.issued_at >= start, Certificate.issued_at < end)
    if params.get("kind"):
        stmt = stmt.where(Certificate.kind == params["kind"])
    return stmt


LISTS["issued"] = ListSpec(
    name="issued",
    title=_issued_title,
    columns=_issued_columns,
    statement=_issued,
    params=("year", "type", "kind", "tier"),
    sorts=_sorts("serial", "holder", "type", "kind", "issued_on", "status", "partner", "district"),
    check=_checks(
        _year, _serial_code, lambda p: _choice(p, "kind", [k.value for k in IssueKind]), _tier
    ),
)


# expiring ----------------------------------------------------------------------------------------


def _expiring_title(params: Mapping[str, str]) -> str:
    return _("Certificates expiring within %(days)d days", days=EXPIRING_DAYS)


def _expiring_columns() -> list[Column]:
    return [
        Column("serial", _("Certificate")),
        Column("holder", _("Holder")),
        Column("type", _("Certificate type")),
        Column("expires_on", _("Expires on")),
        Column("days_left", _("Days left"), numeric=True),
        Column("email", _("Email")),
        Column("phone", _("Phone")),
    ]


def _expiring(filters: ReportFilters, params: Mapping[str, str]) -> sa.Select[Any]:
    """Certificates valid on the day that expire within :data:`EXPIRING_DAYS` after it,
    soonest first."""
    day = filters.as_of
    return (
        _certificates(filters, params)
        .add_columns(
            Certificate.expires_on.label("expires_on"),
            _days_until(Certificate.expires_on, day).label("days_left"),
            User.email.label("email"),
            User.phone.label("phone"),
        )
        .where(
            valid_on(day),
            Certificate.expires_on.between(day, day + timedelta(days=EXPIRING_DAYS)),
        )
        .order_by(Certificate.expires_on, Certificate.id)
    )


LISTS["expiring"] = ListSpec(
    name="expiring",
    title=_expiring_title,
    columns=_expiring_columns,
    statement=_expiring,
    params=("tier", "type"),
    sorts=_sorts("serial", "holder", "type", "expires_on", "days_left"),
    check=_checks(_tier, _serial_code),
)


# completions -------------------------------------------------------------------------------------


def _completions_title(params: Mapping[str, str]) -> str:
    if params.get("year"):
        return _("Completions in %(year)s", year=params["year"])
    return _("Completions")


def _completions_columns() -> list[Column]:
    return [
        Column("name", _("Person")),
        Column("what", _("Completed")),
        Column("title", _("Course or programme")),
        Column("track", _("Track")),
        Column("completed_on", _("Completed on")),
        Column("ce_hours", _("CE hours"), numeric=True),
    ]


def _completed(
    stmt: sa.Select[Any], completed_at: Any, track: Any, params: Mapping[str, str]
) -> sa.Select[Any]:
    if params.get("year"):
        start, end = _year_span(int(params["year"]))
        stmt = stmt.where(completed_at >= start, completed_at < end)
    if params.get("track"):
        stmt = stmt.where(track == params["track"])
    return stmt


def _course_completions(filters: ReportFilters, params: Mapping[str, str]) -> sa.Select[Any]:
    stmt = (
        sa.select(
            CourseCompletion.id.label("id"),
            sa.literal("course").label("what_code"),
            User.id.label("person_id"),
            User.name.label("name"),
            sa.literal(str(WHAT_LABELS["course"])).label("what"),
            _shown(Course.title, Course.title_en).label("title"),
            _labelled(Course.track, TRACK_LABELS).label("track"),
            _day(CourseCompletion.completed_at).label("completed_on"),
            CourseCompletion.ce_hours.label("ce_hours"),
        )
        .select_from(CourseCompletion)
        .join(User, User.id == CourseCompletion.user_id)
        .join(Course, Course.id == CourseCompletion.course_id)
    )
    stmt = _completed(stmt, CourseCompletion.completed_at, Course.track, params)
    return _person_scoped(stmt, filters, Course.partner_code)


def _programme_completions(filters: ReportFilters, params: Mapping[str, str]) -> sa.Select[Any]:
    stmt = (
        sa.select(
            ProgrammeCompletion.id.label("id"),
            sa.literal("programme").label("what_code"),
            User.id.label("person_id"),
            User.name.label("name"),
            sa.literal(str(WHAT_LABELS["programme"])).label("what"),
            _shown(Programme.title, Programme.title_en).label("title"),
            _labelled(Programme.track, TRACK_LABELS).label("track"),
            _day(ProgrammeCompletion.completed_at).label("completed_on"),
            sa.null().label("ce_hours"),
        )
        .select_from(ProgrammeCompletion)
        .join(User, User.id == ProgrammeCompletion.user_id)
        .join(Programme, Programme.id == ProgrammeCompletion.programme_id)
    )
    stmt = _completed(stmt, ProgrammeCompletion.completed_at, Programme.track, params)
    return _person_scoped(stmt, filters, _programme_partner())


def _completions(filters: ReportFilters, params: Mapping[str, str]) -> sa.Select[Any]:
    """Course and programme completions (or one of them: ``what``), newest first."""
    parts = []
    if params.get("what") in (None, "", "course"):
        parts.append(_course_completions(filters, params))
    if params.get("what") in (None, "", "programme"):
        parts.append(_programme_completions(filters, params))
    rows = (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery("completions")
    return sa.select(*rows.c).order_by(
        rows.c.completed_on.desc(), rows.c.what_code, rows.c.id.desc()
    )


LISTS["completions"] = ListSpec(
    name="completions",
    title=_completions_title,
    columns=_completions_columns,
    statement=_completions,
    params=("track", "year", "what"),
    sorts=_sorts("name", "what", "title", "track", "completed_on", "ce_hours"),
    check=_checks(
        lambda p: _choice(p, "track", [t.value for t in Track]),
        _year,
        lambda p: _choice(p, "what", list(WHAT_LABELS)),
    ),
)


# ce ------------------------------------------------------------------------------------------


def _ce_title(params: Mapping[str, str]) -> str:
    if params.get("year"):
        return _("CE hours in %(year)s", year=params["year"])
    return _("CE hours")


def _ce_columns() -> list[Column]:
    return [
        Column("name", _("Person")),
        Column("title", _("Training")),
        Column("kind", _("Kind")),
        Column("hours", _("Hours"), numeric=True),
        Column("occurred_on", _("Date")),
        Column("recorded_by", _("Recorded by")),
    ]


def _ce(filters: ReportFilters, params: Mapping[str, str]) -> sa.Select[Any]:
    """The CE ledger entries of the cycle (every cycle without a year), newest first."""
    title = sa.case(
        (CeEntry.course_id.is_not(None), _shown(Course.title, Course.title_en)),
        else_=CeEntry.title,
    )
    stmt = (
        sa.select(
            CeEntry.id.label("id"),
            User.id.label("person_id"),
            User.name.label("name"),
            title.label("title"),
            _labelled(CeEntry.kind, CE_KIND_LABELS).label("kind"),
            CeEntry.hours.label("hours"),
            CeEntry.occurred_on.label("occurred_on"),
            Recorder.name.label("recorded_by"),
        )
        .select_from(CeEntry)
        .join(User, User.id == CeEntry.user_id)
        .outerjoin(Course, Course.id == CeEntry.course_id)
        .outerjoin(Recorder, Recorder.id == CeEntry.recorded_by_id)
        .order_by(CeEntry.occurred_on.desc(), CeEntry.id.desc())
    )
    if params.get("year"):
        stmt = stmt.where(CeEntry.cycle == int(params["year"]))
    if params.get("kind"):
        stmt = stmt.where(CeEntry.kind == params["kind"])
    return _person_scoped(stmt, filters, Course.partner_code)


LISTS["ce"] = ListSpec(
    name="ce",
    title=_ce_title,
    columns=_ce_columns,
    statement=_ce,
    params=("year", "kind"),
    sorts=_sorts("name", "title", "kind", "hours", "occurred_on", "recorded_by"),
    check=_checks(_year, lambda p: _choice(p, "kind", [k.value for k in CeKind])),
)


# Order -------------------------------------------------------------------------------------------

#: The columns that make a row unique, to order rows of equal sort values.
TIEBREAKERS = {"completions": ("what_code", "id")}


def ordered(spec: ListSpec, stmt: sa.Select[Any], sort: str | None, descending: bool) -> Any:
    """``stmt`` sorted by column ``sort`` (one of ``spec.sorts()``, else the default order),
    then by the row ids."""
    sorts = spec.sorts()
    if sort not in sorts:
        return stmt
    key = sorts[sort]
    ties = [sa.column(name) for name in TIEBREAKERS.get(spec.name, ("id",))]
    return stmt.order_by(None).order_by(key.desc() if descending else key.asc(), *ties)


def _label(labels: Mapping[str, Any], code: str) -> str:
    return str(labels.get(code, code))


#: How each list argument reads under a list's title (the partner and district are named
#: from the filters; the year, and the tier of ``holders``, are in the titles).
_DESCRIBED: dict[str, Callable[[str, str], str]] = {
    "tier": lambda name, v: ""
    if name == "holders"
    else _("Tier: %(tier)s", tier=_label(TIER_LABELS, v)),
    "employer_kind": lambda name, v: _("Employer kind: %(kind)s", kind=_label(ORG_KIND_LABELS, v)),
    "type": lambda name, v: _("Certificate type: %(code)s", code=v),
    "kind": lambda name, v: _(
        "Kind: %(kind)s", kind=_label(CE_KIND_LABELS if name == "ce" else KIND_LABELS, v)
    ),
    "track": lambda name, v: _("Track: %(track)s", track=_label(TRACK_LABELS, v)),
    "what": lambda name, v: _("Only: %(what)s", what=_label(WHAT_LABELS, v)),
}


def describe(spec: ListSpec, params: Mapping[str, str]) -> list[str]:
    """The list's own arguments as phrases for its heading, e.g. "Track: Pre-service"."""
    phrases = (
        _DESCRIBED[arg](spec.name, params[arg])
        for arg in spec.params
        if params.get(arg) and arg in _DESCRIBED
    )
    return [phrase for phrase in phrases if phrase]
