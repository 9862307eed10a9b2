"""Programmes and competencies: the public list and the administrators' editor."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("programmes", __name__, template_folder="templates")
