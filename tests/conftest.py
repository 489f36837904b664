"""Shared fixtures for every tier (helpers live in `tests.support`).

- `app` (session): the app on a fresh SQLite file migrated with `flask db upgrade`.
- `pg_app` (session, `-m services`): the same on a fresh PostgreSQL database created for
  this run (one per xdist worker), plus a real Redis. Missing services skip with a reason, or
  fail when VOUCH_REQUIRE_SERVICES=1 (CI).
- Isolation: a test on `app` or `pg_app` runs on one connection inside a transaction rolled
  back at the end (`tests.support.isolation`); a test marked `multi_connection` (threads,
  workers, subprocesses committing on their own connections) runs for real and its tables
  are emptied afterwards.
- Factories: `make` (`make_user`, `make_advocate`); `api` builds a bearer-token JSON client;
  `as_role(role)` a logged-in test client; `login` logs a test client in; `jobs` is the
  in-process queue (`jobs.join()` waits).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.environment import (
    PG_URL,
    REDIS_URL,
    REQUIRE_SERVICES,
    WORKER_ID,
    build_app,
    clear_redis,
    clear_tables,
    migrate,
)
from tests.support.factories import ApiClient, Factory, log_in, user_for_role
from tests.support.isolation import InlineJobs, rolled_back


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An empty SQLite database migrated once per run; apps start from copies of it."""
    from hub.extensions import db

    path: Path = tmp_path_factory.mktemp("template") / "vouch-template.db"
    template = build_app(f"sqlite:///{path}")
    migrate(template)
    with template.app_context():
        db.engine.dispose()  # closes the last connection, which checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def app(sqlite_template: Path, tmp_path_factory) -> Iterator[Flask]:
    path: Path = tmp_path_factory.mktemp("db") / "vouch-test.db"
    shutil.copy(sqlite_template, path)
    application = build_app(f"sqlite:///{path}")
    yield application


@pytest.fixture()
def app_factory(sqlite_template: Path, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build extra apps with other settings (CSRF on, rate limits on, fake Redis, production),
    each on its own copy of the migrated database, so the shared `app` is never reconfigured."""
    from hub.extensions import db, limiter

    built: list[Flask] = []
    limiter_state = dict(vars(limiter))

    def build(**overrides) -> Flask:
        path = tmp_path / f"app-{len(built)}.db"
        shutil.copy(sqlite_template, path)
        application = build_app(f"sqlite:///{path}", **overrides)
        built.append(application)
        return application

    yield build
    for application in built:
        queue = application.extensions.get("vouch_queue")
        if hasattr(queue, "join"):
            queue.join()
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
    # Flask-Limiter keeps its settings (enabled, storage) on the one global instance that
    # every app shares; put back what the shared apps were built with.
    vars(limiter).clear()
    vars(limiter).update(limiter_state)


def _apps_of(request) -> list[Flask]:
    return [request.getfixturevalue(name) for name in ("app", "pg_app") if name in request.fixturenames]


@pytest.fixture(autouse=True)
def _no_job_sent_inside_a_transaction(monkeypatch) -> Iterator[None]:
    """Every test, every tier: a job handed to the queue (in-process or RQ) while the sending
    thread's transaction is still open fails the test (issue 13 item 6, reliability.md 24).
    Jobs go out after the outermost commit (hub.queue.enqueue_after_commit), never from a
    SAVEPOINT release or in the middle of a unit."""
    from flask import has_app_context

    from hub import queue
    from hub.extensions import db

    premature: list[str] = []

    def guarded(send):
        def send_after_commit(self, spec):
            if has_app_context() and queue.transaction_open(db.session()):
                premature.append(spec.path)
            return send(self, spec)

        return send_after_commit

    monkeypatch.setattr(queue.InProcessBackend, "send", guarded(queue.InProcessBackend.send))
    monkeypatch.setattr(queue.RQBackend, "send", guarded(queue.RQBackend.send))

    def guarded_many(send_many):
        def send_many_after_commit(self, specs):
            if has_app_context() and queue.transaction_open(db.session()):
                premature.extend(spec.path for spec in specs)
            return send_many(self, specs)

        return send_many_after_commit

    monkeypatch.setattr(queue.RQBackend, "send_many", guarded_many(queue.RQBackend.send_many))
    monkeypatch.setattr(InlineJobs, "send", guarded(InlineJobs.send))
    yield
    assert premature == [], f"jobs sent inside an open transaction: {premature}"


@pytest.fixture(autouse=True)
def _isolate_database(request) -> Iterator[None]:
    """Roll back what a test on `app`/`pg_app` wrote, or (marked `multi_connection`) empty the
    tables after it."""
    apps = _apps_of(request)
    if request.node.get_closest_marker("multi_connection"):
        yield
        for application in apps:
            queue = application.extensions.get("vouch_queue")
            if hasattr(queue, "join"):
                queue.join()
            clear_tables(application)
        return
    with contextlib.ExitStack() as stack:
        for application in apps:
            stack.enter_context(rolled_back(application))
        yield
    for application in apps:
        clear_redis(application)


@pytest.fixture()
def ctx(app: Flask) -> Iterator[Flask]:
    """An application context on the SQLite app (for calling services directly)."""
    from hub.extensions import db

    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture()
def sql_statements(ctx) -> Iterator[list[str]]:
    """Every SQL statement the test's own thread runs on the SQLite app (for query-count
    checks of requests); background jobs run on the queue's thread and are not counted."""
    import threading

    from sqlalchemy import event

    from hub.extensions import db

    seen: list[str] = []
    test_thread = threading.get_ident()

    def record(_conn, _cursor, statement, *_args) -> None:
        if threading.get_ident() == test_thread:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def jobs(app: Flask):
    return app.extensions["vouch_queue"]


