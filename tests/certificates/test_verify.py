"""Public verification page: every status, name masking, the code form, languages, limits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask

from lms.certificates.issuing import create_certificate
from lms.certificates.models import Certificate
from lms.certificates.verification import mask_name
from lms.db import utcnow
from lms.extensions import db
from lms.ratelimit import limiter
from tests.builders import LearningWorld


@pytest.fixture(autouse=True)
def fresh_rate_limits(app: Flask) -> Iterator[None]:
    """Look-up counters are per address and outlive a test: start each test with none."""
    limiter.reset()
    yield
    limiter.reset()


def issue(world: LearningWorld, holder: Any, **changes: Any) -> Certificate:
    """A certificate row for ``holder`` (an override: no completion needed), then ``changes``."""
    certificate = create_certificate(
        None, holder.id, world.certificate_type.id, override_reason="verification test"
    )
    for name, value in changes.items():
        setattr(certificate, name, value)
    db.session.commit()
    return certificate


@pytest.fixture
def certificates(learning_world: LearningWorld, make_user: Any) -> dict[str, Certificate]:
    """One certificate in each status, plus the one that replaced the superseded one."""
    world = learning_world
    today = utcnow().date()
    revoked_at = datetime.combine(today - timedelta(days=2), time(4), UTC)  # the same day in China
    valid = issue(world, make_user(name="张三明"))
    expired = issue(
        world,
        make_user(name="李四"),
        valid_from=today - timedelta(days=3 * 365 + 10),
        expires_on=today - timedelta(days=10),
    )
    revoked = issue(
        world,
        make_user(name="欧阳明华"),
        revoked_at=revoked_at,
        revoke_reason="培训记录造假",
    )
    holder = make_user(name="Jane Smith")
    old = issue(world, holder, superseded_at=utcnow())
    new = create_certificate(
        None, holder.id, world.certificate_type.id, kind="reissue", replaces=old
    )
    db.session.commit()
    return {"valid": valid, "expired": expired, "revoked": revoked, "superseded": old, "new": new}


def status_of(html: str) -> str | None:
    match = re.search(r'id="verify-status" data-status="([a-z_]+)"', html)
    return match.group(1) if match else None


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三明", "张*明"),
        ("李四", "李*"),
        ("欧阳明华", "欧阳*华"),
        ("欧阳华", "欧*华"),
        ("司马相如", "司马*如"),
        ("王", "*"),
        ("爱新觉罗启星", "爱****星"),
        ("𠀀明", "𠀀*"),
        ("王𬱖明", "王*明"),
        ("  张三明 ", "张*明"),
        ("Jane Smith", "J. S."),
        ("jean-luc picard", "J. P."),
        ("阿依古丽·买买提", "阿**丽·买*提"),
        ("", ""),
    ],
)
def test_names_are_partly_masked(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_a_valid_certificate_shows_its_facts(client: Any, certificates: Any) -> None:
    certificate = certificates["valid"]
    response = client.get(f"/verify/{certificate.code}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert status_of(html) == "valid"
    assert "张*明" in html and "张三明" not in html
    assert "婴幼儿照护专业人才证书" in html  # the certificate's title
    assert "照护人员职前资格" in html  # the programme
    assert "南京市卫生健康委员会" in html  # the issuer
    assert certificate.serial in html
    assert certificate.valid_from.isoformat() in html
    assert certificate.expires_on.isoformat() in html
    assert 'id="replaced-by"' not in html
    assert '<meta name="robots" content="noindex">' in html
    assert response.headers["X-Robots-Tag"] == "noindex"


def test_an_expired_certificate_says_so(client: Any, certificates: Any) -> None:
    certificate = certificates["expired"]
    html = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert status_of(html) == "expired"
    assert certificate.expires_on.isoformat() in html
    assert "李*" in html and "李四" not in html


def test_a_revoked_certificate_shows_the_date_and_reason(client: Any, certificates: Any) -> None:
    certificate = certificates["revoked"]
    response = client.get(f"/verify/{certificate.code}")
    assert response.status_code == 200  # revoked, never "not found"
    html = response.get_data(as_text=True)
    assert status_of(html) == "revoked"
    assert "培训记录造假" in html
    assert certificate.revoked_at.date().isoformat() in html
    assert "欧阳*华" in html


def test_a_superseded_certificate_links_to_its_replacement(client: Any, certificates: Any) -> None:
    old, new = certificates["superseded"], certificates["new"]
    html = client.get(f"/verify/{old.code}").get_data(as_text=True)
    assert status_of(html) == "superseded"
    assert f'href="/verify/{new.code}"' in html
    assert "J. S." in html and "Jane Smith" not in html
    html = client.get(f"/verify/{new.code}").get_data(as_text=True)
    assert status_of(html) == "valid"


def test_no_personal_data_beyond_the_masked_name(client: Any, certificates: Any) -> None:
    certificate = certificates["valid"]
    holder = certificate.holder
    html = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    for private in (holder.email, holder.phone, holder.name, str(certificate.identity_salt)):
        assert private not in html


def test_an_unknown_code_is_a_clear_not_found_with_the_form(client: Any) -> None:
    response = client.get("/verify/ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert status_of(html) == "not_found"
    assert 'action="/verify"' in html and 'name="code"' in html
    assert response.headers["X-Robots-Tag"] == "noindex"


def test_codes_are_found_however_they_are_typed(client: Any, certificates: Any) -> None:
    code = certificates["valid"].code
    typed = " " + "-".join(code[i : i + 4] for i in range(0, 32, 4)).lower() + " "
    assert status_of(client.get(f"/verify/{code.lower()}").get_data(as_text=True)) == "valid"
    response = client.get("/verify", query_string={"code": typed})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/verify/{code}")
    response = client.post("/verify", data={"code": f"{code[:16]} {code[16:]}"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/verify/{code}")


def test_the_form_asks_for_a_code(client: Any) -> None:
    response = client.get("/verify")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="code"' in html and 'method="get"' in html
    for empty in ("", "  ", " - - "):
        response = client.get("/verify", query_string={"code": empty})
        assert response.status_code == 422
        assert 'class="field-error"' in response.get_data(as_text=True)


def test_the_page_in_english(client: Any, certificates: Any) -> None:
    code = certificates["valid"].code
    html = client.get(f"/verify/{code}").get_data(as_text=True)
    assert 'lang="zh-Hans-CN"' in html and "Nanjing Municipal Health Commission" not in html
    client.use_language("en")
    html = client.get(f"/verify/{code}").get_data(as_text=True)
    assert 'lang="en"' in html
    assert "Certificate of the infant-care talent pool" in html
    assert "Carer pre-service qualification" in html
    assert "Nanjing Municipal Health Commission" in html
    assert "Talent pool (qualified professional)" in html


def test_visitors_switch_the_language_on_the_page(client: Any, certificates: Any) -> None:
    code = certificates["valid"].code
    html = client.get(f"/verify/{code}").get_data(as_text=True)
    assert 'name="locale" value="en"' in html
    response = client.post("/language", data={"locale": "en", "next": f"/verify/{code}"})
    assert response.headers["Location"].endswith(f"/verify/{code}")
    assert 'lang="en"' in client.get(f"/verify/{code}").get_data(as_text=True)


def test_guessing_is_rate_limited(
    app: Flask, client: Any, certificates: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "3 per minute")
    code = certificates["valid"].code
    assert client.get(f"/verify/{code}").status_code == 200
    assert client.get("/verify/NOSUCHCODE").status_code == 404  # misses count too
    assert client.get(f"/api/v1/certificates/{code}").status_code == 200  # one budget for both
    response = client.get(f"/verify/{code}")
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    html = response.get_data(as_text=True)
    assert "张*明" not in html and 'href="/verify"' in html
    assert client.get("/verify").status_code == 200  # the form itself is not limited
    other = client.get(f"/verify/{code}", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200  # the limit is per address


def test_counters_are_kept_where_the_app_keeps_shared_state(app: Flask) -> None:
    kind = type(limiter.storage).__name__
    assert kind == ("RedisStorage" if app.config.get("REDIS_URL") else "MemoryStorage")


@pytest.mark.parametrize("state", ["valid", "expired", "revoked", "superseded"])
def test_the_page_runs_one_query(
    client: Any, certificates: Any, count_queries: Any, state: str
) -> None:
    code = certificates[state].code
    with count_queries as queries:
        assert client.get(f"/verify/{code}").status_code == 200
    assert queries.count == 1


def test_a_posted_code_needs_the_form_token(client: Any) -> None:
    response = client.post("/verify", data={"code": "ABCD"}, csrf=False)
    assert response.status_code == 400
