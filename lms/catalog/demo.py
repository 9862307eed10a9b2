"""Demo step: each demo instructor owns the imported courses of the university they work for."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from lms.auth.models import RoleAssignment, User
from lms.auth.roles import Role
from lms.catalog.models import Course
from lms.demo.steps import DemoContext
from lms.extensions import db
from lms.orgs.models import Organisation


def course_owners(ctx: DemoContext) -> None:
    """Give every course without an owner the demo instructors of its partner university.

    Courses come from ``lms courses import`` (run before ``lms demo`` by ``make run``); a
    course that already has an owner is left as it is, so a second run changes nothing.
    """
    instructors = db.session.execute(
        sa.select(Organisation.code, User)
        .join(User, User.employer_id == Organisation.id)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(
            RoleAssignment.role == Role.INSTRUCTOR.value, User.email.endswith("@demo.example.org")
        )
    ).all()
    by_partner: dict[str, list[User]] = {}
    for code, user in instructors:
        by_partner.setdefault(code, []).append(user)
    courses = sa.select(Course).options(selectinload(Course.owners)).order_by(Course.code)
    for course in db.session.scalars(courses):
        if course.owners or course.partner_code not in by_partner:
            continue
        course.owners.extend(by_partner[course.partner_code])
        ctx.created("course owners", len(by_partner[course.partner_code]))
