"""A Redis that accepts connections but never answers (issue 13 item 4, reliability.md 25/26).

The "Redis" here is a real TCP socket on 127.0.0.1 that accepts and then stays silent. Every
Redis client (leaderboards, queue, rate limits) must give up after its short timeout, the
circuit breaker must then stop calling it at all (no new connection, no new bytes), and the
requests must still do their work: a wrong password is refused, the home page renders, a
submission is saved for the sweep, the leaderboard comes from SQL.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.support.factories import TEST_PASSWORD, Factory


class SilentRedis:
    """Accepts TCP connections, reads what is sent, never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.bytes_received = 0
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections.append(conn)
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    def _drain(self, conn: socket.socket) -> None:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.bytes_received += len(data)

    def traffic(self) -> tuple[int, int]:
        with self._lock:
            return len(self.connections), self.bytes_received

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        for conn in self.connections:
            conn.close()


@pytest.fixture()
def silent_redis() -> Iterator[SilentRedis]:
    server = SilentRedis()
    yield server
    server.close()


@pytest.fixture()
def hung_app(app_factory, silent_redis):
    application = app_factory(
        REDIS_URL=silent_redis.url,
        RATELIMIT_ENABLED=True,
        VOUCH_REDIS_TIMEOUT=0.2,
        VOUCH_REDIS_BREAKER_SECONDS=600,
    )
    with application.app_context():
        yield application


def test_every_redis_client_has_short_timeouts_and_no_retries(hung_app):
    from hub.extensions import limiter

    clients = {
        "leaderboards": hung_app.extensions["vouch_redis"],
        "queue": hung_app.extensions["vouch_queue"].connection,
        "rate limits": limiter._storage.storage,
    }
    for name, client in clients.items():
        kwargs = client.connection_pool.connection_kwargs
        assert kwargs["socket_timeout"] == 0.2, name
        assert kwargs["socket_connect_timeout"] == 0.2, name
        assert kwargs["retry"].get_retries() == 0, name
        assert client.connection_pool.connection_class.__name__ == "GuardedConnection", name


def test_requests_work_and_stop_calling_a_hung_redis(hung_app, silent_redis):
    from sqlalchemy import select

    from challenges.models import Completion
    from hub.extensions import db
    from hub.redis_client import breaker_for
    from tests.support.challenges import create_challenge

    make = Factory()
    # Points are posted: the ledger's after-commit Redis increment times out and opens the breaker.
    leader = make.advocate(points=300, name="Leader")
    runner_up = make.advocate(points=120, name="Runner")
    breaker = breaker_for("127.0.0.1", silent_redis.port)
    assert breaker.is_open
    challenge = create_challenge(title="Tell us", type="custom", points=40)
    token = make.token(runner_up.user)
    leader_email, runner_email = leader.user.email, runner_up.user.email
    leader_id, runner_id, challenge_id = leader.id, runner_up.id, challenge.id
    db.session.remove()
    before = silent_redis.traffic()
    assert before[0] >= 1  # the first attempt did reach the socket

    client = hung_app.test_client()
    wrong = client.post("/login", data={"email": leader_email, "password": "not the password"})
    assert wrong.status_code == 200 and b"password" in wrong.data.lower()

    browser = hung_app.test_client()
    assert browser.post("/login", data={"email": runner_email, "password": TEST_PASSWORD}).status_code == 302
    home = browser.get("/")
    assert home.status_code == 200

    headers = {"Authorization": f"Bearer {token}"}
    submitted = client.post(
        f"/api/v1/challenges/{challenge_id}/completions",
        json={"evidence_text": "I told my team about it."},
        headers=headers,
    )
    assert submitted.status_code == 201, submitted.json
    board = client.get("/api/v1/leaderboard?period=all", headers=headers)
    assert board.status_code == 200
    assert [(e["rank"], e["advocate_id"], e["points"]) for e in board.json["entries"]] == [
        (1, leader_id, 300),
        (2, runner_id, 120),
    ]
    assert board.json["me"]["rank"] == 2

    # The completion is saved (the sweep sends its job once Redis answers).
    saved = db.session.scalar(select(Completion).where(Completion.id == submitted.json["id"]))
    assert saved is not None and saved.advocate_id == runner_id
    # While the breaker is open nothing was sent to the hung Redis: no connection, no byte.
    assert silent_redis.traffic() == before

    # After the cool-down one call goes through again (and, still hung, opens the breaker again).
    breaker.opened_at -= breaker.cooldown
    assert client.get("/api/v1/leaderboard?period=all", headers=headers).status_code == 200
    assert silent_redis.traffic() != before
    assert breaker.is_open


def test_rate_limits_still_hold_while_redis_hangs(hung_app, silent_redis):
    """reliability.md 26: with Redis unusable the login limits fall back to memory (never
    silently unlimited): the 11th wrong password for one account in 15 minutes is refused."""
    make = Factory()
    email = make.user("advocate").email
    client = hung_app.test_client()
    statuses = [client.post("/login", data={"email": email, "password": f"wrong {n}"}).status_code for n in range(11)]
    assert statuses == [200] * 10 + [429]


def test_breaker_closes_when_redis_answers_again():
    from hub.redis_client import CircuitBreaker

    breaker = CircuitBreaker(cooldown=5)
    assert breaker.allow()
    breaker.record_failure()
    assert not breaker.allow()
    breaker.opened_at -= 5
    assert breaker.allow()
    breaker.record_success()
    assert not breaker.is_open and breaker.allow()
