"""Taking quizzes: start, answer (saved as the trainee goes), submit, review; essay marking."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("quizzes", __name__, template_folder="templates")
