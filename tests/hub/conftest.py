"""Fixtures for hub tests: a real SMTP server (aiosmtpd) on a local port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from tests.support.network import free_port
from tests.support.smtp import SmtpRecorder, SmtpServer


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
