"""Redis down: the pages still work, and asking for a job says clearly that jobs are not
available now, leaving nothing half-saved (no job left queued, no stored upload, no rows)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from limits.storage import storage_from_string
from limits.strategies import STRATEGIES

from lms import jobs
from lms.auth.models import User
from lms.extensions import db
from lms.learning.models import ProgrammeCompletion
from lms.ratelimit import limiter
from tests.builders import LearningWorld

CLOSED_PORT = "redis://127.0.0.1:6390/0"
UNAVAILABLE = "The job queue is not available now; please try again later."


@pytest.fixture
def redis_down(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``LMS_REDIS_URL`` points at a port where nothing listens, for the jobs and the rate
    limiter's counters alike."""
    monkeypatch.setitem(app.config, "REDIS_URL", CLOSED_PORT)
    saved = app.extensions.pop("lms_redis", None)
    storage = storage_from_string(CLOSED_PORT)
    monkeypatch.setattr(limiter, "_storage", storage)
    monkeypatch.setattr(limiter, "_limiter", STRATEGIES["fixed-window"](storage))
    monkeypatch.setattr(limiter, "_storage_dead", False)
    yield
    app.extensions.pop("lms_redis", None)
    if saved is not None:
        app.extensions["lms_redis"] = saved


def pending_jobs() -> list[jobs.Job]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(jobs.Job).where(jobs.Job.state.in_((jobs.QUEUED, "running"))))
    )


def signed_in(app: Flask, user: Any) -> Any:
    client = app.test_client()
    client.use_language("en")
    client.login(user)
    return client


def test_pages_work_while_redis_is_down(
    app: Flask, learning_world: LearningWorld, make_user: Any, redis_down: None
) -> None:
    world = learning_world
    db.session.commit()
    trainee = signed_in(app, world.trainee)  # signing in passes the rate limiter too
    lesson = world.lessons[0]
    for url in (
        "/",
        "/courses",
        f"/courses/{world.course.code}",
        f"/courses/{world.course.code}/lessons/{lesson.id}",
        "/learning",
    ):
        response = trainee.get(url)
        assert response.status_code == 200, url
    assert signed_in(app, make_user("coordinator")).get("/reports/").status_code == 200
    # Certificate look-ups are rate limited: counted in memory meanwhile, never a 500.
    assert app.test_client().get("/verify/NOSUCHCODE").status_code == 404
    assert app.test_client().get("/healthz").status_code == 200


def test_an_export_says_jobs_are_not_available(
    app: Flask, make_user: Any, redis_down: None
) -> None:
    client = signed_in(app, make_user("coordinator"))
    response = client.post(
        "/reports/exports", data={"source": "table", "name": "targets", "format": "csv"}
    )
    assert response.status_code == 503
    assert UNAVAILABLE in response.get_data(as_text=True)
    assert pending_jobs() == []


def test_a_bulk_issue_says_jobs_are_not_available(
    app: Flask, learning_world: LearningWorld, make_user: Any, redis_down: None
) -> None:
    world = learning_world
    db.session.add(
        ProgrammeCompletion(
            user_id=world.trainee.id, programme_id=world.programme.id, cycle=0, evidence={}
        )
    )
    db.session.commit()
    client = signed_in(app, make_user("hr"))
    response = client.post(
        "/certificates/bulk",
        data={"type_id": world.certificate_type.id, "cohort_id": world.cohort.id},
    )
    assert response.status_code == 200
    assert UNAVAILABLE in response.get_data(as_text=True)
    assert pending_jobs() == []


def test_a_roster_import_says_jobs_are_not_available_and_keeps_no_file(
    app: Flask, make_user: Any, redis_down: None
) -> None:
    client = signed_in(app, make_user("admin"))
    uploads = Path(app.config["FILES_DIR"]) / "uploads"
    before = set(uploads.glob("*")) if uploads.is_dir() else set()
    data = "name,email\n王一,wang.yi@example.org\n".encode()
    response = client.post(
        "/people/import",
        data={"file": (io.BytesIO(data), "roster.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert UNAVAILABLE in response.get_data(as_text=True)
    assert pending_jobs() == []
    assert (set(uploads.glob("*")) if uploads.is_dir() else set()) == before
    assert db.session.scalar(sa.select(User).where(User.email == "wang.yi@example.org")) is None
