"""Open Badges 3.0: each certificate as an OpenBadgeCredential, signed as a VC-JWT.

The credential follows the OB 3.0 data model on the W3C VC Data Model 2.0 (contexts, types,
issuer Profile, AchievementSubject with its Achievement and criteria, validFrom/validUntil,
a BitstringStatusListEntry for revocation). The holder is named only by a salted SHA-256 hash
of their email address (``Certificate.identity_salt``), never by an ID-card number or the
address itself. The VC-JWT (OB 3.0 section 8.2) carries the credential as its payload together
with the registered claims the specification maps onto it, signed with RS256
(:mod:`lms.certificates.signing`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_request_context, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from joserfc import jwt as jose_jwt

from lms.certificates import signing
from lms.certificates.models import Certificate, CertificateType
from lms.extensions import db

CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
CREDENTIAL_SCHEMA = {
    "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
    "type": "1EdTechJsonSchemaValidator2019",
}
#: The JOSE ``typ`` of OB 3.0 VC-JWTs; the media type served is ``application/vc+jwt``.
JWT_TYPE = "JWT"
MEDIA_TYPE = "application/vc+jwt"
#: Fixed namespace for the name-based UUIDs of credentials and achievements.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:lms:open-badges")


def absolute_url(endpoint: str, **values: Any) -> str:
    """An absolute URL: on ``SERVER_NAME_FOR_LINKS`` when set, else on the request's host."""
    base = current_app.config.get("SERVER_NAME_FOR_LINKS")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    if has_request_context():
        return request.host_url.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def timestamp(moment: datetime) -> str:
    """An XML Schema dateTime in UTC, as VC 2.0 wants (``2026-05-01T08:00:00Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def credential_id(code: str) -> str:
    """The credential's id: a name-based UUID of its verification code (stable, opaque)."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, 'certificate:' + code)}"


def achievement_id(serial_code: str) -> str:
    """The achievement's id: one per certificate type, stable across certificates."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, 'achievement:' + serial_code)}"


def identity_hash(email: str, salt: str) -> str:
    """OB's salted identity hash: ``sha256$`` + hex SHA-256 of the address followed by salt."""
    normalised = email.strip().lower()
    return "sha256$" + hashlib.sha256((normalised + salt).encode()).hexdigest()


def issuer_name() -> str:
    """The name of the issuing body for the issuer Profile: the ``BADGE_ISSUER_NAME`` setting,
    else the issuer named on the first active certificate type."""
    configured = current_app.config.get("BADGE_ISSUER_NAME")
    if configured:
        return str(configured)
    name = db.session.scalar(
        sa.select(CertificateType.issuer_name)
        .where(CertificateType.active, CertificateType.issuer_name != "")
        .order_by(CertificateType.id)
        .limit(1)
    )
    return name or current_app.name


def issuer_profile(name: str | None = None) -> dict[str, Any]:
    """The issuer Profile (served at ``/api/v1/issuer``, embedded in every credential)."""
    return {
        "id": absolute_url("badges.issuer"),
        "type": ["Profile"],
        "name": name or issuer_name(),
        "url": absolute_url("main.home"),
    }


def _local(day: date, moment: time) -> datetime:
    """A moment of a certificate date: certificates carry dates of the city's time zone."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.combine(day, moment, tzinfo=zone)


def valid_from(certificate: Certificate) -> datetime:
    """When the credential becomes valid: the issue moment, or the start of a later first day."""
    return max(certificate.issued_at, _local(certificate.valid_from, time.min))


def valid_until(certificate: Certificate) -> datetime | None:
    """The end of the last day of validity (``expires_on`` is the last valid day), if any."""
    if certificate.expires_on is None:
        return None
    return _local(certificate.expires_on, time(23, 59, 59))


def _bilingual(chinese: str, english: str) -> str:
    return f"{chinese} / {english}" if english and english != chinese else chinese


Namer = Callable[[str], str]


def _in_both_languages(details: dict[str, Any], render: Callable[[Namer], str]) -> str:
    """Render a sentence in Chinese, then in English, each with that language's names."""
    texts = []
    for locale, suffix in (("zh_Hans_CN", ""), ("en", "_en")):

        def name(key: str, suffix: str = suffix) -> str:
            return str(details.get(key + suffix) or details.get(key) or "")

        with force_locale(locale):
            texts.append(render(name))
    return "\n\n".join(dict.fromkeys(texts))


