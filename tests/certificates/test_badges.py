"""Open Badges 3.0: the credential, its VC-JWT, the issuer's keys and the revocation list."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import stat
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
from flask import Flask
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet, RSAKey

from lms.certificates import signing
from lms.certificates.issuing import create_certificate
from lms.certificates.models import Certificate
from lms.certificates.status_list import MIN_ENTRIES
from lms.db import utcnow
from lms.extensions import db

CITY_ZONE = ZoneInfo("Asia/Shanghai")  # BABEL_DEFAULT_TIMEZONE
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
URN_UUID = re.compile(
    r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)


@pytest.fixture(autouse=True)
def badge_setup(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh instance folder for the generated key, and no key cached from another test."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    monkeypatch.setitem(app.extensions, signing._CACHE, {})
    return tmp_path


@pytest.fixture
def certificate(learning_world: Any) -> Certificate:
    cert = create_certificate(
        None,
        learning_world.trainee.id,
        learning_world.certificate_type.id,
        override_reason="Open Badge test",
    )
    db.session.commit()
    return cert


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def published_keys(client: Any) -> dict[str, Any]:
    response = client.get("/api/v1/issuer/jwks.json")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return json.loads(response.data)


def verify_with_cryptography(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """Check an RS256 compact JWS with nothing but the published JWK and `cryptography`."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(b64url_decode(header_b64))
    (jwk,) = [key for key in jwks["keys"] if key["kid"] == header["kid"]]
    public_key = RSAPublicNumbers(
        e=int.from_bytes(b64url_decode(jwk["e"])), n=int.from_bytes(b64url_decode(jwk["n"]))
    ).public_key()
    public_key.verify(
        b64url_decode(signature_b64),
        f"{header_b64}.{payload_b64}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    return json.loads(b64url_decode(payload_b64))


def numeric_date(stamp: str) -> int:
    return int(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def is_set(encoded_list: str, index: int) -> bool:
    assert encoded_list.startswith("u")  # multibase base64url
    bits = gzip.decompress(b64url_decode(encoded_list[1:]))
    assert len(bits) * 8 >= MIN_ENTRIES
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list(client: Any) -> dict[str, Any]:
    response = client.get("/api/v1/status/revocation")
    assert response.status_code == 200
    assert response.mimetype == "application/vc+jwt"
    return verify_with_cryptography(response.get_data(as_text=True), published_keys(client))


def test_credential_has_every_required_field(client: Any, certificate: Certificate) -> None:
    response = client.get(f"/api/v1/certificates/{certificate.code}/credential?format=json")

    assert response.status_code == 200
    assert response.mimetype == "application/vc"
    assert f"filename={certificate.serial}.json" in response.headers["Content-Disposition"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    vc = json.loads(response.data)
    assert vc["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert vc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert URN_UUID.match(vc["id"])
    issuer = vc["issuer"]
    assert issuer["id"] == "http://localhost/api/v1/issuer"
    assert issuer["type"] == ["Profile"]
    assert issuer["name"] == "南京市卫生健康委员会"
    assert DATETIME.match(vc["validFrom"])
    last_moment = datetime.combine(certificate.expires_on, time(23, 59, 59), tzinfo=CITY_ZONE)
    assert vc["validUntil"] == last_moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert vc["validFrom"] <= vc["awardedDate"]
    assert "婴幼儿照护专业人才证书" in vc["name"]

    subject = vc["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    (identity,) = subject["identifier"]
    assert identity["type"] == "IdentityObject"
    assert identity["identityType"] == "emailAddress"
    assert identity["hashed"] is True
    assert identity["salt"] == certificate.identity_salt
    assert re.match(r"^sha256\$[0-9a-f]{64}$", identity["identityHash"])
    achievement = subject["achievement"]
    assert URN_UUID.match(achievement["id"])
    assert achievement["type"] == ["Achievement"]
    assert achievement["achievementType"] == "Certificate"
    assert isinstance(achievement["name"], str) and achievement["name"]
    assert "照护人员职前资格" in achievement["description"]
    assert "WORLD-QUAL" in achievement["criteria"]["narrative"]

    status = vc["credentialStatus"]
    assert status == {
        "id": f"http://localhost/api/v1/status/revocation#{certificate.id}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(certificate.id),
        "statusListCredential": "http://localhost/api/v1/status/revocation",
    }


def test_holder_is_identified_by_salted_hash_only(client: Any, certificate: Certificate) -> None:
    email = certificate.holder.email
    body = client.get(f"/api/v1/certificates/{certificate.code}/credential?format=json").data
    token = client.get(f"/api/v1/certificates/{certificate.code}/credential").data

    vc = json.loads(body)
    (identity,) = vc["credentialSubject"]["identifier"]
    expected = hashlib.sha256((email + identity["salt"]).encode()).hexdigest()
    assert identity["identityHash"] == f"sha256${expected}"
    assert email.encode() not in body
    assert email.encode() not in b64url_decode(token.decode().split(".")[1])


def test_jwt_verifies_with_the_published_keys(client: Any, certificate: Certificate) -> None:
    response = client.get(f"/api/v1/certificates/{certificate.code}/credential")
    assert response.status_code == 200
    assert response.mimetype == "application/vc+jwt"
    assert f"filename={certificate.serial}.jwt" in response.headers["Content-Disposition"]
    token = response.get_data(as_text=True)
    jwks = published_keys(client)

    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert decoded.header["alg"] == "RS256"
    assert decoded.header["typ"] == "JWT"
    assert decoded.header["kid"] == jwks["keys"][0]["kid"]
    claims = verify_with_cryptography(token, jwks)
    assert claims == decoded.claims

    vc = json.loads(
        client.get(f"/api/v1/certificates/{certificate.code}/credential?format=json").data
    )
    assert claims["iss"] == vc["issuer"]["id"]
    assert claims["jti"] == vc["id"]
    assert claims["nbf"] == numeric_date(vc["validFrom"])
    assert claims["exp"] == numeric_date(vc["validUntil"])
    assert "sub" not in claims  # the subject has no id: it is named by its identity hash
    assert {k: v for k, v in claims.items() if k not in {"iss", "jti", "nbf", "exp"}} == vc


def test_tampered_jwt_is_refused(client: Any, certificate: Certificate) -> None:
    token = client.get(f"/api/v1/certificates/{certificate.code}/credential").get_data(as_text=True)
    jwks = published_keys(client)
    header, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["validUntil"] = "2099-12-31T23:59:59Z"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    forged = f"{header}.{forged_payload}.{signature}"

    with pytest.raises(BadSignatureError):
        jwt.decode(forged, KeySet.import_key_set(jwks), algorithms=["RS256"])
    with pytest.raises(InvalidSignature):
        verify_with_cryptography(forged, jwks)
    other_key = RSAKey.generate_key(2048, private=True)
    with pytest.raises(BadSignatureError):
        jwt.decode(token, other_key, algorithms=["RS256"])


def test_revocation_sets_the_bit_in_the_status_list(
    client: Any, certificate: Certificate, make_user: Any, learning_world: Any
) -> None:
    before = status_list(client)
    assert before["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert before["issuer"]["id"] == "http://localhost/api/v1/issuer"
    subject = before["credentialSubject"]
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "revocation"
    assert before["id"] == "http://localhost/api/v1/status/revocation"
    assert not is_set(subject["encodedList"], certificate.id)

    certificate.revoked_at = utcnow()
    certificate.revoke_reason = "Issued in error"
    db.session.commit()
    other = create_certificate(
        None, make_user("trainee").id, learning_world.certificate_type.id, override_reason="x"
    )
    db.session.commit()

    encoded = status_list(client)["credentialSubject"]["encodedList"]
    assert is_set(encoded, certificate.id)
    assert not is_set(encoded, other.id)
    # the revoked certificate still has its credential, pointing at that bit
    response = client.get(f"/api/v1/certificates/{certificate.code}/credential?format=json")
    assert json.loads(response.data)["credentialStatus"]["statusListIndex"] == str(certificate.id)


def test_unknown_code_is_not_found(client: Any) -> None:
    response = client.get("/api/v1/certificates/NOSUCHCODE/credential")
    assert response.status_code == 404
    assert response.get_json() == {"error": "not_found"}


def test_issuer_profile_is_the_credential_issuer(client: Any, certificate: Certificate) -> None:
    profile = client.get("/api/v1/issuer").get_json()
    vc = json.loads(
        client.get(f"/api/v1/certificates/{certificate.code}/credential?format=json").data
    )

    assert profile["id"] == vc["issuer"]["id"] == "http://localhost/api/v1/issuer"
    assert profile["type"] == ["Profile"]
    assert profile["name"] == "南京市卫生健康委员会"


def test_links_use_the_configured_server_name(
    app: Flask, client: Any, certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SERVER_NAME_FOR_LINKS", "https://lms.example.org/")
    vc = json.loads(
        client.get(f"/api/v1/certificates/{certificate.code}/credential?format=json").data
    )

    assert vc["issuer"]["id"] == "https://lms.example.org/api/v1/issuer"
    assert vc["credentialStatus"]["statusListCredential"] == (
        "https://lms.example.org/api/v1/status/revocation"
    )


def test_credential_without_expiry_has_no_valid_until(
    client: Any, certificate: Certificate
) -> None:
    certificate.expires_on = None
    db.session.commit()
    token = client.get(f"/api/v1/certificates/{certificate.code}/credential").get_data(as_text=True)

    claims = json.loads(b64url_decode(token.split(".")[1]))
    assert "validUntil" not in claims
    assert "exp" not in claims


def test_key_is_generated_once_into_the_instance_folder(
    app: Flask, client: Any, badge_setup: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = badge_setup / "badge_signing_key.pem"
    assert not path.exists()

    first = published_keys(client)["keys"][0]
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pem = path.read_bytes()
    assert b"PRIVATE KEY" in pem
    assert first["kty"] == "RSA" and first["alg"] == "RS256" and "d" not in first
    assert first["kid"] == RSAKey.import_key(pem).thumbprint()

    monkeypatch.setitem(app.extensions, signing._CACHE, {})  # as a new process would
    again = published_keys(client)["keys"][0]
    assert again == first
    assert path.read_bytes() == pem


def test_configured_key_is_used_and_nothing_is_written(
    app: Flask, client: Any, badge_setup: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = RSAKey.generate_key(2048, private=True)
    monkeypatch.setitem(app.config, "BADGE_SIGNING_KEY", key.as_pem(private=True).decode())

    (published,) = published_keys(client)["keys"]

    assert published["kid"] == key.thumbprint()
    assert published["n"] == key.as_dict(private=False)["n"]
    assert not (badge_setup / "badge_signing_key.pem").exists()


@pytest.mark.filterwarnings("ignore:Key size")
def test_short_configured_key_is_refused(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    key = RSAKey.generate_key(1024, private=True, auto_kid=False)
    monkeypatch.setitem(app.config, "BADGE_SIGNING_KEY", key.as_pem(private=True).decode())

    with pytest.raises(RuntimeError, match="2048"):
        signing.signing_key()
