"""Who is learning what: the courses a person is actively enrolled in, directly or through a
programme cohort. Quizzes, lesson completion and "my learning" are open to these people."""

from __future__ import annotations

import sqlalchemy as sa

from lms.extensions import db
from lms.learning.models import Cohort, Enrolment, EnrolmentStatus, ProgrammeCourse


def enrolled_course_ids(user_id: int | sa.BindParameter[int]) -> sa.Select[tuple[int]]:
    """The ids of the courses ``user_id`` is actively enrolled in, as a subquery (the id
    may be a bind parameter of a statement built once)."""
    active = sa.and_(Enrolment.user_id == user_id, Enrolment.status == EnrolmentStatus.ENROLLED)
    direct = (
        sa.select(Cohort.course_id)
        .join(Enrolment, Enrolment.cohort_id == Cohort.id)
        .where(active, Cohort.course_id.is_not(None))
    )
    through_programme = (
        sa.select(ProgrammeCourse.course_id)
        .join(Cohort, Cohort.programme_id == ProgrammeCourse.programme_id)
        .join(Enrolment, Enrolment.cohort_id == Cohort.id)
        .where(active)
    )
    return sa.union(direct, through_programme)  # type: ignore[return-value]


def is_enrolled_in_course(user_id: int, course_id: int) -> bool:
    """Whether ``user_id`` is actively enrolled in a cohort of the course or of a programme
    that contains it."""
    ids = enrolled_course_ids(user_id).subquery()
    stmt = sa.select(ids.c[0]).where(ids.c[0] == course_id).limit(1)
    return db.session.scalar(stmt) is not None
