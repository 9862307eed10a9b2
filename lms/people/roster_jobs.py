"""The ``users.import_roster`` job: import an uploaded roster file, all rows or none."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from lms.extensions import db
from lms.jobs import JobContext
from lms.people import roster

# What the upload page names stored files: a UUID and ".csv" (nothing that leaves the folder).
STORED_NAME = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.csv$")


def upload_path(stored_name: str) -> Path:
    """Where an uploaded roster is kept: ``FILES_DIR/uploads/<stored_name>``."""
    if not STORED_NAME.match(stored_name):
        raise ValueError(f"not an uploaded roster name: {stored_name!r}")
    return Path(current_app.config["FILES_DIR"]) / "uploads" / stored_name


def import_roster(ctx: JobContext, stored_name: str, actor_id: int) -> dict[str, Any]:
    """Check the whole file (reporting progress), then write every row and commit once.

    Progress is only reported while checking, before anything is written, because reporting
    commits. Returns ``{"created", "updated", "unchanged", "errors"}``; a roster with errors
    finishes the job with the errors listed and nothing imported. Running it twice on the
    same file leaves the same people (the second run finds them all unchanged).
    """
    return _run(ctx, stored_name, actor_id)


def _run(ctx: JobContext, stored_name: str, actor_id: int) -> dict[str, Any]:
    try:
        data = upload_path(stored_name).read_bytes()
    except (OSError, ValueError):
        missing = roster.RowError(None, None, _("The uploaded file is no longer available."))
        return _failed(ctx, [missing])

    def progress(done: int, total: int) -> None:
        ctx.progress(
            done * 90 // max(total, 1),
            _("Checking row %(done)d of %(total)d…", done=done, total=total),
        )

    try:
        parsed = roster.read_roster(data, actor_id, progress)
        ctx.progress(90, _("Saving %(n)d people…", n=len(parsed.rows)))
        result = roster.apply_roster(parsed, actor_id)
    except roster.RosterInvalid as invalid:
        db.session.rollback()
        return _failed(ctx, invalid.row_errors)
    db.session.commit()
    ctx.job.message = _(
        "Created %(created)d, updated %(updated)d, unchanged %(unchanged)d.",
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
    )
    return result.as_dict()


def _failed(ctx: JobContext, errors: list[roster.RowError]) -> dict[str, Any]:
    """The result of a roster that was not imported (the job itself finishes)."""
    ctx.job.message = ngettext(
        "Nothing was imported: %(num)d problem to correct in the file.",
        "Nothing was imported: %(num)d problems to correct in the file.",
        len(errors),
    )
    return {
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "ignored_columns": [],
        "errors": [e.as_dict() for e in errors],
    }
