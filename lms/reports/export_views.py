"""Pages: CSV and XLSX exports of dashboard tables and lists, run as jobs.

``POST /reports/exports`` checks the request (what, format, filters and the person's scope)
and queues the ``reports.export`` job; its page shows the progress and then the download,
both for the person who asked for it (and administrators) only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from lms import jobs
from lms.auth.access import roles
from lms.auth.roles import Role
from lms.reports import export_jobs
from lms.reports.exports import MIMETYPES, export_path
from lms.reports.filters import ScopeRefused
from lms.validation import ValidationError

bp = Blueprint(
    "report_exports", __name__, url_prefix="/reports/exports", template_folder="templates"
)

# Form fields carrying the page's query arguments: q_as_of, q_year, q_tier, q_sort, ...
ARG_PREFIX = "q_"


@bp.route("", methods=["POST"])
@roles(Role.ADMIN, Role.COORDINATOR)
def start() -> Response | tuple[str, int]:
    """Check the export asked for by the form, queue it and show its page (303)."""
    form = request.form
    args = {
        key.removeprefix(ARG_PREFIX): value
        for key, value in form.items()
        if key.startswith(ARG_PREFIX) and value
    }
    try:
        plan = export_jobs.plan_export(
            form.get("source", ""), form.get("name", ""), form.get("format", ""), args, current_user
        )
    except ScopeRefused:
        abort(403)
    except ValidationError as error:
        return render_template("reports/export.html", job=None, errors=error.errors), 400
    try:
        job = export_jobs.start_export(plan, current_user.id)
    except jobs.JobsUnavailable as error:
        return render_template("reports/export.html", job=None, errors={"": str(error)}), 503
    return redirect(url_for("report_exports.show", job_id=job.id), code=303)


@bp.route("/<job_id>")
@roles(Role.ADMIN, Role.COORDINATOR)
def show(job_id: str) -> str:
    """The export's progress, then its download link (the requester's own; admins: any)."""
    job = jobs.visible_job_or_404(job_id, export_jobs.JOB_KIND)
    return render_template("reports/export.html", job=job, errors=None, **_about(job))


@bp.route("/<job_id>/download")
@roles(Role.ADMIN, Role.COORDINATOR)
def download(job_id: str) -> Response | tuple[str, int]:
    """The exported file, once the job has finished."""
    job = jobs.visible_job_or_404(job_id, export_jobs.JOB_KIND)
    result = job.result or {}
    if job.state != jobs.FINISHED or not job.result_ref:
        message = _("The export is not ready yet.")
        if job.state == jobs.FAILED:
            message = _("The export failed; there is no file to download.")
        page = render_template("reports/export.html", job=job, errors={"": message}, **_about(job))
        return page, 409
    path = export_path(job.id, result["format"])
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=MIMETYPES[result["format"]], max_age=0)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{result["ascii_filename"]}"; '
        f"filename*=UTF-8''{quote(result['filename'], safe='')}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _about(job: jobs.Job) -> dict[str, Any]:
    """What the page says about the export: its title (once known) and where it came from."""
    source, name, fmt, args = job.args[:4]
    result = job.result or {}
    if source == "list":
        back = url_for("report_lists.show", name=name, **args)
    else:
        back = url_for("reports.dashboard", **args)
    return {"title": result.get("title"), "fmt": fmt.upper(), "back": back}
