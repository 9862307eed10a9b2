"""Imports every model so that SQLAlchemy and Alembic know all tables."""

from lms.audit.models import AuditEntry
from lms.auth.models import RoleAssignment, User
from lms.catalog.models import Course, CourseAsset, Lesson, LessonVersion, Module, Quiz
from lms.jobs import Job
from lms.orgs.models import District, Organisation

__all__ = [
    "AuditEntry",
    "Course",
    "CourseAsset",
    "District",
    "Job",
    "Lesson",
    "LessonVersion",
    "Module",
    "Organisation",
    "Quiz",
    "RoleAssignment",
    "User",
]
