"""Hub behaviour on real services: a real `rq worker` sends the outbox, Redis down at login,
and an Idempotency-Key held by a request still running."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.email.models import OutboxEmail
from hub.email.sending import queue_email
from hub.extensions import db, limiter
from rewards.models import LedgerEntry
from tests.support.environment import TEST_PASSWORD, build_app

pytestmark = pytest.mark.services
ROOT = Path(__file__).resolve().parents[2]
RQ = str(Path(sys.executable).parent / "rq")


def run_worker_burst(app, pg_url: str, redis_url: str) -> subprocess.CompletedProcess:
    """A real `rq worker` process, configured like production, that drains the queue and exits."""
    namespace = app.config["VOUCH_REDIS_NAMESPACE"]
    env = {k: v for k, v in os.environ.items() if k not in {"SMTP_URL", "VOUCH_ENV"}} | {
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "VOUCH_ENV": "test",
        "SECRET_KEY": "worker-secret",
        "VOUCH_REDIS_NAMESPACE": namespace,
    }
    return subprocess.run(
        [
            RQ,
            "worker",
            "--worker-class",
            "hub.worker.VouchWorker",
            "--burst",
            "--url",
            redis_url,
            f"{namespace}-default",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.multi_connection
def test_rq_worker_sends_an_outbox_email_once(pg_ctx, pg_url, redis_url):
    from hub.email.sending import send_outbox_message
    from hub.queue import JobSpec, dispatch_now

    message = queue_email("ada@example.com", "Hello", "Hello Ada, this went through a real worker.", "test")
    db.session.commit()  # the job is enqueued after this commit
    message_id = message.id
    queue = pg_ctx.extensions["vouch_queue"].queue()
    assert queue.count == 1

    result = run_worker_burst(pg_ctx, pg_url, redis_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Job OK" in result.stdout + result.stderr
    db.session.expire_all()
    sent = db.session.get(OutboxEmail, message_id)
    assert (sent.status, sent.attempts) == ("sent", 1)
    assert sent.sent_at is not None
    assert "Hello Ada, this went through a real worker." in result.stdout + result.stderr  # logged: no SMTP_URL

    # Delivered at least once: the same job again is a no-op (sent, like any job, outside a
    # transaction: the reads above end first).
    db.session.rollback()
    dispatch_now(JobSpec(send_outbox_message, (message_id,), job_id=f"email-{message_id}"), pg_ctx)
    again = run_worker_burst(pg_ctx, pg_url, redis_url)
    assert again.returncode == 0, again.stdout + again.stderr
    db.session.expire_all()
    assert db.session.get(OutboxEmail, message_id).attempts == 1


def test_rolled_back_email_is_never_enqueued(pg_ctx):
    queue_email("nobody@example.com", "Never", "Never sent", "test")
    db.session.rollback()
    assert pg_ctx.extensions["vouch_queue"].queue().count == 0
    assert db.session.scalar(select(OutboxEmail)) is None


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def redis_down_app(pg_app, pg_url):
    """The production shape (PostgreSQL, REDIS_URL, rate limits on) with Redis unreachable."""
    saved = dict(vars(limiter))
    application = build_app(pg_url, REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0", RATELIMIT_ENABLED=True)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    vars(limiter).clear()
    vars(limiter).update(saved)


@pytest.mark.multi_connection  # a second app on the same database logs the user in
def test_redis_down_login_works_and_is_still_limited(redis_down_app, pg_app, make):
    with pg_app.app_context():
        user = make.advocate(points=1200)
        email = user.user.email
    client = redis_down_app.test_client()
    response = client.post("/login", data={"email": email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    home = client.get("/")  # the leaderboard widget reads Redis: falls back to SQL
    assert home.status_code == 200 and b"1,200" in home.data
    assert client.get("/leaderboard").status_code == 200
    client.post("/logout")

    statuses = [
        redis_down_app.test_client().post("/login", data={"email": email, "password": "wrong password"}).status_code
        for _ in range(12)
    ]
    assert 500 not in statuses
    assert statuses[:10] == [200] * 10 and statuses[10:] == [429, 429]  # limited in memory, not unlimited


@pytest.mark.multi_connection
def test_idempotency_key_in_flight_on_postgres(pg_app, make, monkeypatch):
    """Two requests with one key at once: one runs, the other gets 409; the retry replays."""
    import rewards.services

    with pg_app.app_context():
        owner = make.user("owner")
        advocate_id = make.advocate().id
        token = make.token(owner)
    entered, release = threading.Event(), threading.Event()
    real = rewards.services.adjust_points

    def slow_adjust(*args, **kwargs):
        entered.set()
        assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(rewards.services, "adjust_points", slow_adjust)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "double-click"}
    path = f"/api/v1/advocates/{advocate_id}/adjustments"
    body = {"points": 30, "memo": "Thanks"}
    first: dict = {}

    def first_request() -> None:
        response = pg_app.test_client().post(path, json=body, headers=headers)
        first.update(status=response.status_code, json=response.json)

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        assert entered.wait(30)
        second = pg_app.test_client().post(path, json=body, headers=headers)
    finally:
        release.set()
        thread.join()
    assert second.status_code == 409 and second.json["error"]["code"] == "invalid_state"
    assert first["status"] == 201
    replay = pg_app.test_client().post(path, json=body, headers=headers)
    assert replay.status_code == 201 and replay.json == first["json"]
    with pg_app.app_context():
        assert len(db.session.scalars(select(LedgerEntry)).all()) == 1
        db.session.remove()


def test_hostile_text_never_reaches_postgres(pg_ctx, make):
    """NUL and lone surrogates are refused before PostgreSQL sees them; real Unicode round-trips."""
    manager = make.user("manager")
    headers = {"Authorization": f"Bearer {make.token(manager)}"}
    client = pg_ctx.test_client()
    for raw in (b'{"email": "n@example.com", "name": "a\\u0000b"}', b'{"email": "s@example.com", "name": "\\udfff"}'):
        response = client.post("/api/v1/advocates", data=raw, content_type="application/json", headers=headers)
        assert response.status_code == 422, response.data
    unicode_name = "Zoë Ångström 李 🚀"
    created = client.post("/api/v1/advocates", json={"email": "zoe@example.com", "name": unicode_name}, headers=headers)
    assert created.status_code == 201 and created.json["name"] == unicode_name
    assert client.get("/api/v1/advocates?q=%00", headers=headers).status_code == 422
