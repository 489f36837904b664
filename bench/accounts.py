"""Times issue 15's account and advocacy-score work at bench scale and prints one JSON line.

    .venv/bin/python -m bench.accounts [--advocates 100000] [--opportunities 200000] [--scores 50000]

On its own PostgreSQL database (BENCH_ACCOUNTS_DATABASE_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/vouch_bench_accounts; created and migrated here,
its rows replaced each run):
- the migration's backfill: `hub.account_links.relink_all` over advocates and opportunities
  written without an account (what `flask db upgrade` runs on existing data);
- the full relink and recount (`flask challenges relink-accounts`: the recount of what the relink
  may change, with every account summary rebuilt), and the same with `--full-recount`;
- the account summaries' rebuild alone (the daily job, `flask challenges refresh-account-summaries`);
- `GET /api/v1/accounts?coverage=gap` (median and worst of 5, after one warm-up: one indexed
  read of the summaries), and the whole gap list computed from scratch with every row's won
  revenue (median of 3) for comparison;
- a 50,000-row advocacy-score import (`challenges.prospects.scores`, batch by batch as the job
  does), and the same file again (every row an update).
"""

from __future__ import annotations

import json
import os
import statistics
import time

import click

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/vouch_bench_accounts"
HEADER = "email,name,company,nps,feature_adoption_pct,health_score,tenure_months,social_mentions,responded_before"


def _create_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    admin = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


SEED = [
    "TRUNCATE users, advocates, tier_day_totals, accounts, opportunities, advocacy_scores, score_imports, "
    "attribution_touches, "
    "attribution_credits, api_tokens CASCADE",
    """INSERT INTO users (email, name, role, is_active_user, created_at)
       SELECT 'b' || i || '@' || CASE WHEN i % 5 = 0 THEN 'gmail.com' ELSE 'co' || (i % 20000) || '.com' END,
              'Bench ' || i, 'advocate', true, now() FROM generate_series(1, :advocates) AS i""",
    """INSERT INTO advocates (user_id, company, industry, company_size, region, tier, balance, lifetime_points,
                              show_on_leaderboard, available_for_references, preferences, joined_at, is_erased)
       SELECT u.id,
              CASE WHEN u.id % 7 = 0 THEN NULL ELSE
                'Company ' || (u.id % 20000) || CASE u.id % 3 WHEN 0 THEN ' Inc' WHEN 1 THEN ', Ltd.' ELSE '' END END,
              (ARRAY['Healthcare', 'Software', 'Retail', 'Finance', 'Energy'])[1 + u.id % 5],
              (ARRAY['1-50', '51-200', '201-1000', '1001-5000', '5000+'])[1 + u.id % 5],
              (ARRAY['EMEA', 'AMER', 'APAC'])[1 + u.id % 3],
              'bronze', 0, 0, true, u.id % 4 <> 0, '{}', now() - make_interval(days => u.id % 700), false
       FROM users u WHERE u.role = 'advocate'""",
    # Their joins in the tier totals (hub.tier_totals): no tier change yet.
    """INSERT INTO tier_day_totals (day, tier, shard, advocates)
       SELECT CAST(timezone('UTC', joined_at) AS DATE), tier, id % 8, count(*) FROM advocates GROUP BY 1, 2, 3""",
    """INSERT INTO opportunities (external_id, name, account, account_key, amount, currency, stage, is_closed, is_won,
                                  created_date, close_date, close_cutoff_at, cycle_days, contact_emails,
                                  reference_request_ids, created_at, updated_at, version)
       SELECT 'B-' || i, 'Deal ' || i, 'company ' || (i % 25000), 'company ' || (i % 25000),
              (i % 99991) + 0.5, 'USD', CASE WHEN i % 3 = 0 THEN 'Closed' ELSE 'Open' END, i % 3 = 0, i % 6 = 0,
              DATE '2025-01-01' + (i % 600),
              CASE WHEN i % 3 = 0 THEN DATE '2025-01-01' + (i % 600) + 30 END,
              CASE WHEN i % 3 = 0 THEN (DATE '2025-01-01' + (i % 600) + 31)::timestamptz END,
              CASE WHEN i % 3 = 0 THEN 30 END, '[]', '[]', now(), now(), 1
       FROM generate_series(1, :opportunities) AS i""",
]


def _score_file(n: int) -> bytes:
    lines = [HEADER]
    for i in range(n):
        lines.append(
            f"c{i}@cust{i % 9000}.com,Contact {i},Cust {i % 9000},{i % 11},{i % 101},{i % 100},{i % 40},{i % 3},{i % 2}"
        )
    return ("\n".join(lines) + "\n").encode()


