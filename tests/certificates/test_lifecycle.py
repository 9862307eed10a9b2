"""Life cycle: revocation, reissue after a name correction, renewal with CE hours; the links
between certificates, the audit log, and one current certificate per person, type and cycle."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale

from lms.audit.models import AuditEntry
from lms.auth.models import User
from lms.certificates import issuing, lifecycle
from lms.certificates.models import Certificate, CertificateType, SerialCounter
from lms.extensions import db
from lms.learning.models import CeEntry, Programme, ProgrammeCompletion
from lms.validation import ValidationError
from tests.builders import LearningWorld


def issue(world: LearningWorld, *, days_left: int | None = None) -> Certificate:
    """A certificate for the world's trainee (who completed the programme), rendered and
    committed; ``days_left``: make it expire that many days from today."""
    db.session.add(
        ProgrammeCompletion(
            user_id=world.trainee.id, programme_id=world.programme.id, cycle=0, evidence={}
        )
    )
    db.session.flush()
    certificate = issuing.issue_one(None, world.trainee.id, world.certificate_type.id)
    if days_left is not None:
        today = issuing.local_today()
        certificate.valid_from = today - timedelta(days=1000)
        certificate.expires_on = today + timedelta(days=days_left)
    db.session.commit()
    return certificate


def add_ce_hours(user_id: int, hours: int, year: int | None = None) -> None:
    year = year or issuing.local_today().year
    db.session.add(
        CeEntry(
            user_id=user_id,
            cycle=year,
            hours=Decimal(hours),
            kind="external",
            title="外部培训",
            reason="市级培训",
            occurred_on=date(year, 1, 15),
        )
    )
    db.session.flush()


def current_of(world: LearningWorld) -> list[Certificate]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Certificate).where(
                Certificate.holder_id == world.trainee.id,
                Certificate.revoked_at.is_(None),
                Certificate.superseded_at.is_(None),
            )
        )
    )


def audit(action: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


# Revocation ----------------------------------------------------------------------------------


def test_revoking_needs_a_reason_and_keeps_the_certificate_findable(
    learning_world: Any, make_user: Any, english: None
) -> None:
    world = learning_world
    certificate = issue(world)
    officer = make_user("hr")

    with pytest.raises(ValidationError) as refused:
        lifecycle.revoke(officer.id, certificate.id, "   ")
    assert refused.value.errors == {"reason": "Give the reason for revoking the certificate."}
    assert certificate.revoked_at is None

    lifecycle.revoke(officer.id, certificate.id, "  证书信息造假  ")
    db.session.commit()

    found = issuing.certificate_by_code(certificate.code)
    assert found is not None and found.id == certificate.id
    assert found.status == "revoked"
    assert (found.revoke_reason, found.revoked_by_id) == ("证书信息造假", officer.id)
    assert found.revoked_at is not None
    [entry] = audit("certificate.revoked")
    assert (entry.actor_id, entry.entity_id, entry.reason) == (
        officer.id,
        certificate.id,
        "证书信息造假",
    )
    assert (entry.before, entry.after["status"]) == ({"status": "valid"}, "revoked")

    with pytest.raises(ValidationError) as refused:
        lifecycle.revoke(officer.id, certificate.id, "again")
    assert "already revoked" in refused.value.errors["certificate"]
    # Revoked, the person may get a new certificate of the same type and cycle.
    assert issuing.eligibility(world.trainee.id, world.certificate_type.id).ok


# Reissue ------------------------------------------------------------------------------------


def test_a_reissue_after_a_name_correction_supersedes_the_old_certificate(
    learning_world: Any, make_user: Any
) -> None:
    world = learning_world
    old = issue(world, days_left=400)
    officer = make_user("hr")
    world.trainee.name = "张晓明"  # the name was misspelt on the roster
    db.session.commit()

    new = lifecycle.reissue(officer.id, old.id, "姓名更正：张小明 → 张晓明")
    db.session.commit()

    db.session.expire_all()
    assert old.status == "superseded" and old.superseded_at is not None
    assert new.holder_name == "张晓明" and old.holder_name == "张小明"
    assert (new.kind, new.replaces_id, new.cycle, new.type_id) == (
        "reissue",
        old.id,
        old.cycle,
        old.type_id,
    )
    assert new.serial != old.serial and new.code != old.code
    assert (new.valid_from, new.expires_on) == (old.valid_from, old.expires_on)
    assert new.status == "valid" and new.pdf_sha256 and issuing.pdf_path(new).is_file()
    assert [c.id for c in current_of(world)] == [new.id]
    [entry] = audit("certificate.reissued")
    assert (entry.actor_id, entry.entity_id, entry.reason) == (
        officer.id,
        old.id,
        "姓名更正：张小明 → 张晓明",
    )
    assert entry.after["replaced_by"] == new.serial
    assert entry.after["holder_name"] == "张晓明"
    issued = audit("certificate.issued")[-1]
    assert (issued.entity_id, issued.after["kind"]) == (new.id, "reissue")


def test_only_a_current_certificate_is_reissued_and_a_refusal_changes_nothing(
    learning_world: Any, english: None
) -> None:
    world = learning_world
    old = issue(world)
    with pytest.raises(ValidationError) as refused:
        lifecycle.reissue(None, old.id, "")
    assert "reason" in refused.value.errors

    new = lifecycle.reissue(None, old.id, "更正")
    db.session.commit()
    with pytest.raises(ValidationError) as refused:
        lifecycle.reissue(None, old.id, "更正")
    assert "already replaced" in refused.value.errors["certificate"]

    lifecycle.revoke(None, new.id, "作废")
    with pytest.raises(ValidationError) as refused:
        lifecycle.reissue(None, new.id, "更正")
    assert "revoked" in refused.value.errors["certificate"]
    db.session.rollback()

    # The new certificate cannot be created (the type is no longer issued): the old one
    # stays current, nothing half-done.
    world.certificate_type.active = False
    db.session.commit()
    with pytest.raises(ValidationError):
        lifecycle.reissue(None, new.id, "更正")
    db.session.commit()
    assert [c.id for c in current_of(world)] == [new.id]
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 2


# Renewal ------------------------------------------------------------------------------------


def test_renewal_needs_the_window_and_the_ce_hours_of_this_year(
    learning_world: Any, english: None
) -> None:
    world = learning_world  # the type renews with 24 CE hours
    certificate = issue(world, days_left=200)
    today = issuing.local_today()

    check = lifecycle.renewal_check(certificate.id)
    assert not check.ok
    assert check.opens_on == certificate.expires_on - timedelta(days=90)
    assert check.reason == (
        f"Renewal opens on {check.opens_on.isoformat()}, 90 days before the certificate expires."
    )

    certificate.expires_on = today + timedelta(days=90)
    db.session.commit()
    add_ce_hours(world.trainee.id, 20)
    add_ce_hours(world.trainee.id, 30, year=today.year - 1)  # last year's do not count
    check = lifecycle.renewal_check(certificate.id)
    assert (check.ok, check.hours, check.needed, check.cycle) == (
        False,
        Decimal(20),
        Decimal(24),
        today.year,
    )
    assert check.reason == f"20.0 of the 24.0 CE hours needed in {today.year}."
    with pytest.raises(ValidationError):
        lifecycle.renew(None, certificate.id)
    assert certificate.superseded_at is None

    add_ce_hours(world.trainee.id, 4)
    assert lifecycle.renewal_check(certificate.id).ok


def test_a_renewal_follows_on_from_the_old_certificate(learning_world: Any, make_user: Any) -> None:
    world = learning_world
    old = issue(world, days_left=30)
    officer = make_user("hr")
    add_ce_hours(world.trainee.id, 24)

    new = lifecycle.renew(officer.id, old.id)
    db.session.commit()

    db.session.expire_all()
    assert (new.kind, new.replaces_id, new.cycle) == ("renewal", old.id, old.cycle)
    assert new.valid_from == old.expires_on + timedelta(days=1)
    assert new.expires_on == issuing.expiry_for(world.certificate_type, new.valid_from)
    assert old.status == "superseded" and new.status == "valid"
    assert new.pdf_sha256 and new.serial != old.serial
    assert [c.id for c in current_of(world)] == [new.id]
    [entry] = audit("certificate.renewed")
    assert (entry.actor_id, entry.entity_id) == (officer.id, old.id)
    assert entry.after["renewed_by"] == new.serial
    assert entry.after["ce_hours"] == "24.0"

    # Renewing the old one again, or the new one before its window, is refused.
    assert not lifecycle.renewal_check(old.id).ok
    assert not lifecycle.renewal_check(new.id).ok


def test_an_expired_certificate_renews_from_today(learning_world: Any) -> None:
    world = learning_world
    old = issue(world, days_left=-10)
    assert old.status == "expired"
    add_ce_hours(world.trainee.id, 30)

    new = lifecycle.renew(None, old.id)
    db.session.commit()

    today = issuing.local_today()
    assert (new.valid_from, new.expires_on) == (
        today,
        issuing.expiry_for(world.certificate_type, today),
    )
    assert old.status == "superseded"


def test_a_type_without_ce_hours_to_renew_is_not_renewed(
    learning_world: Any, english: None
) -> None:
    world = learning_world
    world.certificate_type.renew_ce_hours = None
    old = issue(world, days_left=10)
    add_ce_hours(world.trainee.id, 100)
    check = lifecycle.renewal_check(old.id)
    assert check.reason == "Certificates of this type are not renewed."


def test_replacements_never_trip_the_one_current_certificate_index(learning_world: Any) -> None:
    """Reissue, renew, reissue again: each step leaves exactly one current certificate, and
    the chain links back to the first."""
    world = learning_world
    first = issue(world, days_left=20)
    add_ce_hours(world.trainee.id, 24)

    second = lifecycle.reissue(None, first.id, "更正")
    db.session.commit()
    third = lifecycle.renew(None, second.id)
    db.session.commit()
    fourth = lifecycle.reissue(None, third.id, "再次更正")
    db.session.commit()

    assert [c.id for c in current_of(world)] == [fourth.id]
    chain = [fourth]
    while chain[-1].replaces_id is not None:
        chain.append(db.session.get(Certificate, chain[-1].replaces_id))
    assert [c.id for c in chain] == [fourth.id, third.id, second.id, first.id]
    assert [c.kind for c in chain] == ["reissue", "renewal", "reissue", "issue"]
    assert len({c.serial for c in chain}) == 4


# Concurrency (PostgreSQL) -----------------------------------------------------------------------


@pytest.fixture
def committed_certificate(
    app: Flask, transaction: sa.Connection, monkeypatch: pytest.MonkeyPatch
) -> Iterator[int]:
    """A certificate committed for real (off the test's transaction), removed afterwards with
    everything made from it; its id."""
    if transaction.dialect.name != "postgresql":
        pytest.skip("row locks are tested on PostgreSQL")
    db.session.remove()
    monkeypatch.setitem(db.engines, None, transaction.engine)  # type: ignore[index]
    programme = Programme(code="RACE-LIFE", title="并发项目", track="pre_service")
    ctype = CertificateType(
        programme=programme, serial_code="RACELIFE", title="并发证书", validity_years=1
    )
    holder = User(email="race-life@example.org", name="并发学员")
    db.session.add_all([programme, ctype, holder])
    db.session.flush()
    certificate = issuing.create_certificate(None, holder.id, ctype.id, override_reason="测试")
    db.session.commit()
    ids = (certificate.id, ctype.id, programme.id, holder.id)
    db.session.remove()
    try:
        yield ids[0]
    finally:
        db.session.remove()
        _, type_id, programme_id, holder_id = ids
        with db.engine.begin() as conn:
            made = sa.select(Certificate.id).where(Certificate.type_id == type_id)
            conn.execute(
                sa.delete(AuditEntry).where(
                    AuditEntry.entity_type == "certificate", AuditEntry.entity_id.in_(made)
                )
            )
            conn.execute(sa.delete(Certificate).where(Certificate.type_id == type_id))
            conn.execute(sa.delete(SerialCounter).where(SerialCounter.type_id == type_id))
            conn.execute(sa.delete(CertificateType).where(CertificateType.id == type_id))
            conn.execute(sa.delete(Programme).where(Programme.id == programme_id))
            conn.execute(sa.delete(User).where(User.id == holder_id))


def test_simultaneous_reissues_take_turns_and_one_wins(
    app: Flask, committed_certificate: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Officers reissuing one certificate at the same moment: the row lock makes them take
    turns, so one reissue wins and the others are refused with a message, never an error."""
    monkeypatch.setattr(lifecycle, "render_and_store", lambda certificates: None)
    threads_count = 6
    start = threading.Barrier(threads_count)
    outcomes: list[str] = []

    def reissue(n: int) -> None:
        with app.app_context(), force_locale("en"):
            try:
                start.wait(10)
                new = lifecycle.reissue(None, committed_certificate, f"更正 {n}")
                db.session.commit()
                outcomes.append(f"reissued {new.id}")
            except ValidationError as refused:
                db.session.rollback()
                outcomes.append("refused: " + " ".join(refused.errors.values()))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=reissue, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    reissued = [o for o in outcomes if o.startswith("reissued")]
    refused = [o for o in outcomes if o.startswith("refused")]
    assert len(reissued) == 1 and len(refused) == threads_count - 1
    with app.app_context():
        old = db.session.get(Certificate, committed_certificate)
        assert set(refused) == {
            f"refused: Certificate {old.serial} was already replaced by a newer one."
        }
        family = db.session.scalars(
            sa.select(Certificate).where(Certificate.type_id == old.type_id)
        ).all()
        current = [c for c in family if c.status == "valid"]
        assert len(family) == 2 and [f"reissued {c.id}" for c in current] == reissued
        assert current[0].replaces_id == old.id and old.status == "superseded"
        db.session.remove()
