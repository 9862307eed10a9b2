"""Revocation published as a W3C BitstringStatusList credential, signed as a VC-JWT.

Bit ``n`` (counting from the most significant bit of the first byte) is the certificate with
id ``n``, the ``statusListIndex`` in its credential. A bit is set when the certificate is no
longer valid by a decision of the issuer: revoked, or superseded by a reissue or renewal (a
superseded credential must not verify as current). Expiry is not a status: verifiers read it
from ``validUntil``. The list has at least 131,072 entries (16 KiB), as the specification
requires for group privacy, and grows in steps of that size.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from lms.certificates.badges import CONTEXTS, absolute_url, issuer_profile, sign, timestamp
from lms.certificates.models import Certificate
from lms.db import utcnow
from lms.extensions import db

MIN_ENTRIES = 131_072
PURPOSE = "revocation"


def revoked_indexes() -> list[int]:
    """Ids of certificates whose bit is set: revoked or superseded (one query)."""
    query = sa.select(Certificate.id).where(
        sa.or_(Certificate.revoked_at.is_not(None), Certificate.superseded_at.is_not(None))
    )
    return list(db.session.scalars(query))


def encode(indexes: Iterable[int]) -> str:
    """The ``encodedList``: multibase base64url (``u`` prefix, no padding) of the GZIP-compressed
    bit string with those bits set."""
    indexes = list(indexes)
    needed = max(indexes, default=0) + 1
    size = max(MIN_ENTRIES, -(-needed // MIN_ENTRIES) * MIN_ENTRIES)
    bits = bytearray(size // 8)
    for index in indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode().rstrip("=")


def status_list_credential() -> dict[str, Any]:
    """The BitstringStatusListCredential as of now (unsigned JSON)."""
    url = absolute_url("badges.status_list")
    return {
        "@context": [CONTEXTS[0]],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_profile(),
        "validFrom": timestamp(utcnow()),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": PURPOSE,
            "encodedList": encode(revoked_indexes()),
        },
    }


def status_list_jwt() -> str:
    """The status list credential signed as a VC-JWT with the badge key."""
    return sign(status_list_credential())
