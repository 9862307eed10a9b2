"""Learning models, one entity (or a close family) per module."""

from lms.learning.models.ce import CeEntry, CeKind
from lms.learning.models.cohort import (
    Cohort,
    CohortStatus,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    cohort_instructors,
)
from lms.learning.models.competency import Competency, Dimension, lesson_competencies
from lms.learning.models.completion import (
    CompetencyEvidence,
    CourseCompletion,
    EvidenceSource,
    ProgrammeCompletion,
)
from lms.learning.models.programme import (
    Cycle,
    Programme,
    ProgrammeCourse,
    Tier,
    programme_practicals,
)
from lms.learning.models.progress import LessonProgress

__all__ = [
    "CeEntry",
    "CeKind",
    "Cohort",
    "CohortStatus",
    "Competency",
    "CompetencyEvidence",
    "CourseCompletion",
    "Cycle",
    "Dimension",
    "Enrolment",
    "EnrolmentSource",
    "EnrolmentStatus",
    "EvidenceSource",
    "LessonProgress",
    "Programme",
    "ProgrammeCompletion",
    "ProgrammeCourse",
    "Tier",
    "cohort_instructors",
    "lesson_competencies",
    "programme_practicals",
]
