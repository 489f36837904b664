"""Issue 12 items 2 and 3 against a real SMTP server (aiosmtpd): headers from one-line text, a
message that cannot be built or sent fails at once and visibly (never a queued row picked up
every minute), IDNA domains, and SMTPUTF8 only where the server offers it."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from hub.email import sending
from hub.email.models import EmailStatus, OutboxEmail
from hub.email.sending import drain_outbox, queue_email
from hub.extensions import db
from tests.support.network import free_port
from tests.support.smtp import SmtpRecorder


@pytest.fixture(autouse=True)
def _context(ctx):
    return ctx


def _row(message_id: int) -> OutboxEmail:
    db.session.commit()
    return db.session.get(OutboxEmail, message_id)


def _queued_row(**values) -> int:
    """A row as an older release (or a path that skipped queue_email) may have left it."""
    fields = {"to_address": "ada@example.com", "subject": "Hello", "body_text": "Body", "kind": "test"}
    row = OutboxEmail(**(fields | values), status=EmailStatus.QUEUED.value, attempts=0)
    db.session.add(row)
    db.session.commit()
    return row.id


def test_a_two_line_reason_in_a_subject_is_folded_and_sent(app, jobs, smtp, settle):
    message_id = queue_email("ada@example.com", "Rejected: Line one.\nLine two.", "Body", "test").id
    settle()
    assert _row(message_id).status == "sent"
    [mail] = smtp.recorder.messages
    assert mail["Subject"] == "Rejected: Line one. Line two."


def test_a_stored_multi_line_subject_is_folded_when_built(app, smtp):
    message_id = _queued_row(subject="Line one.\r\nLine two.\x07")
    assert sending.attempt_delivery(message_id) == "sent"
    db.session.commit()
    assert smtp.recorder.messages[0]["Subject"] == "Line one. Line two."


def test_a_message_that_cannot_be_built_fails_once_visibly_and_never_loops(app, smtp, monkeypatch, make, login, client):
    message_id = _queued_row(subject="Cannot build me")

    def broken(message):
        raise ValueError("header refused")

    monkeypatch.setattr(sending, "build_mime", broken)
    assert sending.attempt_delivery(message_id) == "failed"
    db.session.commit()
    row = _row(message_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "The message could not be built: header refused"
    assert drain_outbox() == 0
    page = login(client, make.user("manager")).get("/admin/emails/").get_data(as_text=True)
    assert "Cannot build me" in page and "The message could not be built: header refused" in page


def test_an_unexpected_error_while_sending_fails_the_row_instead_of_looping(app, smtp, monkeypatch):
    message_id = _queued_row()

    def boom(*args):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(sending, "_smtp_send", boom)
    assert sending.attempt_delivery(message_id) == "failed"
    db.session.commit()
    row = _row(message_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "Could not be sent: RuntimeError: unexpected")
    assert drain_outbox() == 0


def test_a_row_whose_address_is_not_an_address_fails_at_once(app, smtp):
    message_id = _queued_row(to_address="not an address")
    assert sending.attempt_delivery(message_id) == "failed"
    db.session.commit()
    assert _row(message_id).last_error.startswith("Not a valid address")


def test_an_idna_domain_is_sent_ascii(app, smtp):
    message_id = _queued_row(to_address="ana@bücher.example")
    assert sending.attempt_delivery(message_id) == "sent"
    db.session.commit()
    assert smtp.recorder.messages[0]["To"] == "ana@xn--bcher-kva.example"
    assert smtp.recorder.recipients == [["ana@xn--bcher-kva.example"]]


@pytest.fixture()
def smtp_offering(app, monkeypatch):
    """A local SMTP server that offers SMTPUTF8 or not (aiosmtpd's Controller offers it unless told)."""
    controllers = []

    def start(smtputf8: bool) -> SmtpRecorder:
        recorder = SmtpRecorder()
        port = free_port()
        controller = Controller(recorder, hostname="127.0.0.1", port=port, enable_SMTPUTF8=smtputf8)
        controller.start()
        controllers.append(controller)
        monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{port}")
        return recorder

    yield start
    for controller in controllers:
        controller.stop()


def test_a_non_ascii_local_part_without_smtputf8_fails_at_once_visibly(app, smtp_offering):
    server = smtp_offering(False)
    message_id = _queued_row(to_address="josé@example.org")
    assert sending.attempt_delivery(message_id) == "failed"
    db.session.commit()
    row = _row(message_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "The address josé@example.org needs SMTPUTF8, which the mail server does not offer."
    assert server.messages == []
    assert drain_outbox() == 0


def test_an_ascii_address_goes_through_a_server_without_smtputf8(app, smtp_offering):
    server = smtp_offering(False)
    message_id = _queued_row(to_address="ana@bücher.example", subject="Grüße")
    assert sending.attempt_delivery(message_id) == "sent"
    assert server.recipients == [["ana@xn--bcher-kva.example"]]
    assert server.messages[0]["Subject"] == "Grüße"


def test_a_non_ascii_local_part_is_sent_where_the_server_offers_smtputf8(app, smtp_offering):
    server = smtp_offering(True)
    message_id = _queued_row(to_address="josé@bücher.example", subject="Grüße")
    assert sending.attempt_delivery(message_id) == "sent"
    db.session.commit()
    [mail] = server.messages
    assert server.recipients == [["josé@xn--bcher-kva.example"]]
    assert (mail["To"], mail["Subject"]) == ("josé@xn--bcher-kva.example", "Grüße")
    assert db.session.scalar(select(OutboxEmail.status).where(OutboxEmail.id == message_id)) == "sent"
