"""Tests of assessments: GIFT quizzes."""
