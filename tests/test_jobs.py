"""Jobs: records, progress, in-process and Redis execution, failure and re-runs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lms import jobs
from lms.audit.models import AuditEntry
from lms.extensions import db
from tests.conftest import run_queued_jobs


def write_entries(ctx: jobs.JobContext, count: int, batch: int) -> dict:
    """A test job: writes ``count`` audit entries in batches, skipping those already there."""
    done = db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "test.job")
    )
    for number in range(done, count):
        db.session.add(AuditEntry(action="test.job", entity_type="test", entity_id=number))
        if (number + 1) % batch == 0:
            ctx.progress(100 * (number + 1) // count, f"{number + 1} of {count}")
    return {"written": count}


def fail_after_first_batch(ctx: jobs.JobContext) -> None:
    """A test job that commits one batch and then dies."""
    db.session.add(AuditEntry(action="test.partial", entity_type="test", entity_id=1))
    ctx.progress(50, "half way")
    db.session.add(AuditEntry(action="test.partial", entity_type="test", entity_id=2))
    raise RuntimeError("disk full")


@pytest.fixture(autouse=True)
def test_kinds(monkeypatch):
    monkeypatch.setitem(jobs.JOB_FUNCTIONS, "test.write", "tests.test_jobs:write_entries")
    monkeypatch.setitem(jobs.JOB_FUNCTIONS, "test.fail", "tests.test_jobs:fail_after_first_batch")


def entries(action: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    )


def test_a_job_runs_to_the_end_and_reports_progress(app, make_user):
    user = make_user("hr")
    job = jobs.enqueue("test.write", 10, 3, requested_by_id=user.id)
    assert job.state == ("queued" if app.config.get("REDIS_URL") else "finished")
    run_queued_jobs(app)
    db.session.expire_all()
    job = db.session.get(jobs.Job, job.id)
    assert (job.state, job.progress, job.result) == ("finished", 100, {"written": 10})
    assert job.started_at is not None and job.finished_at >= job.started_at
    assert entries("test.job") == 10


def test_running_a_finished_job_again_changes_nothing(app):
    job = jobs.enqueue("test.write", 4, 2)
    run_queued_jobs(app)
    jobs.execute(job.id)
    assert entries("test.job") == 4


def test_a_failed_job_is_marked_and_a_rerun_finishes_the_rest(app):
    job = jobs.enqueue("test.fail")
    run_queued_jobs(app)
    db.session.expire_all()
    job = db.session.get(jobs.Job, job.id)
    assert job.state == "failed"
    assert "disk full" in job.message  # the reason, not the last progress message
    assert entries("test.partial") == 1  # the committed batch stays, the rest rolled back

    write = jobs.enqueue("test.write", 6, 4)
    run_queued_jobs(app)
    # Simulate a worker killed half way: mark it failed and remove the last entries.
    db.session.expire_all()
    assert entries("test.job") == 6
    db.session.execute(
        sa.delete(AuditEntry).where(AuditEntry.entity_id >= 4, AuditEntry.action == "test.job")
    )
    record = db.session.get(jobs.Job, write.id)
    record.state = "failed"
    db.session.commit()
    jobs.execute(write.id)
    db.session.expire_all()
    assert entries("test.job") == 6
    assert db.session.get(jobs.Job, write.id).state == "finished"


def test_progress_json_is_for_the_requester_and_admins(app, make_user):
    owner, other, admin = make_user("hr"), make_user("hr"), make_user("admin")
    job = jobs.enqueue("test.write", 2, 1, requested_by_id=owner.id)
    run_queued_jobs(app)
    for person, status in ((owner, 200), (other, 404), (admin, 200)):
        client = app.test_client()
        client.login(person)
        response = client.get(f"/jobs/{job.id}.json")
        assert response.status_code == status
        if status == 200:
            assert response.get_json()["state"] == "finished"
            assert response.get_json()["progress"] == 100


def test_progress_panel_polls_until_done(app, client, make_user):
    owner = make_user("hr")
    client.login(owner)
    job = jobs.Job(id="0" * 36, kind="test.write", args=[1, 1], requested_by_id=owner.id)
    db.session.add(job)
    db.session.commit()
    html = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'hx-get="/jobs/' in html and "<progress" in html
    job.state, job.progress = "finished", 100
    db.session.commit()
    assert "hx-get" not in client.get(f"/jobs/{job.id}").get_data(as_text=True)


def test_anonymous_cannot_read_job_progress(app, client):
    job = jobs.enqueue("test.write", 1, 1)
    assert (
        client.get(f"/jobs/{job.id}.json", headers={"Accept": "application/json"}).status_code
        == 401
    )


def test_redis_down_is_reported_clearly(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:9/0")
    monkeypatch.delitem(app.extensions, "lms_redis", raising=False)
    with pytest.raises(jobs.JobsUnavailable):
        jobs.enqueue("test.write", 1, 1)
    monkeypatch.delitem(app.extensions, "lms_redis", raising=False)
    record = db.session.scalars(sa.select(jobs.Job).where(jobs.Job.kind == "test.write")).one()
    assert record.state == "failed"
    assert entries("test.job") == 0


def test_worker_command_needs_redis(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "LMS_REDIS_URL" in result.output
