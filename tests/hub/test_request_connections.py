"""The request path's PostgreSQL connections (issue 22, "every request"), on real PostgreSQL and
Redis, proven from the wire protocol (libpq's trace of each pooled connection): a read request
sends no BEGIN, COMMIT or ROLLBACK; a write met inside a read still runs in one transaction;
and a backend terminated between two requests (or under a request) costs no failed request,
without a ping before each one."""

from __future__ import annotations

import contextlib
import re
import select
import tempfile
import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import event, func, text
from sqlalchemy import select as sql_select

from hub.db import needs_transaction, write_intent
from hub.extensions import db
from hub.models import Group
from tests.support.environment import clear_tables
from tests.support.factories import ApiClient

pytestmark = [pytest.mark.services, pytest.mark.multi_connection]


@pytest.fixture()
def admin_dsn(pg_url: str) -> str:
    """A libpq address of this worker's own test database (one per xdist worker)."""
    return pg_url.replace("postgresql+psycopg://", "postgresql://")


class Wire:
    """The protocol messages the app's pooled connections sent ("Query …" and "Parse …" lines of
    libpq's trace, frontend side), read from each checkout's trace once it was checked in."""

    def __init__(self) -> None:
        self.sinks: list = []

    def start(self, dbapi_conn, _record, _proxy) -> None:
        sink = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the fixture once the test has read it
        dbapi_conn.pgconn.trace(sink.fileno())
        self.sinks.append(sink)

    def stop(self, dbapi_conn, _record) -> None:
        with contextlib.suppress(Exception):  # a connection the server dropped
            dbapi_conn.pgconn.untrace()

    @property
    def sent(self) -> list[str]:
        lines: list[str] = []
        for sink in self.sinks:
            sink.seek(0)
            for line in sink.read().decode(errors="replace").splitlines():
                parts = line.split("\t")
                if len(parts) >= 4 and parts[1] == "F" and parts[3] in ("Query", "Parse"):
                    lines.append(f"{parts[3]} {parts[-1].strip()}")
        return lines


@pytest.fixture()
def wire(pg_app) -> Iterator[Wire]:
    with pg_app.app_context():
        engine = db.engine
    tracer = Wire()
    event.listen(engine, "checkout", tracer.start)
    event.listen(engine, "checkin", tracer.stop)
    try:
        yield tracer
    finally:
        event.remove(engine, "checkout", tracer.start)
        event.remove(engine, "checkin", tracer.stop)
        for sink in tracer.sinks:
            sink.close()


# psycopg names the isolation level in its BEGIN once one was set on the connection (as SQLAlchemy
# does when it resets a pooled connection another caller used in autocommit, e.g. the bench seed's
# VACUUM): both forms open the one transaction.
_BEGIN = re.compile(r'"BEGIN( ISOLATION LEVEL [A-Z ]+)?"$')


def _is_begin(line: str) -> bool:
    return _BEGIN.search(line) is not None


def _commands(sent: list[str]) -> list[str]:
    return [line for line in sent if _is_begin(line) or '"COMMIT"' in line or '"ROLLBACK"' in line]


@pytest.fixture()
def advocate_api(pg_app, pg_ctx, make) -> Iterator[ApiClient]:
    advocate = make.advocate(points=120)
    client = ApiClient(pg_app.test_client(), make.token(advocate.user))
    db.session.remove()
    yield client
    clear_tables(pg_app)


