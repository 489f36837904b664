"""The test settings: which databases and Redis namespace a run (and each xdist worker) uses,
how a test app is built and migrated, and how its tables are emptied."""

from __future__ import annotations

import os
import secrets

from flask import Flask
from sqlalchemy import text

TEST_PASSWORD = "correct horse battery"
REQUIRE_SERVICES = os.environ.get("VOUCH_REQUIRE_SERVICES") == "1"
PG_URL = os.environ.get("VOUCH_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("VOUCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# One id per run, shared with the xdist workers through the environment; each worker adds its
# own name (gw0, gw1, …) so parallel workers never share a PostgreSQL database or Redis keys.
RUN_ID = os.environ.setdefault("VOUCH_TEST_RUN_ID", f"{os.getpid()}{secrets.token_hex(2)}")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_ID = f"{RUN_ID}{WORKER}"


def build_app(database_url: str, **overrides) -> Flask:
    """The app in test configuration on `database_url` (jobs in-process unless REDIS_URL is
    given; CSRF and rate limits off unless overridden)."""
    from hub.app import create_app

    config = {
        "VOUCH_ENV": "test",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "REDIS_URL": None,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "VOUCH_BASE_URL": "http://vouch.test",
        "VOUCH_REDIS_NAMESPACE": f"vouchtest{WORKER_ID}",
        # A loaded test machine answers slower than production's 0.3 s default; a test that
        # wants the short timeout (tests/hub/test_hung_redis.py) sets its own.
        "VOUCH_REDIS_TIMEOUT": 2.0,
        # The hub's program activity is read fresh in tests (its per-process cache has its own
        # test: tests/challenges/test_program_activity.py).
        "VOUCH_ACTIVITY_CACHE_SECONDS": 0,
    }
    config.update(overrides)
    return create_app(config)


def migrate(app: Flask) -> None:
    """`flask db upgrade` on the app's database."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def clear_tables(app: Flask) -> None:
    """Empty every table (PostgreSQL: TRUNCATE … RESTART IDENTITY), the app's Redis keys and its
    RQ queue: the cleanup after a test whose work committed on several connections."""
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
        clear_redis(app)


def clear_redis(app: Flask) -> None:
    """Delete the app's Redis keys (its namespace) and empty its RQ queue."""
    redis = app.extensions.get("vouch_redis")
    if redis is not None:
        for key in redis.scan_iter(match=f"{app.config['VOUCH_REDIS_NAMESPACE']}*"):
            redis.delete(key)
    backend = app.extensions.get("vouch_queue")
    if hasattr(backend, "queue"):  # RQ: no job of this test waits for a later test's worker
        backend.queue().empty()
