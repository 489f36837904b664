"""The outbox against a real SMTP server: delivery, retries, visible failures, at most one send per row."""

from __future__ import annotations

import logging
from collections import Counter

import pytest
from sqlalchemy import select

from hub.email.models import OutboxEmail
from hub.email.sending import attempt_delivery, drain_outbox, queue_email, send_outbox_message
from hub.extensions import db
from hub.models import AuditEntry
from tests.support.threads import committing, run_together


def _queue(app, to="ada@example.com", **kw) -> int:
    message_id = queue_email(to, "Hello", "Plain text body", "test", html="<p>HTML body</p>", **kw).id
    db.session.commit()
    return message_id


def _row(app, message_id: int) -> OutboxEmail:
    db.session.commit()  # a fresh snapshot: the jobs wrote on their own connections
    return db.session.get(OutboxEmail, message_id)


@pytest.fixture(autouse=True)
def _context(ctx):
    return ctx


def test_queued_email_is_delivered_with_text_and_html_parts(app, jobs, smtp, settle):
    message_id = _queue(app, unsubscribe_url="http://vouch.test/unsubscribe/abc")
    settle()
    row = _row(app, message_id)
    assert (row.status, row.attempts, row.sent_at is not None) == ("sent", 1, True)
    [mail] = smtp.recorder.messages
    assert mail["To"] == "ada@example.com" and mail["Subject"] == "Hello"
    assert mail["List-Unsubscribe"] == "<http://vouch.test/unsubscribe/abc>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.get_body(("plain",)).get_content().strip() == "Plain text body"
    assert mail.get_body(("html",)).get_content().strip() == "<p>HTML body</p>"
    assert f"outbox-{message_id}" in mail["Message-ID"]


def test_without_smtp_url_the_email_goes_to_the_log(app, jobs, caplog, monkeypatch, settle):
    monkeypatch.setitem(app.config, "SMTP_URL", None)
    with caplog.at_level(logging.INFO, logger="vouch.mail"):
        message_id = _queue(app, to="log@example.com")
        settle()
    assert _row(app, message_id).status == "sent"
    assert any("log@example.com" in r.getMessage() and "Plain text body" in r.getMessage() for r in caplog.records)


def test_rolled_back_transaction_sends_nothing(app, jobs, smtp, settle):
    queue_email("ghost@example.com", "Never", "Never sent", "test")
    db.session.rollback()
    settle()
    assert smtp.recorder.messages == []
    assert db.session.scalar(select(OutboxEmail.id)) is None


def test_transient_failures_retry_then_fail_visibly(app, jobs, smtp, monkeypatch, make, login, client, settle):
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 3)
    smtp.recorder.reply = "451 4.3.0 Try again later"
    message_id = _queue(app)
    settle()
    row = _row(app, message_id)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.last_error.startswith("451") and row.next_attempt_at is not None

    assert drain_outbox() == 1  # the sweep picks the due row up again (backoff is 0 s in this test)
    db.session.commit()
    settle()
    assert _row(app, message_id).attempts == 2
    drain_outbox()
    db.session.commit()
    settle()
    row = _row(app, message_id)
    assert (row.status, row.attempts, row.failed_at is not None) == ("failed", 3, True)
    assert "Gave up after 3 attempts" in row.last_error
    assert smtp.recorder.data_commands == 3 and smtp.recorder.messages == []

    assert drain_outbox() == 0  # failed rows are not swept again

    # Visible to staff, with a retry that delivers once the server is healthy again.
    manager = make.user("manager")
    login(client, manager)
    page = client.get("/admin/emails/")
    assert page.status_code == 200 and b"451 4.3.0 Try again later" in page.data
    smtp.recorder.reply = None
    response = client.post(f"/admin/emails/{message_id}/retry", headers={"HX-Request": "true"})
    assert response.status_code == 200 and b"Queued again" in response.data
    settle()
    assert _row(app, message_id).status == "sent"
    assert len(smtp.recorder.messages) == 1
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "email.retry"))
    assert audit.actor_id == manager.id and audit.before["status"] == "failed"
    assert client.post(f"/admin/emails/{message_id}/retry").status_code == 302  # not failed any more
    assert _row(app, message_id).status == "sent"


