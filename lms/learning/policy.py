"""Object-level permission for cohorts and the records of the people in them.

Every view that loads a cohort goes through :func:`get_cohort_or_404`; a refused cohort
answers 404 so that ids cannot be probed. Rules:

- administrators see and manage every cohort;
- HR officers and coordinators manage enrolments (of the people they see, see
  :func:`lms.auth.policy.visible_users`); a coordinator scoped to a university partner sees
  that partner's cohorts only, other HR officers and coordinators see every cohort;
- instructors see the cohorts they teach or whose course they own, and grade in them;
- trainees see the cohorts they are enrolled in and those open for self-enrolment.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from lms.auth.models import User
from lms.auth.policy import can_view_user, organisation_ids_in_scope, people_scope
from lms.auth.roles import Role
from lms.catalog.models import course_owners
from lms.extensions import db
from lms.learning.models import Cohort, CohortStatus, Enrolment, EnrolmentStatus, cohort_instructors

STAFF_ROLES = (Role.ADMIN, Role.HR, Role.COORDINATOR)


def can_manage_enrolments(actor: User) -> bool:
    """Whether ``actor`` enrols and withdraws people (each person still checked on its own)."""
    return actor.has_role(*STAFF_ROLES)


def can_manage_cohorts(actor: User) -> bool:
    """Whether ``actor`` creates and edits cohorts: administrators, HR officers, coordinators."""
    return actor.has_role(*STAFF_ROLES)


def partner_scope(actor: User) -> int | None:
    """The partner a coordinator is limited to, if any (HR officers are never limited here)."""
    if actor.has_role(Role.ADMIN) or actor.has_role(Role.HR):
        return None
    if actor.has_role(Role.COORDINATOR):
        return actor.scope_of(Role.COORDINATOR)
    return None


def _taught_by(actor: User) -> sa.ColumnElement[bool]:
    taught = sa.select(cohort_instructors.c.cohort_id).where(
        cohort_instructors.c.user_id == actor.id
    )
    owned = sa.select(course_owners.c.course_id).where(course_owners.c.user_id == actor.id)
    return sa.or_(Cohort.id.in_(taught), Cohort.course_id.in_(owned))


def visible_cohorts(actor: User, stmt: sa.Select[tuple[Cohort]]) -> sa.Select[tuple[Cohort]]:
    """Limit a ``select(Cohort)`` to the cohorts ``actor`` may see."""
    if actor.has_role(*STAFF_ROLES):
        scope = partner_scope(actor)
        if scope is None:
            return stmt
        return stmt.where(Cohort.partner_id.in_(organisation_ids_in_scope(scope)))
    conditions: list[sa.ColumnElement[bool]] = []
    if actor.has_role(Role.INSTRUCTOR):
        conditions.append(_taught_by(actor))
    if actor.has_role(Role.TRAINEE):
        mine = sa.select(Enrolment.cohort_id).where(Enrolment.user_id == actor.id)
        conditions.append(Cohort.id.in_(mine))
        conditions.append(
            sa.and_(Cohort.status == CohortStatus.OPEN, Cohort.self_enrolment.is_(True))
        )
    if not conditions:
        return stmt.where(sa.false())
    return stmt.where(sa.or_(*conditions))


def can_view_cohort(actor: User, cohort: Cohort) -> bool:
    stmt = visible_cohorts(actor, sa.select(Cohort.id).where(Cohort.id == cohort.id))
    return db.session.scalar(stmt) is not None


def can_teach_cohort(actor: User, cohort: Cohort) -> bool:
    """Administrators, the cohort's instructors and the owners of its course grade in it."""
    if actor.has_role(Role.ADMIN):
        return True
    if not actor.has_role(Role.INSTRUCTOR):
        return False
    if cohort.is_taught_by(actor):
        return True
    return cohort.course is not None and cohort.course.is_owned_by(actor)


def can_view_gradebook(actor: User, cohort: Cohort) -> bool:
    """Teachers of the cohort, and HR officers and coordinators who may see the cohort (their
    gradebook then lists only the people they may see)."""
    if can_teach_cohort(actor, cohort):
        return True
    return actor.has_role(Role.HR, Role.COORDINATOR) and can_view_cohort(actor, cohort)


def get_cohort_or_404(actor: User, cohort_id: int) -> Cohort:
    """Load a cohort ``actor`` may see, or answer 404 as if it did not exist."""
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None or not can_view_cohort(actor, cohort):
        abort(404)
    return cohort


def teaches_person(actor: User, user_id: int) -> bool:
    """Whether ``actor`` (an instructor) teaches a cohort ``user_id`` is actively enrolled in."""
    if actor.has_role(Role.ADMIN):
        return True
    if not actor.has_role(Role.INSTRUCTOR):
        return False
    stmt = (
        sa.select(Enrolment.id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(Enrolment.user_id == user_id, Enrolment.status == EnrolmentStatus.ENROLLED)
        .where(_taught_by(actor))
        .limit(1)
    )
    return db.session.scalar(stmt) is not None


def may_see_learning_record(actor: User, user_id: int) -> bool:
    """Whether ``actor`` may see a person's progress, attempts, results and CE hours: the person,
    whoever may see the person in the directory (admins, HR, coordinators in scope), and the
    instructors who teach them."""
    if actor.id == user_id:
        return True
    if people_scope(actor) is not False:
        person = db.session.get(User, user_id)
        return person is not None and can_view_user(actor, person)
    return teaches_person(actor, user_id)
