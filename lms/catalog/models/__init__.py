"""Catalogue models, one entity per module."""

from lms.catalog.models.asset import CourseAsset
from lms.catalog.models.course import Course, course_owners, course_prerequisites
from lms.catalog.models.lesson import Lesson, LessonVersion
from lms.catalog.models.module import Module
from lms.catalog.models.quiz import Quiz

__all__ = [
    "Course",
    "CourseAsset",
    "Lesson",
    "LessonVersion",
    "Module",
    "Quiz",
    "course_owners",
    "course_prerequisites",
]
