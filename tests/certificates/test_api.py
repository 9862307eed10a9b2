"""The public certificate API: the same facts as the verify page, as JSON, rate limited."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.certificates.test_verify import certificates, fresh_rate_limits  # noqa: F401

FIELDS = {
    "code",
    "serial",
    "status",
    "holder",
    "programme",
    "programme_en",
    "certificate_title",
    "certificate_title_en",
    "tier",
    "issuer",
    "issuer_en",
    "issued_on",
    "valid_from",
    "expires_on",
    "revoked_on",
    "revoke_reason",
    "replaced_by",
    "verify_url",
}


def lookup(client: Any, code: str, **kwargs: Any) -> Any:
    return client.get(f"/api/v1/certificates/{code}", **kwargs)


def test_a_valid_certificate(client: Any, certificates: Any) -> None:  # noqa: F811
    certificate = certificates["valid"]
    response = lookup(client, certificate.code)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    assert set(body) == FIELDS
    assert body["status"] == "valid"
    assert body["code"] == certificate.code and body["serial"] == certificate.serial
    assert body["holder"] == "张*明"
    assert body["programme"] == "照护人员职前资格"
    assert body["programme_en"] == "Carer pre-service qualification"
    assert body["certificate_title"] == "婴幼儿照护专业人才证书"
    assert body["tier"] == "talent_pool"
    assert body["issuer"] == "南京市卫生健康委员会"
    assert body["valid_from"] == certificate.valid_from.isoformat()
    assert body["expires_on"] == certificate.expires_on.isoformat()
    assert body["issued_on"] == certificate.valid_from.isoformat()
    assert body["revoked_on"] is None and body["revoke_reason"] is None
    assert body["replaced_by"] is None
    assert body["verify_url"].startswith("http") and body["verify_url"].endswith(
        f"/verify/{certificate.code}"
    )


def test_expired_revoked_and_superseded(client: Any, certificates: Any) -> None:  # noqa: F811
    expired = lookup(client, certificates["expired"].code).get_json()
    assert expired["status"] == "expired" and expired["holder"] == "李*"

    revoked = certificates["revoked"]
    body = lookup(client, revoked.code).get_json()
    assert body["status"] == "revoked"
    assert body["revoked_on"] == revoked.revoked_at.date().isoformat()
    assert body["revoke_reason"] == "培训记录造假"
    assert body["holder"] == "欧阳*华"

    body = lookup(client, certificates["superseded"].code).get_json()
    assert body["status"] == "superseded"
    assert body["replaced_by"] == certificates["new"].code
    assert body["holder"] == "J. S."
    assert lookup(client, certificates["new"].code).get_json()["status"] == "valid"


def test_no_personal_data_beyond_the_masked_name(client: Any, certificates: Any) -> None:  # noqa: F811
    certificate = certificates["valid"]
    holder = certificate.holder
    text = lookup(client, certificate.code).get_data(as_text=True)
    for private in (holder.email, holder.phone, holder.name, certificate.identity_salt):
        assert private not in text


def test_codes_are_found_however_they_are_typed(client: Any, certificates: Any) -> None:  # noqa: F811
    code = certificates["valid"].code
    assert lookup(client, code.lower()).get_json()["code"] == code
    assert lookup(client, f"{code[:8]}-{code[8:]}").get_json()["code"] == code


def test_an_unknown_code(client: Any) -> None:
    response = lookup(client, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
    assert response.status_code == 404
    assert response.get_json() == {"error": "not_found"}
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert lookup(client, "X" * 500).status_code == 404


def test_no_sign_in_is_needed(client: Any, certificates: Any, make_user: Any) -> None:  # noqa: F811
    code = certificates["valid"].code
    assert lookup(client, code).status_code == 200
    client.login(make_user("trainee"))
    assert lookup(client, code).status_code == 200


def test_guessing_is_rate_limited(
    app: Flask,
    client: Any,
    certificates: Any,  # noqa: F811
    monkeypatch: Any,
) -> None:
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "3 per minute")
    code = certificates["valid"].code
    assert lookup(client, "NOSUCHCODE").status_code == 404
    assert lookup(client, "NOSUCHCODE2").status_code == 404
    assert lookup(client, code).status_code == 200
    response = lookup(client, code)
    assert response.status_code == 429
    assert response.get_json()["error"] == "rate_limited"
    assert "holder" not in response.get_json()
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Retry-After" in response.headers
    assert client.get(f"/verify/{code}").status_code == 429  # the page shares the budget


@pytest.mark.parametrize("state", ["valid", "expired", "revoked", "superseded"])
def test_one_query_per_look_up(
    client: Any,
    certificates: Any,  # noqa: F811
    count_queries: Any,
    state: str,
) -> None:
    code = certificates[state].code
    with count_queries as queries:
        assert lookup(client, code).status_code == 200
    assert queries.count == 1
