"""What the public may learn about a certificate from its code.

The verify page and the JSON API show the same facts, computed here once: the status (from
:meth:`Certificate.status_on`, the rule used everywhere), the titles and issuer copied into
the certificate when it was issued, the dates, and the holder's name partly masked. Nothing
else about the holder (email, phone, identity number, account) is ever part of it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import to_user_timezone
from sqlalchemy.orm import aliased

from lms.certificates.issuing import normalise_code
from lms.certificates.models import Certificate
from lms.certificates.models.certificate import Status
from lms.certificates.rendering import verify_url
from lms.extensions import db

#: Two-character surnames kept whole on names of four or more characters (欧阳明华 → 欧阳*华).
COMPOUND_SURNAMES = frozenset(
    {
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "司空",
        "夏侯",
        "轩辕",
        "令狐",
        "钟离",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "万俟",
        "闻人",
        "澹台",
        "公冶",
        "申屠",
        "太史",
        "濮阳",
        "呼延",
        "赫连",
        "拓跋",
        "百里",
        "东郭",
        "第五",
    }
)

#: Separators between the parts of a name: spaces and the middle dots of transliterated names.
NAME_PARTS = re.compile(r"([\s·•・‧]+)")

#: The longest code worth a database look-up (codes are 32 symbols; the column holds 40).
MAX_CODE_LENGTH = 40


def _is_cjk(char: str) -> bool:
    return unicodedata.name(char, "").startswith(("CJK ", "CJK COMPATIBILITY"))


def _mask_han(part: str) -> str:
    """张三明 → 张*明, 李四 → 李*, 欧阳明华 → 欧阳*华: the surname and the last character stay."""
    if len(part) <= 1:
        return "*"
    if len(part) == 2:
        return part[0] + "*"
    head = part[:2] if len(part) >= 4 and part[:2] in COMPOUND_SURNAMES else part[0]
    return head + "*" * (len(part) - len(head) - 1) + part[-1]


def mask_name(name: str) -> str:
    """The holder's name as the public sees it.

    Chinese names keep their first (or compound surname) and last characters; Latin names
    keep the initial of each part (``Jane Smith`` → ``J. S.``). Names of several parts
    (``阿依古丽·买买提``) are masked part by part, separators kept.
    """
    pieces = NAME_PARTS.split(name.strip())
    masked = []
    for piece in pieces:
        if not piece or NAME_PARTS.fullmatch(piece):
            masked.append(piece)
        elif any(_is_cjk(char) for char in piece):
            masked.append(_mask_han(piece))
        else:
            masked.append(piece[0].upper() + ".")
    return "".join(masked)


@dataclass(frozen=True)
class Verification:
    """The public facts of one certificate, in the language of the request."""

    code: str
    serial: str
    status: Status
    holder: str
    programme: str
    programme_en: str
    certificate_title: str
    certificate_title_en: str
    tier: str | None
    issuer: str
    issuer_en: str
    issued_on: date
    valid_from: date
    expires_on: date | None
    revoked_on: date | None
    revoke_reason: str | None
    replaced_by: str | None
    verify_url: str

    def title(self, locale: str) -> str:
        """The certificate's title in ``locale`` (Chinese when no English was given)."""
        english = locale.startswith("en")
        return (self.certificate_title_en if english else "") or self.certificate_title

    def programme_title(self, locale: str) -> str:
        english = locale.startswith("en")
        return (self.programme_en if english else "") or self.programme

    def issuer_name(self, locale: str) -> str:
        english = locale.startswith("en")
        return (self.issuer_en if english else "") or self.issuer

    def as_json(self) -> dict[str, Any]:
        """The API's representation: dates in ISO 8601, the tier and status as codes."""

        def iso(day: date | None) -> str | None:
            return day.isoformat() if day else None

        return {
            "code": self.code,
            "serial": self.serial,
            "status": str(self.status),
            "holder": self.holder,
            "programme": self.programme,
            "programme_en": self.programme_en,
            "certificate_title": self.certificate_title,
            "certificate_title_en": self.certificate_title_en,
            "tier": self.tier,
            "issuer": self.issuer,
            "issuer_en": self.issuer_en,
            "issued_on": iso(self.issued_on),
            "valid_from": iso(self.valid_from),
            "expires_on": iso(self.expires_on),
            "revoked_on": iso(self.revoked_on),
            "revoke_reason": self.revoke_reason,
            "replaced_by": self.replaced_by,
            "verify_url": self.verify_url,
        }


def _local_date(moment: datetime | None) -> date | None:
    return to_user_timezone(moment).date() if moment is not None else None


def verify(code: str, today: date | None = None) -> Verification | None:
    """The public facts of the certificate with ``code`` (typed in any case, with spaces or
    dashes), or None when there is none. One query, whatever the certificate's history."""
    code = normalise_code(code)
    if not code or len(code) > MAX_CODE_LENGTH:
        return None
    successor = aliased(Certificate)
    replaced_by = (
        sa.select(successor.code)
        .where(successor.replaces_id == Certificate.id)
        .order_by(successor.issued_at.desc(), successor.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    row = db.session.execute(
        sa.select(Certificate, replaced_by).where(Certificate.code == code)
    ).first()
    if row is None:
        return None
    certificate, successor_code = row

    details = certificate.details or {}
    return Verification(
        code=certificate.code,
        serial=certificate.serial,
        status=certificate.status_on(today),
        holder=mask_name(certificate.holder_name),
        programme=details.get("programme_title") or "",
        programme_en=details.get("programme_title_en") or "",
        certificate_title=details.get("certificate_title") or "",
        certificate_title_en=details.get("certificate_title_en") or "",
        tier=details.get("tier"),
        issuer=details.get("issuer_name") or "",
        issuer_en=details.get("issuer_name_en") or "",
        issued_on=to_user_timezone(certificate.issued_at).date(),
        valid_from=certificate.valid_from,
        expires_on=certificate.expires_on,
        revoked_on=_local_date(certificate.revoked_at),
        revoke_reason=certificate.revoke_reason,
        replaced_by=successor_code,
        verify_url=verify_url(certificate.code),
    )
