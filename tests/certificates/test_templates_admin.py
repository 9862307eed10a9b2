"""Administrators edit certificate templates: list, preview, save as versions, refusals."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pypdf
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.certificates import rendering
from lms.certificates.default_template import DEFAULT_CSS, DEFAULT_HTML
from lms.certificates.models import Certificate, CertificateTemplate, CertificateType
from lms.extensions import db
from lms.learning.models import Programme

INDEX = "/admin/certificate-templates"
DEFAULT_EDIT = "/admin/certificate-templates/default"
PREVIEW = "/admin/certificate-templates/preview"


def type_edit(world: Any) -> str:
    return f"/admin/certificate-templates/types/{world.certificate_type.id}"


def saved_versions(type_id: int | None) -> list[int]:
    where = (
        CertificateTemplate.type_id.is_(None)
        if type_id is None
        else CertificateTemplate.type_id == type_id
    )
    return list(
        db.session.scalars(sa.select(CertificateTemplate.version).where(where).order_by("version"))
    )


def audit_actions() -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.action.like("certificate_template.%"))
        )
    )


def add_types(world: Any, n: int) -> None:
    for i in range(n):
        programme = Programme(
            code=f"EXTRA-{i}", title=f"额外项目{i}", title_en=f"Extra {i}", track="in_service"
        )
        db.session.add(programme)
        db.session.add(
            CertificateType(programme=programme, serial_code=f"X{i}", title=f"额外证书{i}")
        )
    db.session.commit()


def test_only_administrators_reach_the_pages(client: Any, make_user: Any, learning_world: Any):
    for role in ("hr", "coordinator", "instructor", "trainee"):
        client.login(make_user(role))
        assert client.get(INDEX).status_code == 403
        assert client.get(DEFAULT_EDIT).status_code == 403
        assert client.post(PREVIEW, data={"html": "x", "css": ""}).status_code == 403
        client.post("/logout")
    assert client.get(INDEX).status_code in (302, 401)


def test_index_lists_the_default_and_every_type(
    client: Any, make_user: Any, learning_world: Any, count_queries: Any
):
    db.session.commit()
    client.login(make_user("admin"))
    client.use_language("en")
    with count_queries as one_type:
        page = client.get(INDEX)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="template-default"' in html
    assert f'id="template-type-{learning_world.certificate_type.id}"' in html
    assert "The design shipped with the application" in html
    assert "Uses the default template" in html

    add_types(learning_world, 3)
    db.session.add(CertificateTemplate(type_id=None, version=1, html="<p>x</p>", css=""))
    db.session.commit()
    with count_queries as four_types:
        html = client.get(INDEX).get_data(as_text=True)
    assert "额外证书2" in html and "Version 1" in html
    assert four_types.count == one_type.count


def test_editor_shows_the_template_in_use(client: Any, make_user: Any, learning_world: Any):
    db.session.commit()
    client.login(make_user("admin"))
    page = client.get(type_edit(learning_world))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "{{ holder_name }}" in html  # the shipped design, in the textarea
    assert 'formtarget="certificate-preview"' in html and 'name="certificate-preview"' in html
    assert "<script" not in html.split("</head>")[1]
    assert client.get("/admin/certificate-templates/types/999999").status_code == 404
    assert client.get(DEFAULT_EDIT + "?version=3").status_code == 404


def test_preview_returns_the_sample_pdf_and_saves_nothing(
    client: Any, make_user: Any, learning_world: Any
):
    db.session.commit()
    client.login(make_user("admin"))
    response = client.post(PREVIEW, data={"html": DEFAULT_HTML, "css": DEFAULT_CSS})
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    assert "张晓明" in reader.pages[0].extract_text()
    assert saved_versions(None) == []

    client.use_language("en")
    broken = client.post(PREVIEW, data={"html": "<p>{{ holder_name </p>", "css": ""})
    assert broken.status_code == 422
    assert "The template cannot be rendered" in broken.get_data(as_text=True)
    assert client.post(PREVIEW, data={"html": "x"}, csrf=False).status_code == 400


def test_saving_makes_audited_versions(client: Any, make_user: Any, learning_world: Any):
    db.session.commit()
    admin = make_user("admin")
    client.login(admin)
    client.use_language("en")
    url = type_edit(learning_world)
    type_id = learning_world.certificate_type.id

    first = client.post(url, data={"html": "<h1>{{ holder_name }}</h1>", "css": "", "note": "简版"})
    assert first.status_code == 302
    second = client.post(url, data={"html": DEFAULT_HTML, "css": DEFAULT_CSS, "note": "again"})
    assert second.status_code == 302
    assert "Version 2 of the template has been saved" in client.get(url).get_data(as_text=True)

    assert saved_versions(type_id) == [1, 2]
    assert saved_versions(None) == []
    assert audit_actions() == ["certificate_template.saved"] * 2
    entry = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.actor_id == admin.id and entry.entity_type == "certificate_template"
    assert entry.after == {"type_id": type_id, "version": 2, "note": "again"}
    current = rendering.current_template(type_id)
    assert current.html == DEFAULT_HTML and current.id is not None

    # An older version can be loaded into the editor, to be saved again.
    html = client.get(url + "?version=1").get_data(as_text=True)
    assert "&lt;h1&gt;{{ holder_name }}&lt;/h1&gt;" in html
    assert 'id="version-1"' in html and 'id="version-2"' in html and "简版" in html


def test_a_template_that_does_not_render_is_refused(
    client: Any, make_user: Any, learning_world: Any
):
    db.session.commit()
    client.login(make_user("admin"))
    client.use_language("en")
    cases = [
        ({"html": "<p>{% for x in %}</p>", "css": ""}, "line 1"),
        ({"html": "<p>{{ holdr_name }}</p>", "css": ""}, "holdr_name"),
        ({"html": "{{ ''.__class__.__mro__ }}", "css": ""}, "cannot be rendered"),
        (
            {"html": "<p>1</p><p style='break-before: page'>2</p>", "css": ""},
            "takes 2 pages",
        ),
        ({"html": "  ", "css": "p {}"}, "Enter the HTML"),
    ]
    for data, message in cases:
        response = client.post(DEFAULT_EDIT, data={**data, "note": "bad"})
        assert response.status_code == 422, data
        html = response.get_data(as_text=True)
        assert message in html, (message, data)
        assert 'class="field-error"' in html
    assert saved_versions(None) == []
    assert audit_actions() == []


def test_certificates_keep_the_version_they_used(
    client: Any, make_user: Any, learning_world: Any, count_queries: Any
):
    db.session.commit()
    client.login(make_user("admin"))
    url = type_edit(learning_world)
    client.post(url, data={"html": "<p>{{ holder_name }} v1</p>", "css": "", "note": ""})
    v1 = rendering.current_template(learning_world.certificate_type.id)
    certificate = Certificate(
        code="C" * 32,
        serial="NJ-WQ-2026-000001",
        type_id=learning_world.certificate_type.id,
        holder_id=learning_world.trainee.id,
        holder_name=learning_world.trainee.name,
        valid_from=date(2026, 11, 29),
        details={},
        template_id=v1.id,
        identity_salt="s" * 32,
    )
    db.session.add(certificate)
    db.session.commit()

    with count_queries as one_version:
        page = client.get(url)
    assert page.status_code == 200
    for n in (2, 3, 4):
        client.post(url, data={"html": f"<p>{{{{ holder_name }}}} v{n}</p>", "css": "", "note": ""})

    db.session.refresh(certificate)
    assert certificate.template_id == v1.id
    with count_queries as four_versions:
        html = client.get(url).get_data(as_text=True)
    assert four_versions.count == one_version.count
    version_1 = html.split('id="version-1"')[1].split("</tr>")[0]
    assert "<td>1</td>" in version_1
