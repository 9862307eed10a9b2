"""The ``cohorts.enrol_csv`` job: enrol the people of an uploaded file, all rows or none."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from lms.extensions import db
from lms.jobs import JobContext
from lms.learning import enrolment_csv
from lms.people.roster import RosterInvalid, RowError
from lms.people.roster_jobs import upload_path

JOB_KIND = "cohorts.enrol_csv"


def enrol_csv(ctx: JobContext, stored_name: str, cohort_id: int, actor_id: int) -> dict[str, Any]:
    """Check the whole file (reporting progress), then enrol every row and commit once.

    Progress is only reported while checking, before anything is written, because reporting
    commits. Returns ``{"cohort_id", "enrolled", "reenrolled", "errors"}``; a file with errors
    finishes the job with the errors listed and no one enrolled. Running it again on the same
    file enrols no one twice: the second run reports everyone as already enrolled.
    """
    return {"cohort_id": cohort_id, **_run(ctx, stored_name, cohort_id, actor_id)}


def _run(ctx: JobContext, stored_name: str, cohort_id: int, actor_id: int) -> dict[str, Any]:
    try:
        data = upload_path(stored_name).read_bytes()
    except (OSError, ValueError):
        return _failed(ctx, [RowError(None, None, _("The uploaded file is no longer available."))])

    def progress(done: int, total: int) -> None:
        ctx.progress(
            done * 90 // max(total, 1),
            _("Checking row %(done)d of %(total)d…", done=done, total=total),
        )

    try:
        rows = enrolment_csv.read_enrolment_file(data, actor_id, cohort_id, progress)
        ctx.progress(90, _("Enrolling %(n)d people…", n=len(rows)))
        result = enrolment_csv.apply_enrolment_file(rows, actor_id, cohort_id)
    except RosterInvalid as invalid:
        db.session.rollback()
        return _failed(ctx, invalid.row_errors)
    db.session.commit()
    ctx.job.message = _(
        "Enrolled %(enrolled)d, enrolled again %(reenrolled)d.",
        enrolled=result.enrolled,
        reenrolled=result.reenrolled,
    )
    return result.as_dict()


def _failed(ctx: JobContext, errors: list[RowError]) -> dict[str, Any]:
    """The result of a file that was not applied (the job itself finishes)."""
    ctx.job.message = ngettext(
        "No one was enrolled: %(num)d problem to correct in the file.",
        "No one was enrolled: %(num)d problems to correct in the file.",
        len(errors),
    )
    return {"enrolled": 0, "reenrolled": 0, "errors": [e.as_dict() for e in errors]}
