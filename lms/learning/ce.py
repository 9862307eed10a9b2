"""The CE-hours ledger: reading it per cycle, and the external training HR officers record.

Course entries come with course completions (:mod:`lms.learning.completion`) and go with
them; nobody removes one by hand. External entries are recorded by an HR officer or an
administrator with a reason, and removed (with a reason) when recorded by mistake. Both
changes are audited on the person (entity ``user``) and recompute the person's programme
completions, since CE hours count towards programmes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from lms.audit.services import record
from lms.auth.models import User
from lms.auth.policy import can_view_user
from lms.auth.roles import Role
from lms.catalog.models import Course
from lms.db import utcnow
from lms.extensions import db
from lms.learning.completion import current_cycle, recompute_programmes
from lms.learning.models import CeEntry, CeKind
from lms.validation import ValidationError

#: The most hours one external entry may credit (a year of full-time study).
MAX_EXTERNAL_HOURS = Decimal(2000)
MAX_TITLE_LENGTH = 200
MAX_REASON_LENGTH = 2000


@dataclass
class CycleLedger:
    """A person's CE entries of one cycle (a calendar year) and their total."""

    cycle: int
    entries: list[CeEntry] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((e.hours for e in self.entries), Decimal(0))


def ledger(user_id: int) -> list[CycleLedger]:
    """The person's CE entries grouped by cycle, newest cycle and entry first (one query)."""
    entries = db.session.scalars(
        sa.select(CeEntry)
        .options(
            joinedload(CeEntry.course).load_only(Course.id, Course.code, Course.title),
            joinedload(CeEntry.recorded_by).load_only(User.id, User.name),
        )
        .where(CeEntry.user_id == user_id)
        .order_by(CeEntry.cycle.desc(), CeEntry.occurred_on.desc(), CeEntry.id.desc())
    )
    cycles: dict[int, CycleLedger] = {}
    for entry in entries:
        cycles.setdefault(entry.cycle, CycleLedger(entry.cycle)).entries.append(entry)
    return list(cycles.values())


def can_record_ce(actor: User, person: User) -> bool:
    """HR officers and administrators record external training for the people they see."""
    return actor.has_role(Role.ADMIN, Role.HR) and can_view_user(actor, person)


@dataclass
class ExternalTraining:
    """External training to credit: what, how many hours, when, and why it counts."""

    title: str
    hours: Decimal | None
    occurred_on: date | None
    reason: str


def validate_external(data: ExternalTraining, today: date) -> ExternalTraining:
    """The cleaned entry (trimmed text, hours to one decimal), or every rule it breaks."""
    errors: dict[str, str] = {}
    title = (data.title or "").strip()
    reason = (data.reason or "").strip()
    if not title:
        errors["title"] = _("Enter the title of the training.")
    elif len(title) > MAX_TITLE_LENGTH:
        errors["title"] = _("At most %(num)d characters.", num=MAX_TITLE_LENGTH)
    hours = data.hours
    if hours is None or not hours.is_finite():
        errors["hours"] = _("Enter the hours, e.g. 2.5.")
    elif hours <= 0 or hours > MAX_EXTERNAL_HOURS:
        errors["hours"] = _(
            "Enter more than 0 and at most %(max)s hours.", max=f"{MAX_EXTERNAL_HOURS:.0f}"
        )
    elif hours != hours.quantize(Decimal("0.1")):
        errors["hours"] = _("Use at most one decimal, e.g. 2.5.")
    if data.occurred_on is None:
        errors["occurred_on"] = _("Enter the date of the training.")
    elif data.occurred_on > today:
        errors["occurred_on"] = _("The date cannot be in the future.")
    if not reason:
        errors["reason"] = _("Say why these hours count.")
    elif len(reason) > MAX_REASON_LENGTH:
        errors["reason"] = _("At most %(num)d characters.", num=MAX_REASON_LENGTH)
    if errors:
        raise ValidationError(errors)
    assert hours is not None
    return ExternalTraining(title, hours.quantize(Decimal("0.1")), data.occurred_on, reason)


def _entry_snapshot(entry: CeEntry) -> dict[str, object]:
    return {
        "ce_entry": entry.id,
        "title": entry.title,
        "hours": str(entry.hours),
        "occurred_on": entry.occurred_on.isoformat(),
        "cycle": entry.cycle,
    }


def record_external(actor: User, user_id: int, data: ExternalTraining) -> CeEntry:
    """Credit ``user_id`` with external training (the caller checked :func:`can_record_ce`).

    The cycle is the year of the training. Audited ``ce.recorded``; programme completions
    are recomputed.
    """
    clean = validate_external(data, utcnow().date())
    assert clean.hours is not None and clean.occurred_on is not None
    entry = CeEntry(
        user_id=user_id,
        cycle=current_cycle(clean.occurred_on),
        hours=clean.hours,
        kind=CeKind.EXTERNAL,
        title=clean.title,
        reason=clean.reason,
        occurred_on=clean.occurred_on,
        recorded_by_id=actor.id,
    )
    db.session.add(entry)
    db.session.flush()
    record(
        actor.id, "ce.recorded", "user", user_id, after=_entry_snapshot(entry), reason=clean.reason
    )
    recompute_programmes(user_id, actor_id=actor.id)
    return entry


def external_entry(user_id: int, entry_id: int) -> CeEntry | None:
    """The person's external entry ``entry_id``, or None (course entries are never offered)."""
    return db.session.scalar(
        sa.select(CeEntry).where(
            CeEntry.id == entry_id, CeEntry.user_id == user_id, CeEntry.kind == CeKind.EXTERNAL
        )
    )


def remove_external(actor: User, entry: CeEntry, reason: str) -> None:
    """Remove an external entry recorded by mistake. Audited ``ce.removed`` with the reason;
    programme completions are recomputed. A course entry cannot be removed by hand."""
    if entry.kind != CeKind.EXTERNAL:
        raise ValidationError(_("Course hours go with the course completion."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why this entry is removed.")})
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError({"reason": _("At most %(num)d characters.", num=MAX_REASON_LENGTH)})
    user_id = entry.user_id
    record(actor.id, "ce.removed", "user", user_id, before=_entry_snapshot(entry), reason=reason)
    db.session.delete(entry)
    db.session.flush()
    recompute_programmes(user_id, actor_id=actor.id)
