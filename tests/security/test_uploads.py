"""Uploads: refused when too large (a page that says so), judged by their content rather
than their name; and files the app serves carry headers that keep browsers from running them.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from lms import jobs
from lms.auth.models import User
from lms.authoring.services import store_image
from lms.catalog import files
from lms.catalog.models import CourseAsset
from lms.config import Defaults
from lms.extensions import db
from lms.validation import ValidationError
from tests.builders import LearningWorld
from tests.conftest import run_queued_jobs

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def count(model: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def upload_roster(client: Any, data: bytes, filename: str = "roster.csv") -> Any:
    return client.post(
        "/people/import",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def test_a_request_over_the_size_limit_gets_a_clear_413_page(
    app: Flask, client: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.login(make_user("admin"))
    client.use_language("en")
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    people, queued = count(User), count(jobs.Job)
    rows = "".join(f"张{i},p{i}@example.org,,,,\n" for i in range(400))
    response = upload_roster(client, ("name,email,phone,employer,district,roles\n" + rows).encode())
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "Too large" in html and "The file or form you sent is too large." in html
    assert response.headers["Content-Security-Policy"]  # an ordinary page of ours
    assert (count(User), count(jobs.Job)) == (people, queued)


def test_the_limit_is_configured() -> None:
    assert 0 < Defaults.MAX_CONTENT_LENGTH <= 64 * 1024 * 1024


def test_a_picture_named_csv_is_refused_by_its_content(client: Any, make_user: Any) -> None:
    """The upload form accepts the name; the import reads the bytes and refuses them."""
    client.login(make_user("admin"))
    people = count(User)
    response = upload_roster(client, PNG_SIGNATURE + bytes(range(256)) * 4, "roster.csv")
    assert response.status_code == 302
    run_queued_jobs(client.application)
    job_id = response.headers["Location"].rsplit("/", 1)[-1]
    db.session.expire_all()
    job = db.session.get(jobs.Job, job_id)
    assert job is not None and job.state == jobs.FINISHED
    assert job.result["errors"] and not job.result.get("created")
    assert count(User) == people


def test_an_image_is_judged_by_its_bytes_not_its_name(learning_world: LearningWorld) -> None:
    world = learning_world
    module = world.modules[0]
    page = b"<html><script>alert(1)</script></html>"
    with pytest.raises(ValidationError):
        store_image(world.instructor, module, "photo.png", page)
    with pytest.raises(ValidationError):
        store_image(world.instructor, module, "drawing.svg", b"<svg onload='alert(1)'/>")
    stored = store_image(world.instructor, module, "photo.gif", PNG_SIGNATURE + b"\0" * 32)
    assert stored.asset.content_type == "image/png"
    assert stored.name.endswith(".png")


# Files served -----------------------------------------------------------------------------


def test_downloads_are_attachments_never_sniffed(
    client: Any, make_user: Any, learning_world: LearningWorld
) -> None:
    db.session.commit()
    client.login(make_user("admin"))
    for path in (
        "/people/import/example.csv",
        f"/cohorts/{learning_world.cohort.id}/gradebook.csv",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Disposition"].startswith("attachment"), path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert "script-src 'self'" in response.headers["Content-Security-Policy"], path


def test_a_stored_file_that_is_not_an_image_is_a_sandboxed_download(
    app: Flask, client: Any, learning_world: LearningWorld
) -> None:
    """Should a page ever reach the file store (a course folder imported with an HTML file
    among its images), it is served as a download that can run nothing."""
    world = learning_world
    data = b"<html><script>alert(document.cookie)</script></html>"
    digest = files.store(data)
    db.session.add(
        CourseAsset(
            course_id=world.course.id,
            path="01/page.html",
            content_type="text/html",
            size=len(data),
            sha256=digest,
        )
    )
    db.session.commit()
    client.login(world.trainee)
    response = client.get(f"/courses/{world.course.code}/files/01/page.html")
    assert response.status_code == 200
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp
