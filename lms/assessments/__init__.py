"""Assessments: quizzes written in Moodle's GIFT format, attempts and their grades."""
