"""A worker killed in the middle of a bulk issue: the job is queued again and the rerun
finishes it, with no certificate issued twice, serials without gaps and one audit entry each.

Real ``lms worker`` processes on PostgreSQL and Redis, so these run only when the suite does
(``LMS_DATABASE_URL`` on PostgreSQL and ``LMS_REDIS_URL``). The workers need committed data,
which the suite's rolled-back transactions cannot give them: the module works in a database
of its own, ``<test database>_kill``, created and dropped here, and on queues of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale, gettext
from flask_migrate import upgrade
from rq.job import Job as RQJob

from lms import create_app, jobs
from lms.audit.models import AuditEntry
from lms.certificates import bulk
from lms.certificates.models import Certificate, SerialCounter
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import Enrolment, ProgrammeCompletion
from tests.builders import build_learning_world
from tests.factories import UserFactory

BATCH = 2
PEOPLE = 8  # a run: 4 batches of records, then 4 of PDFs
LMS = str(Path(sys.executable).with_name("lms"))


@dataclass
class Site:
    """The module's own database, file store and queues, and how to start workers on them."""

    app: Flask
    env: dict[str, str]
    log: Path
    officer_id: int
    type_id: int
    cohort_id: int
    employer_id: int
    programme_id: int

    def worker(self, *args: str) -> subprocess.Popen[bytes]:
        """Start ``lms worker`` in a process group of its own (its work horses included)."""
        with self.log.open("ab") as log:
            return subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
                [LMS, "worker", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )


@pytest.fixture(scope="module")
def site(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    redis_url = app.config.get("REDIS_URL")
    if url.get_backend_name() != "postgresql" or not redis_url:
        pytest.skip("killing workers needs PostgreSQL and Redis (LMS_DATABASE_URL, LMS_REDIS_URL)")
    name = f"{url.database}_kill"
    server = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    own_url = url.set(database=name).render_as_string(hide_password=False)
    tmp = tmp_path_factory.mktemp("faults")
    prefix = f"lms-faults-{uuid.uuid4().hex[:8]}"
    config = {
        "SQLALCHEMY_DATABASE_URI": own_url,
        "REDIS_URL": redis_url,
        "FILES_DIR": str(tmp / "files"),
        "JOB_QUEUE_PREFIX": prefix,
        "SECRET_KEY": "faults test secret",
        "CERTIFICATE_BATCH_SIZE": BATCH,
    }
    own = create_app({"TESTING": True, **config})
    env = {**os.environ, **{f"LMS_{key}": str(value) for key, value in config.items()}}
    env["LMS_DATABASE_URL"] = env.pop("LMS_SQLALCHEMY_DATABASE_URI")
    try:
        with own.app_context():
            upgrade()
            world = build_learning_world()
            officer = UserFactory(roles=["hr"], name="人事")
            db.session.commit()
            yield Site(
                own,
                env,
                tmp / "workers.log",
                officer.id,
                world.certificate_type.id,
                world.cohort.id,
                world.employer.id,
                world.programme.id,
            )
            db.session.remove()
            db.engine.dispose()
            connection = jobs.redis_connection()
            for key in connection.scan_iter(match=f"*{prefix}*"):
                connection.delete(key)
    finally:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def add_people(site: Site, count: int) -> None:
    """``count`` trainees in the cohort who completed the programme (committed)."""
    for _ in range(count):
        person = UserFactory(roles=["trainee"], employer_id=site.employer_id)
        db.session.flush()
        db.session.add(Enrolment(cohort_id=site.cohort_id, user_id=person.id, enrolled_at=utcnow()))
        db.session.add(
            ProgrammeCompletion(
                user_id=person.id, programme_id=site.programme_id, cycle=0, evidence={}
            )
        )
    db.session.commit()


def row(job_id: str) -> jobs.Job:
    """The job's record as committed now."""
    db.session.rollback()
    return db.session.get(jobs.Job, job_id, populate_existing=True)  # type: ignore[return-value]


def wait_for(what: Callable[[], bool], seconds: float, site: Site) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out; workers said:\n{site.log.read_text()[-3000:]}")
        time.sleep(0.05)


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the worker's work horse)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def start_and_wait_for_first_batch(site: Site) -> tuple[str, subprocess.Popen[bytes]]:
    add_people(site, PEOPLE)
    job_id = bulk.start_bulk_issue(site.officer_id, site.type_id, site.cohort_id).id
    worker = site.worker()
    wait_for(lambda: row(job_id).state == jobs.RUNNING and row(job_id).progress >= 1, 60, site)
    return job_id, worker


def stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)


