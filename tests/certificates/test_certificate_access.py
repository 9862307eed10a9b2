"""Who may see, download and act on a certificate: the holder, staff in scope, nobody else
(404 for a certificate one may not see, 403 for an action one may not take)."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

import pytest
from pypdf import PdfReader

from lms.extensions import db
from tests.builders import LearningWorld
from tests.certificates.test_views import certify, signed_in, trainee
from tests.factories import OrganisationFactory


@pytest.fixture
def world(learning_world: LearningWorld) -> LearningWorld:
    return learning_world


def people(world: LearningWorld, make_user: Any) -> dict[str, Any]:
    """One person of each kind, seen from the certificate of the world's trainee."""
    elsewhere = OrganisationFactory(name="另一家育儿园")
    other_trainee = trainee(world, "李四")
    db.session.commit()
    return {
        "holder": world.trainee,
        "other trainee": other_trainee,
        "instructor": world.instructor,
        "hr": make_user("hr"),
        "scoped hr": make_user(("hr", world.employer)),
        "hr elsewhere": make_user(("hr", elsewhere)),
        "coordinator": make_user("coordinator"),
        "coordinator elsewhere": make_user(("coordinator", elsewhere)),
        "admin": make_user("admin"),
    }


EXPECTED = {
    "holder": 200,
    "other trainee": 404,
    "instructor": 404,
    "hr": 200,
    "scoped hr": 200,
    "hr elsewhere": 404,
    "coordinator": 200,
    "coordinator elsewhere": 404,
    "admin": 200,
}


def test_the_pdf_and_the_page_follow_the_access_matrix(
    app: Any, world: LearningWorld, make_user: Any
) -> None:
    certificate = certify(world, pdf=True)
    for who, person in people(world, make_user).items():
        client = signed_in(app.test_client(), person)
        pdf = client.get(f"/certificates/{certificate.id}/pdf")
        page = client.get(f"/certificates/{certificate.id}")
        assert (who, pdf.status_code) == (who, EXPECTED[who])
        assert (who, page.status_code) == (who, EXPECTED[who])


def test_the_pdf_is_the_stored_file_with_safe_headers(client: Any, world: LearningWorld) -> None:
    certificate = certify(world, pdf=True)
    signed_in(client, world.trainee)

    response = client.get(f"/certificates/{certificate.id}/pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="certificate-{certificate.serial}.pdf"')
    assert f"filename*=UTF-8''{quote(world.trainee.name)}-{certificate.serial}.pdf" in disposition
    disposition.encode("ascii")  # the header itself is plain ASCII
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert certificate.serial in text


def test_another_trainees_pdf_is_not_found(client: Any, world: LearningWorld) -> None:
    theirs = certify(world, trainee(world, "李四"), pdf=True)
    signed_in(client, world.trainee)
    assert client.get(f"/certificates/{theirs.id}/pdf").status_code == 404
    assert client.get(f"/certificates/{theirs.id}").status_code == 404
    assert client.get("/certificates/999999/pdf").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client: Any, world: LearningWorld) -> None:
    certificate = certify(world, pdf=True)
    for url in (f"/certificates/{certificate.id}/pdf", f"/certificates/{certificate.id}"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_actions_are_for_hr_officers_and_admins_in_scope(
    app: Any, world: LearningWorld, make_user: Any
) -> None:
    certificate = certify(world)
    everyone = people(world, make_user)
    expected = {
        "holder": 403,
        "other trainee": 403,
        "instructor": 403,
        "coordinator": 403,
        "coordinator elsewhere": 403,
        "hr elsewhere": 404,
    }
    for who, status in expected.items():
        client = signed_in(app.test_client(), everyone[who])
        for action in ("revoke", "reissue", "renew"):
            response = client.post(f"/certificates/{certificate.id}/{action}", data={})
            assert (who, action, response.status_code) == (who, action, status)
    db.session.expire_all()
    assert certificate.revoked_at is None and certificate.superseded_at is None
    # The scoped HR officer of the holder's employer may act.
    client = signed_in(app.test_client(), everyone["scoped hr"])
    response = client.post(
        f"/certificates/{certificate.id}/revoke", data={"revoke-reason": "测试撤销"}
    )
    assert response.status_code == 302


def test_the_staff_pages_are_for_their_roles(
    app: Any, world: LearningWorld, make_user: Any
) -> None:
    everyone = people(world, make_user)
    pages = {
        "/certificates/issue": {"hr": 200, "admin": 200, "coordinator": 403, "holder": 403},
        "/certificates/bulk": {"hr": 200, "admin": 200, "coordinator": 403, "instructor": 403},
        "/certificates/outbox": {"hr": 200, "admin": 200, "coordinator": 403, "holder": 403},
        "/learning/certificates": {"holder": 200, "hr": 200, "instructor": 200},
    }
    for url, expected in pages.items():
        for who, status in expected.items():
            client = signed_in(app.test_client(), everyone[who])
            assert (url, who, client.get(url).status_code) == (url, who, status)