def _description(details: dict[str, Any]) -> str:
    def render(name: Namer) -> str:
        if name("partner_name"):
            return _(
                "Awarded for completing the programme %(programme)s, delivered with %(partner)s.",
                programme=name("programme_title"),
                partner=name("partner_name"),
            )
        return _(
            "Awarded for completing the programme %(programme)s.", programme=name("programme_title")
        )

    return _in_both_languages(details, render)


def _narrative(details: dict[str, Any]) -> str:
    def render(name: Namer) -> str:
        return _(
            "Completed every requirement of the programme %(programme)s (%(code)s): its "
            "required courses, quizzes and practical assessments.",
            programme=name("programme_title"),
            code=details.get("programme_code", ""),
        )

    return _in_both_languages(details, render)


def status_entry(certificate: Certificate) -> dict[str, Any]:
    """The credential's place in the revocation BitstringStatusList (its id is the index)."""
    list_url = absolute_url("badges.status_list")
    index = str(certificate.id)
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": index,
        "statusListCredential": list_url,
    }


def credential(certificate: Certificate) -> dict[str, Any]:
    """The certificate as an OpenBadgeCredential (unsigned JSON)."""
    details = certificate.details or {}
    ctype = certificate.certificate_type
    title = details.get("certificate_title") or ctype.title
    title_en = details.get("certificate_title_en") or ctype.title_en
    result: dict[str, Any] = {
        "@context": list(CONTEXTS),
        "id": credential_id(certificate.code),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer_profile(details.get("issuer_name") or None),
        "validFrom": timestamp(valid_from(certificate)),
    }
    until = valid_until(certificate)
    if until is not None:
        result["validUntil"] = timestamp(until)
    result.update(
        {
            "name": _bilingual(title, title_en),
            "awardedDate": timestamp(certificate.issued_at),
            "credentialSubject": {
                "type": ["AchievementSubject"],
                "identifier": [
                    {
                        "type": "IdentityObject",
                        "identityHash": identity_hash(
                            certificate.holder.email, certificate.identity_salt
                        ),
                        "identityType": "emailAddress",
                        "hashed": True,
                        "salt": certificate.identity_salt,
                    }
                ],
                "achievement": {
                    "id": achievement_id(ctype.serial_code),
                    "type": ["Achievement"],
                    "achievementType": "Certificate",
                    "name": _bilingual(title, title_en),
                    "description": _description(details),
                    "criteria": {"narrative": _narrative(details)},
                },
            },
            "credentialStatus": status_entry(certificate),
            "credentialSchema": [dict(CREDENTIAL_SCHEMA)],
        }
    )
    return result


def _numeric_date(stamp: str) -> int:
    return int(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def sign(document: dict[str, Any]) -> str:
    """Sign a credential as a VC-JWT: the credential is the payload, with the registered
    claims OB 3.0 maps onto it (``iss`` the issuer id, ``jti`` the credential id, ``nbf``
    validFrom, ``exp`` validUntil, ``sub`` the subject id when there is one)."""
    issuer = document["issuer"]
    claims: dict[str, Any] = {
        **document,
        "iss": issuer["id"] if isinstance(issuer, dict) else issuer,
        "jti": document["id"],
        "nbf": _numeric_date(document["validFrom"]),
    }
    if "validUntil" in document:
        claims["exp"] = _numeric_date(document["validUntil"])
    subject = document.get("credentialSubject") or {}
    if isinstance(subject, dict) and subject.get("id"):
        claims["sub"] = subject["id"]
    header = {"alg": signing.ALGORITHM, "typ": JWT_TYPE, "kid": signing.kid()}
    return jose_jwt.encode(header, claims, signing.signing_key(), algorithms=[signing.ALGORITHM])


def jwt(certificate: Certificate) -> str:
    """The certificate's OpenBadgeCredential as a signed VC-JWT (compact JWS)."""
    return sign(credential(certificate))


def download_name(certificate: Certificate, extension: str) -> str:
    """The file name offered for the credential: the serial, then the format."""
    return f"{certificate.serial}.{extension}"
