"""Security headers on every response, and templates that need no inline script.

The page policy (``lms.security.PAGE_CSP``) allows scripts from our own files only; these
tests check that every kind of response carries it (or the stricter one its view set), and
that no template or script of ours would need more.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from lms.authoring.services import store_image
from lms.catalog.views import SANDBOX_CSP
from lms.extensions import db
from lms.security import PAGE_CSP, PDF_CSP
from tests.authoring import png_bytes
from tests.builders import LearningWorld

LMS = Path(__file__).resolve().parents[2] / "lms"
TEMPLATES = sorted(LMS.glob("**/templates/**/*.html"))
SCRIPTS = sorted((LMS / "static" / "js").glob("*.js"))

HARMLESS_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<rect width="10" height="10" fill="#0a0"/></svg>'
)


def directives(csp: str) -> dict[str, list[str]]:
    """``"a x y; b z"`` -> ``{"a": ["x", "y"], "b": ["z"]}``."""
    parsed: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_common_headers(response: Any) -> None:
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin")
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    permissions = headers["Permissions-Policy"]
    assert "camera=()" in permissions and "geolocation=()" in permissions
    assert "microphone=()" in permissions


def assert_page_headers(response: Any) -> None:
    assert_common_headers(response)
    assert response.headers["Content-Security-Policy"] == PAGE_CSP
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


def test_the_page_policy_allows_no_inline_script_and_no_framing() -> None:
    policy = directives(PAGE_CSP)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]  # pygal's inline <style>
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/login", 200),
        ("/verify", 200),
        ("/healthz", 200),
        ("/static/css/app.css", 200),
        ("/no/such/page", 404),
        ("/api/v1/certificates/NOSUCHCODE", 404),
        ("/account/password", 302),
    ],
)
def test_anonymous_responses_carry_the_headers(client: Any, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert_page_headers(response)


def test_signed_in_pages_and_refusals_carry_the_headers(client: Any, make_user: Any) -> None:
    client.login(make_user("trainee"))
    for path, status in [("/", 200), ("/account/password", 200), ("/people/new", 403)]:
        response = client.get(path)
        assert response.status_code == status, path
        assert_page_headers(response)
    csrf_refused = client.post("/account/password", data={}, csrf=False)
    assert csrf_refused.status_code == 400
    assert_page_headers(csrf_refused)


def test_a_course_file_keeps_the_sandbox_policy_its_view_set(
    client: Any, learning_world: LearningWorld
) -> None:
    world = learning_world
    svg = store_image(world.instructor, world.modules[0], "drawing.svg", HARMLESS_SVG)
    png = store_image(world.instructor, world.modules[0], "dot.png", png_bytes())
    db.session.commit()
    client.login(world.trainee)
    course = world.course.code
    drawing = client.get(f"/courses/{course}/files/{svg.asset.path}")
    assert drawing.status_code == 200 and drawing.mimetype == "image/svg+xml"
    assert drawing.headers["Content-Security-Policy"] == SANDBOX_CSP  # not overwritten
    assert "sandbox" in directives(drawing.headers["Content-Security-Policy"])
    assert_common_headers(drawing)
    picture = client.get(f"/courses/{course}/files/{png.asset.path}")
    assert picture.status_code == 200 and picture.mimetype == "image/png"
    assert_common_headers(picture)


def test_a_pdf_preview_may_be_framed_by_our_own_editor_only(
    client: Any, make_user: Any, learning_world: LearningWorld
) -> None:
    """Chrome shows PDFs through an <embed>: ``object-src 'none'`` would blank the preview
    the template editor shows in its iframe."""
    client.login(make_user("admin"))
    response = client.post(
        "/admin/certificate-templates/preview", data={"html": "<p>{{ holder_name }}</p>"}
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Security-Policy"] == PDF_CSP
    policy = directives(PDF_CSP)
    assert policy["frame-ancestors"] == ["'self'"]
    assert policy["default-src"] == ["'none'"] and "script-src" not in policy
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert_common_headers(response)


def test_hsts_only_on_https(client: Any, app: Flask) -> None:
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == f"max-age={app.config['HSTS_MAX_AGE']}"
    assert app.config["HSTS_MAX_AGE"] >= 180 * 24 * 3600
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_a_forwarded_proto_counts_only_behind_a_configured_proxy(
    client: Any, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``PROXY_HOPS`` a client cannot claim HTTPS; with it (``ProxyFix``, as
    ``create_app`` installs it) the proxy's ``X-Forwarded-Proto`` is believed."""
    forwarded = {"X-Forwarded-Proto": "https"}
    assert app.config["PROXY_HOPS"] == 0
    assert "Strict-Transport-Security" not in client.get("/login", headers=forwarded).headers
    monkeypatch.setattr(app, "wsgi_app", ProxyFix(app.wsgi_app, x_proto=1))
    assert "Strict-Transport-Security" in client.get("/login", headers=forwarded).headers


