"""Cohorts and enrolment: the list, open cohorts for trainees, a cohort's page and roster,
creating and editing cohorts, enrolling people (by search or by file) and withdrawals.

Every cohort loaded by id goes through :func:`lms.learning.policy.get_cohort_or_404`, every
person through :func:`lms.auth.policy.get_visible_user_or_404`; the rules of enrolment are
the services' (:mod:`lms.learning.enrolment`).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from lms import jobs
from lms.auth.access import roles, signed_in
from lms.auth.models import User
from lms.auth.policy import get_visible_user_or_404
from lms.auth.roles import Role
from lms.extensions import db
from lms.forms import apply_errors, form_status, save
from lms.i18n import locale_code
from lms.learning import cohorts
from lms.learning import enrolment as services
from lms.learning.cohort_forms import (
    CohortFilterForm,
    CohortForm,
    EnrolForm,
    EnrolmentUploadForm,
    PersonSearchForm,
    WithdrawForm,
)
from lms.learning.completion import completed_course_ids
from lms.learning.enrolment_csv import HEADERS
from lms.learning.enrolment_jobs import JOB_KIND
from lms.learning.models import Cohort, CohortStatus, Enrolment, Tier
from lms.learning.policy import (
    can_manage_cohorts,
    can_manage_enrolments,
    can_teach_cohort,
    get_cohort_or_404,
    partner_scope,
    visible_cohorts,
)
from lms.orgs.models import Organisation, OrgKind
from lms.pagination import paginate
from lms.people import roster
from lms.people.roster_jobs import upload_path
from lms.validation import ValidationError

bp = Blueprint("cohorts", __name__, template_folder="templates")

STAFF = (Role.ADMIN, Role.HR, Role.COORDINATOR)


def _valid(form: FlaskForm) -> dict[str, Any]:
    """The form's values, None for fields with errors (an edited URL filters nothing)."""
    form.validate()
    return {name: f.data if not f.errors else None for name, f in form._fields.items()}


@bp.route("/cohorts")
@signed_in
def index() -> str:
    """The cohorts the signed-in person may see, filtered, with places taken."""
    locale = locale_code()
    form = CohortFilterForm(formdata=request.args)
    form.set_choices(
        cohorts.course_choices(),
        cohorts.programme_choices(),
        cohorts.organisations_of_kind([OrgKind.UNIVERSITY.value]),
        locale,
    )
    valid = _valid(form)
    filters = cohorts.CohortFilter(
        q=valid["q"] or "",
        status=valid["status"] or None,
        course_id=valid["course"],
        programme_id=valid["programme"],
        partner_id=valid["partner"],
    )
    page = paginate(cohorts.cohorts_query(current_user, filters))
    args = {
        key: request.args[key]
        for key in ("q", "status", "course", "programme", "partner")
        if request.args.get(key)
    }
    return render_template(
        "learning/cohort_index.html",
        form=form,
        page=page,
        args=args,
        counts=cohorts.enrolled_counts(c.id for c in page.items),
        can_manage=can_manage_cohorts(current_user),
        locale=locale,
    )


@bp.route("/cohorts/open")
@signed_in
def offerings() -> str:
    """Cohorts open for self-enrolment (of a course or programme when asked), with places left
    and, for a trainee, the button or the reason they cannot enrol."""
    course_id = request.args.get("course", type=int)
    programme_id = request.args.get("programme", type=int)
    page = paginate(
        visible_cohorts(current_user, cohorts.open_cohorts_query(course_id, programme_id))
    )
    counts = cohorts.enrolled_counts(c.id for c in page.items)
    trainee = current_user.has_role(Role.TRAINEE)
    problems: dict[int, str | None] = {}
    mine: dict[int, Enrolment] = {}
    if trainee:
        mine = cohorts.my_enrolments(current_user.id, counts)
        done = completed_course_ids(
            current_user.id,
            {p.id for c in page.items if c.course is not None for p in c.course.prerequisites},
        )

        def completed(course_id: int) -> bool:
            return course_id in done

        for cohort in page.items:
            problems[cohort.id] = services.self_enrolment_problem(
                current_user, cohort, mine.get(cohort.id), counts[cohort.id], completed=completed
            )
    return render_template(
        "learning/cohort_offerings.html",
        page=page,
        counts=counts,
        problems=problems,
        mine=mine,
        trainee=trainee,
        args={k: v for k, v in (("course", course_id), ("programme", programme_id)) if v},
        locale=locale_code(),
    )


