"""Time an advocate's data export (issue 14: 10,000 ledger rows export in under a second).

    .venv/bin/python -m bench.export            (from the repository root)

Uses `DATABASE_URL` (default `postgresql+psycopg://postgres@127.0.0.1:5432/vouch_bench_export`,
created if missing), migrates it, and (once) seeds one advocate with `--rows` ledger entries
plus a share of completions with evidence, redemptions, notifications and asks. Then it calls
`GET /api/v1/me/export` `--runs` times through the app (in process: the request's whole server
side — authentication, queries, the reply model, JSON — without a network hop) and prints the
time of each run, the median, best and worst, the app process's CPU time, the load average
(other work on the machine inflates wall time), and the document's size. Nothing is asserted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import time

import click
import psycopg
from sqlalchemy import func, insert, select

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/vouch_bench_export"
EMAIL = "export.bench@example.com"


def ensure_database(url: str) -> None:
    base, _, name = url.rpartition("/")
    admin = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def seed(rows: int) -> int:
    """One advocate with `rows` ledger entries (and a tenth as many completions, asks and
    notifications, a hundredth as many redemptions); returns the advocate's user id."""
    from challenges.models import Ask, AskKind, Challenge, Completion, CompletionStatus, Effort
    from hub import accounts
    from hub.db import table_of
    from hub.extensions import db
    from hub.models import Advocate, Notification, User
    from rewards.models import EntryKind, LedgerEntry, Redemption, RedemptionStatus, Reward, RewardKind

    user = db.session.scalar(select(User).where(User.email == EMAIL))
    if user is not None:
        return user.id
    advocate = accounts.create_advocate(
        accounts.AdvocateProfile(email=EMAIL, name="Export Bench", company="Bench Co"), None, "bench password 1"
    )
    challenge = Challenge(title="Bench", type="custom", points=10, effort=Effort.LOW, verification="manual")
    reward = Reward(name="Bench mug", kind=RewardKind.SWAG, points_cost=10)
    db.session.add_all([challenge, reward])
    db.session.flush()
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    step = dt.timedelta(minutes=17)
    db.session.execute(
        insert(LedgerEntry),
        [
            {
                "advocate_id": advocate.id,
                "delta": 10,
                "kind": EntryKind.EARN,
                "source_type": "bench",
                "source_id": str(i),
                "memo": f"Bench entry {i}",
                "created_at": start + i * step,
            }
            for i in range(rows)
        ],
    )
    db.session.execute(
        insert(Completion),
        [
            {
                "challenge_id": challenge.id,
                "advocate_id": advocate.id,
                "status": CompletionStatus.APPROVED,
                "evidence_url": f"https://example.com/review/{i}",
                "evidence_text": "A paragraph of evidence text. " * 8,
                "points_offered": 10,
                "points_awarded": 10,
                "submitted_at": start + i * step,
                "source_key": f"bench-{i}",
            }
            for i in range(rows // 10)
        ],
    )
    db.session.execute(
        insert(Ask),
        [
            {
                "advocate_id": advocate.id,
                "kind": AskKind.MEDIUM,
                "source_type": "bench",
                "source_id": str(i),
                "asked_at": start + i * step,
            }
            for i in range(rows // 10)
        ],
    )
    db.session.execute(
        insert(Notification),
        [
            {"user_id": advocate.user_id, "kind": "points", "text": f"Notification {i}", "created_at": start + i * step}
            for i in range(rows // 10)
        ],
    )
    db.session.execute(
        insert(Redemption),
        [
            {
                "reward_id": reward.id,
                "advocate_id": advocate.id,
                "points": 10,
                "status": RedemptionStatus.FULFILLED,
                "note": "Ship to the office",
                "created_at": start + i * step,
                "updated_at": start + i * step,
            }
            for i in range(rows // 100)
        ],
    )
    total = rows * 10 - (rows // 100) * 10
    db.session.execute(
        table_of(Advocate).update().where(Advocate.id == advocate.id).values(balance=total, lifetime_points=rows * 10)
    )
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(LedgerEntry.advocate_id == advocate.id)) == rows
    return advocate.user_id


@click.command()
@click.option("--rows", default=10_000, show_default=True, help="Ledger entries of the advocate.")
@click.option("--runs", default=7, show_default=True)
def main(rows: int, runs: int) -> None:
    from flask_migrate import upgrade

    from hub import tokens
    from hub.app import create_app
    from hub.extensions import db
    from hub.models import User

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    app = create_app(
        {"DATABASE_URL": url, "REDIS_URL": None, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False, "VOUCH_ENV": "test"}
    )
    with app.app_context():
        upgrade()
        user_id = seed(rows)
        _, token = tokens.create_api_token(db.session.get_one(User, user_id), "bench", None)
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    times, cpu, size = [], [], 0
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        response = client.get("/api/v1/me/export", headers=headers)
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
        assert response.status_code == 200, response.status_code
        size = len(response.data)
    document = json.loads(response.data)
    counts = {k: len(v) for k, v in document.items() if isinstance(v, list)}
    click.echo(
        f"export of {counts['ledger']:,} ledger rows, {counts['completions']:,} completions: {size / 1e6:.1f} MB"
    )
    click.echo("runs (ms): " + ", ".join(f"{t * 1000:.0f}" for t in times))
    median, best, worst = (f(times) * 1000 for f in (statistics.median, min, max))
    click.echo(f"wall: median {median:.0f} ms, best {best:.0f} ms, worst {worst:.0f} ms")
    click.echo(
        f"app CPU (this process; PostgreSQL's share not included): median {statistics.median(cpu) * 1000:.0f} ms"
    )
    click.echo(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    figures = {
        "rows": rows,
        "median_ms": round(statistics.median(times) * 1000),
        "best_ms": round(min(times) * 1000),
        "max_ms": round(max(times) * 1000),
        "cpu_median_ms": round(statistics.median(cpu) * 1000),
        "bytes": size,
    }
    click.echo(json.dumps(figures))


if __name__ == "__main__":
    main()
