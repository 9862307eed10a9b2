"""Bulk issue as a job: who is issued and who is skipped and why, the PDFs and their ZIP,
progress, the result panel, and a job that dies half way finishing on a second run."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from pypdf import PdfReader
from rq import SimpleWorker

from lms import jobs
from lms.certificates import bulk, bulk_jobs, issuing
from lms.certificates.models import Certificate, SerialCounter
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import Enrolment, EnrolmentStatus, ProgrammeCompletion
from tests.builders import LearningWorld
from tests.factories import OrganisationFactory, UserFactory


def run_bulk_jobs(app: Flask) -> None:
    """With Redis, work the "bulk" queue here as `lms worker` would (without Redis the job
    has run when it was queued)."""
    if app.config.get("REDIS_URL"):
        SimpleWorker([jobs.get_queue(bulk.QUEUE)], connection=jobs.redis_connection()).work(
            burst=True
        )


def trainee(
    world: LearningWorld, name: str, *, completed: bool = True, employer: Any = None
) -> Any:
    """A trainee enrolled in the world's cohort, with a completion of its programme."""
    person = UserFactory(roles=["trainee"], name=name, employer=employer or world.employer)
    db.session.flush()
    db.session.add(Enrolment(cohort_id=world.cohort.id, user_id=person.id, enrolled_at=utcnow()))
    if completed:
        complete(world, person.id)
    return person


def complete(world: LearningWorld, user_id: int) -> None:
    db.session.add(
        ProgrammeCompletion(user_id=user_id, programme_id=world.programme.id, cycle=0, evidence={})
    )
    db.session.flush()


def finished_job(app: Flask, job: jobs.Job) -> jobs.Job:
    run_bulk_jobs(app)
    db.session.expire_all()
    return db.session.get(jobs.Job, job.id)


def certificates_of(world: LearningWorld) -> list[Certificate]:
    return list(
        db.session.scalars(
            sa.select(Certificate)
            .where(Certificate.type_id == world.certificate_type.id)
            .order_by(Certificate.serial)
        )
    )


def assert_serials_without_gaps(world: LearningWorld) -> None:
    numbers = sorted(int(c.serial.rsplit("-", 1)[1]) for c in certificates_of(world))
    assert numbers == list(range(1, len(numbers) + 1))
    counter = db.session.scalar(
        sa.select(sa.func.max(SerialCounter.last)).where(
            SerialCounter.type_id == world.certificate_type.id
        )
    )
    assert counter == len(numbers)


@pytest.fixture
def world(learning_world: LearningWorld) -> LearningWorld:
    """The learning world with its trainee (张小明) having completed the programme."""
    complete(learning_world, learning_world.trainee.id)
    return learning_world


def test_bulk_issue_for_a_cohort_issues_everyone_eligible_and_says_why_others_were_skipped(
    app: Flask, world: LearningWorld, make_user: Any, english: None
) -> None:
    officer = make_user("hr")
    trainee(world, "李四")
    trainee(world, "王五")
    not_done = trainee(world, "赵六", completed=False)
    holder = trainee(world, "钱七")
    earlier = issuing.create_certificate(officer.id, holder.id, world.certificate_type.id)
    withdrawn = trainee(world, "孙八")
    db.session.execute(
        sa.update(Enrolment)
        .where(Enrolment.user_id == withdrawn.id)
        .values(status=EnrolmentStatus.WITHDRAWN)
    )
    db.session.commit()

    job = bulk.start_bulk_issue(officer.id, world.certificate_type.id, world.cohort.id)
    assert job.kind == "certificates.issue_bulk"
    job = finished_job(app, job)

    assert job.state == "finished", job.message
    assert job.message == "已签发 3 张，跳过 2 人。"  # the default language
    result = job.result
    assert result["issued"] == 3
    issued = db.session.scalars(
        sa.select(Certificate).where(Certificate.id.in_(result["certificate_ids"]))
    ).all()
    assert sorted(c.holder_name for c in issued) == sorted(["张小明", "李四", "王五"])
    assert all(c.issued_by_id == officer.id and c.pdf_sha256 and c.pdf_size for c in issued)
    assert {(s["name"], s["code"]) for s in result["skipped"]} == {
        ("赵六", "not_eligible"),
        ("钱七", "already_holds"),
    }
    reasons = {s["holder_id"]: s["reason"] for s in result["skipped"]}
    assert reasons[holder.id] == f"已持有证书 {earlier.serial}。"
    assert world.programme.title in reasons[not_done.id]
    assert_serials_without_gaps(world)

    path = bulk.zip_path(job)
    assert path is not None and path.name == result["zip"] == f"{job.id}.zip"
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(f"{c.serial}-{c.holder_name}.pdf" for c in issued)
        first = min(issued, key=lambda c: c.serial)
        pdf = archive.read(f"{first.serial}-{first.holder_name}.pdf")
    assert pdf == issuing.pdf_path(first).read_bytes()
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert first.serial in text and first.holder_name in text.replace(" ", "")


