"""Imports every model so that SQLAlchemy and Alembic know all tables."""

from lms.assessments.models import Practical, PracticalResult, QuizAttempt
from lms.audit.models import AuditEntry
from lms.auth.models import RoleAssignment, User
from lms.catalog.models import Course, CourseAsset, Lesson, LessonVersion, Module, Quiz
from lms.certificates.models import (
    Certificate,
    CertificateTemplate,
    CertificateType,
    OutboxMessage,
    SerialCounter,
)
from lms.jobs import Job
from lms.learning.models import (
    CeEntry,
    Cohort,
    Competency,
    CompetencyEvidence,
    CourseCompletion,
    Enrolment,
    LessonProgress,
    Programme,
    ProgrammeCompletion,
    ProgrammeCourse,
)
from lms.orgs.models import District, Organisation
from lms.reports.models import Target, TierPeriod

__all__ = [
    "AuditEntry",
    "CeEntry",
    "Certificate",
    "CertificateTemplate",
    "CertificateType",
    "Cohort",
    "Competency",
    "CompetencyEvidence",
    "Course",
    "CourseAsset",
    "CourseCompletion",
    "District",
    "Enrolment",
    "Job",
    "Lesson",
    "LessonProgress",
    "LessonVersion",
    "Module",
    "Organisation",
    "OutboxMessage",
    "Practical",
    "PracticalResult",
    "Programme",
    "ProgrammeCompletion",
    "ProgrammeCourse",
    "Quiz",
    "QuizAttempt",
    "RoleAssignment",
    "SerialCounter",
    "Target",
    "TierPeriod",
    "User",
]
