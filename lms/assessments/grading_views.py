"""The grading queue, practical assessments and the cohort gradebook."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("grading", __name__, template_folder="templates")