def test_a_scoped_officer_issues_only_to_the_people_they_look_after(
    app: Flask, world: LearningWorld, make_user: Any
) -> None:
    officer = make_user(("hr", world.employer))
    elsewhere = OrganisationFactory(name="别处育儿园")
    trainee(world, "李四")
    outsider = trainee(world, "外单位学员", employer=elsewhere)
    db.session.commit()

    job = finished_job(
        app, bulk.start_bulk_issue(officer.id, world.certificate_type.id, world.cohort.id)
    )

    assert job.result["issued"] == 2
    assert job.result["skipped"] == [
        {
            "holder_id": None,
            "name": "",
            "reason": job.result["skipped"][0]["reason"],
            "code": "not_visible",
        }
    ]
    assert issuing.current_certificate(outsider.id, world.certificate_type.id, 0) is None


def test_a_programme_wide_run_covers_everyone_who_completed_it(
    app: Flask, world: LearningWorld, make_user: Any
) -> None:
    admin = make_user("admin")
    not_enrolled = UserFactory(roles=["trainee"], name="未报班")
    db.session.flush()
    complete(world, not_enrolled.id)
    db.session.commit()

    job = finished_job(app, bulk.start_bulk_issue(admin.id, world.certificate_type.id, None))

    assert job.result["issued"] == 2
    assert job.result["skipped"] == []
    again = finished_job(app, bulk.start_bulk_issue(admin.id, world.certificate_type.id, None))
    assert again.result["issued"] == 0 and again.result["zip"] is None
    assert {s["code"] for s in again.result["skipped"]} == {"already_holds"}
    assert bulk.zip_path(again) is None
    assert len(certificates_of(world)) == 2


def test_progress_is_reported_per_batch(
    app: Flask, world: LearningWorld, make_user: Any, english: None, monkeypatch: Any
) -> None:
    officer = make_user("hr")
    for n in range(4):
        trainee(world, f"学员{n}")
    db.session.commit()
    monkeypatch.setitem(app.config, "CERTIFICATE_BATCH_SIZE", 2)
    reported: list[tuple[int, str | None]] = []
    progress = jobs.JobContext.progress

    def record(ctx: jobs.JobContext, percent: int, message: str | None = None) -> None:
        reported.append((percent, message))
        progress(ctx, percent, message)

    monkeypatch.setattr(jobs.JobContext, "progress", record)
    finished_job(app, bulk.start_bulk_issue(officer.id, world.certificate_type.id, world.cohort.id))

    messages = [m for _p, m in reported]
    assert messages == [
        "已编号 2 / 5 张证书…",
        "已编号 4 / 5 张证书…",
        "已编号 5 / 5 张证书…",
        "已生成 2 / 5 张证书…",
        "已生成 4 / 5 张证书…",
        "已生成 5 / 5 张证书…",
    ]
    percents = [p for p, _m in reported]
    assert percents == sorted(percents) and percents[-1] == 95


def test_a_job_that_dies_while_rendering_finishes_the_rest_when_run_again(
    app: Flask, world: LearningWorld, make_user: Any, monkeypatch: Any
) -> None:
    officer = make_user("hr")
    for n in range(6):
        trainee(world, f"学员{n}")
    db.session.commit()
    monkeypatch.setitem(app.config, "CERTIFICATE_BATCH_SIZE", 3)
    render = issuing.render_and_store
    batches = {"count": 0}

    def dies_on_the_second_batch(certificates: Any) -> None:
        batches["count"] += 1
        if batches["count"] == 2:
            raise RuntimeError("worker killed")
        render(certificates)

    monkeypatch.setattr(issuing, "render_and_store", dies_on_the_second_batch)
    job = finished_job(
        app, bulk.start_bulk_issue(officer.id, world.certificate_type.id, world.cohort.id)
    )

    assert job.state == "failed" and "worker killed" in job.message
    recorded = certificates_of(world)
    assert len(recorded) == 7  # every record was committed before the PDFs
    assert sum(1 for c in recorded if c.pdf_sha256) == 3  # the first batch of PDFs
    assert bulk.zip_path(job) is None
    html = _panel(app, officer, job)
    assert 'id="bulk-partial"' in html

    jobs.execute(job.id)

    db.session.expire_all()
    job = db.session.get(jobs.Job, job.id)
    assert job.state == "finished"
    assert job.result["issued"] == 7 and job.result["skipped"] == []
    recorded = certificates_of(world)
    assert len(recorded) == 7
    assert sorted(job.result["certificate_ids"]) == sorted(c.id for c in recorded)
    assert len({c.holder_id for c in recorded}) == 7
    assert all(c.pdf_sha256 for c in recorded)
    assert_serials_without_gaps(world)
    with zipfile.ZipFile(bulk.zip_path(job)) as archive:
        assert len(archive.namelist()) == 7


