"""Migrations build the schema from nothing, and the models agree with them (no drift)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

ROOT = Path(__file__).resolve().parents[2]
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def flask_cli(args: list[str], database_url: str) -> subprocess.CompletedProcess:
    env = os.environ | {"DATABASE_URL": database_url, "VOUCH_ENV": "test", "SECRET_KEY": "migration-test"}
    env.pop("REDIS_URL", None)
    return subprocess.run([*FLASK, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.multi_connection
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
@pytest.mark.multi_connection  # migrates through its own connection
def test_postgres_upgrade_and_no_drift(pg_app):
    """pg_app was built by `flask db upgrade` on an empty database; `flask db check` finds nothing."""
    from flask_migrate import check

    with pg_app.app_context():
        check()  # exits (SystemExit) when models and migrations disagree


BEFORE_RENAMES = "56b8b5f3e5e6"  # the revision before 20261130_3f6a1c2d9b7e (tables named like their models)
AT = {"at": "2026-01-05 10:00:00"}  # a UTC time as both databases read it from text
OLD_ROWS = [
    "INSERT INTO users (id, email, name, role, is_active_user, created_at) "
    "VALUES (1, 'ada@example.com', 'Ada', 'advocate', true, :at)",
    "INSERT INTO advocates (id, user_id, tier, balance, lifetime_points, show_on_leaderboard, "
    "available_for_references, preferences, joined_at, is_erased) "
    "VALUES (1, 1, 'bronze', 0, 0, true, true, '{}', :at, false)",
    "INSERT INTO crm_opportunities (id, external_id, name, account, account_key, amount, currency, stage, is_closed, "
    "is_won, created_date, contact_emails, reference_request_ids, created_at, updated_at, version) "
    "VALUES (1, 'OPP-1', 'Deal', 'Acme', 'acme', 1000, 'USD', 'won', true, true, '2026-01-01', '[]', '[]', "
    ":at, :at, 1)",
    "INSERT INTO attribution_touches (opportunity_id, advocate_id, kind, touched_at) VALUES (1, 1, 'referral', :at)",
    "INSERT INTO attribution_credits (opportunity_id, advocate_id, currency, is_closed, is_won, sourced_amount, "
    "influenced_amount) VALUES (1, 1, 'USD', true, true, 1000, 1000)",
    "INSERT INTO attribution_thanks (opportunity_id, advocate_id, created_at) VALUES (1, 1, :at)",
    "INSERT INTO email_outbox (id, to_address, subject, body_text, kind, status, attempts, created_at, dedupe_key) "
    "VALUES (1, 'ada@example.com', 'Hi', 'Hello', 'test', 'queued', 0, :at, 'once')",
    "INSERT INTO audit_log (id, actor_id, action, created_at) VALUES (1, 1, 'test.action', :at)",
]
RENAMED = {
    "crm_opportunities": "opportunities",
    "attribution_thanks": "deal_thanks",
    "email_outbox": "outbox_emails",
    "audit_log": "audit_entries",
}
POINTING_AT_OPPORTUNITIES = ("attribution_touches", "attribution_credits")


def _count(table: str) -> int:
    from hub.extensions import db

    return db.session.execute(text(f'SELECT count(*) FROM "{table}"')).scalar()  # noqa: S608


def _rows_survive_the_renames(application) -> None:
    """Rows written under the old table names are all there under the new names, and back again
    after a downgrade; the foreign keys follow the renamed tables (a deleted opportunity still
    takes its touches, credits and thanks with it)."""
    from flask_migrate import downgrade, upgrade

    from hub.extensions import db

    def migrate(step, **kwargs) -> None:
        db.session.remove()  # no open transaction may hold the tables the migration renames
        step(**kwargs)

    with application.app_context():
        migrate(upgrade)
        migrate(downgrade, revision=BEFORE_RENAMES)
        for sql in OLD_ROWS:
            db.session.execute(text(sql), AT)
        db.session.commit()
        migrate(upgrade)
        assert {new: _count(new) for new in RENAMED.values()} == {new: 1 for new in RENAMED.values()}
        assert not set(RENAMED) & set(inspect(db.session.connection()).get_table_names())
        migrate(downgrade, revision=BEFORE_RENAMES)
        assert {old: _count(old) for old in RENAMED} == {old: 1 for old in RENAMED}
        migrate(upgrade)
        db.session.execute(text("DELETE FROM opportunities WHERE id = 1"))
        db.session.commit()
        assert [_count(t) for t in (*POINTING_AT_OPPORTUNITIES, "deal_thanks")] == [0, 0, 0]
        assert _count("outbox_emails") == _count("audit_entries") == 1
        db.session.remove()


def test_table_renames_keep_every_row_on_sqlite(app_factory):
    _rows_survive_the_renames(app_factory())


@pytest.mark.services
def test_table_renames_keep_every_row_on_postgres(pg_url):
    import psycopg

    from tests.support.environment import PG_URL, build_app

    admin_url = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    name = pg_url.rsplit("/", 1)[1] + "_renames"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    application = build_app(pg_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        _rows_survive_the_renames(application)
    finally:
        from hub.extensions import db

        with application.app_context():
            db.engine.dispose()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