@bp.route("/cohorts/<int:cohort_id>")
@signed_in
def detail(cohort_id: int) -> str:
    """A cohort's facts; its roster for staff (the people they see) and its teachers."""
    cohort = cohorts.load_cohort_details(get_cohort_or_404(current_user, cohort_id))
    teaches = can_teach_cohort(current_user, cohort)
    staff = can_manage_enrolments(current_user)
    enrolments = cohorts.roster(current_user, cohort, everyone=teaches) if teaches or staff else []
    enrolled = cohorts.enrolled_counts([cohort.id])[cohort.id]
    mine = cohorts.my_enrolments(current_user.id, [cohort.id]).get(cohort.id)
    problem = None
    if current_user.has_role(Role.TRAINEE):
        problem = services.self_enrolment_problem(current_user, cohort, mine, enrolled)
    return render_template(
        "learning/cohort_detail.html",
        cohort=cohort,
        enrolments=enrolments,
        show_roster=teaches or staff,
        can_enrol=staff and cohort.status != CohortStatus.ARCHIVED,
        can_edit=can_manage_cohorts(current_user),
        enrolled=enrolled,
        seats_left=cohorts.seats_left(cohort, enrolled),
        mine=mine,
        problem=problem,
        trainee=current_user.has_role(Role.TRAINEE),
        required_tier=Tier(required).label if (required := _required_tier(cohort)) else "",
        locale=locale_code(),
    )


def _required_tier(cohort: Cohort) -> str | None:
    return cohort.programme.requires_tier if cohort.programme is not None else None


# Creating and editing --------------------------------------------------------------------------


def _cohort_form(cohort: Cohort | None = None) -> CohortForm:
    """The cohort form with its choices, filled from ``cohort`` on a GET."""
    data: dict[str, Any] = {}
    keep: list[int] = []
    if cohort is not None:
        keep = [i.id for i in cohort.instructors]
        data = {
            "code": cohort.code,
            "title": cohort.title,
            "course_id": cohort.course_id,
            "programme_id": cohort.programme_id,
            "partner_id": cohort.partner_id,
            "location_id": cohort.location_id,
            "online": cohort.online,
            "starts_on": cohort.starts_on,
            "ends_on": cohort.ends_on,
            "capacity": cohort.capacity,
            "self_enrolment": cohort.self_enrolment,
            "status": cohort.status,
            "instructor_ids": keep,
        }
    form = CohortForm(data=data)
    form.set_choices(
        cohorts.course_choices(),
        cohorts.programme_choices(),
        _partners_for(current_user, cohort.partner_id if cohort else None),
        cohorts.organisations_of_kind(
            cohorts.LOCATION_KINDS, cohort.location_id if cohort else None
        ),
        cohorts.instructor_choices(keep),
        locale_code(),
    )
    return form


def _partners_for(actor: User, include: int | None) -> list[Organisation]:
    """The university partners ``actor`` may run cohorts for: a coordinator scoped to a
    partner is offered that partner (and those under it) only."""
    partners = cohorts.organisations_of_kind([OrgKind.UNIVERSITY.value], include)
    scope = partner_scope(actor)
    if scope is None:
        return partners
    return [o for o in partners if scope in (o.id, o.parent_id) or o.id == include]


def _cohort_data(form: CohortForm) -> cohorts.CohortData:
    return cohorts.CohortData(
        code=form.code.data or "",
        title=form.title.data or "",
        course_id=form.course_id.data,
        programme_id=form.programme_id.data,
        partner_id=form.partner_id.data,
        location_id=form.location_id.data,
        online=bool(form.online.data),
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        capacity=form.capacity.data,
        self_enrolment=bool(form.self_enrolment.data),
        status=form.status.data or "",
        instructor_ids=list(form.instructor_ids.data or []),
    )


