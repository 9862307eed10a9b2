"""Assessment models: quiz attempts and practical assessments."""

from lms.assessments.models.attempt import AttemptStatus, QuizAttempt
from lms.assessments.models.practical import Practical, PracticalResult

__all__ = ["AttemptStatus", "Practical", "PracticalResult", "QuizAttempt"]
