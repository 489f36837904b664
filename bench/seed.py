"""Bulk-generate a realistic program with set-based inserts (never one ORM object per row).

    python -m bench.seed                  (or: flask --app bench.app bench seed …; --help for the sizes)

Defaults: 100,000 advocates in groups; 1,000 challenges of every type (most published and open,
others draft, closed or archived); 2,000,000 completions, their `earn` entries and asks; 30
rewards and 50,000 redemptions with their `redeem` (and refund) entries; 20,000 referrals, 10,000
reference requests; 3,000,000 ledger entries in all (the rest are owner adjustments); 200,000 CRM
opportunities, then the full attribution tally so touches and credits exist. Activity sizes not
given scale with --advocates (the numbers above are per 100,000); the catalogs do not.

How: bench/seed_program.py (the timeline and staff), seed_people.py, seed_challenges.py,
seed_rewards.py, seed_activity.py (each advocate's history replayed in time order by the
services' rules: seed_completions.py, seed_points.py, seed_references.py; the row layouts in
seed_rows.py) and seed_crm.py generate plain row tuples;
bench/seed_load.py writes them in batches — COPY on PostgreSQL, Core executemany on SQLite — in
one transaction with the loaded tables' secondary indexes and foreign keys dropped and rebuilt
(see its docstring for why and what it costs). Ids come from MAX(id) + 1, so the seed can run on
a database that already has data (e.g. `flask hub seed-demo`); sequences are synced after.
Then every cache is rebuilt from the ledger the way production does
(`rewards.ledger.rebuild_caches`, set-based tier update, `leaderboard.rebuild`), so balances,
tiers and leaderboards end consistent with the ledger. The result dict carries per-phase timings.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import click

from bench.seed_load import Ids, sync_sequences

BATCH = 10_000  # rows per executemany / COPY batch


LOADED_TABLES = (
    "users",
    "advocates",
    "advocate_groups",
    "challenges",
    "challenge_groups",
    "rewards",
    "completions",
    "ledger_entries",
    "asks",
    "redemptions",
    "referrals",
    "reference_requests",
    "reference_assignments",
    "tier_changes",
    "opportunities",
    "opportunity_references",
)


# Tables given explicit ids (their PostgreSQL sequences are moved past them).
ID_TABLES = tuple(
    t for t in LOADED_TABLES if t not in ("advocate_groups", "challenge_groups", "opportunity_references")
)


@dataclass
class SeedPlan:
    advocates: int = 100_000
    ledger: int = 3_000_000
    seed: int = 42
    extra: list[Callable[[SeedPlan, random.Random], str]] = field(default_factory=list)
    challenges: int = 1_000
    completions: int = 2_000_000
    rewards: int = 30
    redemptions: int = 50_000
    referrals: int = 20_000
    reference_requests: int = 10_000
    opportunities: int = 200_000
    vacuum: bool = True  # PostgreSQL: VACUUM ANALYZE the loaded tables after the commit

    @classmethod
    def for_advocates(cls, advocates: int, **sizes) -> SeedPlan:
        """The default program scaled to `advocates` (activity per advocate stays the same);
        sizes given explicitly (not None) win. The catalogs (challenges, rewards) do not scale."""
        plan = cls(advocates=advocates)
        factor = advocates / cls.advocates
        for name in SCALED:
            setattr(plan, name, round(getattr(cls, name) * factor))
        for name, value in sizes.items():
            if value is not None:
                setattr(plan, name, value)
        return plan


SCALED = ("ledger", "completions", "redemptions", "referrals", "reference_requests", "opportunities")


def rebuild_derived() -> dict[str, float]:
    """Balances, lifetime points, tiers and leaderboards from the ledger (set-based)."""
    from sqlalchemy import case, update

    from challenges.caps import rebuild_ask_day_totals
    from challenges.services.act_tallies import rebuild_act_totals
    from challenges.services.completion_tallies import rebuild_completion_totals
    from challenges.services.places import rebuild_places
    from hub.extensions import db
    from hub.models import Advocate
    from hub.settings import get_setting
    from rewards import leaderboard, ledger
    from rewards.tier_changes import rebuild_tier_day_totals

    timings: dict[str, float] = {}
    started = time.perf_counter()
    ledger.rebuild_caches()
    ledger.rebuild_day_totals()
    rebuild_act_totals()
    rebuild_ask_day_totals()
    rebuild_completion_totals()
    rebuild_places()  # the bulk load ran with the completions' place triggers off (run_seed)
    db.session.commit()
    timings["caches_s"] = time.perf_counter() - started
    thresholds = get_setting("tier_thresholds")
    started = time.perf_counter()
    db.session.execute(
        update(Advocate)
        .values(
            tier=case(
                (Advocate.lifetime_points >= thresholds["gold"], "gold"),
                (Advocate.lifetime_points >= thresholds["silver"], "silver"),
                else_="bronze",
            )
        )
        .execution_options(synchronize_session=False)
    )
    rebuild_tier_day_totals()
    db.session.commit()
    timings["tiers_s"] = time.perf_counter() - started
    started = time.perf_counter()
    leaderboard.rebuild()
    db.session.commit()
    timings["leaderboards_s"] = time.perf_counter() - started
    return timings


def _register(loader) -> None:
    from bench import seed_rows as rows
    from bench.seed_challenges import CHALLENGE_COLUMNS
    from bench.seed_crm import LINK_COLUMNS, OPPORTUNITY_COLUMNS
    from bench.seed_people import ADVOCATE_COLUMNS, USER_COLUMNS
    from bench.seed_rewards import REWARD_COLUMNS
    from hub.extensions import db

    columns = {
        "users": USER_COLUMNS,
        "advocates": ADVOCATE_COLUMNS,
        "advocate_groups": ("advocate_id", "group_id"),
        "challenges": CHALLENGE_COLUMNS,
        "challenge_groups": ("challenge_id", "group_id"),
        "rewards": REWARD_COLUMNS,
        "completions": rows.COMPLETION_COLUMNS,
        "ledger_entries": rows.LEDGER_COLUMNS,
        "asks": rows.ASK_COLUMNS,
        "redemptions": rows.REDEMPTION_COLUMNS,
        "referrals": rows.REFERRAL_COLUMNS,
        "reference_requests": rows.REQUEST_COLUMNS,
        "reference_assignments": rows.ASSIGNMENT_COLUMNS,
        "tier_changes": rows.TIER_CHANGE_COLUMNS,
        "opportunities": OPPORTUNITY_COLUMNS,
        "opportunity_references": LINK_COLUMNS,
    }
    for name in LOADED_TABLES:  # parents before children
        loader.register(db.metadata.tables[name], columns[name])


def _finish(people, rewards) -> None:
    """Columns that summarize what was loaded, filled in set-based: stock left, last activity,
    when the tier last changed."""
    from sqlalchemy import func, select, update

    from challenges.models import Completion
    from hub.extensions import db
    from hub.models import Advocate
    from rewards.models import HOLDING_STATUSES, Redemption, Reward, TierChange

    if rewards:
        held = (
            select(func.count())
            .where(Redemption.reward_id == Reward.id, Redemption.status.in_([s.value for s in HOLDING_STATUSES]))
            .scalar_subquery()
        )
        db.session.execute(
            update(Reward)
            .where(Reward.id.between(rewards[0].id, rewards[-1].id), Reward.stock_total.is_not(None))
            .values(stock_remaining=Reward.stock_total - held)
            .execution_options(synchronize_session=False)
        )
    if not people.ids:
        return
    mine = Advocate.id.between(people.first, people.last)
    last = (
        select(Completion.advocate_id, func.max(Completion.submitted_at).label("at"))
        .where(Completion.advocate_id.between(people.first, people.last))
        .group_by(Completion.advocate_id)
        .subquery()
    )
    db.session.execute(
        update(Advocate)
        .where(mine, Advocate.id == last.c.advocate_id)
        .values(last_activity_at=last.c.at)
        .execution_options(synchronize_session=False)
    )
    changed = (
        select(TierChange.advocate_id, func.max(TierChange.changed_at).label("at"))
        .where(TierChange.advocate_id.between(people.first, people.last))
        .group_by(TierChange.advocate_id)
        .subquery()
    )
    db.session.execute(
        update(Advocate)
        .where(mine, Advocate.id == changed.c.advocate_id)
        .values(tier_changed_at=changed.c.at)
        .execution_options(synchronize_session=False)
    )


def _vacuum(tables: tuple[str, ...]) -> None:
    from hub.extensions import db

    names = ", ".join(f'"{t}"' for t in tables)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(db.text(f"VACUUM (ANALYZE) {names}"))


def run_seed(plan: SeedPlan) -> dict:
    """Seed everything in `plan` and rebuild what is derived; returns counts and timings (seconds)."""
    from sqlalchemy import func, select

    from bench.seed_activity import Simulation
    from bench.seed_challenges import seed_challenges
    from bench.seed_crm import CrmSeeder
    from bench.seed_earned import write_earned
    from bench.seed_load import Loader, bulk_mode
    from bench.seed_people import BENCH_PASSWORD_HASH, ensure_groups, seed_people
    from bench.seed_program import seed_staff
    from bench.seed_rewards import seed_rewards
    from challenges.crm import attribution
    from challenges.crm.models import AttributionCredit, AttributionTouch
    from hub.account_links import relink_all
    from hub.db import utcnow
    from hub.extensions import db

    rng = random.Random(plan.seed)
    started = total_started = time.perf_counter()
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}
    postgres = db.engine.dialect.name == "postgresql"

    def lap(name: str) -> None:
        nonlocal started
        now_ = time.perf_counter()
        timings[f"{name}_s"] = now_ - started
        started = now_

    if postgres:
        db.session.execute(db.text("SET synchronous_commit TO off"))
        # Places taken are recounted once at the end (rebuild_derived), not row by row by the
        # completions' triggers during the COPY; enabled again in the same transaction.
        db.session.execute(db.text("ALTER TABLE completions DISABLE TRIGGER USER"))
    now = utcnow()
    ids = Ids()
    tag = f"{rng.randint(0, 36**5):05x}{ids.peek('users'):x}"  # unique per run on the same database
    loader = Loader(BATCH)
    _register(loader)
    with bulk_mode(loader, LOADED_TABLES, timings):
        lap("prepare")
        group_ids = ensure_groups(now)
        staff = seed_staff(loader, ids, rng, tag, now, BENCH_PASSWORD_HASH)
        people = seed_people(plan.advocates, rng, loader, ids, now, tag, group_ids)
        loader.flush()
        lap("people")
        challenges = seed_challenges(loader, ids, rng, plan.challenges, now, group_ids, staff)
        rewards = seed_rewards(loader, ids, rng, plan.rewards, now, staff)
        loader.flush()
        counts["open_challenges"] = sum(c.is_open for c in challenges)
        lap("catalog")
        simulation = Simulation(plan, rng, loader, ids, now, people, staff, challenges, rewards, tag)
        counts |= simulation.run()
        lap("activity")
        counts["opportunities"] = CrmSeeder(rng, loader, ids, now, tag, people.companies).run(
            plan.opportunities, simulation.crm_referrals, simulation.crm_requests, people.prospects
        )
        lap("crm")
    started = time.perf_counter()
    if postgres:
        db.session.execute(db.text("ALTER TABLE completions ENABLE TRIGGER USER"))
    _finish(people, rewards)
    db.session.commit()
    sync_sequences(*ID_TABLES)
    lap("finish")
    if postgres and plan.vacuum:
        _vacuum(LOADED_TABLES)
        lap("vacuum")
    relink_all(db.session.connection())  # accounts (issue 15): same-account touches join on them
    db.session.commit()
    lap("accounts")
    attribution.tally(None)
    db.session.commit()
    lap("tally")
    counts["touches"] = db.session.execute(select(func.count()).select_from(AttributionTouch)).scalar_one()
    counts["credits"] = db.session.execute(select(func.count()).select_from(AttributionCredit)).scalar_one()
    extras = [extra(plan, rng) for extra in plan.extra]
    lap("extras")
    timings |= rebuild_derived()
    started = time.perf_counter()
    counts |= {f"earned_{name}": n for name, n in write_earned().items()}  # badges and thanks the history earned
    db.session.commit()
    lap("earned")
    timings["total_s"] = time.perf_counter() - total_started
    counts["ledger"] = counts.pop("ledger_entries")
    return {
        "advocates": plan.advocates,
        "challenges": plan.challenges,
        "rewards": plan.rewards,
        **counts,
        "extras": extras,
        **timings,
    }


@click.command("seed")
@click.option("--advocates", default=100_000, show_default=True)
@click.option(
    "--ledger",
    "ledger_rows",
    type=int,
    help="ledger entries in all: completion earns, redemptions, "
    "refunds and bonuses, the rest owner adjustments  [default: 3,000,000 per 100,000 advocates]",
)
@click.option("--seed", "rng_seed", default=42, show_default=True)
@click.option("--challenges", default=1_000, show_default=True)
@click.option("--completions", type=int, help="[default: 2,000,000 per 100,000 advocates]")
@click.option("--rewards", default=30, show_default=True)
@click.option("--redemptions", type=int, help="[default: 50,000 per 100,000 advocates]")
@click.option("--referrals", type=int, help="[default: 20,000 per 100,000 advocates]")
@click.option("--reference-requests", type=int, help="[default: 10,000 per 100,000 advocates]")
@click.option("--opportunities", type=int, help="CRM opportunities  [default: 200,000 per 100,000 advocates]")
@click.option("--vacuum/--no-vacuum", default=True, show_default=True, help="PostgreSQL: VACUUM ANALYZE after")
def seed_command(
    advocates: int,
    ledger_rows: int | None,
    rng_seed: int,
    challenges: int,
    completions: int | None,
    rewards: int,
    redemptions: int | None,
    referrals: int | None,
    reference_requests: int | None,
    opportunities: int | None,
    vacuum: bool,
) -> None:
    """Bulk-seed a program at scale (see bench/seed.py)."""
    result = run_seed(
        SeedPlan.for_advocates(
            advocates,
            ledger=ledger_rows,
            seed=rng_seed,
            challenges=challenges,
            completions=completions,
            rewards=rewards,
            redemptions=redemptions,
            referrals=referrals,
            reference_requests=reference_requests,
            opportunities=opportunities,
            vacuum=vacuum,
        )
    )
    click.echo(" ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()))


bench_cli = click.Group("bench", help="Benchmark data.")


bench_cli.add_command(seed_command)


if __name__ == "__main__":
    from hub.app import create_app

    with create_app().app_context():
        seed_command.main(standalone_mode=True)