def _terminate_app_backends(dsn: str) -> int:
    """Terminate every backend of this worker's test database but the caller's own; how many."""
    with psycopg.connect(dsn, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(killed[0]) if killed else 0


def _wait_readable(dbapi_conn, seconds: float = 5.0) -> None:
    """Until the server's goodbye has reached the connection's socket."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if select.select([dbapi_conn.pgconn.socket], [], [], 0.05)[0]:
            return
    raise AssertionError("the terminated backend never closed the socket")


def test_a_read_request_sends_no_begin_commit_or_rollback(advocate_api, wire):
    for path in ("/leaderboard?period=all&limit=10", "/me", "/leaderboard?period=month"):
        assert advocate_api.get(path).status_code == 200
    assert any("SELECT" in line for line in wire.sent)  # the trace saw the requests' queries
    assert _commands(wire.sent) == []


def test_a_write_request_is_still_one_transaction(advocate_api, wire):
    response = advocate_api.client.post("/api/v1/advocates", headers=advocate_api.headers, json={})
    assert response.status_code == 403  # refused by role: its transaction ends in a rollback
    commands = _commands(wire.sent)
    assert commands and _is_begin(commands[0])


def test_a_write_inside_a_read_runs_in_a_transaction_that_a_rollback_undoes(pg_app, wire):
    """A read that turns out to write (no such GET is known; a guard all the same): the plain
    SELECT before it runs in autocommit, the INSERT opens a transaction first, so the unit's
    rollback leaves nothing behind."""
    reading = write_intent.set(False)
    try:
        with pg_app.app_context():
            assert db.session.scalar(sql_select(func.count()).select_from(Group)) == 0
            db.session.add(Group(name="Written by a read"))
            db.session.flush()
            db.session.rollback()
            assert db.session.scalar(sql_select(func.count()).select_from(Group)) == 0
            db.session.remove()
    finally:
        write_intent.reset(reading)
    statements = [line for line in wire.sent if "SELECT" in line or "INSERT" in line or _is_begin(line)]
    first_insert = next(i for i, line in enumerate(statements) if "INSERT INTO groups" in line)
    assert _is_begin(statements[first_insert - 1])
    assert all(not _is_begin(line) for line in statements[: first_insert - 1])
    assert any(line.endswith('"ROLLBACK"') for line in wire.sent)


@pytest.mark.parametrize(
    ("statement", "streamed", "needs"),
    [
        ("SELECT advocates.id FROM advocates WHERE advocates.id = %(id)s", False, False),
        ("  select count(*) from ledger_entries", False, False),
        ("SELECT advocates.id FROM advocates WHERE advocates.id = %(id)s FOR NO KEY UPDATE", False, True),
        ("SELECT * FROM rewards WHERE id = 1 FOR SHARE", False, True),
        ("select * from rewards for update skip locked", False, True),
        ("SELECT pg_advisory_xact_lock(%(k)s)", False, True),
        ("SELECT pg_try_advisory_xact_lock(1)", False, True),
        ("SELECT set_config('jit', 'off', true)", False, True),
        ("INSERT INTO groups (name) VALUES (%(name)s)", False, True),
        ("WITH moved AS (UPDATE advocates SET balance = 0 RETURNING id) SELECT id FROM moved", False, True),
        ("SET LOCAL work_mem = '64MB'", False, True),
        ("SELECT id FROM audit_entries ORDER BY id", True, True),
    ],
)
def test_which_statements_need_a_transaction(statement, streamed, needs):
    assert needs_transaction(statement, streamed) is needs


def test_a_backend_terminated_between_requests_costs_no_failed_request(advocate_api, pg_app, admin_dsn):
    with pg_app.app_context():
        engine = db.engine
    errors: list[object] = []

    def met(ctx) -> None:
        errors.append(ctx.original_exception)

    assert advocate_api.get("/leaderboard").status_code == 200
    assert _terminate_app_backends(admin_dsn) >= 1
    time.sleep(0.2)  # the goodbye reaches the pooled connection's socket
    event.listen(engine, "handle_error", met)
    try:
        assert advocate_api.get("/leaderboard").status_code == 200
    finally:
        event.remove(engine, "handle_error", met)
    assert errors == []  # checkout handed the dead connection back unasked: no statement failed
    assert advocate_api.get("/me").status_code == 200
    # A write after the kill too (the refused create still runs its transaction).
    assert _terminate_app_backends(admin_dsn) >= 1
    time.sleep(0.2)
    assert advocate_api.client.post("/api/v1/advocates", headers=advocate_api.headers, json={}).status_code == 403


@pytest.mark.parametrize("path", ["/leaderboard", "/me"])
def test_a_backend_terminated_under_a_read_is_retried(advocate_api, pg_app, admin_dsn, path):
    """The connection passes checkout alive and dies before the request's first statement: the
    read is run again on a fresh connection instead of answering 500."""
    with pg_app.app_context():
        engine = db.engine
    killed: list[int] = []

    def kill_once(dbapi_conn, _record, _proxy) -> None:
        if killed:
            return
        killed.append(dbapi_conn.info.backend_pid)
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (dbapi_conn.info.backend_pid,))
        _wait_readable(dbapi_conn)

    assert advocate_api.get(path).status_code == 200  # a pooled connection exists
    event.listen(engine, "checkout", kill_once)
    try:
        assert advocate_api.get(path).status_code == 200
    finally:
        event.remove(engine, "checkout", kill_once)
    assert killed


def test_the_pool_does_not_ping(pg_app):
    with pg_app.app_context():
        assert db.engine.pool._pre_ping is False
        assert db.engine.pool._recycle == 1800
        assert db.session.execute(text("SELECT 1")).scalar_one() == 1
        db.session.remove()
