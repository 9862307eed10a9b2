"""Background jobs: queue access, ``enqueue()``, job records and their progress.

Every job has a row in ``jobs`` that the pages poll for progress. With ``LMS_REDIS_URL`` set,
jobs go to RQ queues on Redis and ``lms worker`` processes run them; without it they run
in-process and synchronously, through the same RQ code (on an in-memory Redis), so the
embedded mode and the tests exercise the same path as production.

Job functions are registered by kind in ``JOB_FUNCTIONS`` and take a :class:`JobContext`
followed by the JSON arguments stored on the record, so a job that died can be run again with
the same arguments. A job function commits its own work, in batches, through
``ctx.progress()``; it must be idempotent: running it twice leaves the same result.
"""

from __future__ import annotations

import logging
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    has_app_context,
    has_request_context,
    jsonify,
    render_template,
    url_for,
)
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from rq import Queue
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.utils import import_string
from werkzeug.wrappers import Response

from lms.auth.access import signed_in
from lms.auth.roles import Role
from lms.db import UTCDateTime, utcnow
from lms.extensions import db

log = logging.getLogger(__name__)

# kind -> "module:function"; each feature adds its own.
JOB_FUNCTIONS: dict[str, str] = {
    "users.import_roster": "lms.people.roster_jobs:import_roster",
    "cohorts.enrol_csv": "lms.learning.enrolment_jobs:enrol_csv",
    "certificates.issue_bulk": "lms.certificates.bulk_jobs:issue_bulk",
    "reports.export": "lms.reports.export_jobs:export",
}

QUEUED, RUNNING, FINISHED, FAILED = "queued", "running", "finished", "failed"


class Job(db.Model):
    """The record of one background job, polled by the pages for its progress."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64), index=True)
    state: Mapped[str] = mapped_column(sa.String(16), default=QUEUED, index=True)
    progress: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    args: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    result_ref: Mapped[str | None] = mapped_column(sa.String(500))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # The page language of the request that queued the job: a worker reports in it.
    locale: Mapped[str] = mapped_column(sa.String(16), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    requested_by = relationship("User")

    __table_args__ = (
        sa.CheckConstraint("state IN ('queued', 'running', 'finished', 'failed')", name="state"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
    )

    @property
    def done(self) -> bool:
        return self.state in (FINISHED, FAILED)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "progress": self.progress,
            "message": self.message,
            "result": self.result,
            "result_ref": self.result_ref,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


class JobsUnavailable(RuntimeError):
    """The queue cannot take jobs now (Redis is down); nothing was queued."""


@dataclass
class JobContext:
    """What a running job function gets: its record, for progress and results."""

    job: Job

    def progress(self, percent: int, message: str | None = None) -> None:
        """Record progress and commit the work done so far (one batch)."""
        self.job.progress = max(0, min(100, int(percent)))
        if message is not None:
            self.job.message = message
        db.session.commit()


# Queue access -------------------------------------------------------------------------------


def redis_connection() -> redis.Redis:
    """The app's Redis: the configured server, or an in-memory one in embedded mode."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    conn = app.extensions.get("lms_redis")
    if conn is None:
        url = app.config.get("REDIS_URL")
        if url:
            conn = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
        else:
            import fakeredis

            conn = fakeredis.FakeStrictRedis()
        app.extensions["lms_redis"] = conn
    return conn


def get_queue(name: str = "default") -> Queue:
    is_async = bool(current_app.config.get("REDIS_URL"))
    prefix = current_app.config.get("JOB_QUEUE_PREFIX", "lms")
    return Queue(f"{prefix}:{name}", connection=redis_connection(), is_async=is_async)


def enqueue(
    kind: str, *args: Any, requested_by_id: int | None = None, queue: str = "default"
) -> Job:
    """Create the job record, commit it, then queue the job.

    Committing first is what makes the record visible to a worker on another machine; call
    this after the request's own work is committed. In embedded mode the job has run (and
    committed its own work) by the time this returns. Raises :class:`JobsUnavailable` when
    Redis does not answer; the record then says so.
    """
    if kind not in JOB_FUNCTIONS:
        raise KeyError(f"unknown job kind {kind!r}")
    job = Job(
        id=str(uuid.uuid4()),
        kind=kind,
        args=list(args),
        requested_by_id=requested_by_id,
        locale=str(get_locale() or "") if has_request_context() else "",
    )
    db.session.add(job)
    # Read the id before committing: reading it after would reload the record and open a
    # read transaction whose snapshot (SQLite) hides what an in-process job commits next.
    job_id = job.id
    db.session.commit()
    try:
        get_queue(queue).enqueue(
            execute, job_id, job_id=job_id, job_timeout=3600, result_ttl=3600, failure_ttl=86400
        )
    except redis.exceptions.RedisError as error:
        log.warning("job %s not queued: %s", job_id, error)
        job = db.session.get(Job, job_id)
        job.state, job.finished_at = FAILED, utcnow()
        job.message = _("The job queue is not available now; please try again later.")
        db.session.commit()
        raise JobsUnavailable(job.message) from error
    db.session.expire_all()
    return db.session.get(Job, job_id)  # type: ignore[return-value]


def execute(job_id: str) -> None:
    """Run one job in an app context of its own; the function RQ calls.

    A finished job is not run again; a failed or interrupted one is run again from the start,
    relying on the job function's idempotence.
    """
    if has_app_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    else:  # pragma: no cover - a worker started outside `lms worker`
        from lms import create_app

        app = create_app()
    with app.app_context():
        job = db.session.get(Job, job_id)
        if job is None or job.state == FINISHED:
            return
        func = import_string(JOB_FUNCTIONS[job.kind])
        job.state, job.started_at, job.progress, job.message = RUNNING, utcnow(), 0, ""
        db.session.commit()
        # A worker has no request: it speaks the language of the page that queued the job.
        locale = job.locale or app.config["BABEL_DEFAULT_LOCALE"]
        try:
            with nullcontext() if has_request_context() else force_locale(locale):
                result = func(JobContext(job), *job.args)
        except Exception as error:
            db.session.rollback()
            log.exception("job %s (%s) failed", job_id, job.kind)
            job = db.session.get(Job, job_id)
            job.state, job.finished_at = FAILED, utcnow()
            job.message = _("The job failed: %(error)s", error=str(error)[:500])
            db.session.commit()
            raise
        job.state, job.progress, job.finished_at = FINISHED, 100, utcnow()
        if isinstance(result, dict):
            job.result = result
        db.session.commit()


# Progress endpoints ---------------------------------------------------------------------------

bp = Blueprint("jobs", __name__, template_folder="templates")


def visible_job_or_404(job_id: str, kind: str | None = None) -> Job:
    """A job of the signed-in person (administrators: anyone's), else 404 as if missing."""
    job = db.session.get(Job, job_id)
    if (
        job is None
        or (kind is not None and job.kind != kind)
        or (job.requested_by_id != current_user.id and not current_user.has_role(Role.ADMIN))
    ):
        abort(404)
    return job


@bp.route("/jobs/<job_id>.json")
@signed_in
def status(job_id: str) -> Response:
    """A job's state and progress as JSON."""
    job = visible_job_or_404(job_id)
    data = job.as_dict()
    data["panel_url"] = url_for("jobs.panel", job_id=job.id)
    return jsonify(data)


@bp.route("/jobs/<job_id>")
@signed_in
def panel(job_id: str) -> str:
    """The progress panel (an htmx fragment that refreshes itself until the job is done)."""
    job = visible_job_or_404(job_id)
    return render_template("jobs/panel.html", job=job)