def test_the_result_panel_shows_the_summary_the_skipped_and_the_zip(
    app: Flask, world: LearningWorld, make_user: Any
) -> None:
    officer = make_user("hr")
    trainee(world, "赵六", completed=False)
    db.session.commit()
    job = finished_job(
        app, bulk.start_bulk_issue(officer.id, world.certificate_type.id, world.cohort.id)
    )

    html = _panel(app, officer, job)

    assert 'id="bulk-summary"' in html
    assert f'href="/certificates/bulk/{job.id}.zip"' in html
    assert "赵六" in html and world.programme.title in html
    assert 'id="bulk-not-visible"' not in html


def test_zip_path_is_only_for_finished_bulk_jobs(app: Flask, make_user: Any) -> None:
    owner = make_user("hr")
    other = jobs.Job(id="1" * 36, kind="users.import_roster", state="finished", result={"zip": "x"})
    running = jobs.Job(id="2" * 36, kind=bulk.JOB_KIND, state="running", requested_by_id=owner.id)
    db.session.add_all([other, running])
    db.session.flush()
    assert bulk.zip_path(other) is None
    assert bulk.zip_path(running) is None


def _panel(app: Flask, person: Any, job: jobs.Job) -> str:
    client = app.test_client()
    client.login(person)
    client.use_language("en")
    response = client.get(f"/jobs/{job.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


# --- Workers sharing one bulk issue ------------------------------------------------------------


def dropping_helper(job_id: str) -> None:
    """A helper whose worker dies after taking a batch: the batch is gone from the list."""
    bulk_jobs._take(job_id)


def issue_with_helper(
    app: Flask, world: LearningWorld, officer: Any, monkeypatch: pytest.MonkeyPatch
) -> jobs.Job:
    """A bulk issue of 5 people in batches of 2, with one helper queued."""
    for name in ("李四", "王五", "赵六", "钱七"):
        trainee(world, name)
    db.session.commit()
    monkeypatch.setitem(app.config, "CERTIFICATE_BATCH_SIZE", 2)
    monkeypatch.setattr(bulk_jobs, "helper_count", lambda batches: 1)
    job = bulk.start_bulk_issue(officer.id, world.certificate_type.id, world.cohort.id)
    return finished_job(app, job)


def assert_every_pdf_stored(job: jobs.Job, count: int) -> None:
    assert job.state == "finished", job.message
    assert job.progress == 100 and job.result["issued"] == count
    issued = db.session.scalars(
        sa.select(Certificate).where(Certificate.id.in_(job.result["certificate_ids"]))
    ).all()
    assert len(issued) == count
    for certificate in issued:
        data = issuing.pdf_path(certificate).read_bytes()
        assert hashlib.sha256(data).hexdigest() == certificate.pdf_sha256
        assert len(data) == certificate.pdf_size
        text = PdfReader(io.BytesIO(data)).pages[0].extract_text().replace(" ", "")
        assert certificate.serial in text and certificate.holder_name in text
    with zipfile.ZipFile(bulk.zip_path(job)) as archive:  # type: ignore[arg-type]
        assert len(archive.namelist()) == count


def test_a_helper_renders_batches_of_the_same_bulk_issue(
    app: Flask, world: LearningWorld, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = issue_with_helper(app, world, make_user("hr"), monkeypatch)

    assert_every_pdf_stored(job, 5)
    assert_serials_without_gaps(world)
    assert bulk_jobs._take(job.id) is None  # every batch was taken


def test_a_batch_whose_helper_died_is_rendered_by_the_job(
    app: Flask, world: LearningWorld, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_jobs, "render_share", dropping_helper)
    monkeypatch.setattr(bulk_jobs, "STALL_SECONDS", 0.2)
    monkeypatch.setattr(bulk_jobs, "POLL_SECONDS", 0.05)

    job = issue_with_helper(app, world, make_user("hr"), monkeypatch)

    assert_every_pdf_stored(job, 5)


def test_helpers_are_one_per_other_worker_of_the_bulk_queue(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "REDIS_URL", app.config.get("REDIS_URL") or "redis://x")
    monkeypatch.setattr(bulk_jobs.Worker, "count", lambda connection, queue: 3)
    assert [bulk_jobs.helper_count(batches) for batches in (1, 2, 5)] == [0, 1, 2]
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    assert bulk_jobs.helper_count(5) == 0
