"""The grading queue, practical assessments and the cohort gradebook."""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response

from lms.assessments import gradebook as gradebook_queries
from lms.assessments import queue as queue_queries
from lms.assessments.grading_forms import QueueFilterForm, practical_result_form
from lms.assessments.models import Practical
from lms.assessments.practicals import (
    assessable_people,
    assesses_practical,
    assessing_cohort_id,
    latest_results_of,
    level_label,
    record_result,
    results_of,
)
from lms.auth.access import roles, signed_in
from lms.auth.models import User
from lms.auth.roles import Role
from lms.extensions import db
from lms.forms import form_status, save
from lms.i18n import locale_code
from lms.learning.access import is_enrolled_in_course
from lms.learning.policy import can_view_gradebook, get_cohort_or_404
from lms.pagination import paginate

bp = Blueprint("grading", __name__, template_folder="templates")


def _today() -> date:
    """Today in the page's time zone (an observation dated today is never "in the future")."""
    return datetime.now(get_timezone()).date()


def _practical_or_404(practical_id: int) -> Practical:
    practical = db.session.get(Practical, practical_id)
    if practical is None:
        abort(404)
    return practical


def _level_names(practical: Practical, locale: str) -> dict[int, str]:
    return {int(level["points"]): level_label(level, locale) for level in practical.levels}


@bp.route("/practicals/<int:practical_id>/people/<int:user_id>", methods=["GET", "POST"])
@roles(Role.ADMIN, Role.INSTRUCTOR)
def record_practical(practical_id: int, user_id: int) -> str | Response | tuple[str, int]:
    """Record an observed demonstration against the rubric (a new result; the latest counts).

    Administrators, the course's owners and the instructors of a cohort the trainee is
    enrolled in; anyone else gets 404, as if the trainee were not there.
    """
    practical = _practical_or_404(practical_id)
    cohort_id = assessing_cohort_id(current_user, practical, user_id)
    if practical.archived or cohort_id is None:
        abort(404)
    person = db.session.get_one(User, user_id)
    locale = locale_code()
    form = practical_result_form(practical, locale, data={"observed_on": _today()})
    if form.validate_on_submit():
        saved, result = save(
            form,
            lambda: record_result(
                current_user,
                practical,
                user_id,
                form.observation(practical),
                cohort_id=cohort_id,
                today=_today(),
            ),
        )
        if saved and result is not None:
            if result.passed:
                message = _(
                    "Result recorded for %(name)s: passed, %(total)d of %(max)d points.",
                    name=person.name,
                    total=result.total,
                    max=result.max_total,
                )
            else:
                message = _(
                    "Result recorded for %(name)s: not passed, %(total)d of %(max)d points.",
                    name=person.name,
                    total=result.total,
                    max=result.max_total,
                )
            flash(message, "success")
            return redirect(
                url_for("grading.record_practical", practical_id=practical.id, user_id=user_id)
            )
    return (
        render_template(
            "assessments/practical_record.html",
            practical=practical,
            person=person,
            form=form,
            rubric=form.rubric_fields(practical),
            results=results_of(user_id, practical.id),
            level_names=_level_names(practical, locale),
            locale=locale,
        ),
        form_status(form),
    )


@bp.route("/practicals/<int:practical_id>")
@signed_in
def practical(practical_id: int) -> str:
    """A practical: for a trainee enrolled in its course, the instructions, the rubric and their
    own results; for those who assess it, the trainees they assess with their latest result."""
    practical = _practical_or_404(practical_id)
    teaches = assesses_practical(current_user, practical)
    own = results_of(current_user.id, practical.id)
    learns = bool(own) or is_enrolled_in_course(current_user.id, practical.course_id)
    if not (teaches or learns):
        abort(404)
    page = None
    latest = {}
    if teaches:
        page = paginate(assessable_people(current_user, practical))
        latest = latest_results_of(practical.id, [p.id for p in page.items])
    locale = locale_code()
    return render_template(
        "assessments/practical_detail.html",
        practical=practical,
        learns=learns,
        results=own,
        page=page,
        latest=latest,
        level_names=_level_names(practical, locale),
        locale=locale,
    )


@bp.route("/grading")
@roles(Role.ADMIN, Role.INSTRUCTOR)
def queue() -> str:
    """What waits for a mark: essays of submitted attempts and practicals not yet passed by the
    trainees the instructor teaches, oldest first."""
    cohorts = queue_queries.teaching_cohorts(current_user)
    form = QueueFilterForm(formdata=request.args)
    form.set_choices(cohorts)
    form.validate()
    cohort_id = form.cohort.data if not form.cohort.errors else None
    page = queue_queries.queue_page(current_user, cohort_id)
    return render_template(
        "assessments/grading_queue.html",
        form=form,
        page=page,
        counts=queue_queries.queue_counts(current_user, cohort_id),
        args={"cohort": cohort_id} if cohort_id else {},
        locale=locale_code(),
    )


def _gradebook(cohort_id: int) -> gradebook_queries.Gradebook:
    cohort = get_cohort_or_404(current_user, cohort_id)
    if not can_view_gradebook(current_user, cohort):
        abort(403)
    return gradebook_queries.build_gradebook(current_user, cohort)


@bp.route("/cohorts/<int:cohort_id>/gradebook")
@roles(Role.ADMIN, Role.INSTRUCTOR, Role.HR, Role.COORDINATOR)
def gradebook(cohort_id: int) -> str:
    """The cohort's people × assessments, for its teachers and for HR and coordinators."""
    return render_template(
        "assessments/gradebook_cohort.html",
        book=_gradebook(cohort_id),
        locale=locale_code(),
        local_date=gradebook_queries.local_date,
        number_text=gradebook_queries.number_text,
    )


@bp.route("/cohorts/<int:cohort_id>/gradebook.csv")
@roles(Role.ADMIN, Role.INSTRUCTOR, Role.HR, Role.COORDINATOR)
def gradebook_csv(cohort_id: int) -> Response:
    """The gradebook as a CSV file for Excel, headers in the page's language."""
    book = _gradebook(cohort_id)
    response = current_app.response_class(
        gradebook_queries.gradebook_csv(book, locale_code()),
        content_type="text/csv; charset=utf-8",
    )
    filename = f"gradebook-{secure_filename(book.cohort.code) or book.cohort.id}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
