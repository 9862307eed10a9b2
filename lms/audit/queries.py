"""Reading the audit log: filters, and the names and labels its pages show.

An entry stores ids and raw values (``district_id: 3``, ``roles: ["hr@7"]``); the pages show
names instead. :class:`EntityNames` looks those up for a whole page of entries at once (one
query per kind of record, however many entries), so the pages do no query per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from lms.audit.models import AuditEntry
from lms.auth.models import User
from lms.auth.roles import Role
from lms.catalog.models import Course
from lms.extensions import db
from lms.i18n import locale_code
from lms.learning.models import Cohort, Programme
from lms.learning.models.programme import Tier
from lms.orgs.models import District, Organisation, OrgKind


@dataclass
class AuditFilters:
    """What the audit log is narrowed to; None means "any"."""

    action: str | None = None
    entity_type: str | None = None
    entity_id: int | None = None
    actor: str = ""  # a substring of the actor's email
    start: datetime | None = None  # inclusive, timezone-aware
    end: datetime | None = None  # exclusive, timezone-aware


def day_bounds(
    first: date | None, last: date | None, zone: tzinfo
) -> tuple[datetime | None, datetime | None]:
    """The instants (in UTC) that start day ``first`` and end day ``last`` in ``zone``.

    Dates at the very edge of the calendar (year 1, year 9999) give no bound rather than an
    overflow.
    """
    start = _midnight(first, zone) if first is not None else None
    end = _midnight(last, zone, days=1) if last is not None else None
    return start, end


def _midnight(day: date, zone: tzinfo, days: int = 0) -> datetime | None:
    """The start of ``days`` after ``day`` in ``zone``, in UTC, or None outside the calendar."""
    try:
        return datetime.combine(day + timedelta(days=days), time.min, tzinfo=zone).astimezone(UTC)
    except OverflowError:
        return None


def audit_select(filters: AuditFilters) -> sa.Select[tuple[AuditEntry]]:
    """Entries matching ``filters``, newest first, each with its actor loaded."""
    stmt = sa.select(AuditEntry).options(joinedload(AuditEntry.actor))
    if filters.action:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.entity_type:
        stmt = stmt.where(AuditEntry.entity_type == filters.entity_type)
    if filters.entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == filters.entity_id)
    actor = filters.actor.strip()
    if actor:
        stmt = stmt.where(
            AuditEntry.actor_id.in_(
                sa.select(User.id).where(User.email.icontains(actor, autoescape=True))
            )
        )
    if filters.start is not None:
        stmt = stmt.where(AuditEntry.created_at >= filters.start)
    if filters.end is not None:
        stmt = stmt.where(AuditEntry.created_at < filters.end)
    return stmt.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())


def recent_entries(entity_type: str, entity_id: int, limit: int) -> list[AuditEntry]:
    """The latest ``limit`` entries about one record."""
    stmt = audit_select(AuditFilters(entity_type=entity_type, entity_id=entity_id)).limit(limit)
    return list(db.session.scalars(stmt))


def distinct_actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).distinct().order_by("action")))


def distinct_entity_types() -> list[str]:
    return list(
        db.session.scalars(sa.select(AuditEntry.entity_type).distinct().order_by("entity_type"))
    )


# Presentation ---------------------------------------------------------------------------------

# How each audit action reads, in lists and on the pages of the records concerned.
ACTION_LABELS = {
    "user.created": _l("Account created"),
    "user.updated": _l("Details or roles changed"),
    "user.deactivated": _l("Deactivated"),
    "user.reactivated": _l("Reactivated"),
    "user.password_reset": _l("Password reset by an administrator"),
    "user.password_changed": _l("Password changed"),
    "user.locked": _l("Locked after repeated sign-in failures"),
    "organisation.created": _l("Organisation created"),
    "organisation.updated": _l("Organisation changed"),
    "organisation.deactivated": _l("Organisation deactivated"),
    "organisation.reactivated": _l("Organisation reactivated"),
    "district.created": _l("District created"),
    "district.updated": _l("District changed"),
    "course.imported": _l("Course imported from files"),
    "lesson.published": _l("Lesson version published"),
    "course.created": _l("Course created"),
    "course.updated": _l("Course changed"),
    "course.published": _l("Course published in the catalogue"),
    "course.unpublished": _l("Course taken out of the catalogue"),
    "course.owner_added": _l("Course owner added"),
    "course.owner_removed": _l("Course owner removed"),
    "course.image_added": _l("Course image uploaded"),
    "lesson.archived": _l("Lesson archived"),
    "lesson.unarchived": _l("Lesson brought back"),
    "competencies.imported": _l("Competencies imported from the course files"),
    "programme.imported": _l("Programme imported from programmes.toml"),
    "programme.created": _l("Programme created"),
    "programme.updated": _l("Programme changed"),
    "programme.archived": _l("Programme archived"),
    "programme.unarchived": _l("Programme listed again"),
    "cohort.created": _l("Cohort created"),
    "cohort.updated": _l("Cohort changed"),
    "enrolment.created": _l("Enrolled in a cohort"),
    "enrolment.reenrolled": _l("Enrolled again"),
    "enrolment.withdrawn": _l("Withdrawn from a cohort"),
    "attempt.graded": _l("Quiz attempt marked"),
    "practical.recorded": _l("Practical assessment recorded"),
    "ce.recorded": _l("External CE hours recorded"),
    "ce.removed": _l("External CE hours removed"),
    "completion.revoked": _l("Completion taken back after a grade changed"),
    "certificate.issued": _l("Certificate issued"),
    "certificate.revoked": _l("Certificate revoked"),
    "certificate.reissued": _l("Certificate reissued"),
    "certificate.renewed": _l("Certificate renewed"),
    "certificate_template.saved": _l("Certificate template saved"),
    "certificate_type.imported": _l("Certificate type imported from programmes.toml"),
    "certificate_type.saved": _l("Certificate type edited"),
    "target.saved": _l("Target saved"),
    "target.deleted": _l("Target deleted"),
}

ENTITY_LABELS = {
    "user": _l("Person"),
    "organisation": _l("Organisation"),
    "district": _l("District"),
    "course": _l("Course"),
    "lesson": _l("Lesson"),
    "competency": _l("Competencies"),
    "programme": _l("Programme"),
    "cohort": _l("Cohort"),
    "enrolment": _l("Enrolment"),
    "quiz_attempt": _l("Quiz attempt"),
    "course_completion": _l("Course completion"),
    "programme_completion": _l("Programme completion"),
    "certificate": _l("Certificate"),
    "certificate_template": _l("Certificate template"),
    "certificate_type": _l("Certificate type"),
    "target": _l("Target"),
}

FIELD_LABELS = {
    "code": _l("Code"),
    "name": _l("Name"),
    "name_en": _l("Name (English)"),
    "kind": _l("Kind"),
    "district_id": _l("District"),
    "parent_id": _l("Under organisation"),
    "employer_id": _l("Employer"),
    "active": _l("Active"),
    "email": _l("Email"),
    "phone": _l("Phone"),
    "roles": _l("Roles"),
    "locale": _l("Language"),
    "title": _l("Title"),
    "title_en": _l("Title (English)"),
    "summary": _l("Summary"),
    "summary_en": _l("Summary (English)"),
    "track": _l("Track"),
    "level": _l("Level"),
    "ce_hours": _l("CE hours"),
    "partner_code": _l("University partner"),
    "prerequisites": _l("Prerequisites"),
    "status": _l("Status"),
    "owners": _l("Owners"),
    "archived": _l("Archived"),
    "path": _l("File"),
    "size": _l("Size"),
    "tier": _l("Tier"),
    "year": _l("Year"),
    "district_code": _l("District"),
    "target": _l("Target"),
    "requires_tier": _l("Tier required first"),
    "cycle": _l("Cycle"),
    "min_ce_hours": _l("Minimum CE hours"),
    "min_electives": _l("Minimum elective courses"),
    "required_courses": _l("Required courses"),
    "elective_courses": _l("Elective courses"),
    "practicals": _l("Practical assessments"),
    "required_dimensions": _l("Dimensions required in full"),
    "certificate_title": _l("Certificate"),
    "certificate_title_en": _l("Certificate (English)"),
    "created": _l("Added"),
    "updated": _l("Changed"),
    "course_id": _l("Course"),
    "programme_id": _l("Programme"),
    "partner_id": _l("University partner"),
    "location_id": _l("Location"),
    "online": _l("Online"),
    "starts_on": _l("Starts"),
    "ends_on": _l("Ends"),
    "capacity": _l("Capacity"),
    "self_enrolment": _l("Self-enrolment"),
    "instructor_ids": _l("Instructors"),
    "cohort_id": _l("Cohort"),
    "user_id": _l("Person"),
    "source": _l("How"),
    "enrolled_by_id": _l("Enrolled by"),
    "essays": _l("Essay marks"),
    "score": _l("Score"),
    "percent": _l("Percent"),
    "passed": _l("Passed"),
    "pending_review": _l("Awaiting marking"),
    "practical_id": _l("Practical assessment"),
    "result_id": _l("Result"),
    "scores": _l("Level per criterion"),
    "total": _l("Points"),
    "max_total": _l("Out of"),
    "observed_on": _l("Observed on"),
    "ce_entry": _l("CE entry"),
    "hours": _l("Hours"),
    "occurred_on": _l("Date"),
    "course": _l("Course"),
    "programme": _l("Programme"),
    "completed_at": _l("Completed"),
    "serial": _l("Serial number"),
    "type": _l("Certificate type"),
    "override_reason": _l("Reason for the exception"),
    "version": _l("Version"),
    "note": _l("Note"),
    "type_id": _l("Certificate type"),
}

ORG_KINDS = frozenset(k.value for k in OrgKind)
TIERS = frozenset(t.value for t in Tier)
ROLES = frozenset(r.value for r in Role)

# Keys whose values are ids of other records, and the kind of record.
REFERENCE_KEYS = {
    "district_id": "district",
    "parent_id": "organisation",
    "employer_id": "organisation",
    "partner_id": "organisation",
    "location_id": "organisation",
    "user_id": "user",
    "enrolled_by_id": "user",
    "instructor_ids": "user",
    "course_id": "course",
    "programme_id": "programme",
    "cohort_id": "cohort",
}

# How to name each kind of record: its model and the name shown in a locale.
NAMED_KINDS: dict[str, tuple[Any, Any]] = {
    "user": (User, lambda r, _locale: r.name),
    "organisation": (Organisation, lambda r, locale: r.display_name(locale)),
    "district": (District, lambda r, locale: r.display_name(locale)),
    "course": (Course, lambda r, locale: f"{r.code} {r.display_title(locale)}"),
    "programme": (Programme, lambda r, locale: f"{r.code} {r.display_title(locale)}"),
    "cohort": (Cohort, lambda r, _locale: f"{r.code} {r.title}"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def entity_label(entity_type: str) -> str:
    return str(ENTITY_LABELS.get(entity_type, entity_type))


def field_label(key: str) -> str:
    return str(FIELD_LABELS.get(key, key))


def _ids(value: Any) -> list[int]:
    """The record ids in a stored value: one id or a list of them."""
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def _role_grant(value: str) -> tuple[str, int | None]:
    """``"hr@7"`` -> ``("hr", 7)``; ``"admin"`` -> ``("admin", None)``."""
    role, _sep, scope = value.partition("@")
    return role, int(scope) if scope.isdigit() else None


@dataclass
class Change:
    """One changed key of an entry, ready to show."""

    label: str
    before: str | None  # None when the entry has no "before" (a creation)
    after: str | None  # None when the entry has no "after"


@dataclass
class EntityNames:
    """Names of the records a page of entries mentions, looked up in a few queries."""

    names: dict[tuple[str, int], str] = field(default_factory=dict)
    locale: str = "zh_Hans_CN"

    @classmethod
    def load(cls, entries: Sequence[AuditEntry], locale: str | None = None) -> EntityNames:
        wanted: dict[str, set[int]] = {kind: set() for kind in NAMED_KINDS}
        for entry in entries:
            if entry.entity_type in wanted and entry.entity_id is not None:
                wanted[entry.entity_type].add(entry.entity_id)
            for values in (entry.before or {}, entry.after or {}):
                for key, value in values.items():
                    kind = REFERENCE_KEYS.get(key)
                    if kind:
                        wanted[kind].update(_ids(value))
                    elif key == "roles" and isinstance(value, list):
                        for grant in value:
                            scope = _role_grant(str(grant))[1]
                            if scope is not None:
                                wanted["organisation"].add(scope)
        if locale is None:
            locale = locale_code()
        names: dict[tuple[str, int], str] = {}
        for kind, ids in wanted.items():
            if ids:
                model, name_of = NAMED_KINDS[kind]
                records = db.session.scalars(sa.select(model).where(model.id.in_(ids)))
                names.update(((kind, r.id), name_of(r, locale)) for r in records)
        return cls(names, locale)

    def name(self, entity_type: str, entity_id: int | None) -> str | None:
        """The record's name, or None when it is unknown (or no longer exists)."""
        if entity_id is None:
            return None
        return self.names.get((entity_type, entity_id))

    @staticmethod
    def label(entity_type: str) -> str:
        """What kind of record, in words."""
        return entity_label(entity_type)

    def show(self, key: str, value: Any) -> str:
        """A stored value as a person reads it."""
        if value is None or value == "" or value == []:
            return "—"
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        kind = REFERENCE_KEYS.get(key)
        if kind and _ids(value):
            return ", ".join(self.name(kind, i) or f"#{i}" for i in _ids(value))
        if key == "kind" and value in ORG_KINDS:
            return OrgKind(value).label
        if key in ("tier", "requires_tier") and value in TIERS:
            return Tier(value).label
        if key == "roles" and isinstance(value, list):
            return ", ".join(self._role(str(v)) for v in value)
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        if isinstance(value, dict):
            return ", ".join(f"{k}: {v}" for k, v in value.items())
        return str(value)

    def _role(self, value: str) -> str:
        role, scope = _role_grant(value)
        label = Role(role).label if role in ROLES else role
        if scope is None:
            return label
        return f"{label} ({self.name('organisation', scope) or f'#{scope}'})"

    def changes(self, entry: AuditEntry) -> list[Change]:
        """The keys an entry touched, with the values before and after."""
        before, after = entry.before, entry.after
        keys: Iterable[str] = sorted((before or {}).keys() | (after or {}).keys())
        return [
            Change(
                label=field_label(key),
                before=None if before is None else self.show(key, before.get(key)),
                after=None if after is None else self.show(key, after.get(key)),
            )
            for key in keys
        ]