def _services_unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"VOUCH_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped at the end."""
    import psycopg

    admin_url = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"vouch_t_{WORKER_ID}"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        _services_unavailable(f"PostgreSQL is not reachable at {admin_url}: {exc}")
    base, _, _ = PG_URL.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        _services_unavailable(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture(scope="session")
def pg_app(pg_url: str, redis_url: str) -> Iterator[Flask]:
    """The production configuration: PostgreSQL + Redis (leaderboards, RQ queue)."""
    application = build_app(pg_url, REDIS_URL=redis_url)
    migrate(application)
    yield application
    from hub.extensions import db

    with application.app_context():
        db.engine.dispose()


@pytest.fixture()
def pg_ctx(pg_app: Flask) -> Iterator[Flask]:
    from hub.extensions import db

    with pg_app.app_context():
        yield pg_app
        db.session.remove()


# --- factories -----------------------------------------------------------------------------


@pytest.fixture()
def make() -> Factory:
    return Factory()


@pytest.fixture()
def make_user(ctx, make: Factory) -> Callable:
    return make.user


@pytest.fixture()
def make_advocate(ctx, make: Factory) -> Callable:
    return make.advocate


@pytest.fixture()
def api(app: Flask, ctx, make: Factory) -> Callable[..., ApiClient]:
    def for_user(user) -> ApiClient:
        return ApiClient(app.test_client(), make.token(user))

    return for_user


@pytest.fixture()
def login(ctx) -> Callable[[FlaskClient, object], FlaskClient]:
    return log_in


@pytest.fixture()
def as_role(app: Flask, ctx, make: Factory) -> Callable[..., FlaskClient]:
    """`as_role(role, **advocate_fields)`: a new test client logged in as a new user of `role`
    ('advocate', 'manager', 'owner', 'sales'), or not logged in ('anonymous'). The client
    carries `.user` (None when anonymous) and, for an advocate, `.advocate`; keyword
    arguments go to `make.advocate` (points, name, groups, …)."""

    def client_as(role: str, **advocate_fields) -> FlaskClient:
        test_client = app.test_client()
        test_client.user = test_client.advocate = None
        if role == "anonymous":
            return test_client
        if role == "advocate":
            test_client.advocate = make.advocate(**advocate_fields)
            test_client.user = test_client.advocate.user
        elif advocate_fields:
            raise TypeError(f"only an advocate takes profile fields, not {role!r}")
        else:
            test_client.user = user_for_role(make, role)
        return log_in(test_client, test_client.user)

    return client_as
