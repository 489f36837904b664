"""Times issue 17's report tables at bench scale and prints one JSON line.

    .venv/bin/python -m bench.report_tables [--seed/--no-seed]

On its own PostgreSQL database (BENCH_TABLES_DATABASE_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/vouch_bench_tables; created and migrated here; with
--seed, the default, its rows are replaced by 100,000 advocates in 7 groups, 1,000 challenges,
2,000,000 completions over two years (about 250,000 a quarter; 80 % approved after 0–96 hours)
and an ask for every second completion). For this quarter and last quarter it times, median of 3
after one warm-up, what the reports page reads: per challenge, per group, the first page of
advocates with their asks, the first page of redemptions, and the first page of the audit log.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import time
from collections.abc import Callable

import click

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/vouch_bench_tables"

SEED = [
    "TRUNCATE users, advocates, tier_day_totals, groups, advocate_groups, challenges, completions, asks, "
    "audit_entries, redemptions CASCADE",
    """INSERT INTO users (email, name, role, is_active_user, created_at)
       SELECT 't' || g || '@example.com', 'Advocate ' || g, 'advocate', true, now()
       FROM generate_series(1, 100000) g""",
    """INSERT INTO advocates (user_id, tier, balance, lifetime_points, show_on_leaderboard, available_for_references,
                              preferences, joined_at, is_erased)
       SELECT id, 'bronze', 0, 0, true, true, '{}', now(), false FROM users""",
    # Their joins in the tier totals (hub.tier_totals): no tier change yet.
    """INSERT INTO tier_day_totals (day, tier, shard, advocates)
       SELECT CAST(timezone('UTC', joined_at) AS DATE), tier, id % 8, count(*) FROM advocates GROUP BY 1, 2, 3""",
    "INSERT INTO groups (name, created_at) SELECT 'Group ' || g, now() FROM generate_series(1, 7) g",
    "INSERT INTO advocate_groups (advocate_id, group_id) SELECT a.id, 1 + (a.id % 7) FROM advocates a",
    """INSERT INTO challenges (title, type, description, points, bonus_points, effort, verification, evidence,
                              allowed_domains, cooldown_days, max_per_advocate, target_tiers, status, created_at,
                              updated_at)
       SELECT 'Challenge ' || g, 'custom', '', 100, 0, 'medium', 'manual', '[]', '[]', 0, 100, '[]', 'published',
              now(), now() FROM generate_series(1, 1000) g""",
    # Two years up to now, one completion every 31.5 s; undecided ones only among the newest
    # 100,000, where each (challenge, advocate) pair occurs once (one open completion per pair).
    """INSERT INTO completions (challenge_id, advocate_id, status, points_offered, points_awarded,
                                verification_attempts, submitted_at, decided_at, is_auto_approved)
       SELECT 1 + (g % 1000), 1 + (g % 100000),
              CASE WHEN g % 10 < 8 THEN 'approved' WHEN g % 10 = 8 OR g <= 1900000 THEN 'rejected'
                   ELSE 'pending_review' END,
              100, CASE WHEN g % 10 < 8 THEN 100 END, 0,
              now() - interval '730 days' + g * interval '31.5 seconds',
              CASE WHEN g % 10 < 9 OR g <= 1900000
                   THEN now() - interval '730 days' + g * interval '31.5 seconds' + (g % 97) * interval '1 hour' END,
              false
       FROM generate_series(1, 2000000) g""",
    """INSERT INTO asks (advocate_id, kind, source_type, source_id, asked_at)
       SELECT advocate_id, 'medium', 'completion', id::text, submitted_at FROM completions WHERE id % 2 = 0""",
]


def _create_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    admin = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def _timed(work: Callable[[], object], runs: int = 3) -> float:
    from hub.extensions import db

    work()
    db.session.rollback()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    return round(statistics.median(times), 1)


def _tables(start: dt.datetime, end: dt.datetime) -> dict[str, float]:
    from challenges import report_tables
    from hub.audit import AuditFilter, audit_page
    from rewards.services import redemption_table

    return {
        "per_challenge_ms": _timed(lambda: report_tables.challenge_performance(start, end)),
        "per_group_ms": _timed(lambda: report_tables.group_performance(start, end)),
        "asks_page_ms": _timed(lambda: report_tables.advocate_asks(start, end, limit=20)),
        "redemptions_page_ms": _timed(lambda: redemption_table.redemption_table(start, end, limit=20)),
        "audit_page_ms": _timed(lambda: audit_page(AuditFilter(), 50, 0)),
    }


@click.command()
@click.option("--seed/--no-seed", default=True, help="Replace the rows first (about 4 minutes).")
def main(seed: bool) -> None:
    """Seed (optionally) and time the report tables; prints one JSON line."""
    url = os.environ.get("BENCH_TABLES_DATABASE_URL", DEFAULT_URL)
    _create_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench")
    from flask_migrate import upgrade
    from sqlalchemy import text

    from admin.periods import PeriodQuery, resolve
    from hub.app import create_app
    from hub.db import utcnow
    from hub.extensions import db

    app = create_app()
    figures: dict[str, object] = {}
    with app.app_context():
        upgrade()
        if seed:
            started = time.perf_counter()
            for statement in SEED:
                db.session.execute(text(statement))
            # The per-challenge day summaries, as `flask challenges rebuild-act-totals` counts them.
            from challenges.services.completion_tallies import rebuild_completion_totals

            rebuild_completion_totals()
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            figures["seed_s"] = round(time.perf_counter() - started, 1)
        figures["completions"] = db.session.execute(text("SELECT count(*) FROM completions")).scalar_one()
        today = utcnow().date()
        with app.test_request_context():
            for preset in ("this_quarter", "last_quarter"):
                period = resolve(PeriodQuery.model_validate({"period": preset}), today)
                figures[preset] = _tables(period.starts_at, period.ends_before)
        figures["load_average"] = round(os.getloadavg()[0], 1)
        figures["measured_on"] = dt.date.today().isoformat()
    click.echo(json.dumps(figures))


if __name__ == "__main__":
    main()
