"""``lms certificates``: issue (one person, a cohort), revoke, reissue, renew, list, pdf and
remind, with their outputs and exit codes; bad input exits 1 and changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.certificates import issuing
from lms.certificates.cli import certificates_cli
from lms.certificates.models import Certificate, OutboxMessage
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import CeEntry, Enrolment, ProgrammeCompletion
from tests.factories import UserFactory

LIST_KEYS = {
    "code",
    "serial",
    "holder_id",
    "holder_name",
    "tier",
    "status",
    "type",
    "issued_at",
    "expires_on",
}


@pytest.fixture
def cli(runner: Any, english: None) -> Any:
    """Run ``lms certificates ...`` (the group as the lead registers it)."""

    def invoke(*args: str) -> Any:
        return runner.invoke(certificates_cli, args=list(args))

    return invoke


def complete(world: Any, user_id: int) -> None:
    db.session.add(
        ProgrammeCompletion(user_id=user_id, programme_id=world.programme.id, cycle=0, evidence={})
    )
    db.session.flush()


def count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Certificate.id)))


def issued(world: Any) -> Certificate:
    complete(world, world.trainee.id)
    certificate = issuing.issue_one(None, world.trainee.id, world.certificate_type.id)
    db.session.commit()
    return certificate


# Issue --------------------------------------------------------------------------------------


def test_issue_to_one_person(learning_world: Any, cli: Any) -> None:
    world = learning_world
    complete(world, world.trainee.id)
    db.session.commit()

    result = cli("issue", "--email", world.trainee.email.upper(), "--type", "WQ")

    assert result.exit_code == 0, result.output
    serial, code, name = result.stdout.strip().split("\t")
    certificate = issuing.certificate_by_code(code)
    assert (certificate.serial, certificate.holder_name, name) == (serial, "张小明", "张小明")
    assert serial.startswith("NJ-WQ-") and issuing.pdf_path(certificate).is_file()
    assert certificate.issued_by_id is None

    again = cli("issue", "--email", world.trainee.email, "--type", "WORLD-QUAL")
    assert again.exit_code == 1
    assert f"Already holds certificate {serial}." in again.stderr
    assert count() == 1


def test_issuing_without_eligibility_needs_an_override_reason(learning_world: Any, cli: Any):
    world = learning_world
    db.session.commit()  # a refused command rolls back what is not committed

    refused = cli("issue", "--email", world.trainee.email, "--type", "WQ")

    assert refused.exit_code == 1
    assert refused.stderr.startswith("override_reason: Has not completed the programme")
    assert count() == 0

    result = cli(
        "issue", "--email", world.trainee.email, "--type", "WQ", "--override-reason", "外省互认"
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(Certificate.override_reason)) == "外省互认"
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "certificate.issued")
    )
    assert entry.reason == "外省互认"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "nobody@example.org", "--type", "WQ"], "No account has the email address"),
        (["--email", "{trainee}", "--type", "XX"], "No certificate type has the code XX"),
        (["--type", "WQ"], "Give exactly one of --email, --cohort and --all-eligible."),
        (
            ["--email", "{trainee}", "--cohort", "WORLD-101-2026-01", "--type", "WQ"],
            "Give exactly one of",
        ),
        (["--cohort", "NOPE", "--type", "WQ"], "No cohort has the code NOPE."),
        (
            ["--all-eligible", "--type", "WQ", "--override-reason", "x"],
            "--override-reason is for one person (--email).",
        ),
    ],
)
def test_bad_issue_options_exit_1(
    learning_world: Any, cli: Any, args: list[str], message: str
) -> None:
    db.session.commit()
    args = [a.replace("{trainee}", learning_world.trainee.email) for a in args]
    result = cli("issue", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert count() == 0


def test_an_inactive_type_is_not_issued(learning_world: Any, cli: Any) -> None:
    learning_world.certificate_type.active = False
    db.session.commit()
    result = cli("issue", "--all-eligible", "--type", "WQ")
    assert result.exit_code == 1
    assert "Certificate type WQ is no longer issued." in result.stderr


def test_issue_to_everyone_eligible_in_a_cohort(learning_world: Any, cli: Any) -> None:
    world = learning_world
    complete(world, world.trainee.id)
    other = UserFactory(name="王芳")
    late = UserFactory(name="李雷")
    for person in (other, late):
        db.session.add(
            Enrolment(cohort_id=world.cohort.id, user_id=person.id, enrolled_at=utcnow())
        )
    db.session.flush()
    complete(world, other.id)
    db.session.commit()

    result = cli("issue", "--cohort", world.cohort.code, "--type", "WQ")

    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert sorted(line.split("\t")[2] for line in lines) == ["张小明", "王芳"]
    assert "skipped: 李雷: Has not completed the programme" in result.stderr
    assert "Issued 2, skipped 1." in result.stderr
    certificates = db.session.scalars(sa.select(Certificate)).all()
    assert len(certificates) == 2 and all(c.pdf_sha256 for c in certificates)

    # Again: nobody new is eligible; nothing more is issued.
    again = cli("issue", "--cohort", world.cohort.code, "--type", "WQ")
    assert again.exit_code == 0
    assert "Issued 0, skipped 3." in again.stderr
    assert count() == 2


# Revoke, reissue, renew -----------------------------------------------------------------------


def test_revoke_by_code(learning_world: Any, cli: Any) -> None:
    certificate = issued(learning_world)

    missing_reason = cli("revoke", certificate.code)
    assert missing_reason.exit_code == 2  # click: --reason is required

    result = cli("revoke", certificate.code.lower(), "--reason", "证书信息有误")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Revoked {certificate.serial}."
    db.session.expire_all()
    assert certificate.status == "revoked" and certificate.revoke_reason == "证书信息有误"

    again = cli("revoke", certificate.code, "--reason", "again")
    assert again.exit_code == 1 and "already revoked" in again.stderr
    unknown = cli("revoke", "NOTACODE", "--reason", "x")
    assert unknown.exit_code == 1
    assert unknown.stderr.strip() == "No certificate has the code NOTACODE."


def test_reissue_and_renew_by_code(learning_world: Any, cli: Any) -> None:
    world = learning_world
    certificate = issued(world)
    world.trainee.name = "张晓明"
    db.session.commit()

    result = cli("reissue", certificate.code, "--reason", "姓名更正")

    assert result.exit_code == 0, result.output
    _serial, code, name = result.stdout.strip().split("\t")
    new = issuing.certificate_by_code(code)
    assert (new.replaces_id, new.kind, name) == (certificate.id, "reissue", "张晓明")

    too_early = cli("renew", code)
    assert too_early.exit_code == 1 and "Renewal opens on" in too_early.stderr

    new.expires_on = issuing.local_today()
    db.session.add(
        CeEntry(
            user_id=world.trainee.id,
            cycle=issuing.local_today().year,
            hours=24,
            kind="external",
            occurred_on=issuing.local_today(),
        )
    )
    db.session.commit()
    renewed = cli("renew", code)
    assert renewed.exit_code == 0, renewed.output
    assert issuing.certificate_by_code(renewed.stdout.split("\t")[1]).kind == "renewal"


# List and PDF -------------------------------------------------------------------------------


def test_list_as_json_and_as_a_table(learning_world: Any, cli: Any) -> None:
    world = learning_world
    first = issued(world)
    other = UserFactory(name="王芳")
    second = issuing.create_certificate(
        None, other.id, world.certificate_type.id, override_reason="测试"
    )
    db.session.commit()
    cli("revoke", first.code, "--reason", "作废")

    result = cli("list", "--format", "json")

    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["serial"] for row in rows] == [second.serial, first.serial]
    assert all(row.keys() >= LIST_KEYS for row in rows)
    row = rows[1]
    assert (row["code"], row["holder_id"], row["holder_name"]) == (
        first.code,
        world.trainee.id,
        "张小明",
    )
    assert (row["tier"], row["status"], row["type"]) == ("talent_pool", "revoked", "WQ")
    assert row["expires_on"] == first.expires_on.isoformat()
    assert row["revoke_reason"] == "作废"

    revoked = json.loads(cli("list", "--format", "json", "--status", "revoked").stdout)
    assert [r["serial"] for r in revoked] == [first.serial]
    assert json.loads(cli("list", "--format", "json", "--type", "WORLD-QUAL").stdout) == rows

    table = cli("list").stdout.splitlines()
    assert table[0].split() == [
        "serial",
        "status",
        "type",
        "holder_name",
        "valid_from",
        "expires_on",
        "code",
    ]
    assert table[2].split()[:4] == [first.serial, "revoked", "WQ", "张小明"]

    assert cli("list", "--status", "lost").exit_code == 2
    unknown = cli("list", "--type", "XX")
    assert unknown.exit_code == 1 and "No certificate type has the code XX" in unknown.stderr


def test_pdf_writes_the_stored_file(learning_world: Any, cli: Any, tmp_path: Path) -> None:
    certificate = issued(learning_world)
    out = tmp_path / "certificate.pdf"

    result = cli("pdf", certificate.code, "--out", str(out))

    assert result.exit_code == 0, result.output
    assert out.read_bytes() == issuing.pdf_path(certificate).read_bytes()
    assert out.read_bytes().startswith(b"%PDF")

    missing = cli("pdf", certificate.code, "--out", str(tmp_path / "nowhere" / "x.pdf"))
    assert missing.exit_code == 1 and "does not exist" in missing.stderr
    assert cli("pdf", "NOTACODE", "--out", str(out)).exit_code == 1


def test_pdf_renders_a_certificate_still_without_one(
    learning_world: Any, cli: Any, tmp_path: Path
) -> None:
    world = learning_world
    complete(world, world.trainee.id)
    certificate = issuing.create_certificate(None, world.trainee.id, world.certificate_type.id)
    db.session.commit()
    out = tmp_path / "c.pdf"

    assert cli("pdf", certificate.code, "--out", str(out)).exit_code == 0

    db.session.expire_all()
    assert certificate.pdf_sha256 and out.read_bytes().startswith(b"%PDF")


# Reminders ----------------------------------------------------------------------------------


def test_remind_queues_and_lists_without_a_mail_server(learning_world: Any, cli: Any) -> None:
    certificate = issued(learning_world)
    certificate.expires_on = issuing.local_today()
    db.session.commit()

    result = cli("remind")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "1 reminder(s) queued.",
        "MAIL_SERVER is not set: 1 message(s) wait in the outbox.",
    ]
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 1
    assert cli("remind").stdout.splitlines()[0] == "0 reminder(s) queued."


def test_remind_exits_1_when_mail_is_not_delivered(
    learning_world: Any, cli: Any, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    certificate = issued(learning_world)
    certificate.expires_on = issuing.local_today()
    db.session.commit()

    result = cli("remind")

    assert result.exit_code == 1
    assert "0 sent, 1 failed." in result.stdout
    assert "Some messages were not sent" in result.stderr
    message = db.session.scalar(sa.select(OutboxMessage))
    assert message is not None and "ConnectionRefusedError" in message.error