@bp.route("/cohorts/new", methods=["GET", "POST"])
@roles(*STAFF)
def create() -> str | Response | tuple[str, int]:
    form = _cohort_form()
    if form.validate_on_submit():
        saved, cohort = save(
            form, lambda: cohorts.create_cohort(current_user.id, _cohort_data(form))
        )
        if saved and cohort is not None:
            flash(_("The cohort %(code)s has been created.", code=cohort.code), "success")
            return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    return render_template("learning/cohort_form.html", form=form, cohort=None), form_status(form)


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@roles(*STAFF)
def edit(cohort_id: int) -> str | Response | tuple[str, int]:
    cohort = get_cohort_or_404(current_user, cohort_id)
    form = _cohort_form(cohort)
    if form.validate_on_submit():
        saved, _cohort = save(
            form, lambda: cohorts.update_cohort(current_user.id, cohort, _cohort_data(form))
        )
        if saved:
            flash(_("The changes have been saved."), "success")
            return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    return render_template("learning/cohort_form.html", form=form, cohort=cohort), form_status(form)


# Enrolling -------------------------------------------------------------------------------------


@bp.route("/cohorts/<int:cohort_id>/enrol", methods=["GET", "POST"])
@roles(*STAFF)
def enrol(cohort_id: int) -> str | Response | tuple[str, int]:
    """Search the people one looks after and enrol one, or several ticked at once.

    The search answers with the results alone to htmx, with the whole page otherwise.
    """
    cohort = get_cohort_or_404(current_user, cohort_id)
    search = PersonSearchForm(formdata=request.args)
    q = _valid(search)["q"] or ""
    form = EnrolForm()
    if form.validate_on_submit() and _enrol_chosen(cohort, form):
        return redirect(url_for("cohorts.enrol", cohort_id=cohort.id, q=q or None))
    candidates = cohorts.enrol_candidates(current_user, cohort, q)
    template = (
        "learning/cohort_enrol_results.html"
        if request.headers.get("HX-Request") and request.method == "GET"
        else "learning/cohort_enrol.html"
    )
    enrolled = cohorts.enrolled_counts([cohort.id])[cohort.id]
    return render_template(
        template,
        cohort=cohort,
        search=search,
        q=q,
        form=form,
        candidates=candidates,
        enrolled=enrolled,
        seats_left=cohorts.seats_left(cohort, enrolled),
        archived=cohort.status == CohortStatus.ARCHIVED,
    ), form_status(form)


def _enrol_chosen(cohort: Cohort, form: EnrolForm) -> bool:
    """Enrol the person whose button was pressed, or those ticked; whether it was done.

    A person the signed-in officer may not see answers 404, as everywhere.
    """
    one = request.form.get("one", type=int)
    ids = [one] if one else list(form.user_ids.data or [])
    if not ids:
        flash(_("Tick the people to enrol."), "error")
        return False
    for user_id in ids:
        get_visible_user_or_404(current_user, user_id)
    try:
        done = services.enrol_people(current_user.id, cohort.id, ids)
    except services.EnrolmentRefused as refused:
        db.session.rollback()
        for message in refused.problems.values():
            flash(message, "error")
        return False
    db.session.commit()
    names = "、".join(d.enrolment.user.name for d in done)
    flash(
        ngettext(
            "%(num)d person enrolled: %(names)s.",
            "%(num)d people enrolled: %(names)s.",
            len(done),
            names=names,
        ),
        "success",
    )
    return True


def _recent_uploads(cohort_id: int) -> list[jobs.Job]:
    """The person's last few enrolment files for this cohort, newest first."""
    return [
        job
        for job in db.session.scalars(
            sa.select(jobs.Job)
            .where(jobs.Job.kind == JOB_KIND, jobs.Job.requested_by_id == current_user.id)
            .order_by(jobs.Job.created_at.desc())
            .limit(20)
        )
        if len(job.args) > 1 and job.args[1] == cohort_id
    ][:5]


