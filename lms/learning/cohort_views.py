"""Cohorts and enrolment."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cohorts", __name__, template_folder="templates")
