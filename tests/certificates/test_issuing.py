"""Issuing: eligibility from completion evidence, overrides, serials and codes, one current
certificate per person, type and cycle."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.certificates import issuing
from lms.certificates.models import Certificate, SerialCounter
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import ProgrammeCompletion
from lms.validation import ValidationError
from tests.builders import LearningWorld


def complete_programme(world: LearningWorld, user_id: int | None = None) -> ProgrammeCompletion:
    completion = ProgrammeCompletion(
        user_id=user_id or world.trainee.id,
        programme_id=world.programme.id,
        cycle=0,
        completed_at=utcnow(),
        evidence={},
    )
    db.session.add(completion)
    db.session.flush()
    return completion


def test_without_a_completion_the_person_is_not_eligible(learning_world: Any) -> None:
    world = learning_world
    check = issuing.eligibility(world.trainee.id, world.certificate_type.id)
    assert not check.ok
    assert world.programme.title in (check.reason or "")
    with pytest.raises(issuing.NotEligible) as refused:
        issuing.create_certificate(None, world.trainee.id, world.certificate_type.id)
    assert "override_reason" in refused.value.errors
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 0


def test_an_override_needs_a_reason_and_is_recorded(learning_world: Any, make_user: Any) -> None:
    world = learning_world
    officer = make_user("hr")
    with pytest.raises(issuing.NotEligible):
        issuing.create_certificate(
            officer.id, world.trainee.id, world.certificate_type.id, override_reason="   "
        )
    cert = issuing.create_certificate(
        officer.id, world.trainee.id, world.certificate_type.id, override_reason="外省同等资格互认"
    )
    assert cert.override_reason == "外省同等资格互认"
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "certificate.issued")
    )
    assert entry.actor_id == officer.id and entry.reason == "外省同等资格互认"


def test_a_completion_makes_a_certificate_with_a_snapshot(learning_world: Any) -> None:
    world = learning_world
    completion = complete_programme(world)
    assert issuing.eligibility(world.trainee.id, world.certificate_type.id).ok
    now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Nanjing
    cert = issuing.create_certificate(None, world.trainee.id, world.certificate_type.id, now=now)
    assert cert.serial == "NJ-WQ-2026-000001"
    assert len(cert.code) == 32 and set(cert.code) <= set(issuing.CODE_ALPHABET)
    assert cert.completion_id == completion.id and cert.override_reason is None
    assert (cert.valid_from, cert.expires_on) == (date(2026, 3, 2), date(2029, 3, 1))
    assert cert.holder_name == world.trainee.name
    assert cert.details["programme_title"] == world.programme.title
    assert cert.details["partner_name"] == world.partner.name
    assert cert.partner_id == world.partner.id
    assert cert.details["signatory_name"] == "周建国"
    assert cert.status_on(date(2029, 3, 1)) == "valid"
    assert cert.status_on(date(2029, 3, 2)) == "expired"
    assert issuing.certificate_by_code(cert.code.lower()[:8] + "-" + cert.code[8:]) is cert


def test_one_current_certificate_per_person_type_and_cycle(learning_world: Any) -> None:
    world = learning_world
    complete_programme(world)
    first = issuing.create_certificate(None, world.trainee.id, world.certificate_type.id)
    with pytest.raises(ValidationError) as refused:
        issuing.create_certificate(
            None, world.trainee.id, world.certificate_type.id, override_reason="再发一张"
        )
    assert first.serial in refused.value.errors["holder"]
    # The refused attempt took no serial number.
    counter = db.session.get(SerialCounter, (world.certificate_type.id, first.issued_at.year))
    assert counter.last == 1


def test_a_concurrent_duplicate_is_refused_by_the_index_and_gives_its_serial_back(
    learning_world: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = learning_world
    complete_programme(world)
    first = issuing.create_certificate(None, world.trainee.id, world.certificate_type.id)
    # As if another request had checked eligibility before the first one committed.
    original = issuing.eligibility

    def stale(holder_id: int, type_id: int, *, cycle: int | None = None) -> Any:
        check = original(holder_id, type_id, cycle=cycle)
        check.current, check.reason = None, None
        return check

    monkeypatch.setattr(issuing, "eligibility", stale)
    with pytest.raises(ValidationError) as refused:
        issuing.create_certificate(None, world.trainee.id, world.certificate_type.id)
    monkeypatch.undo()
    assert "刚刚" in refused.value.errors["holder"]  # "was just issued", in the default language
    other = make_user("trainee")
    complete_programme(world, other.id)
    nxt = issuing.create_certificate(None, other.id, world.certificate_type.id)
    assert int(nxt.serial[-6:]) == int(first.serial[-6:]) + 1


def test_serials_count_per_type_and_year(learning_world: Any, make_user: Any) -> None:
    world = learning_world
    serials = []
    for when in (
        datetime(2026, 12, 31, 15, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 17, 0, tzinfo=UTC),
    ):
        person = make_user("trainee")
        complete_programme(world, person.id)
        serials.append(
            issuing.create_certificate(None, person.id, world.certificate_type.id, now=when).serial
        )
    # 17:00 UTC on 31 December is already 2027 in Nanjing.
    assert serials == ["NJ-WQ-2026-000001", "NJ-WQ-2027-000001"]


def test_expiry_of_a_leap_day(learning_world: Any) -> None:
    ctype = learning_world.certificate_type
    assert issuing.expiry_for(ctype, date(2028, 2, 29)) == date(2031, 2, 27)
    ctype.validity_years = None
    assert issuing.expiry_for(ctype, date(2028, 2, 29)) is None


def test_eligible_holders_lists_completions_without_a_current_certificate(
    learning_world: Any, make_user: Any
) -> None:
    world = learning_world
    done = complete_programme(world)
    other = make_user("trainee")
    complete_programme(world, other.id)
    rows = db.session.execute(issuing.eligible_holders(world.certificate_type.id)).all()
    assert {r.user_id for r in rows} == {world.trainee.id, other.id}
    in_cohort = db.session.execute(
        issuing.eligible_holders(world.certificate_type.id, cohort_id=world.cohort.id)
    ).all()
    assert [(r.user_id, r.completion_id) for r in in_cohort] == [(world.trainee.id, done.id)]
    issuing.create_certificate(None, other.id, world.certificate_type.id)
    rows = db.session.execute(issuing.eligible_holders(world.certificate_type.id)).all()
    assert [r.user_id for r in rows] == [world.trainee.id]
