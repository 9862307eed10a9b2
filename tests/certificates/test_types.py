"""Certificate types: from ``[programmes.certificate_type]`` in programmes.toml (checked with
lines, imported idempotently) and edited by an administrator (:mod:`lms.certificates.types`)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.catalog.importer import TreeInvalid, check_tree, import_tree
from lms.certificates import issuing, types
from lms.certificates.models import CertificateType
from lms.extensions import db
from lms.learning.models import Programme
from lms.validation import ValidationError
from tests.catalog import edit, line_of
from tests.catalog.test_learning_content import learning_tree

QUAL_TYPE = """certificate_en = "Test certificate"

[programmes.certificate_type]
serial_code = "TQ"
validity_years = 3
renew_ce_hours = 12.5
issuer = "南京市卫生健康委员会"
issuer_en = "Nanjing Municipal Health Commission"
signatory = "周立平"
signatory_title = "主任"
"""


def typed_tree(tmp_path: Path) -> Path:
    """The learning tree with a certificate type for TEST-QUAL."""
    tree = learning_tree(tmp_path)
    edit(tree / "programmes.toml", 'certificate_en = "Test certificate"\n', QUAL_TYPE)
    return tree


def type_of(code: str) -> CertificateType | None:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(CertificateType).join(Programme).where(Programme.code == code)
    )


def audit_actions(prefix: str) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.action.startswith(prefix))
            .order_by(AuditEntry.id)
        )
    )


def messages(tree: Path) -> list[str]:
    return [str(p) for p in check_tree(tree).problems]


def import_and_commit(tree: Path) -> Any:
    result = import_tree(tree)
    db.session.commit()
    return result


# Import -------------------------------------------------------------------------------------


def test_a_programme_with_a_certificate_type_table_gets_its_type(tmp_path: Path):
    tree = typed_tree(tmp_path)
    assert messages(tree) == []

    import_and_commit(tree)

    qual = type_of("TEST-QUAL")
    assert qual is not None
    assert (qual.serial_code, qual.validity_years, qual.renew_ce_hours) == (
        "TQ",
        3,
        Decimal("12.5"),
    )
    assert (qual.title, qual.title_en, qual.tier) == ("测试证书", "Test certificate", "talent_pool")
    assert (qual.issuer_name, qual.issuer_name_en) == (
        "南京市卫生健康委员会",
        "Nanjing Municipal Health Commission",
    )
    assert (qual.signatory_name, qual.signatory_title, qual.active) == ("周立平", "主任", True)
    assert type_of("TEST-CE") is None  # no table: no type
    assert audit_actions("certificate_type.") == ["certificate_type.imported"]


def test_importing_again_changes_nothing_and_keeps_an_administrators_edit(tmp_path: Path):
    tree = typed_tree(tmp_path)
    import_and_commit(tree)
    qual = type_of("TEST-QUAL")
    assert qual is not None
    types.save_type(
        None,
        qual.programme_id,
        types.TypeData(**{**vars(types.data_of(qual)), "signatory_name": "王建华"}),
    )
    db.session.commit()
    before = audit_actions("")

    result = import_and_commit(tree)

    assert [(p.code, p.state) for p in result.programmes] == [
        ("TEST-QUAL", "unchanged"),
        ("TEST-CE", "unchanged"),
    ]
    assert audit_actions("") == before
    assert type_of("TEST-QUAL").signatory_name == "王建华"
    assert db.session.scalar(sa.select(sa.func.count(CertificateType.id))) == 1


def test_a_changed_table_updates_the_type_and_a_removed_one_deactivates_it(tmp_path: Path):
    tree = typed_tree(tmp_path)
    import_and_commit(tree)
    type_id = type_of("TEST-QUAL").id
    edit(tree / "programmes.toml", "validity_years = 3\n", "validity_years = 5\n")

    result = import_and_commit(tree)

    assert ("TEST-QUAL", "updated") in [(p.code, p.state) for p in result.programmes]
    qual = type_of("TEST-QUAL")
    assert (qual.id, qual.validity_years, qual.active) == (type_id, 5, True)
    entry = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.action == "certificate_type.imported")
        .order_by(AuditEntry.id.desc())
    ).first()
    assert (entry.before, entry.after) == ({"validity_years": 3}, {"validity_years": 5})

    text = (tree / "programmes.toml").read_text("utf-8")
    start = text.index("[programmes.certificate_type]")
    end = text.index("[[programmes]]", start)
    (tree / "programmes.toml").write_text(text[:start] + text[end:], "utf-8")
    import_and_commit(tree)

    qual = type_of("TEST-QUAL")
    assert (qual.id, qual.active, qual.serial_code) == (type_id, False, "TQ")


def test_an_inline_table_works_too(tmp_path: Path):
    tree = learning_tree(tmp_path)
    edit(
        tree / "programmes.toml",
        'certificate_en = "Test certificate"\n',
        'certificate_en = "Test certificate"\ncertificate_type = {serial_code = "TQ", '
        'issuer = "卫健委", issuer_en = "Health Commission", signatory = "周立平", '
        'signatory_title = "主任"}\n',
    )
    import_and_commit(tree)
    qual = type_of("TEST-QUAL")
    assert (qual.serial_code, qual.validity_years, qual.renew_ce_hours) == ("TQ", None, None)


# Problems, each at its line ------------------------------------------------------------------


def test_bad_values_are_reported_at_their_lines(tmp_path: Path, english):
    tree = typed_tree(tmp_path)
    file = tree / "programmes.toml"
    edit(file, 'serial_code = "TQ"', 'serial_code = "tq1"')
    edit(file, "validity_years = 3\n", "validity_years = 0\n")
    edit(file, "renew_ce_hours = 12.5", 'renew_ce_hours = "many"')
    edit(file, 'issuer_en = "Nanjing Municipal Health Commission"\n', "")
    edit(file, 'signatory_title = "主任"\n', 'signatory_title = "主任"\nseal = "red"\n')

    found = messages(tree)

    path = str(file)
    assert f"{path}:{line_of(file, 'serial_code =')}: serial_code tq1: " in "".join(found)
    assert any(
        m.startswith(f"{path}:{line_of(file, 'validity_years =')}: validity_years must be")
        for m in found
    )
    assert f"{path}:{line_of(file, 'renew_ce_hours =')}: renew_ce_hours must be a number" in found
    header = line_of(file, "[programmes.certificate_type]")
    assert f"{path}:{header}: issuer_en is required" in found
    assert any(m.startswith(f"{path}:{line_of(file, 'seal =')}: unknown key seal") for m in found)
    with pytest.raises(TreeInvalid):
        import_tree(tree)
    assert db.session.scalar(sa.select(sa.func.count(CertificateType.id))) == 0


def test_renewal_needs_an_expiry_and_the_programme_a_certificate_title(tmp_path: Path, english):
    tree = typed_tree(tmp_path)
    file = tree / "programmes.toml"
    edit(file, "validity_years = 3\n", "")
    edit(file, 'certificate = "测试证书"\n', "")

    found = messages(tree)

    assert (
        f"{file}:{line_of(file, 'renew_ce_hours =')}: renew_ce_hours: A certificate without "
        "expiry is not renewed: give a validity or no CE hours."
    ) in found
    header = line_of(file, "[[programmes]]")  # the key is missing: the programme's header
    assert f"{file}:{header}: certificate is required with a certificate_type" in found


def test_a_serial_code_is_unique_in_the_file_and_the_database(
    tmp_path: Path, learning_world, english
):
    tree = typed_tree(tmp_path)
    file = tree / "programmes.toml"
    edit(
        file,
        "min_electives = 1\n",
        'min_electives = 1\ncertificate = "继续教育证明"\ncertificate_en = "CE record"\n\n'
        '[programmes.certificate_type]\nserial_code = "TQ"\nissuer = "卫健委"\n'
        'issuer_en = "Health Commission"\nsignatory = "周立平"\nsignatory_title = "主任"\n',
    )
    second = [n for n, line in enumerate(file.read_text("utf-8").split("\n"), 1) if "TQ" in line]

    assert (
        f"{file}:{second[1]}: serial_code TQ is already the serial code of programme TEST-QUAL"
    ) in messages(tree)

    edit(file, 'serial_code = "TQ"\nissuer = "卫健委"', 'serial_code = "WQ"\nissuer = "卫健委"')
    assert (
        f"{file}:{second[1]}: serial code WQ is already used by the certificate type of "
        "programme WORLD-QUAL"
    ) in messages(tree)


def test_the_serial_code_is_fixed_once_certificates_were_issued(tmp_path: Path, make_user, english):
    tree = typed_tree(tmp_path)
    import_and_commit(tree)
    holder = make_user("trainee")
    issuing.create_certificate(
        None, holder.id, type_of("TEST-QUAL").id, override_reason="测试用的例外"
    )
    db.session.commit()
    file = tree / "programmes.toml"
    edit(file, 'serial_code = "TQ"', 'serial_code = "TX"')

    assert messages(tree) == [
        f"{file}:{line_of(file, 'serial_code =')}: the serial code TQ cannot change: "
        "1 certificate(s) were issued with it"
    ]
    # Other changes are fine.
    edit(file, 'serial_code = "TX"', 'serial_code = "TQ"')
    edit(file, "validity_years = 3\n", "validity_years = 4\n")
    assert messages(tree) == []


# The administrator's edit ---------------------------------------------------------------------


def data(**changes: Any) -> types.TypeData:
    values: dict[str, Any] = {
        "serial_code": "WX",
        "validity_years": 2,
        "renew_ce_hours": Decimal(10),
        "issuer_name": "南京市卫生健康委员会",
        "issuer_name_en": "Nanjing Municipal Health Commission",
        "signatory_name": "周立平",
        "signatory_title": "主任",
    }
    values.update(changes)
    return types.TypeData(**values)


def test_an_administrator_creates_and_edits_a_type(learning_world, make_user):
    admin = make_user("admin")
    programme = Programme(
        code="WEB-PROG",
        title="网页项目",
        track="in_service",
        tier="lead_trainer",
        certificate_title="网页证书",
        certificate_title_en="Web certificate",
        courses=[],
    )
    db.session.add(programme)
    db.session.flush()

    created = types.save_type(admin.id, programme.id, data())

    assert (created.title, created.title_en, created.tier) == (
        "网页证书",
        "Web certificate",
        "lead_trainer",
    )
    updated = types.save_type(
        admin.id, programme.id, data(validity_years=None, renew_ce_hours=None)
    )
    assert updated.id == created.id and updated.validity_years is None
    entries = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.action == "certificate_type.saved")
        .order_by(AuditEntry.id)
    ).all()
    assert [e.actor_id for e in entries] == [admin.id, admin.id]
    assert entries[1].after == {"renew_ce_hours": None, "validity_years": None}

    # The programme's certificate title changes in the browser: the type follows.
    programme.certificate_title = "网页证书（新）"
    types.refresh_from_programme(programme)
    assert created.title == "网页证书（新）"


def test_the_form_is_checked_before_anything_changes(learning_world, english):
    world = learning_world
    with pytest.raises(ValidationError) as refused:
        types.save_type(
            None,
            world.programme.id,
            data(
                serial_code="W",
                validity_years=0,
                renew_ce_hours=Decimal("0.3"),
                issuer_name=" ",
                signatory_name="名" * 101,
            ),
        )
    assert set(refused.value.errors) == {
        "serial_code",
        "validity_years",
        "renew_ce_hours",
        "issuer_name",
        "signatory_name",
    }
    with pytest.raises(ValidationError) as refused:
        types.save_type(
            None, world.programme.id, data(renew_ce_hours=Decimal(5), validity_years=None)
        )
    assert "not renewed" in refused.value.errors["renew_ce_hours"]

    other = Programme(code="NO-CERT", title="无证书", track="in_service", courses=[])
    db.session.add(other)
    db.session.flush()
    with pytest.raises(ValidationError) as refused:
        types.save_type(None, other.id, data(serial_code="WQ"))
    assert "NO-CERT" in refused.value.errors[""]
    assert "WORLD-QUAL" in refused.value.errors["serial_code"]
    assert world.certificate_type.serial_code == "WQ"


def test_a_type_is_found_by_its_serial_code_or_its_programme(learning_world):
    world = learning_world
    assert types.type_by_code("wq") is world.certificate_type
    assert types.type_by_code("WORLD-QUAL") is world.certificate_type
    assert types.type_by_code("NOPE") is None
