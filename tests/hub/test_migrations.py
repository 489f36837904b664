"""Migrations build the schema from nothing, and the models agree with them (no drift)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

ROOT = Path(__file__).resolve().parents[2]
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def flask_cli(args: list[str], database_url: str) -> subprocess.CompletedProcess:
    env = os.environ | {"DATABASE_URL": database_url, "VOUCH_ENV": "test", "SECRET_KEY": "migration-test"}
    env.pop("REDIS_URL", None)
    return subprocess.run([*FLASK, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_upgrade_on_an_empty_sqlite_database_then_check(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade = flask_cli(["db", "upgrade"], url)
    assert upgrade.returncode == 0, upgrade.stderr
    check = flask_cli(["db", "check"], url)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr


def test_migrated_schema_has_every_model_table(app, ctx):
    from hub.extensions import db

    tables = set(inspect(db.engine).get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_downgrade_to_base_and_back(app_factory):
    from flask_migrate import downgrade, upgrade

    from hub.extensions import db

    application = app_factory()
    with application.app_context():
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "ledger_entries" in inspect(db.engine).get_table_names()


@pytest.mark.services
def test_postgres_upgrade_and_no_drift(pg_app):
    """pg_app was built by `flask db upgrade` on an empty database; `flask db check` finds nothing."""
    from flask_migrate import check

    with pg_app.app_context():
        check()  # exits (SystemExit) when models and migrations disagree
