"""Programmes and competencies: the pages everyone reads and the administrators' editor.

Every signed-in person sees the programmes that are not archived, a programme's rules and
the competency standard; a trainee also sees their own checklist on a programme's page.
Administrators see archived programmes too, and create, edit, archive and bring them back.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.audit import queries as audit_queries
from lms.auth.access import roles, signed_in
from lms.auth.roles import Role
from lms.catalog.views import format_hours
from lms.extensions import db
from lms.forms import form_status, save
from lms.i18n import locale_code
from lms.learning import programmes
from lms.learning.completion import programme_progress
from lms.learning.models import Programme
from lms.learning.programme_forms import NewProgrammeForm, ProgrammeForm

bp = Blueprint("programmes", __name__, template_folder="templates")

F = TypeVar("F", bound=ProgrammeForm)

RECENT_AUDIT_ENTRIES = 10


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "format_hours": format_hours,
        "track_label": programmes.track_label,
        "cycle_label": programmes.cycle_label,
        "tier_label": programmes.tier_label,
        "dimension_label": programmes.dimension_label,
    }


def _is_admin() -> bool:
    return bool(current_user.has_role(Role.ADMIN))


def _programme_or_404(code: str) -> Programme:
    """The programme, if the signed-in person may see it (archived ones: admins only)."""
    programme = programmes.programme_by_code(code)
    if programme is None or (programme.archived and not _is_admin()):
        abort(404)
    return programme


@bp.route("/programmes")
@signed_in
def index() -> str:
    """Programmes with their track, tier, certificate, courses and CE hours."""
    admin = _is_admin()
    return render_template(
        "learning/programme_index.html", rows=programmes.programme_rows(admin), admin=admin
    )


@bp.route("/programmes/<code>")
@signed_in
def detail(code: str) -> str:
    """A programme's rules; a trainee's own checklist; admins' actions and recent changes."""
    programme = _programme_or_404(code)
    admin = _is_admin()
    progress = None
    if current_user.has_role(Role.TRAINEE):
        progress = programme_progress(current_user.id, programme.id)
    entries = (
        audit_queries.recent_entries("programme", programme.id, RECENT_AUDIT_ENTRIES)
        if admin
        else []
    )
    return render_template(
        "learning/programme_detail.html",
        programme=programme,
        required=[link.course for link in programme.courses if link.required],
        electives=[link.course for link in programme.courses if not link.required],
        dimensions=programmes.competencies_of(programme.required_dimensions),
        progress=progress,
        admin=admin,
        entries=entries,
        names=audit_queries.EntityNames.load(entries),
    )


def _form(form_class: type[F], programme: Programme | None = None) -> F:
    """The programme form with its choices, filled from ``programme`` on a GET."""
    data: dict[str, Any] = {"track": "pre_service", "cycle": "once", "min_ce_hours": 0}
    keep: list[int] = []
    if programme is not None:
        data = {
            name: getattr(programme, name)
            for name in (
                "title",
                "title_en",
                "summary",
                "summary_en",
                "track",
                "cycle",
                "min_ce_hours",
                "min_electives",
                "certificate_title",
                "certificate_title_en",
            )
        }
        data |= {
            "tier": programme.tier or "",
            "requires_tier": programme.requires_tier or "",
            "required_courses": [c.course_id for c in programme.courses if c.required],
            "elective_courses": [c.course_id for c in programme.courses if not c.required],
            "practicals": [p.id for p in programme.practicals],
            "required_dimensions": list(programme.required_dimensions),
        }
        keep = [p.id for p in programme.practicals]
    form = form_class(data=data)
    courses = programmes.course_choices()
    if programme is not None:
        listed = {c.id for c in courses}
        courses += [link.course for link in programme.courses if link.course_id not in listed]
    form.fill_choices(courses, programmes.practical_choices(keep), locale_code())
    return form


@bp.route("/programmes/new", methods=["GET", "POST"])
@roles(Role.ADMIN)
def create() -> tuple[str, int] | Response:
    form = _form(NewProgrammeForm)
    if form.validate_on_submit():
        saved, programme = save(
            form, lambda: programmes.create_programme(current_user.id, form.data_for_service())
        )
        if saved and programme is not None:
            flash(_("Programme %(code)s created.", code=programme.code), "success")
            return redirect(url_for("programmes.detail", code=programme.code))
    return render_template("learning/programme_form.html", form=form, programme=None), form_status(
        form
    )


@bp.route("/programmes/<code>/edit", methods=["GET", "POST"])
@roles(Role.ADMIN)
def edit(code: str) -> tuple[str, int] | Response:
    programme = _programme_or_404(code)
    form = _form(ProgrammeForm, programme)
    if form.validate_on_submit():
        saved, _programme = save(
            form,
            lambda: programmes.update_programme(
                current_user.id, programme, form.data_for_service()
            ),
        )
        if saved:
            flash(_("Programme %(code)s saved.", code=programme.code), "success")
            return redirect(url_for("programmes.detail", code=programme.code))
    return render_template(
        "learning/programme_form.html", form=form, programme=programme
    ), form_status(form)


def _set_archived(code: str, archived: bool) -> Response:
    programme = _programme_or_404(code)
    programmes.set_archived(current_user.id, programme, archived)
    db.session.commit()
    if archived:
        message = _(
            "Programme %(code)s archived: it is no longer listed; its cohorts and completions "
            "are kept.",
            code=programme.code,
        )
    else:
        message = _("Programme %(code)s is listed again.", code=programme.code)
    flash(message, "success")
    return redirect(url_for("programmes.detail", code=programme.code))


@bp.route("/programmes/<code>/archive", methods=["POST"])
@roles(Role.ADMIN)
def archive(code: str) -> Response:
    return _set_archived(code, True)


@bp.route("/programmes/<code>/unarchive", methods=["POST"])
@roles(Role.ADMIN)
def unarchive(code: str) -> Response:
    return _set_archived(code, False)


@bp.route("/competencies")
@signed_in
def competencies() -> str:
    """The professional standard: its dimensions, competencies and where each is evidenced."""
    return render_template(
        "learning/competency_standard.html", standard=programmes.competency_map()
    )
