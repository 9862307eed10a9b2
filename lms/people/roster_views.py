"""Roster upload: a CSV of people, imported by a background job, and its progress page."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from lms import jobs
from lms.auth.access import roles
from lms.auth.roles import Role
from lms.extensions import db
from lms.forms import csv_file_field, form_status
from lms.people import roster
from lms.people.roster_jobs import upload_path

bp = Blueprint("roster", __name__, template_folder="templates")

JOB_KIND = "users.import_roster"


class RosterUploadForm(FlaskForm):
    file = csv_file_field(_l("Roster file"), roster.MAX_BYTES)


def _recent_imports() -> list[jobs.Job]:
    """The person's last few roster imports, newest first."""
    stmt = (
        sa.select(jobs.Job)
        .where(jobs.Job.kind == JOB_KIND, jobs.Job.requested_by_id == current_user.id)
        .order_by(jobs.Job.created_at.desc())
        .limit(5)
    )
    return list(db.session.scalars(stmt))


@bp.route("/people/import", methods=["GET", "POST"])
@roles(Role.ADMIN, Role.HR)
def upload() -> str | Response | tuple[str, int]:
    """Upload a roster; the import runs as a job whose progress page we redirect to."""
    form = RosterUploadForm()
    if form.validate_on_submit():
        stored_name = f"{uuid.uuid4()}.csv"
        path = upload_path(stored_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        form.file.data.save(path)
        try:
            job = jobs.enqueue(
                JOB_KIND, stored_name, current_user.id, requested_by_id=current_user.id
            )
        except jobs.JobsUnavailable as error:
            path.unlink(missing_ok=True)
            flash(str(error), "error")
        else:
            return redirect(url_for("roster.status", job_id=job.id))
    return (
        render_template(
            "roster/upload.html",
            form=form,
            columns=roster.COLUMN_HELP,
            headers=roster.HEADERS,
            max_rows=roster.MAX_ROWS,
            max_mb=roster.MAX_BYTES // 2**20,
            recent=_recent_imports(),
            admin=current_user.has_role(Role.ADMIN),
        ),
        form_status(form),
    )


@bp.route("/people/import/example.csv")
@roles(Role.ADMIN, Role.HR)
def example() -> Response:
    """An example roster, with a BOM so that Excel reads the Chinese names correctly."""
    text = roster.example_csv(current_user.id)
    response = current_app.response_class(
        ("\ufeff" + text).encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    response.headers["Content-Disposition"] = 'attachment; filename="roster-example.csv"'
    return response


@bp.route("/people/import/<job_id>")
@roles(Role.ADMIN, Role.HR)
def status(job_id: str) -> str:
    """The import's progress, then its result (the requester's own imports; admins: any)."""
    return render_template("roster/status.html", job=jobs.visible_job_or_404(job_id, JOB_KIND))
