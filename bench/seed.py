"""Bulk-generate a realistic program with set-based inserts (never one ORM object per row).

    python bench/seed.py --advocates 100000 --ledger 3000000      (or: flask bench seed …)

Writes through SQLAlchemy Core executemany batches (psycopg 3 pipelines them; SQLite runs
them in one transaction per batch), then rebuilds every cache from the ledger the same way
production does (`rewards.ledger.rebuild_caches`, set-based tier update, `leaderboard.rebuild`),
so balances, tiers and leaderboards end consistent with the ledger.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BATCH = 10_000
INDUSTRIES = ("Software", "Healthcare", "Finance", "Retail", "Manufacturing", "Education", "Government", "Media")
SIZES = ("1-50", "51-200", "201-1000", "1001-5000", "5000+")
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
GROUPS = ("EMEA", "Healthcare CIOs", "Product Council", "APAC Champions", "Startups", "Enterprise", "Beta testers")
MEMOS = ("Review on G2 approved", "Reference call", "Webinar attended", "Community answer accepted", "Case study")
BENCH_PASSWORD_HASH = "!bench-no-login"  # noqa: S105 - not a hash: bench advocates use API tokens


@dataclass
class SeedPlan:
    advocates: int = 100_000
    ledger: int = 3_000_000
    seed: int = 42
    extra: list[Callable[[SeedPlan, random.Random], str]] = field(default_factory=list)


def batched(rows: Iterator[dict], size: int = BATCH) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_rows(table, rows: Iterator[dict], total: int, label: str) -> int:
    from hub.extensions import db

    written = 0
    with click.progressbar(length=total, label=label.ljust(22), show_pos=True) as bar:
        for batch in batched(rows):
            db.session.execute(table.insert(), batch)
            db.session.commit()
            written += len(batch)
            bar.update(len(batch))
    return written


def next_id(table) -> int:
    from sqlalchemy import func, select

    from hub.extensions import db

    return (db.session.scalar(select(func.max(table.c.id))) or 0) + 1


def seed_people(plan: SeedPlan, rng: random.Random) -> tuple[int, int]:
    """Users + advocates + groups; returns the first and last advocate id."""
    from sqlalchemy import select

    from hub.db import utcnow
    from hub.extensions import db
    from hub.models import Advocate, Group, User, advocate_groups

    now = utcnow()
    users, advocates, groups = User.__table__, Advocate.__table__, Group.__table__
    existing = set(db.session.scalars(select(Group.name)))
    db.session.execute(groups.insert(), [{"name": g, "created_at": now} for g in GROUPS if g not in existing] or
                       [{"name": f"Bench group {rng.randint(1, 10**9)}", "created_at": now}])
    db.session.commit()
    group_ids = list(db.session.scalars(select(Group.id)))
    first_user, first_adv = next_id(users), next_id(advocates)
    tag = f"{rng.randint(0, 36**5):05x}"

    def user_rows() -> Iterator[dict]:
        for i in range(plan.advocates):
            yield {"id": first_user + i, "email": f"bench{tag}-{i}@example.com", "name": f"Bench Advocate {i}",
                   "role": "advocate", "password_hash": BENCH_PASSWORD_HASH, "is_active_user": True,
                   "created_at": now}

    def advocate_rows() -> Iterator[dict]:
        for i in range(plan.advocates):
            joined = now - dt.timedelta(days=rng.randint(1, 1500))
            yield {"id": first_adv + i, "user_id": first_user + i, "company": f"Company {rng.randint(1, 20000)}",
                   "industry": rng.choice(INDUSTRIES), "company_size": rng.choice(SIZES),
                   "region": rng.choice(REGIONS), "tier": "bronze", "balance": 0, "lifetime_points": 0,
                   "show_on_leaderboard": rng.random() > 0.1, "available_for_references": rng.random() > 0.2,
                   "preferences": {}, "joined_at": joined, "is_erased": False,
                   "last_activity_at": now - dt.timedelta(days=rng.randint(0, 400))}

    def membership_rows() -> Iterator[dict]:
        for i in range(plan.advocates):
            for gid in rng.sample(group_ids, k=rng.choice((0, 1, 1, 2))):
                yield {"advocate_id": first_adv + i, "group_id": gid}

    insert_rows(users, user_rows(), plan.advocates, "users")
    insert_rows(advocates, advocate_rows(), plan.advocates, "advocates")
    insert_rows(advocate_groups, membership_rows(), int(plan.advocates * 1.0), "group memberships")
    sync_sequences(users, advocates)
    return first_adv, first_adv + plan.advocates - 1


def sync_sequences(*tables) -> None:
    """Explicit ids were inserted; move PostgreSQL's sequences past them."""
    from hub.extensions import db

    if db.engine.dialect.name != "postgresql":
        return
    for table in tables:
        name = table.name  # from our own metadata, never user input
        db.session.execute(db.text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {name}))"  # noqa: S608
        ))
    db.session.commit()


