"""Jobs whose worker died: queued once more, then marked failed; live jobs are left alone.

These drive :func:`lms.jobs.recover_job` on records and RQ jobs set up as a dead worker leaves
them; ``test_worker_killed.py`` kills real workers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from rq import Queue, SimpleWorker
from rq.job import Job as RQJob
from rq.job import JobStatus

from lms import jobs
from lms.audit.models import AuditEntry
from lms.db import utcnow
from lms.extensions import db

KIND = "faults.run"


def record_run(ctx: jobs.JobContext) -> dict[str, Any]:
    """A test job: one audit entry per run of the job."""
    db.session.add(AuditEntry(action="faults.run", entity_type="job", entity_id=0))
    ctx.progress(50)
    return {"ran": True}


@pytest.fixture(autouse=True)
def test_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(jobs.JOB_FUNCTIONS, KIND, "tests.faults.test_recovery:record_run")


@pytest.fixture
def queue(app: Flask) -> Iterator[Queue]:
    """A queue of this test's own (real Redis in CI, else the in-memory one), emptied after."""
    prefix = app.config["JOB_QUEUE_PREFIX"]
    own = Queue(f"{prefix}:faults-{uuid.uuid4().hex[:8]}", connection=jobs.redis_connection())
    yield own
    # Key by key: the in-memory Redis runs no Lua scripts (``Queue.delete`` needs them).
    conn = own.connection
    for key in conn.scan_iter(match=f"*{own.name}*"):
        conn.delete(key)
    for key in conn.scan_iter(match="rq:job:*"):
        if conn.type(key) == b"hash" and conn.hget(key, "origin") == own.name.encode():
            conn.delete(key)


def dead_job(
    state: str = jobs.RUNNING,
    *,
    queue: Queue | None,
    attempt: int = 1,
    rq_status: JobStatus = JobStatus.FAILED,
    age: timedelta = timedelta(0),
) -> str:
    """A record as a worker left it, and (unless ``queue`` is None: Redis lost it) its RQ job
    in ``rq_status``; returns the id."""
    job_id = str(uuid.uuid4())
    db.session.add(
        jobs.Job(
            id=job_id,
            kind=KIND,
            args=[],
            state=state,
            locale="en",
            created_at=utcnow() - age,
            started_at=utcnow() if state == jobs.RUNNING else None,
        )
    )
    db.session.commit()
    if queue is not None:
        RQJob.create(
            jobs.execute,
            args=(job_id,),
            id=job_id,
            connection=queue.connection,
            origin=queue.name,
            status=rq_status,
            meta={"attempt": attempt},
        ).save()
    return job_id


def record(job_id: str) -> jobs.Job:
    db.session.expire_all()
    return db.session.get(jobs.Job, job_id)  # type: ignore[return-value]


def runs() -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "faults.run")
    )


def test_a_job_whose_worker_died_is_queued_again_and_the_rerun_finishes(
    app: Flask, queue: Queue
) -> None:
    job_id = dead_job(queue=queue)

    assert jobs.recover_job(job_id)

    job = record(job_id)
    assert job.state == jobs.QUEUED and job.started_at is None
    assert job.message == "The worker running this job stopped; the job will run again."
    assert queue.job_ids == [job_id]
    assert RQJob.fetch(job_id, connection=queue.connection).meta["attempt"] == 2
    # A second worker finding the same job afterwards queues it no second time.
    assert not jobs.recover_job(job_id)
    assert queue.job_ids == [job_id]

    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    job = record(job_id)
    assert (job.state, job.progress, job.result) == (jobs.FINISHED, 100, {"ran": True})
    assert runs() == 1


def test_a_job_that_died_every_time_is_marked_failed_with_the_reason(
    app: Flask, queue: Queue
) -> None:
    job_id = dead_job(queue=queue, attempt=jobs.MAX_ATTEMPTS)

    assert jobs.recover_job(job_id)

    job = record(job_id)
    assert job.state == jobs.FAILED and job.finished_at is not None
    assert "stopped before the end, 2 times" in job.message
    assert "ask an administrator to check the workers" in job.message
    assert queue.count == 0


@pytest.mark.parametrize("rq_status", [JobStatus.QUEUED, JobStatus.STARTED])
def test_a_job_waiting_or_running_under_a_live_worker_is_left_alone(
    app: Flask, queue: Queue, rq_status: JobStatus
) -> None:
    state = jobs.QUEUED if rq_status == JobStatus.QUEUED else jobs.RUNNING
    job_id = dead_job(state, queue=queue, rq_status=rq_status)

    assert not jobs.recover_job(job_id)
    assert record(job_id).state == state


def test_a_job_redis_lost_is_queued_again_once_enqueue_is_surely_done(app: Flask) -> None:
    fresh = dead_job(jobs.QUEUED, queue=None)
    old = dead_job(jobs.QUEUED, queue=None, age=jobs.PUSH_GRACE + timedelta(seconds=1))
    default = Queue(jobs.get_queue().name, connection=jobs.redis_connection())
    try:
        assert not jobs.recover_job(fresh)  # enqueue() may still be pushing it
        assert record(fresh).state == jobs.QUEUED
        assert jobs.recover_job(old)
        if app.config.get("REDIS_URL"):
            assert default.job_ids == [old]
            assert record(old).state == jobs.QUEUED
        else:  # in-process: queuing it ran it
            assert record(old).state == jobs.FINISHED
            assert runs() == 1
    finally:
        default.remove(old)
        RQJob(old, connection=default.connection).delete()


def test_finished_and_failed_records_are_never_touched(app: Flask, queue: Queue) -> None:
    for state in (jobs.FINISHED, jobs.FAILED):
        job_id = dead_job(state, queue=queue)
        assert not jobs.recover_job(job_id)
        assert record(job_id).state == state


def test_without_redis_there_is_nothing_to_recover(app: Flask, monkeypatch: Any) -> None:
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    assert jobs.recover_abandoned() == []