@bp.route("/cohorts/<int:cohort_id>/enrol/csv", methods=["GET", "POST"])
@roles(*STAFF)
def upload(cohort_id: int) -> str | Response | tuple[str, int]:
    """Upload a file of people to enrol; a job checks and applies it, all rows or none."""
    cohort = get_cohort_or_404(current_user, cohort_id)
    form = EnrolmentUploadForm()
    if form.validate_on_submit():
        stored_name = f"{uuid.uuid4()}.csv"
        path = upload_path(stored_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        form.file.data.save(path)
        try:
            job = jobs.enqueue(
                JOB_KIND, stored_name, cohort.id, current_user.id, requested_by_id=current_user.id
            )
        except jobs.JobsUnavailable as error:
            path.unlink(missing_ok=True)
            flash(str(error), "error")
        else:
            return redirect(url_for("cohorts.upload_status", cohort_id=cohort.id, job_id=job.id))
    return render_template(
        "learning/cohort_upload.html",
        cohort=cohort,
        form=form,
        headers=HEADERS,
        max_rows=roster.MAX_ROWS,
        max_mb=roster.MAX_BYTES // 2**20,
        recent=_recent_uploads(cohort.id),
    ), form_status(form)


@bp.route("/cohorts/<int:cohort_id>/enrol/csv/<job_id>")
@roles(*STAFF)
def upload_status(cohort_id: int, job_id: str) -> str:
    """The enrolment file's progress, then its result (the requester's own; admins: any)."""
    cohort = get_cohort_or_404(current_user, cohort_id)
    job = jobs.visible_job_or_404(job_id, JOB_KIND)
    if len(job.args) < 2 or job.args[1] != cohort.id:
        abort(404)
    return render_template("learning/cohort_upload_status.html", cohort=cohort, job=job)


# Self-enrolment and withdrawal -----------------------------------------------------------------


@bp.route("/cohorts/<int:cohort_id>/self-enrol", methods=["POST"])
@roles(Role.TRAINEE)
def self_enrol(cohort_id: int) -> Response:
    cohort = get_cohort_or_404(current_user, cohort_id)
    form = FlaskForm()
    if form.validate_on_submit():
        try:
            services.self_enrol(current_user.id, cohort.id)
        except services.EnrolmentRefused as refused:
            db.session.rollback()
            for message in refused.problems.values():
                flash(message, "error")
        else:
            db.session.commit()
            flash(_("You are enrolled in %(title)s.", title=cohort.title), "success")
    else:
        flash(_("The form has expired; please send it again."), "error")
    return redirect(url_for("cohorts.detail", cohort_id=cohort.id))


@bp.route("/cohorts/<int:cohort_id>/enrolments/<int:enrolment_id>/withdraw", methods=["POST"])
@signed_in
def withdraw(cohort_id: int, enrolment_id: int) -> Response:
    """Withdraw a person (staff, with a reason) or oneself."""
    cohort = get_cohort_or_404(current_user, cohort_id)
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.cohort_id != cohort.id:
        abort(404)
    if enrolment.user_id != current_user.id:
        if not can_manage_enrolments(current_user):
            abort(403)
        get_visible_user_or_404(current_user, enrolment.user_id)
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            services.withdraw(current_user.id, enrolment.id, form.reason.data or "")
        except ValidationError as error:
            db.session.rollback()
            apply_errors(form, error)
            for message in [*form.reason.errors, *form.form_errors]:
                flash(message, "error")
        else:
            db.session.commit()
            person: User = enrolment.user
            if person.id == current_user.id:
                flash(_("You have withdrawn from %(title)s.", title=cohort.title), "success")
            else:
                flash(_("%(name)s has been withdrawn.", name=person.name), "success")
    else:
        for message in form.reason.errors:
            flash(message, "error")
        if form.csrf_token.errors:
            flash(_("The form has expired; please send it again."), "error")
    return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
