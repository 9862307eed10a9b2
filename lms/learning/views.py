"""Trainees' own learning: my learning, lesson completion, CE hours and the competency profile."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("learning", __name__, template_folder="templates")