def test_permanent_refusal_fails_at_once(app, jobs, smtp, settle):
    smtp.recorder.reply = "550 5.1.1 No such user here"
    message_id = _queue(app, to="nobody@example.com")
    settle()
    row = _row(app, message_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith("550 5.1.1")


def test_unreachable_server_is_transient(app, jobs, monkeypatch, settle):
    from tests.support.network import free_port

    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    message_id = _queue(app)
    settle()
    row = _row(app, message_id)
    assert (row.status, row.attempts) == ("queued", 1)
    assert "ConnectionRefusedError" in row.last_error


def test_staff_only_see_the_failed_emails_page(app, make, login, client):
    advocate = make.advocate()
    login(client, advocate.user)
    assert client.get("/admin/emails/").status_code == 403
    assert client.post("/admin/emails/1/retry").status_code == 403


def test_a_row_is_sent_once_however_often_its_job_runs(app, jobs, smtp, settle):
    message_id = _queue(app)
    settle()
    send_outbox_message(message_id)
    assert attempt_delivery(message_id) == "skipped"
    db.session.commit()
    assert len(smtp.recorder.messages) == 1
    assert _row(app, message_id).attempts == 1


@pytest.mark.multi_connection
def test_two_workers_on_one_row_send_it_once_sqlite(app, smtp, monkeypatch):
    # The in-process queue is bypassed: two threads run the job body on the same row at once.
    message = OutboxEmail(to_address="race@example.com", subject="Race", body_text="Once", kind="test")
    db.session.add(message)
    db.session.commit()
    message_id = message.id
    db.session.remove()
    outcomes = _race(app, message_id, 2)
    assert outcomes == Counter({"sent": 1, "skipped": 1})
    assert len(smtp.recorder.messages) == 1


def _race(app, message_id: int, n: int) -> Counter:
    return run_together(n, committing(app, lambda _i: attempt_delivery(message_id)))


@pytest.mark.services
@pytest.mark.parametrize("repeat", range(3))
@pytest.mark.multi_connection
def test_two_workers_on_one_row_send_it_once_postgresql(pg_app, smtp_server, monkeypatch, repeat):
    monkeypatch.setitem(pg_app.config, "SMTP_URL", smtp_server.url)
    with pg_app.app_context():
        message = OutboxEmail(to_address="race@example.com", subject="Race", body_text="Once", kind="test")
        db.session.add(message)
        db.session.commit()
        message_id = message.id
        db.session.remove()
    outcomes = _race(pg_app, message_id, 4)
    assert outcomes == Counter({"sent": 1, "skipped": 3})
    assert len(smtp_server.recorder.messages) == 1
    with pg_app.app_context():
        assert db.session.get(OutboxEmail, message_id).attempts == 1


def test_dedupe_key_writes_one_row(app, jobs):
    first = queue_email("a@example.com", "Digest", "x", "digest", dedupe_key="digest:1:2026-W48")
    second = queue_email("a@example.com", "Digest", "x", "digest", dedupe_key="digest:1:2026-W48")
    db.session.commit()
    assert first is not None and second is None
    assert len(db.session.scalars(select(OutboxEmail)).all()) == 1


@pytest.mark.services
@pytest.mark.multi_connection
def test_real_rq_worker_delivers_once_even_when_the_job_runs_twice(pg_app, pg_url, redis_url, smtp_server):
    import os
    import subprocess
    import sys
    from pathlib import Path

    backend = pg_app.extensions["vouch_queue"]
    backend.queue().empty()
    with pg_app.app_context():
        message_id = queue_email("worker@example.com", "From a worker", "Sent by rq", "test").id
        db.session.commit()
    # The same job delivered again (at least once): a second copy under another id.
    backend.queue().enqueue(send_outbox_message, message_id, job_id=backend.job_key(f"email-{message_id}-dup"))
    env = os.environ | {
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "VOUCH_ENV": "test",
        "SECRET_KEY": "test-secret-key",
        "VOUCH_REDIS_NAMESPACE": pg_app.config["VOUCH_REDIS_NAMESPACE"],
        "SMTP_URL": smtp_server.url,
    }
    rq = str(Path(sys.executable).with_name("rq"))
    done = subprocess.run(
        [
            rq,
            "worker",
            "--worker-class",
            "hub.worker.VouchWorker",
            "--burst",
            "--quiet",
            "--url",
            redis_url,
            backend.queue_name(),
        ],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert len(smtp_server.recorder.messages) == 1
    assert smtp_server.recorder.messages[0]["Subject"] == "From a worker"
    with pg_app.app_context():
        row = db.session.get(OutboxEmail, message_id)
        assert (row.status, row.attempts) == ("sent", 1)
