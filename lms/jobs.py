"""Background jobs: queue access, ``enqueue()``, job records and their progress.

Every job has a row in ``jobs`` that the pages poll for progress. With ``LMS_REDIS_URL`` set,
jobs go to RQ queues on Redis and ``lms worker`` processes run them; without it they run
in-process and synchronously, through the same RQ code (on an in-memory Redis), so the
embedded mode and the tests exercise the same path as production.

Job functions are registered by kind in ``JOB_FUNCTIONS`` and take a :class:`JobContext`
followed by the JSON arguments stored on the record, so a job that died can be run again with
the same arguments. A job function commits its own work, in batches, through
``ctx.progress()``; it must be idempotent: running it twice leaves the same result.

Faults:

- A job function that raises: its open batch is rolled back, the record is marked failed with
  the reason, and what earlier batches committed stays (a rerun finishes the rest).
- A worker that dies while running a job (killed, out of memory, machine lost): RQ notices it,
  either at once (the work horse died under a live ``lms worker``) or when the job's entry in
  RQ's ``StartedJobRegistry`` expires because nobody renews it (about 90 seconds; checked by
  every ``lms worker`` between jobs, when it starts and when it waits idle). The
  :class:`LmsWorker` then recovers it (:func:`recover_job`), queuing the job once more
  (``MAX_ATTEMPTS`` runs in all; the job's record says so meanwhile) and marks it failed, with
  a message saying why, when it has died every time. The record moves by a compare-and-set,
  so two workers recovering at once queue it only once. The rerun relies on idempotence.
  Killing only the ``lms worker`` process leaves its work horse running (RQ detaches it):
  should the horse outlive the expiry, the rerun overlaps it; the records stay single (unique
  index, serial counter), but the job's summary is that of the run that ends last.
- Redis down: :func:`enqueue` raises :class:`JobsUnavailable`, which the pages turn into a
  clear message; the record is kept, marked failed with that message, never left queued.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob
from rq.job import JobStatus
from rq.registry import StartedJobRegistry
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

#: Runs of a job whose worker keeps dying before it is marked failed.
MAX_ATTEMPTS = 2
#: A queued record younger than this may be between its commit and its push to Redis.
PUSH_GRACE = timedelta(minutes=1)
#: RQ states of a job that is waiting or being worked on by a live worker.
ALIVE = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


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
        _push(get_queue(queue), job_id, attempt=1)
    except redis.exceptions.RedisError as error:
        log.warning("job %s not queued: %s", job_id, error)
        job = db.session.get(Job, job_id)
        job.state, job.finished_at = FAILED, utcnow()
        job.message = _("The job queue is not available now; please try again later.")
        db.session.commit()
        raise JobsUnavailable(job.message) from error
    db.session.expire_all()
    return db.session.get(Job, job_id)  # type: ignore[return-value]


def _push(queue: Queue, job_id: str, *, attempt: int) -> None:
    """Queue the RQ job that runs :func:`execute` for the record ``job_id`` (its id too)."""
    queue.enqueue(
        execute,
        job_id,
        job_id=job_id,
        job_timeout=3600,
        result_ttl=3600,
        failure_ttl=86400,
        meta={"attempt": attempt},
    )


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
        try:
            with _job_language(job):
                result = func(JobContext(job), *job.args)
        except Exception as error:
            db.session.rollback()
            log.exception("job %s (%s) failed", job_id, job.kind)
            job = db.session.get(Job, job_id)
            job.state, job.finished_at = FAILED, utcnow()
            with _job_language(job):
                job.message = _("The job failed: %(error)s", error=str(error)[:500])
            db.session.commit()
            raise
        job.state, job.progress, job.finished_at = FINISHED, 100, utcnow()
        if isinstance(result, dict):
            job.result = result
        db.session.commit()


def _job_language(job: Job) -> AbstractContextManager[Any]:
    """A worker has no request: it speaks the language of the page that queued the job."""
    if has_request_context():
        return nullcontext()
    return force_locale(job.locale or current_app.config["BABEL_DEFAULT_LOCALE"])


# Jobs whose worker died -----------------------------------------------------------------------


def recover_abandoned(now: float | None = None) -> list[str]:
    """Queue again, or mark failed, every job whose worker died; returns their ids.

    First RQ moves the jobs that no live worker renews any more from each queue's
    ``StartedJobRegistry`` to the failed ones (``now``: the Unix time their expiry is compared
    with, the current time by default); then each record still queued or running whose RQ job
    is neither waiting nor running goes through :func:`recover_job`. Without Redis jobs run
    in-process and there is nothing to recover.
    """
    if not current_app.config.get("REDIS_URL"):
        return []
    connection = redis_connection()
    for name in current_app.config["JOB_QUEUES"]:
        StartedJobRegistry(get_queue(name).name, connection=connection).cleanup(timestamp=now)
    pending = db.session.scalars(sa.select(Job.id).where(Job.state.in_((QUEUED, RUNNING)))).all()
    db.session.rollback()
    return [job_id for job_id in pending if recover_job(job_id)]


def recover_job(job_id: str) -> bool:
    """Recover one job whose record says queued or running but whose RQ job is neither
    waiting nor running (it failed under a dead worker, or Redis lost it): queue it again, or
    mark it failed once it has died ``MAX_ATTEMPTS`` times. True when the record changed.

    The record changes by a compare-and-set on its state and start time, so that of two
    workers recovering the same job only one queues it again.
    """
    job = db.session.get(Job, job_id)
    if job is None or job.done:
        return False
    connection = redis_connection()
    try:
        rq_job: RQJob | None = RQJob.fetch(job_id, connection=connection)
    except NoSuchJobError:
        rq_job = None
    if rq_job is not None and rq_job.get_status() in ALIVE:
        return False
    if rq_job is None and job.state == QUEUED and job.created_at > utcnow() - PUSH_GRACE:
        return False  # enqueue() may be about to push it
    attempt = int(rq_job.meta.get("attempt", 1)) if rq_job is not None else 1
    # A lost RQ job no longer says which queue it was on: any worker takes "default".
    queue = Queue(rq_job.origin, connection=connection) if rq_job else get_queue()
    requeue = attempt < MAX_ATTEMPTS
    with _job_language(job):
        if requeue:
            values: dict[str, Any] = {
                "state": QUEUED,
                "started_at": None,
                "message": _("The worker running this job stopped; the job will run again."),
            }
        else:
            values = {
                "state": FAILED,
                "finished_at": utcnow(),
                "message": _(
                    "The worker running this job stopped before the end, %(count)d times; "
                    "the job was not finished. Start it again, or ask an administrator to "
                    "check the workers.",
                    count=attempt,
                ),
            }
    same_run = (
        Job.started_at.is_(None) if job.started_at is None else Job.started_at == job.started_at
    )
    changed = db.session.execute(
        sa.update(Job)
        .where(Job.id == job_id, Job.state == job.state, same_run)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if not changed:
        return False
    log.warning("job %s (%s): its worker died; %s", job_id, job.kind, values["state"])
    if requeue:
        if rq_job is not None:
            rq_job.delete()  # out of the failed registry: the same id is queued anew
        _push(queue, job_id, attempt=attempt + 1)
    return True


class LmsWorker(Worker):
    """The RQ worker of ``lms worker``: recovers the jobs whose worker died (see
    :func:`recover_abandoned`) after RQ's periodic maintenance, and at once when a work horse
    died under it."""

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        self._recover(recover_abandoned)

    def handle_job_failure(
        self,
        job: RQJob,
        queue: Queue,
        started_job_registry: StartedJobRegistry | None = None,
        exc_string: str = "",
    ) -> None:
        super().handle_job_failure(
            job, queue, started_job_registry=started_job_registry, exc_string=exc_string
        )
        # After an exception the record is already failed and this changes nothing.
        self._recover(recover_job, job.id)

    @staticmethod
    def _recover(step: Callable[..., Any], *args: Any) -> None:
        """Run a recovery step in an app context of its own and close its connections: the
        work horses are forked from this process and must not share them. A failure is
        logged (the next maintenance tries again), never fatal to the worker."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        with app.app_context():
            try:
                step(*args)
            except (redis.exceptions.RedisError, sa.exc.SQLAlchemyError):
                log.exception("recovering the jobs of dead workers failed")
            finally:
                db.session.remove()
                db.engine.dispose()


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
