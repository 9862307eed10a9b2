"""Image upload: the real type by content, size limits, harmless SVG only, file store."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.catalog.models import CourseAsset, LessonVersion
from lms.extensions import db
from tests.authoring import build, png_bytes

CLEAN_SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    b'<defs><linearGradient id="g"/></defs>'
    b'<rect width="10" height="10" fill="url(#g)"/>'
    b'<text x="1" y="5">\xe6\x9b\xb2\xe7\xba\xbf</text>'
    b"</svg>"
)


@pytest.fixture
def owner(make_user):
    return make_user("instructor")


@pytest.fixture
def parts(owner):
    return build(owner)


def upload(client, course, module, data: bytes, name: str, htmx: bool = False):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        f"/author/courses/{course.code}/modules/{module.id}/images",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers=headers,
    )


def assets() -> list[CourseAsset]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(CourseAsset).order_by(CourseAsset.id)))


def test_a_real_png_is_stored_and_the_markdown_to_paste_is_shown(app, client, owner, parts):
    course, module, lesson = parts
    client.login(owner)
    data = png_bytes()
    response = upload(client, course, module, data, "生长 Curve (1).PNG")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    [asset] = assets()
    assert asset.path == "01-basics/images/curve-1.png"
    assert asset.content_type == "image/png"
    assert asset.size == len(data)
    stored = Path(app.config["FILES_DIR"]) / "assets" / asset.sha256[:2] / asset.sha256
    assert stored.read_bytes() == data
    assert "](images/curve-1.png)</code>" in html

    # The lesson can now show it, at the URL the catalogue serves.
    client.post(
        f"/author/lessons/{lesson.id}/edit",
        data={
            "title": "第一课",
            "minutes": "10",
            "objectives": "说出要点",
            "markdown": "![生长曲线](images/curve-1.png)\n",
            "save_draft": "y",
        },
    )
    version = db.session.scalar(sa.select(LessonVersion).where(LessonVersion.number == 2))
    assert 'src="/courses/TEST-101/files/01-basics/images/curve-1.png"' in version.html
    served = client.get("/courses/TEST-101/files/01-basics/images/curve-1.png")
    assert served.status_code == 200
    assert served.data == data


def test_from_the_editor_the_answer_is_a_fragment(client, owner, parts):
    course, module, lesson = parts
    client.login(owner)
    page = client.get(f"/author/lessons/{lesson.id}/edit").get_data(as_text=True)
    assert f'hx-post="/author/courses/{course.code}/modules/{module.id}/images"' in page
    assert 'hx-encoding="multipart/form-data"' in page
    response = upload(client, course, module, png_bytes(), "a.png", htmx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert 'id="image-markdown"' in html and "(images/a.png)" in html
    # Refusals come back as a fragment too (htmx shows 200 answers only).
    response = upload(client, course, module, b"<html>hi</html>", "b.png", htmx=True)
    assert response.status_code == 200
    assert 'id="image-errors"' in response.get_data(as_text=True)
    assert len(assets()) == 1


def test_the_type_comes_from_the_content_not_the_name(client, owner, parts):
    course, module, _ = parts
    client.login(owner)
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100
    assert upload(client, course, module, jpeg, "photo.png").status_code == 200
    [asset] = assets()
    assert asset.path.endswith("/photo.jpg")
    assert asset.content_type == "image/jpeg"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<html><body><script>alert(1)</script></body></html>", "fake.png"),
        (b"just some text, not an image", "notes.png"),
        (b"GIF8", "tiny.gif"),
        (b"", "empty.png"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "evil.svg",
        ),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "onload.svg"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
            b'<image xlink:href="https://example.org/track.png"/></svg>',
            "external.svg",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://x.org/a.css);'
            b"</style></svg>",
            "style.svg",
        ),
        (
            b'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
            "entity.svg",
        ),
        (b"<svg><unclosed></svg>", "broken.svg"),
        (b'<html xmlns="http://www.w3.org/1999/xhtml"/>', "page.svg"),
    ],
)
def test_what_is_not_a_harmless_image_is_refused(client, owner, parts, data, name):
    course, module, _ = parts
    client.login(owner)
    response = upload(client, course, module, data, name)
    assert response.status_code == 422
    assert 'class="field-error"' in response.get_data(as_text=True)
    assert assets() == []


def test_an_oversize_image_is_refused(client, owner, parts):
    course, module, _ = parts
    client.login(owner)
    client.use_language("en")
    big = png_bytes() + b"\x00" * (2 * 1024 * 1024)
    response = upload(client, course, module, big, "big.png")
    assert response.status_code == 422
    assert "larger than 2 MB" in response.get_data(as_text=True)
    assert assets() == []


def test_a_harmless_svg_is_accepted(client, owner, parts):
    course, module, _ = parts
    client.login(owner)
    assert upload(client, course, module, CLEAN_SVG, "Chart.svg").status_code == 200
    [asset] = assets()
    assert asset.path == "01-basics/images/chart.svg"
    assert asset.content_type == "image/svg+xml"


def test_same_image_is_kept_once_and_names_do_not_clash(client, owner, parts):
    course, module, _ = parts
    client.login(owner)
    first = png_bytes(2, 2)
    upload(client, course, module, first, "chart.png")
    upload(client, course, module, first, "chart.png")
    assert [a.path for a in assets()] == ["01-basics/images/chart.png"]
    # Another picture under the same name does not replace the one lessons already show.
    response = upload(client, course, module, png_bytes(3, 3), "chart.png")
    assert "(images/chart-2.png)" in response.get_data(as_text=True)
    assert [a.path for a in assets()] == [
        "01-basics/images/chart.png",
        "01-basics/images/chart-2.png",
    ]
    assert (
        client.get(f"/author/lessons/{parts[2].id}/edit")
        .get_data(as_text=True)
        .count("](images/chart")
        == 2
    )


def test_a_missing_file_is_refused(client, owner, parts):
    course, module, _ = parts
    client.login(owner)
    response = client.post(
        f"/author/courses/{course.code}/modules/{module.id}/images",
        data={},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert assets() == []
