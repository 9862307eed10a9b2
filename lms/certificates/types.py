"""Certificate types: what a programme leads to, from ``courses/programmes.toml`` or edited by
an administrator.

The title and the tier of a type always come from its programme (``certificate`` /
``certificate_en`` and ``tier``); the rest (serial code, validity, CE hours to renew, issuer and
signatory) is the type's own. The serial code cannot change once certificates were issued with
it: their serials carry it, and a later type taking the old code would collide with them.

Functions flush and never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.audit.services import record
from lms.certificates.models import Certificate, CertificateType
from lms.extensions import db
from lms.learning.models import Programme
from lms.validation import ValidationError

SERIAL_CODE = re.compile(r"[A-Z]{2,8}")
MAX_VALIDITY_YEARS = 50
MAX_RENEW_HOURS = Decimal(1000)
TEXT_LIMITS = {
    "issuer_name": 200,
    "issuer_name_en": 200,
    "signatory_name": 100,
    "signatory_title": 200,
}


@dataclass
class TypeData:
    """The fields of a certificate type that are its own (not its programme's)."""

    serial_code: str
    validity_years: int | None
    renew_ce_hours: Decimal | None
    issuer_name: str
    issuer_name_en: str
    signatory_name: str
    signatory_title: str
    active: bool = True


def check_values(data: TypeData) -> dict[str, str]:
    """Problems with the values themselves, by field name (shared by the file and the form)."""
    errors: dict[str, str] = {}
    if not SERIAL_CODE.fullmatch(data.serial_code):
        errors["serial_code"] = _("Use 2 to 8 capital letters (A-Z), e.g. TP.")
    if data.validity_years is not None and not 1 <= data.validity_years <= MAX_VALIDITY_YEARS:
        errors["validity_years"] = _(
            "Validity must be between 1 and %(max)d years, or left empty for no expiry.",
            max=MAX_VALIDITY_YEARS,
        )
    hours = data.renew_ce_hours
    if hours is not None:
        if not 0 < hours <= MAX_RENEW_HOURS or (hours * 2) % 1 != 0:
            errors["renew_ce_hours"] = _(
                "CE hours to renew must be more than 0 and at most %(max)d, in steps of 0.5.",
                max=int(MAX_RENEW_HOURS),
            )
        elif data.validity_years is None:
            errors["renew_ce_hours"] = _(
                "A certificate without expiry is not renewed: give a validity or no CE hours."
            )
    for name, limit in TEXT_LIMITS.items():
        value = getattr(data, name)
        if not value.strip():
            errors[name] = _("Required.")
        elif len(value) > limit:
            errors[name] = _("At most %(max)d characters.", max=limit)
    return errors


def type_of_programme(programme_id: int) -> CertificateType | None:
    return db.session.scalar(
        sa.select(CertificateType).where(CertificateType.programme_id == programme_id)
    )


def type_by_code(code: str) -> CertificateType | None:
    """A type by its serial code (``TP``) or its programme's code (``PRE-QUAL``)."""
    code = code.strip().upper()
    return db.session.scalar(
        sa.select(CertificateType)
        .join(Programme, Programme.id == CertificateType.programme_id)
        .where(sa.or_(CertificateType.serial_code == code, Programme.code == code))
        .order_by(CertificateType.id)
        .limit(1)
    )


def issued_count(type_id: int) -> int:
    """How many certificates of the type exist (any status)."""
    return db.session.scalar(
        sa.select(sa.func.count(Certificate.id)).where(Certificate.type_id == type_id)
    )


def taken_message(serial_code: str, programme_code: str) -> str:
    return _(
        "serial code %(code)s is already used by the certificate type of programme %(programme)s",
        code=serial_code,
        programme=programme_code,
    )


def fixed_message(serial_code: str, issued: int) -> str:
    return _(
        "the serial code %(old)s cannot change: %(n)d certificate(s) were issued with it",
        old=serial_code,
        n=issued,
    )


def serial_code_problem(
    programme_id: int | None, current: CertificateType | None, serial_code: str
) -> str | None:
    """Why the programme's type cannot use ``serial_code`` (taken by another type, or the
    type's own code is fixed by its certificates), or None."""
    owner = db.session.scalar(
        sa.select(Programme.code)
        .join(CertificateType, CertificateType.programme_id == Programme.id)
        .where(CertificateType.serial_code == serial_code, Programme.id != programme_id)
    )
    if owner is not None:
        return taken_message(serial_code, owner)
    if current is not None and current.serial_code != serial_code:
        issued = issued_count(current.id)
        if issued:
            return fixed_message(current.serial_code, issued)
    return None


def snapshot(ctype: CertificateType) -> dict[str, Any]:
    return {
        "programme_id": ctype.programme_id,
        "serial_code": ctype.serial_code,
        "title": ctype.title,
        "title_en": ctype.title_en,
        "tier": ctype.tier,
        "validity_years": ctype.validity_years,
        "renew_ce_hours": None if ctype.renew_ce_hours is None else str(ctype.renew_ce_hours),
        "issuer_name": ctype.issuer_name,
        "issuer_name_en": ctype.issuer_name_en,
        "signatory_name": ctype.signatory_name,
        "signatory_title": ctype.signatory_title,
        "active": ctype.active,
    }


def data_of(ctype: CertificateType) -> TypeData:
    """The editable fields of a type (to fill an edit form)."""
    return TypeData(
        serial_code=ctype.serial_code,
        validity_years=ctype.validity_years,
        renew_ce_hours=ctype.renew_ce_hours,
        issuer_name=ctype.issuer_name,
        issuer_name_en=ctype.issuer_name_en,
        signatory_name=ctype.signatory_name,
        signatory_title=ctype.signatory_title,
        active=ctype.active,
    )


def _write(ctype: CertificateType, programme: Programme, data: TypeData) -> None:
    ctype.programme_id = programme.id
    ctype.title = programme.certificate_title
    ctype.title_en = programme.certificate_title_en
    ctype.tier = programme.tier
    ctype.serial_code = data.serial_code
    ctype.validity_years = data.validity_years
    ctype.renew_ce_hours = data.renew_ce_hours
    ctype.issuer_name = data.issuer_name.strip()
    ctype.issuer_name_en = data.issuer_name_en.strip()
    ctype.signatory_name = data.signatory_name.strip()
    ctype.signatory_title = data.signatory_title.strip()
    ctype.active = data.active


def _save(
    actor_id: int | None, programme: Programme, data: TypeData, action: str
) -> tuple[CertificateType, str]:
    """Create or update the programme's type; (type, "created" | "updated" | "unchanged")."""
    ctype = type_of_programme(programme.id)
    if ctype is None:
        ctype = CertificateType()
        _write(ctype, programme, data)
        db.session.add(ctype)
        db.session.flush()
        record(actor_id, action, "certificate_type", ctype.id, after=snapshot(ctype))
        return ctype, "created"
    before = snapshot(ctype)
    _write(ctype, programme, data)
    db.session.flush()
    entry = record(actor_id, action, "certificate_type", ctype.id, before, snapshot(ctype))
    return ctype, "updated" if entry is not None else "unchanged"


def save_type(actor_id: int | None, programme_id: int, data: TypeData) -> CertificateType:
    """Create or update the certificate type of a programme (the administrator's form).

    Raises ValidationError (field names of :class:`TypeData`, ``""`` for the programme) before
    changing anything. Audited as ``certificate_type.saved``.
    """
    programme = db.session.get(Programme, programme_id)
    if programme is None:
        raise ValidationError(_("Choose a programme."))
    errors = check_values(data)
    if not programme.certificate_title.strip():
        errors[""] = _(
            "Programme %(code)s names no certificate: give it a certificate title first.",
            code=programme.code,
        )
    if "serial_code" not in errors:
        problem = serial_code_problem(
            programme.id, type_of_programme(programme.id), data.serial_code
        )
        if problem is not None:
            errors["serial_code"] = problem
    if errors:
        raise ValidationError(errors)
    ctype, _state = _save(actor_id, programme, data, "certificate_type.saved")
    return ctype


def refresh_from_programme(programme: Programme) -> None:
    """Copy the programme's certificate titles and tier into its type (after the programme
    was edited); certificates already issued keep their own copy."""
    ctype = type_of_programme(programme.id)
    if ctype is None:
        return
    ctype.title = programme.certificate_title
    ctype.title_en = programme.certificate_title_en
    ctype.tier = programme.tier
    db.session.flush()


def sync_from_file(programme: Programme, data: TypeData | None, actor_id: int | None) -> str:
    """Bring the programme's type in line with its entry of ``programmes.toml`` (already
    checked): created, updated or unchanged; an entry without a certificate type deactivates
    the existing one ("deactivated"), keeping its certificates. Audited as
    ``certificate_type.imported``."""
    if data is not None:
        return _save(actor_id, programme, data, "certificate_type.imported")[1]
    ctype = type_of_programme(programme.id)
    if ctype is None or not ctype.active:
        return "unchanged"
    ctype.active = False
    db.session.flush()
    record(
        actor_id,
        "certificate_type.imported",
        "certificate_type",
        ctype.id,
        before={"active": True},
        after={"active": False},
    )
    return "deactivated"
