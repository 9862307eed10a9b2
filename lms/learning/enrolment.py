"""Enrolling people in cohorts and withdrawing them: the rules every path shares.

Staff enrol one person or several (the search page), a file (the CSV job) or trainees enrol
themselves; all of them go through :func:`enrol_people` so the same rules hold everywhere:

- no one enrols in an archived cohort; self-enrolment needs an open cohort that allows it;
- the person is an active trainee, and staff may only enrol the people they see
  (:func:`lms.auth.policy.visible_users`);
- a course cohort needs every prerequisite course completed, a programme cohort the tier it
  requires;
- capacity holds under concurrency: the cohort row is locked (``SELECT ... FOR UPDATE`` on
  PostgreSQL) before the enrolled people are counted, so two requests racing for the last
  seat are served one after the other;
- someone already enrolled gets a clear message; a withdrawn person is enrolled again on the
  same row (the audit log keeps the history).

Withdrawals record who, when and why and never delete. Functions flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from lms.audit import services as audit
from lms.auth.models import User
from lms.auth.policy import visible_users
from lms.auth.roles import Role
from lms.db import utcnow
from lms.extensions import db
from lms.learning.cohorts import active_count
from lms.learning.completion import has_completed_course, holds_tier
from lms.learning.models import (
    Cohort,
    CohortStatus,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    Tier,
)
from lms.learning.policy import can_manage_enrolments, can_view_cohort
from lms.validation import ValidationError

REASON_MAX = 500


class EnrolmentRefused(ValidationError):
    """Nobody was enrolled; ``problems`` says why, per person id (None: the cohort itself)."""

    def __init__(self, problems: dict[int | None, str]) -> None:
        self.problems = problems
        super().__init__({"": " ".join(problems.values())})


# The rules -------------------------------------------------------------------------------------


def lock_cohort(cohort_id: int) -> Cohort | None:
    """The cohort, its row locked until the transaction ends (PostgreSQL; SQLite serialises
    writers anyway), with its columns read afresh."""
    stmt = (
        sa.select(Cohort)
        .where(Cohort.id == cohort_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return db.session.scalars(stmt).first()


def cohort_problem(cohort: Cohort, *, self_service: bool) -> str | None:
    """Why no one can enrol in ``cohort`` (this way), or None."""
    if cohort.status == CohortStatus.ARCHIVED:
        return _("This cohort is archived: no one can enrol in it.")
    if self_service and (cohort.status != CohortStatus.OPEN or not cohort.self_enrolment):
        return _("This cohort is not open for self-enrolment.")
    return None


def prerequisite_problem(
    person: User,
    cohort: Cohort,
    *,
    self_service: bool,
    completed: Callable[[int], bool] | None = None,
) -> str | None:
    """What ``person`` lacks to join ``cohort``: prerequisite courses, or a tier; or None.

    ``completed(course_id)`` answers for the person (default
    :func:`lms.learning.completion.has_completed_course`).
    """
    if cohort.course is not None:
        done = completed or (lambda course_id: has_completed_course(person.id, course_id))
        missing = [c for c in cohort.course.prerequisites if not done(c.id)]
        if missing:
            codes = ", ".join(course.code for course in missing)
            if self_service:
                return _("Complete the prerequisite courses first: %(courses)s.", courses=codes)
            return _(
                "%(name)s has not completed the prerequisite courses: %(courses)s.",
                name=person.name,
                courses=codes,
            )
    programme = cohort.programme
    required = programme.requires_tier if programme is not None else None
    if required and not holds_tier(person.id, required):
        tier = Tier(required).label
        if self_service:
            return _("This programme requires the tier “%(tier)s” first.", tier=tier)
        return _(
            "%(name)s does not hold the tier “%(tier)s” that this programme requires.",
            name=person.name,
            tier=tier,
        )
    return None


def person_problem(
    person: User,
    cohort: Cohort,
    enrolment: Enrolment | None,
    *,
    visible: bool,
    self_service: bool,
    completed: Callable[[int], bool] | None = None,
) -> str | None:
    """Why ``person`` cannot be enrolled in ``cohort``, or None.

    ``enrolment`` is the person's row in the cohort, if any; ``visible`` whether the actor
    may see the person (always true for oneself).
    """
    if not visible:  # no name: the actor may not know who this is
        return _("This person is not among the people you look after.")
    if not person.has_role(Role.TRAINEE):
        return _("%(name)s is not a trainee.", name=person.name)
    if not person.active:
        return _("The account of %(name)s is inactive.", name=person.name)
    if enrolment is not None and enrolment.active:
        if self_service:
            return _("You are already enrolled in this cohort.")
        return _("%(name)s is already enrolled in this cohort.", name=person.name)
    return prerequisite_problem(person, cohort, self_service=self_service, completed=completed)


def capacity_problem(cohort: Cohort, enrolled: int, adding: int) -> str | None:
    """Why ``adding`` more people do not fit, or None."""
    if cohort.capacity is None or enrolled + adding <= cohort.capacity:
        return None
    left = max(cohort.capacity - enrolled, 0)
    if left == 0:
        return _("This cohort is full (%(capacity)d places).", capacity=cohort.capacity)
    return ngettext(
        "Only %(num)d place is left in this cohort, for %(adding)d people.",
        "Only %(num)d places are left in this cohort, for %(adding)d people.",
        left,
        adding=adding,
    )


def visible_ids(actor: User, user_ids: Sequence[int]) -> set[int]:
    """Which of ``user_ids`` ``actor`` may see, in one query."""
    if not user_ids:
        return set()
    stmt = visible_users(actor, sa.select(User.id).where(User.id.in_(set(user_ids))))  # type: ignore[arg-type]
    return set(db.session.scalars(stmt))


# Enrolling -------------------------------------------------------------------------------------


@dataclass
class Enrolled:
    """What :func:`enrol_people` did, per person."""

    enrolment: Enrolment
    reenrolled: bool


def enrol_people(
    actor_id: int,
    cohort_id: int,
    user_ids: Sequence[int],
    *,
    source: EnrolmentSource = EnrolmentSource.STAFF,
) -> list[Enrolled]:
    """Enrol every one of ``user_ids`` in the cohort, or no one (raises
    :class:`EnrolmentRefused` with every problem found).

    ``actor_id`` enrols others (staff: HR officers, coordinators, administrators), or
    themselves when ``source`` is ``self``. Locks the cohort before counting its places.
    Audited ``enrolment.created`` or ``enrolment.reenrolled``. Flushes; the caller commits.
    """
    self_service = source == EnrolmentSource.SELF
    ids = list(dict.fromkeys(user_ids))
    actor = db.session.get(User, actor_id)
    cohort = lock_cohort(cohort_id)
    if actor is None or cohort is None:
        raise EnrolmentRefused({None: _("You may not enrol people in this cohort.")})
    if not ids:
        raise EnrolmentRefused({None: _("Choose at least one person to enrol.")})
    if self_service:
        if ids != [actor.id]:
            raise EnrolmentRefused({None: _("You can only enrol yourself.")})
    elif not (can_manage_enrolments(actor) and can_view_cohort(actor, cohort)):
        raise EnrolmentRefused({None: _("You may not enrol people in this cohort.")})
    problem = cohort_problem(cohort, self_service=self_service)
    if problem:
        raise EnrolmentRefused({None: problem})

    people = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}
    existing = {
        e.user_id: e
        for e in db.session.scalars(
            sa.select(Enrolment).where(Enrolment.cohort_id == cohort.id, Enrolment.user_id.in_(ids))
        )
    }
    seen = {actor.id} if self_service else visible_ids(actor, ids)
    problems: dict[int | None, str] = {}
    for user_id in ids:
        person = people.get(user_id)
        if person is None:
            problems[user_id] = _("Unknown person.")
            continue
        found = person_problem(
            person,
            cohort,
            existing.get(user_id),
            visible=user_id in seen,
            self_service=self_service,
        )
        if found:
            problems[user_id] = found
    if not problems:
        found = capacity_problem(cohort, active_count(cohort.id), len(ids))
        if found:
            problems[None] = found
    if problems:
        raise EnrolmentRefused(problems)

    done: list[Enrolled] = []
    for user_id in ids:
        enrolment = existing.get(user_id)
        if enrolment is None:
            enrolment = Enrolment(
                cohort_id=cohort.id,
                user_id=user_id,
                status=EnrolmentStatus.ENROLLED,
                source=source,
                enrolled_at=utcnow(),
                enrolled_by_id=actor.id,
            )
            db.session.add(enrolment)
            db.session.flush()
            audit.record(
                actor.id,
                "enrolment.created",
                "enrolment",
                enrolment.id,
                after=_snapshot(enrolment),
            )
            done.append(Enrolled(enrolment, reenrolled=False))
        else:
            before = _snapshot(enrolment)
            enrolment.status = EnrolmentStatus.ENROLLED
            enrolment.source = source
            enrolment.enrolled_at = utcnow()
            enrolment.enrolled_by_id = actor.id
            enrolment.withdrawn_at = None
            enrolment.withdrawn_by_id = None
            enrolment.withdrawal_reason = ""
            db.session.flush()
            audit.record(
                actor.id,
                "enrolment.reenrolled",
                "enrolment",
                enrolment.id,
                before,
                _snapshot(enrolment),
            )
            done.append(Enrolled(enrolment, reenrolled=True))
    return done


def enrol(actor_id: int, cohort_id: int, user_id: int) -> Enrolled:
    """Enrol one person (staff). See :func:`enrol_people`."""
    return enrol_people(actor_id, cohort_id, [user_id])[0]


def self_enrol(user_id: int, cohort_id: int) -> Enrolled:
    """A trainee enrols themselves in an open cohort that allows it. See :func:`enrol_people`."""
    return enrol_people(user_id, cohort_id, [user_id], source=EnrolmentSource.SELF)[0]


def _snapshot(enrolment: Enrolment) -> dict[str, object]:
    return {
        "cohort_id": enrolment.cohort_id,
        "user_id": enrolment.user_id,
        "status": enrolment.status,
        "source": enrolment.source,
        "enrolled_by_id": enrolment.enrolled_by_id,
    }


# Withdrawing -----------------------------------------------------------------------------------


def withdraw(actor_id: int, enrolment_id: int, reason: str) -> Enrolment:
    """Withdraw a person from a cohort: staff who see the person (a reason is required), or
    the person themselves (the reason is optional).

    Records who, when and why on the row; never deletes. Audited ``enrolment.withdrawn``.
    Raises ``ValidationError`` (key ``reason`` or ``""``). Flushes; the caller commits.
    """
    actor = db.session.get(User, actor_id)
    enrolment = db.session.get(Enrolment, enrolment_id)
    if actor is None or enrolment is None:
        raise ValidationError(_("Unknown enrolment."))
    oneself = enrolment.user_id == actor.id
    if not oneself and not (
        can_manage_enrolments(actor)
        and can_view_cohort(actor, enrolment.cohort)
        and enrolment.user_id in visible_ids(actor, [enrolment.user_id])
    ):
        raise ValidationError(_("You may not withdraw this person."))
    if enrolment.cohort.status == CohortStatus.ARCHIVED:
        raise ValidationError(_("This cohort is archived: its enrolments can no longer change."))
    if not enrolment.active:
        raise ValidationError(_("This enrolment is already withdrawn."))
    reason = " ".join(reason.split())
    if not reason and not oneself:
        raise ValidationError({"reason": _("Give the reason for the withdrawal.")})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": _("At most %(n)d characters.", n=REASON_MAX)})
    enrolment.status = EnrolmentStatus.WITHDRAWN
    enrolment.withdrawn_at = utcnow()
    enrolment.withdrawn_by_id = actor.id
    enrolment.withdrawal_reason = reason
    db.session.flush()
    audit.record(
        actor.id,
        "enrolment.withdrawn",
        "enrolment",
        enrolment.id,
        after={
            "cohort_id": enrolment.cohort_id,
            "user_id": enrolment.user_id,
            "status": "withdrawn",
        },
        reason=reason or None,
    )
    return enrolment


def self_enrolment_problem(
    person: User,
    cohort: Cohort,
    enrolment: Enrolment | None,
    enrolled: int,
    *,
    completed: Callable[[int], bool] | None = None,
) -> str | None:
    """Why ``person`` cannot enrol themselves in ``cohort`` now (``enrolled``: the people
    already in it), or None: what the open-cohort pages show instead of the button."""
    return (
        cohort_problem(cohort, self_service=True)
        or person_problem(
            person, cohort, enrolment, visible=True, self_service=True, completed=completed
        )
        or capacity_problem(cohort, enrolled, 1)
    )
