"""Login and /forgot do the same work whether an account exists or not (issue 13 item 5): the
same SQL, one argon2 verify against a precomputed hash and no fresh hash at login, one queued
job at /forgot. Operation counts are compared, never wall time."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from argon2 import PasswordHasher

from hub import security
from hub.email.models import OutboxEmail
from hub.extensions import db
from hub.queue import JobSpec

# The work of a request is compared statement by statement: on the test's own rolled-back
# connection the harness's SAVEPOINTs and inline jobs would be counted as the request's.
pytestmark = pytest.mark.multi_connection


class CountingHasher(PasswordHasher):
    """The test profile's hasher, counting its hash and verify calls."""

    def __init__(self, real: PasswordHasher, counts: Counter) -> None:
        super().__init__(
            time_cost=real.time_cost, memory_cost=real.memory_cost, parallelism=real.parallelism, type=real.type
        )
        self.counts = counts

    def hash(self, password, *, salt=None):  # type: ignore[override]
        self.counts["hash"] += 1
        return super().hash(password, salt=salt)

    def verify(self, hash, password):  # type: ignore[override]
        self.counts["verify"] += 1
        return super().verify(hash, password)


@pytest.fixture()
def argon2_calls(ctx, monkeypatch) -> Counter:
    counts: Counter = Counter()
    profile = ctx.config["PASSWORD_HASH_PROFILE"]
    monkeypatch.setitem(security._PROFILES, profile, CountingHasher(security._PROFILES[profile], counts))
    return counts


@pytest.fixture()
def enqueued(ctx, monkeypatch) -> list[str]:
    sent: list[str] = []
    backend = ctx.extensions["vouch_queue"]
    real_send = backend.send

    test_thread = threading.get_ident()

    def send(spec: JobSpec) -> None:
        if threading.get_ident() == test_thread:  # not the jobs' own enqueues, on the queue's thread
            sent.append(spec.path)
        real_send(spec)

    monkeypatch.setattr(backend, "send", send)
    return sent


def work(client, path: str, data: dict, argon2_calls: Counter, sql_statements: list, enqueued: list) -> tuple:
    argon2_calls.clear()
    sql_statements.clear()
    enqueued.clear()
    response = client.post(path, data=data)
    # Transaction control (BEGIN on a connection's first use) is the pool's, not the request's.
    queries = [q for q in sql_statements if not q.startswith("BEGIN")]
    return response.status_code, dict(argon2_calls), queries, list(enqueued)


def test_a_login_costs_one_verify_and_the_same_queries_whether_the_email_is_known_or_not(
    app, make, argon2_calls, sql_statements, enqueued
):
    user = make.user("advocate")
    security._DUMMY_HASHES.clear()  # as in a fresh process
    security.dummy_hash()  # what create_app does at start
    app.test_client().post("/login", data={"email": "warm@example.com", "password": "x"})  # first-request setup
    unknown = work(
        app.test_client(),
        "/login",
        {"email": "nobody@example.com", "password": "wrong password!"},
        argon2_calls,
        sql_statements,
        enqueued,
    )
    known = work(
        app.test_client(),
        "/login",
        {"email": user.email, "password": "wrong password!"},
        argon2_calls,
        sql_statements,
        enqueued,
    )
    assert unknown[1] == known[1] == {"verify": 1}  # no fresh hash for the unknown email
    assert unknown == known


def test_the_dummy_hash_is_built_once_per_process(ctx, argon2_calls):
    security._DUMMY_HASHES.clear()
    for _ in range(3):
        security.verify_password(None, "anything at all")
    assert argon2_calls == Counter(hash=1, verify=3)


def test_forgot_does_the_same_work_for_known_and_unknown_emails(
    app, make, jobs, argon2_calls, sql_statements, enqueued
):
    user = make.user("advocate")
    app.test_client().post("/forgot", data={"email": "warm@example.com"})  # first-request setup
    jobs.join()
    known = work(app.test_client(), "/forgot", {"email": user.email}, argon2_calls, sql_statements, enqueued)
    unknown = work(
        app.test_client(), "/forgot", {"email": "nobody@example.com"}, argon2_calls, sql_statements, enqueued
    )
    assert known == unknown
    assert known[3] == ["hub.jobs.send_password_reset_job"]
    jobs.join()
    assert [m.to_address for m in db.session.scalars(db.select(OutboxEmail))] == [user.email]