# Templates and scripts ------------------------------------------------------------------------

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
HANDLER = re.compile(r"<[a-zA-Z][^>]*?\son[a-z]+\s*=", re.IGNORECASE | re.DOTALL)
HTMX_SCRIPTING = re.compile(r"\shx-on\b|\shx-on:|\sdata-hx-on", re.IGNORECASE)
HTMX_JSON = re.compile(r"\s(?:data-)?hx-(?:vals|headers|vars)\s*=\s*(['\"])\s*(.*?)\1", re.DOTALL)


def test_there_are_templates_to_check() -> None:
    assert len(TEMPLATES) > 50
    assert LMS / "templates" / "base.html" in TEMPLATES


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(LMS)))
def test_templates_have_no_inline_script(path: Path) -> None:
    html = path.read_text(encoding="utf-8")
    for attributes, body in SCRIPT_TAG.findall(html):
        assert "src=" in attributes, f"inline <script> in {path}"
        assert not body.strip(), f"<script src> with a body in {path}"
    assert html.lower().count("<script") == len(SCRIPT_TAG.findall(html)), path
    assert HANDLER.search(html) is None, f"event handler attribute in {path}"
    assert "javascript:" not in html.lower(), path
    assert HTMX_SCRIPTING.search(html) is None, f"hx-on in {path}"
    for _quote, value in HTMX_JSON.findall(html):
        assert not value.lower().startswith(("js:", "javascript:")), f"evaluated hx value in {path}"


def test_htmx_is_configured_to_evaluate_nothing() -> None:
    base = (LMS / "templates" / "base.html").read_text(encoding="utf-8")
    config = re.search(r'<meta name="htmx-config" content=\'([^\']*)\'', base)
    assert config is not None
    assert '"allowEval": false' in config.group(1)
    assert '"allowScriptTags": false' in config.group(1)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_our_scripts_evaluate_no_strings(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert re.search(r"\beval\s*\(|new\s+Function\s*\(|setTimeout\s*\(\s*['\"`]", source) is None
    assert ".innerHTML" not in source and "insertAdjacentHTML" not in source, path


# The only markup a template outputs without escaping, each known to be harmless: lesson
# HTML and its table of contents (sanitised by lms.markdown when saved) and ``lang``
# attributes built from a fixed language code.
SAFE_FILTER = re.compile(r"\{[{%][^}]*?\|\s*safe\b[^}]*[}%]\}")
REVIEWED_SAFE_USES = {
    "{{ version.toc_html|safe }}",
    "{{ version.html|safe }}",
    "{% set zh = ' lang=\"zh-Hans-CN\"'|safe if locale.startswith('en') else '' %}",
    "{% set lang = (' lang=\"' ~ content_lang ~ '\"')|safe if content_lang else '' %}",
    "{%- set lang = (' lang=\"' ~ content_lang ~ '\"')|safe if content_lang else '' -%}",
    "{{ item.response|e|replace('\\n', '<br>'|safe) }}",
}


def test_templates_output_unescaped_markup_only_where_reviewed() -> None:
    """No user HTML outside the sanitiser: a new ``|safe`` must be reviewed and listed here."""
    found = {use for path in TEMPLATES for use in SAFE_FILTER.findall(path.read_text("utf-8"))}
    assert found <= REVIEWED_SAFE_USES, found - REVIEWED_SAFE_USES
    assert not any("autoescape false" in path.read_text("utf-8") for path in TEMPLATES)