def assert_everyone_issued_once(site: Site, job_id: str) -> None:
    """Every eligible person holds exactly one certificate, with its PDF; serials have no
    gaps; each certificate has one audit entry; the job's ZIP holds this run's PDFs."""
    db.session.rollback()
    people = db.session.scalar(sa.select(sa.func.count()).select_from(ProgrammeCompletion))
    certificates = db.session.scalars(
        sa.select(Certificate).where(Certificate.type_id == site.type_id)
    ).all()
    assert len(certificates) == people
    assert len({c.holder_id for c in certificates}) == people
    assert all(c.pdf_sha256 for c in certificates)
    numbers = sorted(int(c.serial.rsplit("-", 1)[1]) for c in certificates)
    assert numbers == list(range(1, people + 1))
    counter = db.session.scalar(
        sa.select(sa.func.max(SerialCounter.last)).where(SerialCounter.type_id == site.type_id)
    )
    assert counter == people
    audited = db.session.scalars(
        sa.select(AuditEntry.entity_id).where(AuditEntry.action == "certificate.issued")
    ).all()
    assert sorted(audited) == sorted(c.id for c in certificates)
    job = row(job_id)
    assert job.result["issued"] == PEOPLE
    with zipfile.ZipFile(bulk.zip_path(job)) as archive:  # type: ignore[arg-type]
        assert len(archive.namelist()) == PEOPLE


def attempts(job_id: str) -> int:
    return int(RQJob.fetch(job_id, connection=jobs.redis_connection()).meta["attempt"])


def test_a_killed_work_horse_is_seen_at_once_and_its_job_run_again(site: Site) -> None:
    with site.app.app_context():
        job_id, worker = start_and_wait_for_first_batch(site)
        try:
            horses = children(worker.pid)
            assert horses, "the worker runs the job in a work horse"
            for pid in horses:
                os.kill(pid, signal.SIGKILL)
            # The worker notices, queues the job again and runs it to the end.
            wait_for(lambda: row(job_id).done, 90, site)
        finally:
            stop(worker)
        assert row(job_id).state == jobs.FINISHED, row(job_id).message
        assert attempts(job_id) == 2
        assert_everyone_issued_once(site, job_id)


def test_a_killed_worker_is_found_by_the_next_and_its_job_run_again(site: Site) -> None:
    with site.app.app_context():
        job_id, worker = start_and_wait_for_first_batch(site)
        # The worker, then its horse (a session of its own: RQ detaches it): a machine lost.
        horses = children(worker.pid)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(30)
        for pid in horses:
            os.kill(pid, signal.SIGKILL)
        assert row(job_id).state == jobs.RUNNING
        # Until RQ's entry for the job expires (nobody renews it now), it may be alive.
        assert jobs.recover_abandoned() == []
        later = time.time() + 600
        assert jobs.recover_abandoned(now=later) == [job_id]
        job = row(job_id)
        with force_locale(site.app.config["BABEL_DEFAULT_LOCALE"]):
            said = gettext("The worker running this job stopped; the job will run again.")
        assert (job.state, job.message) == (jobs.QUEUED, said)

        rerun = site.worker("--burst")
        assert rerun.wait(120) == 0, site.log.read_text()[-3000:]
        assert row(job_id).state == jobs.FINISHED, row(job_id).message
        assert attempts(job_id) == 2
        assert_everyone_issued_once(site, job_id)
