"""Trainees' own learning: my learning, lesson completion, CE hours and the competency profile;
and, for the staff who may see it, a person's learning record.

A lesson is marked complete only by people enrolled in its course (403 otherwise); an
archived or unpublished lesson answers 404. A person's record answers 404 to whoever may not
see it (:func:`lms.learning.policy.may_see_learning_record`).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from lms.auth.access import roles, signed_in
from lms.auth.models import User
from lms.auth.roles import Role
from lms.catalog import queries as catalog_queries
from lms.catalog.models import Lesson
from lms.catalog.views import format_hours
from lms.db import utcnow
from lms.extensions import db
from lms.forms import form_status, save
from lms.learning import ce as ce_service
from lms.learning import progress
from lms.learning.access import is_enrolled_in_course
from lms.learning.competency_profile import competency_profile
from lms.learning.dashboard import learning_overview
from lms.learning.learning_forms import ExternalCeForm, RemoveCeForm
from lms.learning.policy import may_see_learning_record
from lms.main.errors import render_error
from lms.validation import ValidationError

bp = Blueprint("learning", __name__, template_folder="templates")


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"format_hours": format_hours}


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _lesson_for_progress(lesson_id: int) -> Lesson:
    """The readable lesson, refused (403, saying why) unless the signed-in person is enrolled
    in its course; 404 for a lesson no trainee may read."""
    lesson = progress.readable_lesson(lesson_id)
    if lesson is None:
        abort(404)
    if not is_enrolled_in_course(current_user.id, lesson.module.course_id):
        message = _("Only people enrolled in this course can record their progress in it.")
        abort(make_response(render_error(403, message)))
    return lesson


@bp.route("/learning/lessons/<int:lesson_id>/complete", methods=["POST"])
@signed_in
def complete_lesson(lesson_id: int) -> str | Response:
    """Mark a lesson complete (once); htmx gets the completion panel, others a redirect."""
    lesson = _lesson_for_progress(lesson_id)
    course = lesson.module.course
    row, _completed = progress.complete_lesson(current_user.id, lesson)
    db.session.commit()
    if _is_htmx():
        sequence = catalog_queries.lesson_sequence(course.id)
        _previous, following = catalog_queries.neighbours(sequence, lesson.id)
        return render_template(
            "learning/my_lesson_completion.html",
            course=course,
            lesson_id=lesson.id,
            completed_at=row.completed_at,
            following=following,
        )
    flash(_("Lesson marked complete."), "success")
    return redirect(
        url_for("catalog.lesson", code=course.code, lesson_id=lesson.id, _anchor="completion")
    )


@bp.route("/learning/lessons/<int:lesson_id>/time", methods=["POST"])
@signed_in
def lesson_time(lesson_id: int) -> tuple[str, int]:
    """Add the seconds the lesson page was visible (sent by ``lesson.js``)."""
    try:
        seconds = int(request.form.get("seconds", ""))
    except ValueError:
        abort(400)
    lesson = _lesson_for_progress(lesson_id)
    progress.add_time(current_user.id, lesson.id, seconds)
    db.session.commit()
    return "", 204


@bp.route("/learning")
@roles(Role.TRAINEE)
def my_learning() -> str:
    """The signed-in trainee's enrolments, progress, CE hours and completions."""
    return render_template("learning/my_learning.html", overview=learning_overview(current_user.id))


@bp.route("/learning/ce")
@roles(Role.TRAINEE)
def my_ce() -> str:
    """The signed-in trainee's CE-hours ledger, per cycle."""
    return render_template("learning/ce_mine.html", cycles=ce_service.ledger(current_user.id))


@bp.route("/learning/competencies")
@roles(Role.TRAINEE)
def my_competencies() -> str:
    """The signed-in trainee's competency profile."""
    return render_template(
        "learning/profile_mine.html", profile=competency_profile(current_user.id)
    )


def _record_person_or_404(user_id: int) -> User:
    person = db.session.get(User, user_id)
    if person is None or not may_see_learning_record(current_user, user_id):
        abort(404)
    return person


def _render_record(
    person: User,
    ce_form: ExternalCeForm | None = None,
    remove_form: RemoveCeForm | None = None,
    removing: int | None = None,
) -> tuple[str, int]:
    can_record = ce_service.can_record_ce(current_user, person)
    if can_record and ce_form is None:
        ce_form = ExternalCeForm()
    forms = [f for f in (ce_form, remove_form) if f is not None]
    return render_template(
        "learning/ce_person_record.html",
        person=person,
        overview=learning_overview(person.id),
        cycles=ce_service.ledger(person.id),
        profile=competency_profile(person.id),
        can_record=can_record,
        ce_form=ce_form if can_record else None,
        remove_form=remove_form or RemoveCeForm(formdata=None),
        removing=removing,
    ), form_status(*forms)


@bp.route("/people/<int:user_id>/learning")
@signed_in
def person_record(user_id: int) -> tuple[str, int]:
    """A person's enrolments, progress, completions, CE ledger and competency profile."""
    return _render_record(_record_person_or_404(user_id))


def _person_for_ce_or_404(user_id: int) -> User:
    """The person, if the signed-in HR officer or admin may record CE hours for them."""
    person = _record_person_or_404(user_id)
    if not ce_service.can_record_ce(current_user, person):
        abort(403)
    return person


def _training(form: ExternalCeForm) -> ce_service.ExternalTraining:
    return ce_service.ExternalTraining(
        title=form.title.data or "",
        hours=form.hours.data,
        occurred_on=form.occurred_on.data,
        reason=form.reason.data or "",
    )


def _add_rule_errors(form: ExternalCeForm) -> None:
    """Besides the fields that could not be read, show the rules the others break."""
    try:
        ce_service.validate_external(_training(form), utcnow().date())
    except ValidationError as error:
        for name, message in error.errors.items():
            field = form._fields.get(name)
            if field is not None and not field.errors:
                field.errors = [message]


@bp.route("/people/<int:user_id>/learning/ce", methods=["POST"])
@roles(Role.ADMIN, Role.HR)
def record_ce(user_id: int) -> Response | tuple[str, int]:
    """Record external training (CE hours) for a person."""
    person = _person_for_ce_or_404(user_id)
    form = ExternalCeForm()
    if form.validate_on_submit():
        data = _training(form)
        saved, _entry = save(
            form, lambda: ce_service.record_external(current_user, person.id, data)
        )
        if saved:
            flash(_("The CE hours have been recorded."), "success")
            return redirect(url_for("learning.person_record", user_id=person.id, _anchor="ce"))
    else:
        _add_rule_errors(form)
    return _render_record(person, ce_form=form)


@bp.route("/people/<int:user_id>/learning/ce/<int:entry_id>/remove", methods=["POST"])
@roles(Role.ADMIN, Role.HR)
def remove_ce(user_id: int, entry_id: int) -> Response | tuple[str, int]:
    """Remove an external CE entry recorded by mistake, with a reason."""
    person = _person_for_ce_or_404(user_id)
    entry = ce_service.external_entry(person.id, entry_id)
    if entry is None:
        abort(404)
    form = RemoveCeForm()
    if form.validate_on_submit():
        saved, _none = save(
            form, lambda: ce_service.remove_external(current_user, entry, form.reason.data or "")
        )
        if saved:
            flash(_("The CE entry has been removed."), "success")
            return redirect(url_for("learning.person_record", user_id=person.id, _anchor="ce"))
    return _render_record(person, remove_form=form, removing=entry_id)
