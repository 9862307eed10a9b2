"""``lms demo --scale N``: the synthetic benchmark population."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa
from flask import current_app

from lms.auth.models import RoleAssignment, User
from lms.auth.passwords import verify_password
from lms.certificates.models import Certificate, CertificateType, SerialCounter
from lms.certificates.models.certificate import Status
from lms.demo import scale, steps
from lms.extensions import db
from lms.learning.models import ProgrammeCompletion
from lms.orgs.models import Organisation

N = 300


def count(stmt: sa.Select) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))


def scale_people() -> int:
    return count(sa.select(User.id).where(User.email.endswith(f"@{scale.EMAIL_DOMAIN}")))


def row_counts() -> dict[str, int]:
    models = (Organisation, User, RoleAssignment, ProgrammeCompletion, Certificate)
    return {m.__tablename__: count(sa.select(m)) for m in models}


@pytest.fixture
def ready(runner):
    """Districts and the imported certificate types: what the generator needs."""
    assert runner.invoke(args=["courses", "import", "courses"]).exit_code == 0
    steps.run(["lms.demo.data:districts"])
    db.session.commit()


def test_demo_scale_adds_the_people_settings_and_certificates(runner):
    assert runner.invoke(args=["courses", "import", "courses"]).exit_code == 0
    before = row_counts()

    result = runner.invoke(args=["demo", "--scale", str(N)])

    assert result.exit_code == 0, result.output
    assert "trainee trainee01@demo.example.org" in result.stdout
    assert f"lms demo --scale {N}: added" in result.stderr
    assert f"lms demo --scale: {N} of {N} people" in result.stderr
    assert scale_people() == N
    trainees = (
        sa.select(RoleAssignment.id)
        .join(User)
        .where(User.email.endswith(f"@{scale.EMAIL_DOMAIN}"), RoleAssignment.role == "trainee")
    )
    assert count(trainees) == N
    settings = sa.select(Organisation).where(Organisation.code.startswith(scale.ORG_PREFIX))
    assert count(settings) == N // scale.PEOPLE_PER_SETTING
    after = row_counts()
    added = after["certificates"] - before["certificates"]
    assert 1.6 * N <= added <= 2.6 * N
    unemployed = sa.select(User.id).where(
        User.email.endswith(f"@{scale.EMAIL_DOMAIN}"), User.employer_id.is_(None)
    )
    assert count(unemployed) == 0
    someone = db.session.scalar(sa.select(User).where(User.email == "scale.7@scale.example.org"))
    assert verify_password(someone.password_hash, scale.PASSWORD)


def test_serials_and_codes_are_unique_and_the_counters_match(ready):
    scale.generate(N)
    serials, codes = zip(
        *db.session.execute(sa.select(Certificate.serial, Certificate.code)), strict=True
    )
    assert len(set(serials)) == len(serials)
    assert len(set(codes)) == len(codes)
    used = Counter(serial.rsplit("-", 1)[0] for serial in serials)
    highest: dict[str, int] = {}
    for serial in serials:
        key, number = serial.rsplit("-", 1)
        highest[key] = max(highest.get(key, 0), int(number))
    prefix = current_app.config["CERTIFICATE_SERIAL_PREFIX"]
    counters = {
        f"{prefix}-{code}-{year}": last
        for code, year, last in db.session.execute(
            sa.select(CertificateType.serial_code, SerialCounter.year, SerialCounter.last).join(
                CertificateType, CertificateType.id == SerialCounter.type_id
            )
        )
    }
    # Every counter is the last number used, and the numbers have no gaps.
    assert counters == highest == dict(used)


def test_at_most_one_current_certificate_per_holder_type_and_cycle(ready):
    scale.generate(N)
    current = (
        sa.select(Certificate.holder_id)
        .where(Certificate.revoked_at.is_(None), Certificate.superseded_at.is_(None))
        .group_by(Certificate.holder_id, Certificate.type_id, Certificate.cycle)
        .having(sa.func.count() > 1)
    )
    assert count(current) == 0


def test_every_status_reissues_and_overrides_are_there(ready):
    scale.generate(N)
    certificates = db.session.scalars(sa.select(Certificate)).all()
    statuses = Counter(c.status for c in certificates)
    assert set(statuses) == set(Status)
    for c in certificates:
        if c.revoked_at is not None:
            assert c.revoke_reason
        if c.kind == "reissue":
            assert c.replaces is not None
            assert c.replaces.status == Status.SUPERSEDED
            assert (c.replaces.holder_id, c.replaces.type_id) == (c.holder_id, c.type_id)
        assert c.pdf_sha256 is None
        assert len(c.identity_salt) == 32
        assert c.details["certificate_title"]
        assert (c.completion_id is None) == (c.override_reason is not None)
    assert any(c.override_reason for c in certificates)
    assert any(c.kind == "reissue" for c in certificates)


def test_a_second_run_adds_nothing_and_a_larger_one_adds_the_difference(ready):
    first = scale.generate(N)
    assert first["users"] == N
    counts = row_counts()

    again = scale.generate(N)

    assert set(again.values()) == {0}
    assert row_counts() == counts
    more = scale.generate(N + 60)
    assert more["users"] == 60
    assert scale_people() == N + 60
    assert (
        count(sa.select(Organisation).where(Organisation.code.startswith("SCALE-")))
        == (N + 60) // scale.PEOPLE_PER_SETTING
    )


def test_the_same_seed_gives_the_same_people(ready):
    scale.generate(40, seed=7)
    names = db.session.scalars(
        sa.select(User.name).where(User.email.endswith(f"@{scale.EMAIL_DOMAIN}")).order_by(User.id)
    ).all()
    expected = []
    for i in range(40):
        rng = scale._rng(7, "person", i)
        expected.append(rng.choice(scale.SURNAMES))
    assert [name[0] for name in names] == expected
    assert all(2 <= len(name) <= 3 for name in names)


def test_without_certificate_types_it_says_what_to_do(runner, english):
    result = runner.invoke(args=["demo", "--scale", "10"])
    assert result.exit_code == 1
    assert "lms courses import courses" in result.stderr
    assert scale_people() == 0


def test_demo_without_scale_generates_nothing_synthetic(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "--scale" not in result.output
    assert scale_people() == 0
    assert count(sa.select(Organisation).where(Organisation.code.startswith("SCALE-"))) == 0
