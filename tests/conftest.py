"""Shared fixtures for every tier.

- `app` (session): the app on a fresh SQLite file migrated with `flask db upgrade`.
  Every test starts from empty tables (rows are deleted after each test, which also
  works for code that commits and for jobs running on other connections/threads).
- `pg_app` (session, `-m services`): the same on a fresh PostgreSQL database created for
  this run, plus a real Redis. Missing services skip with a reason, or fail when
  VOUCH_REQUIRE_SERVICES=1 (CI).
- Factories: `make_user`, `make_advocate`; `api` builds a bearer-token JSON client;
  `login` logs a test client in; `jobs` is the in-process queue (`jobs.join()` waits).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

TEST_PASSWORD = "correct horse battery"
REQUIRE_SERVICES = os.environ.get("VOUCH_REQUIRE_SERVICES") == "1"
PG_URL = os.environ.get("VOUCH_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("VOUCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Kept in the environment so `tests.conftest` imported by a test module (a second module
# object beside pytest's own `conftest`) names the same database and Redis namespace.
RUN_ID = os.environ.setdefault("VOUCH_TEST_RUN_ID", f"{os.getpid()}{secrets.token_hex(2)}")


def build_app(database_url: str, **overrides) -> Flask:
    from hub.app import create_app

    config = {
        "VOUCH_ENV": "test",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "REDIS_URL": None,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "VOUCH_BASE_URL": "http://vouch.test",
        "VOUCH_REDIS_NAMESPACE": f"vouchtest{RUN_ID}",
        # A loaded test machine answers slower than production's 0.3 s default; a test that
        # wants the short timeout (tests/hub/test_hung_redis.py) sets its own.
        "VOUCH_REDIS_TIMEOUT": 2.0,
    }
    config.update(overrides)
    return create_app(config)


def migrate(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def clear_tables(app: Flask) -> None:
    from hub.extensions import db

    with app.app_context():
        db.session.remove()
        tables = list(reversed(db.metadata.sorted_tables))
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(table.delete())
        redis = app.extensions.get("vouch_redis")
        if redis is not None:
            for key in redis.scan_iter(match=f"{app.config['VOUCH_REDIS_NAMESPACE']}*"):
                redis.delete(key)
        backend = app.extensions.get("vouch_queue")
        if hasattr(backend, "queue"):  # RQ: no job of this test waits for a later test's worker
            backend.queue().empty()


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
    yield
    assert premature == [], f"jobs sent inside an open transaction: {premature}"


@pytest.fixture(autouse=True)
def _clean_database(request) -> Iterator[None]:
    yield
    for name in ("app", "pg_app"):
        if name in request.fixturenames:
            application = request.getfixturevalue(name)
            queue = application.extensions.get("vouch_queue")
            if hasattr(queue, "join"):
                queue.join()
            clear_tables(application)


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
    name = f"vouch_t_{RUN_ID}"
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


class Factory:
    """Creates committed rows; works inside any app context."""

    def __init__(self) -> None:
        self.counter = 0

    def _email(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}-{secrets.token_hex(3)}@example.com"

    def user(
        self,
        role: str = "advocate",
        email: str | None = None,
        name: str | None = None,
        password: str | None = TEST_PASSWORD,
    ):
        from hub import accounts
        from hub.extensions import db

        user = accounts.create_user(
            email or self._email(role), name or f"{role.title()} {self.counter}", role, password
        )
        db.session.commit()
        return user

    def advocate(
        self,
        points: int = 0,
        groups: tuple[str, ...] = (),
        email: str | None = None,
        name: str | None = None,
        **profile,
    ):
        from hub import accounts
        from hub.extensions import db
        from rewards.ledger import post_entry

        self.counter += 1
        advocate = accounts.create_advocate(
            accounts.AdvocateProfile(
                email=email or self._email("adv"),
                name=name or f"Advocate {self.counter}",
                groups=tuple(groups),
                **profile,
            ),
            None,
            TEST_PASSWORD,
        )
        if points:
            post_entry(
                advocate.id,
                points,
                kind="earn",
                source_type="test",
                source_id=f"seed-{advocate.id}",
                memo="Seed points",
            )
        db.session.commit()
        return advocate

    def token(self, user) -> str:
        from hub import tokens
        from hub.extensions import db

        _, plaintext = tokens.create_api_token(user, "test", None)
        db.session.commit()
        return plaintext


@pytest.fixture()
def make() -> Factory:
    return Factory()


@pytest.fixture()
def make_user(ctx, make: Factory) -> Callable:
    return make.user


@pytest.fixture()
def make_advocate(ctx, make: Factory) -> Callable:
    return make.advocate


class ApiClient:
    """A JSON client acting as one user through a bearer token."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kw):
        return self.client.get(f"/api/v1{path}", headers=self.headers | kw.pop("headers", {}), **kw)

    def post(self, path: str, json=None, **kw):
        return self.client.post(
            f"/api/v1{path}", json=json if json is not None else {}, headers=self.headers | kw.pop("headers", {}), **kw
        )

    def patch(self, path: str, json=None, **kw):
        return self.client.patch(f"/api/v1{path}", json=json or {}, headers=self.headers | kw.pop("headers", {}), **kw)


@pytest.fixture()
def api(app: Flask, ctx, make: Factory) -> Callable[..., ApiClient]:
    def for_user(user) -> ApiClient:
        return ApiClient(app.test_client(), make.token(user))

    return for_user


@pytest.fixture()
def login(ctx) -> Callable[[FlaskClient, object], FlaskClient]:
    def do_login(test_client: FlaskClient, user, password: str = TEST_PASSWORD) -> FlaskClient:
        response = test_client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.data[:300]
        return test_client

    return do_login
