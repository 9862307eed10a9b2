"""Expiry reminders: queued once per certificate in Chinese and English, and delivered by SMTP
when a mail server is configured (a small SMTP server runs in the test), else listed."""

from __future__ import annotations

import email
import socket
import socketserver
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from lms.certificates import issuing, lifecycle
from lms.certificates.models import Certificate, OutboxMessage
from lms.extensions import db
from tests.factories import UserFactory


class SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greets, accepts mail (refusing recipients that contain
    ``server.refuse``) and keeps each message's bytes in ``server.received``."""

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        server: Any = self.server
        self.reply("220 test.invalid ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line[:4].upper()
            if command in (b"EHLO", b"HELO"):
                self.reply("250 test.invalid")
            elif command == b"RCPT":
                refused = server.refuse and server.refuse.encode() in line
                self.reply("550 no such mailbox" if refused else "250 OK")
            elif command == b"DATA":
                self.reply("354 go ahead")
                body = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(chunk)
                server.received.append(b"".join(body))
                self.reply("250 queued")
            elif command == b"QUIT":
                self.reply("221 bye")
                return
            else:  # MAIL, RSET, NOOP
                self.reply("250 OK")


class SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SMTPHandler)
        self.received: list[bytes] = []
        self.refuse = ""


@pytest.fixture
def smtp_server(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[SMTPServer]:
    server = SMTPServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", server.server_address[1])
    monkeypatch.setitem(app.config, "MAIL_FROM", "lms@example.org")
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def certificate(world: Any, *, days_left: int | None, name: str = "李晓红", **kwargs: Any):
    """An issued certificate (with an override, without PDF) expiring in ``days_left``."""
    holder = UserFactory(name=name, **kwargs)
    issued = issuing.create_certificate(
        None, holder.id, world.certificate_type.id, override_reason="测试"
    )
    if days_left is not None:
        issued.valid_from = issuing.local_today() - timedelta(days=700)
        issued.expires_on = issuing.local_today() + timedelta(days=days_left)
    else:
        issued.expires_on = None
    db.session.flush()
    return issued


def messages() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_reminder_is_queued_once_for_each_certificate_expiring_soon(
    learning_world: Any, english: None
) -> None:
    world = learning_world
    soon = certificate(world, days_left=30)
    last_day = certificate(world, days_left=90, name="王芳")
    certificate(world, days_left=91)  # not yet
    certificate(world, days_left=-1)  # expired
    certificate(world, days_left=None)  # never expires
    certificate(world, days_left=10, active=False)  # a deactivated account
    revoked = certificate(world, days_left=10)
    lifecycle.revoke(None, revoked.id, "作废")
    db.session.commit()

    assert lifecycle.queue_expiry_reminders() == 2
    db.session.commit()
    assert lifecycle.queue_expiry_reminders() == 0

    queued = messages()
    assert [(m.certificate_id, m.kind) for m in queued] == [
        (soon.id, "expiry_reminder"),
        (last_day.id, "expiry_reminder"),
    ]
    first = queued[0]
    assert (first.user_id, first.email) == (soon.holder_id, soon.holder.email)
    assert first.sent_at is None and first.error == ""
    date = soon.expires_on.isoformat()
    assert f"Your certificate {soon.serial} expires on {date}" in first.subject
    # Chinese first, then English, each naming the holder and the certificate.
    chinese, english_part = first.body.split("----------")
    assert "李晓红" in chinese and "婴幼儿照护专业人才证书" in chinese
    assert "Dear 李晓红," in english_part
    assert "Certificate of the infant-care talent pool" in english_part
    assert "24.0 CE hours" in english_part


def test_a_renewed_certificate_is_not_reminded_again(learning_world: Any) -> None:
    world = learning_world
    old = certificate(world, days_left=30)
    assert lifecycle.queue_expiry_reminders() == 1
    old.superseded_at = old.issued_at  # replaced (its successor expires years later)
    db.session.flush()
    assert lifecycle.queue_expiry_reminders(days=120) == 0


def test_without_a_mail_server_the_messages_wait_in_the_outbox(
    learning_world: Any, app: Flask
) -> None:
    assert not app.config.get("MAIL_SERVER")
    certificate(learning_world, days_left=5)
    lifecycle.queue_expiry_reminders()

    assert lifecycle.deliver_outbox() == (0, 0)
    [message] = messages()
    assert message.sent_at is None and message.error == ""


def test_messages_are_sent_by_smtp(learning_world: Any, smtp_server: SMTPServer) -> None:
    world = learning_world
    first = certificate(world, days_left=5)
    certificate(world, days_left=6, name="王芳")
    lifecycle.queue_expiry_reminders()

    assert lifecycle.deliver_outbox() == (2, 0)
    db.session.commit()

    assert all(m.sent_at is not None and m.error == "" for m in messages())
    assert len(smtp_server.received) == 2
    mail = email.message_from_bytes(smtp_server.received[0], policy=policy.default)
    assert mail["To"] == first.holder.email
    assert mail["From"] == "lms@example.org"
    assert first.serial in mail["Subject"]
    assert "李晓红" in mail.get_content()
    # Sent messages are not sent again.
    assert lifecycle.deliver_outbox() == (0, 0)
    assert len(smtp_server.received) == 2


def test_a_refused_recipient_is_recorded_and_tried_again(
    learning_world: Any, smtp_server: SMTPServer
) -> None:
    world = learning_world
    refused = certificate(world, days_left=5, email="nobody@refused.example")
    certificate(world, days_left=6, name="王芳")
    lifecycle.queue_expiry_reminders()
    smtp_server.refuse = "refused.example"

    assert lifecycle.deliver_outbox() == (1, 1)

    by_certificate = {m.certificate_id: m for m in messages()}
    failed = by_certificate[refused.id]
    assert failed.sent_at is None and "550" in failed.error
    smtp_server.refuse = ""
    assert lifecycle.deliver_outbox() == (1, 0)
    assert by_certificate[refused.id].sent_at is not None
    assert messages()[0].error == ""


def test_an_unreachable_server_is_recorded_not_raised(
    learning_world: Any, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    certificate(learning_world, days_left=5)
    lifecycle.queue_expiry_reminders()

    assert lifecycle.deliver_outbox() == (0, 1)

    [message] = messages()
    assert message.sent_at is None
    assert "ConnectionRefusedError" in message.error
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 1