def _seed_and_link(figures: dict, advocates: int, opportunities: int) -> None:
    from sqlalchemy import text

    from challenges.accounts.services import relink_everything
    from hub.account_links import relink_all
    from hub.extensions import db

    started = time.perf_counter()
    for statement in SEED:
        db.session.execute(text(statement), {"advocates": advocates, "opportunities": opportunities})
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    figures["seed_s"] = round(time.perf_counter() - started, 1)
    click.echo(f"seeded: {figures}", err=True)

    started = time.perf_counter()
    backfill = relink_all(db.session.connection())
    db.session.commit()
    figures["migration_backfill_s"] = round(time.perf_counter() - started, 1)
    figures["accounts_created"] = backfill.accounts_created
    figures["advocates_linked"] = backfill.advocates_changed
    figures["opportunities_linked"] = backfill.opportunities_changed

    for label, full in (("full_relink_and_recount_s", False), ("full_relink_and_full_recount_s", True)):
        started = time.perf_counter()
        _, recounted = relink_everything(full_recount=full)
        db.session.commit()
        figures[label] = round(time.perf_counter() - started, 1)
        figures[label.replace("_s", "_opportunities")] = recounted
    click.echo(f"relinked: {figures}", err=True)


@click.command()
@click.option("--advocates", default=100_000, show_default=True)
@click.option("--opportunities", default=200_000, show_default=True)
@click.option("--scores", "score_rows", default=50_000, show_default=True)
@click.option(
    "--reuse", is_flag=True, help="Keep the seeded, linked data of the last run: time only the reads and imports."
)
def main(advocates: int, opportunities: int, score_rows: int, reuse: bool) -> None:
    url = os.environ.get("BENCH_ACCOUNTS_DATABASE_URL", DEFAULT_URL)
    _create_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only")
    from flask_migrate import upgrade
    from sqlalchemy import text

    from challenges.accounts.summaries import rebuild_all
    from challenges.prospects import scores
    from hub import accounts, tokens
    from hub.app import create_app
    from hub.extensions import db

    app = create_app()
    figures: dict[str, object] = {"load_average_start": [round(x, 1) for x in os.getloadavg()]}
    with app.app_context():
        upgrade()
        if reuse:
            db.session.execute(text("TRUNCATE advocacy_scores, score_imports, api_tokens CASCADE"))
            db.session.execute(text("DELETE FROM users WHERE email = 'bench-owner@example.com'"))
            db.session.commit()
        started = time.perf_counter()
        if not reuse:
            _seed_and_link(figures, advocates, opportunities)
        started = time.perf_counter()
        figures["summaries_rows_written"] = rebuild_all()
        db.session.commit()
        figures["summaries_rebuild_s"] = round(time.perf_counter() - started, 1)
        # what autovacuum does after the seed's and the rebuilds' churn (its thresholds are far
        # passed; on this busy VM it had not run): without it, counting the gaps scans dead rows
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE account_summaries"))

        owner = accounts.create_user("bench-owner@example.com", "Bench Owner", "owner")
        _, token = tokens.create_api_token(owner, "bench", None)
        db.session.commit()
        owner_id = owner.id

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"}
    timings = []
    for attempt in range(6):
        started = time.perf_counter()
        response = client.get("/api/v1/accounts?coverage=gap&per_page=50", headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        if attempt:
            timings.append(elapsed)
    figures["coverage_gap_ms_median"] = round(statistics.median(timings), 1)
    figures["coverage_gap_ms_max"] = round(max(timings), 1)
    figures["coverage_gap_accounts"] = (response.json or {})["total"]
    with app.app_context():
        from challenges.accounts import queries

        whole = []
        for _ in range(3):
            started = time.perf_counter()
            queries.account_rows(gap=True)
            whole.append((time.perf_counter() - started) * 1000)
            db.session.rollback()
        # every gap row with its won revenue and last act: what each request summed before the
        # list was read a page at a time (queries.account_page)
        figures["coverage_gap_whole_list_ms_median"] = round(statistics.median(whole), 1)
    click.echo(f"coverage: {figures}", err=True)

    body = _score_file(score_rows)
    with app.app_context():
        for label in ("score_import_s", "score_reimport_s"):
            started = time.perf_counter()
            job = scores.start_import("bench.csv", body, owner_id, run_now=True)
            db.session.commit()
            figures[label] = round(time.perf_counter() - started, 1)
            figures[label.replace("_s", "_counts")] = [job.imported_count, job.updated_count, len(job.errors)]
    figures["load_average_end"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
