"""Fixtures for hub tests: a real SMTP server (aiosmtpd) on a local port."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller


@dataclass
class SmtpRecorder:
    """An aiosmtpd handler: stores accepted messages, or answers every DATA with `reply`."""

    messages: list[email.message.EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)  # each accepted message's RCPT TO
    reply: str | None = None
    data_commands: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.data_commands += 1
            if self.reply:
                return self.reply
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 2.0.0 OK"


@dataclass
class SmtpServer:
    recorder: SmtpRecorder
    url: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def smtp_server() -> Iterator[SmtpServer]:
    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(recorder, f"smtp://127.0.0.1:{port}")
    finally:
        controller.stop()


@pytest.fixture()
def smtp(app, smtp_server: SmtpServer, monkeypatch) -> SmtpServer:
    """The SQLite app sending through the local SMTP server, retrying without waiting."""
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_server.url)
    monkeypatch.setitem(app.config, "MAIL_RETRY_BACKOFF", (0,))
    return smtp_server


@pytest.fixture()
def settle(ctx, jobs):
    """End the test's own transaction (SQLite: release the writer lock), then wait for the jobs."""
    from hub.extensions import db

    def wait() -> None:
        db.session.commit()
        jobs.join()
        db.session.commit()

    return wait