def seed_ledger(plan: SeedPlan, rng: random.Random, first_adv: int, last_adv: int) -> None:
    """Earn entries spread over two years (skewed so a few advocates earn a lot), then spends."""
    from hub.db import utcnow
    from rewards.models import LedgerEntry

    now = utcnow()
    table = LedgerEntry.__table__
    span = last_adv - first_adv + 1
    start_id = next_id(table)

    def rows() -> Iterator[dict]:
        for i in range(plan.ledger):
            advocate = first_adv + min(span - 1, int(rng.paretovariate(1.2)) % span) if rng.random() < 0.3 \
                else rng.randint(first_adv, last_adv)
            yield {"advocate_id": advocate, "delta": rng.choice((25, 50, 100, 150, 250, 500)), "kind": "earn",
                   "source_type": "bench", "source_id": str(start_id + i), "memo": rng.choice(MEMOS),
                   "created_at": now - dt.timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))}

    insert_rows(table, rows(), plan.ledger, "ledger entries")


def rebuild_derived() -> dict[str, float]:
    """Balances, lifetime points, tiers and leaderboards from the ledger (set-based)."""
    from sqlalchemy import case, update

    from hub.extensions import db
    from hub.models import Advocate
    from hub.settings import get_setting
    from rewards import leaderboard, ledger

    timings: dict[str, float] = {}
    started = time.perf_counter()
    ledger.rebuild_caches()
    db.session.commit()
    timings["caches_s"] = time.perf_counter() - started
    thresholds = get_setting("tier_thresholds")
    started = time.perf_counter()
    db.session.execute(
        update(Advocate).values(tier=case(
            (Advocate.lifetime_points >= thresholds["gold"], "gold"),
            (Advocate.lifetime_points >= thresholds["silver"], "silver"),
            else_="bronze",
        )).execution_options(synchronize_session=False)
    )
    db.session.commit()
    timings["tiers_s"] = time.perf_counter() - started
    started = time.perf_counter()
    leaderboard.rebuild()
    db.session.commit()
    timings["leaderboards_s"] = time.perf_counter() - started
    return timings


def run_seed(plan: SeedPlan) -> dict:
    from hub.extensions import db

    rng = random.Random(plan.seed)
    started = time.perf_counter()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("SET synchronous_commit TO off"))
    first_adv, last_adv = seed_people(plan, rng)
    seed_ledger(plan, rng, first_adv, last_adv)
    extras = [extra(plan, rng) for extra in plan.extra]
    timings = rebuild_derived()
    timings["total_s"] = time.perf_counter() - started
    return {"advocates": plan.advocates, "ledger": plan.ledger, "extras": extras, **timings}


@click.command("seed")
@click.option("--advocates", default=100_000, show_default=True)
@click.option("--ledger", "ledger_rows", default=3_000_000, show_default=True)
@click.option("--seed", "rng_seed", default=42, show_default=True)
def seed_command(advocates: int, ledger_rows: int, rng_seed: int) -> None:
    """Bulk-seed a program at scale (see bench/seed.py)."""
    result = run_seed(SeedPlan(advocates=advocates, ledger=ledger_rows, seed=rng_seed))
    click.echo(" ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()))


bench_cli = click.Group("bench", help="Benchmark data.")
bench_cli.add_command(seed_command)


if __name__ == "__main__":
    from hub.app import create_app

    with create_app().app_context():
        seed_command.main(standalone_mode=True)
