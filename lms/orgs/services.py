"""Creating and changing organisations and districts (validated, audited; the caller commits)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from lms.audit import services as audit
from lms.extensions import db
from lms.orgs.models import District, Organisation, OrgKind
from lms.validation import ValidationError

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


@dataclass
class OrganisationData:
    code: str
    name: str
    kind: str
    name_en: str = ""
    district_id: int | None = None
    parent_id: int | None = None


@dataclass
class DistrictData:
    code: str
    name: str
    name_en: str = ""


def _check_code(code: str, errors: dict[str, str]) -> str:
    code = code.strip().upper()
    if not CODE_PATTERN.match(code):
        errors["code"] = _("Use 1 to 32 letters, digits, dots, dashes or underscores.")
    return code


def _check_name(
    name: str, key: str, errors: dict[str, str], required: bool = True, limit: int = 200
) -> str:
    name = " ".join(name.split())
    if required and not name:
        errors[key] = _("A name is required.")
    elif len(name) > limit:
        errors[key] = _("At most %(n)d characters.", n=limit)
    return name


def _is_under(org: Organisation, ancestor_id: int) -> bool:
    """Whether ``org`` is ``ancestor_id`` or lies, at any depth, under it."""
    seen: set[int] = set()
    current: Organisation | None = org
    while current is not None and current.id not in seen:
        if current.id == ancestor_id:
            return True
        seen.add(current.id)
        current = current.parent
    return False


def validate_organisation(
    data: OrganisationData, existing: Organisation | None = None
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "code": _check_code(data.code, errors),
        "name": _check_name(data.name, "name", errors),
        "name_en": _check_name(data.name_en, "name_en", errors, required=False),
        "district_id": data.district_id,
        "parent_id": data.parent_id,
    }
    if data.kind not in {k.value for k in OrgKind}:
        errors["kind"] = _("Unknown kind of organisation.")
    values["kind"] = data.kind
    if "code" not in errors:
        clash = db.session.scalar(
            sa.select(Organisation.id).where(Organisation.code == values["code"])
        )
        if clash is not None and (existing is None or clash != existing.id):
            errors["code"] = _("Another organisation already has this code.")
    if data.district_id is not None and db.session.get(District, data.district_id) is None:
        errors["district_id"] = _("Unknown district.")
    if data.parent_id is not None:
        parent = db.session.get(Organisation, data.parent_id)
        if parent is None:
            errors["parent_id"] = _("Unknown organisation.")
        elif existing is not None and _is_under(parent, existing.id):
            errors["parent_id"] = _("An organisation cannot be placed under itself.")
    if errors:
        raise ValidationError(errors)
    return values


def snapshot(org: Organisation) -> dict[str, Any]:
    return {
        "code": org.code,
        "name": org.name,
        "name_en": org.name_en,
        "kind": org.kind,
        "district_id": org.district_id,
        "parent_id": org.parent_id,
        "active": org.active,
    }


def create_organisation(actor_id: int | None, data: OrganisationData) -> Organisation:
    org = Organisation(**validate_organisation(data))
    db.session.add(org)
    db.session.flush()
    audit.record(actor_id, "organisation.created", "organisation", org.id, after=snapshot(org))
    return org


def update_organisation(
    actor_id: int | None, org: Organisation, data: OrganisationData
) -> Organisation:
    values = validate_organisation(data, existing=org)
    before = snapshot(org)
    for key, value in values.items():
        setattr(org, key, value)
    db.session.flush()
    audit.record(
        actor_id, "organisation.updated", "organisation", org.id, before=before, after=snapshot(org)
    )
    return org


def set_organisation_active(actor_id: int | None, org: Organisation, active: bool) -> None:
    """Deactivate (hidden from choices, people and history kept) or reactivate."""
    if org.active == active:
        return
    before = snapshot(org)
    org.active = active
    db.session.flush()
    action = "organisation.reactivated" if active else "organisation.deactivated"
    audit.record(actor_id, action, "organisation", org.id, before=before, after=snapshot(org))


def validate_district(data: DistrictData, existing: District | None = None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values = {
        "code": _check_code(data.code, errors),
        "name": _check_name(data.name, "name", errors, limit=100),
        "name_en": _check_name(data.name_en, "name_en", errors, required=False, limit=100),
    }
    for key in ("code", "name"):
        if key in errors:
            continue
        clash = db.session.scalar(
            sa.select(District.id).where(getattr(District, key) == values[key])
        )
        if clash is not None and (existing is None or clash != existing.id):
            errors[key] = _("Another district already uses this.")
    if errors:
        raise ValidationError(errors)
    return values


def district_snapshot(district: District) -> dict[str, Any]:
    return {"code": district.code, "name": district.name, "name_en": district.name_en}


def create_district(actor_id: int | None, data: DistrictData) -> District:
    district = District(**validate_district(data))
    db.session.add(district)
    db.session.flush()
    audit.record(
        actor_id, "district.created", "district", district.id, after=district_snapshot(district)
    )
    return district


def update_district(actor_id: int | None, district: District, data: DistrictData) -> District:
    values = validate_district(data, existing=district)
    before = district_snapshot(district)
    for key, value in values.items():
        setattr(district, key, value)
    db.session.flush()
    audit.record(
        actor_id,
        "district.updated",
        "district",
        district.id,
        before=before,
        after=district_snapshot(district),
    )
    return district


def find_organisation(ref: str) -> Organisation | None:
    """An organisation by code (any case), else by exact name; used by imports and the CLI.

    Names are not unique: raises ValueError, with a message for people, rather than guess
    between namesakes.
    """
    ref = ref.strip()
    if not ref:
        return None
    by_code = db.session.scalar(sa.select(Organisation).where(Organisation.code == ref.upper()))
    if by_code is not None:
        return by_code
    named = db.session.scalars(
        sa.select(Organisation)
        .where(sa.or_(Organisation.name == ref, Organisation.name_en == ref))
        .limit(2)
    ).all()
    if len(named) > 1:
        raise ValueError(_("Several organisations have this name; use the code instead."))
    return named[0] if named else None


def find_district(ref: str) -> District | None:
    """A district by code (any case), Chinese or English name."""
    ref = ref.strip()
    if not ref:
        return None
    return db.session.scalar(
        sa.select(District).where(
            sa.or_(
                District.code == ref.upper(),
                District.name == ref,
                sa.func.lower(District.name_en) == ref.lower(),
            )
        )
    )
