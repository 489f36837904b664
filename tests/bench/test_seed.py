"""bench/seed.py at a small scale: what it loads obeys the invariants the services keep."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text

from bench.seed import ID_TABLES, SeedPlan, run_seed
from hub.extensions import db

SMALL = dict(
    advocates=300,
    challenges=20,
    completions=3_000,
    ledger=5_000,
    rewards=12,
    redemptions=200,
    referrals=60,
    reference_requests=30,
    opportunities=500,
    seed=5,
)


def scalar(sql: str, **params) -> int:
    return db.session.execute(text(sql), params).scalar()


def check_seeded(plan: SeedPlan, result: dict, first_advocate: int) -> None:
    """Every invariant the seed promises, checked set-based against the whole database."""
    from hub.settings import get_setting
    from rewards import leaderboard
    from rewards.tiers import tier_for
    from tests.support.attribution import overcredited_deals
    from tests.support.rewards import check_rewards_invariants

    db.session.expire_all()
    mine = "advocate_id >= :first"
    # The plan's sizes, exactly.
    assert result["completions"] == plan.completions
    assert (
        result["ledger"]
        == plan.ledger
        == scalar(
            f"SELECT count(*) FROM ledger_entries WHERE {mine}",  # noqa: S608
            first=first_advocate,
        )
    )
    assert result["redemptions"] == plan.redemptions
    assert result["opportunities"] == plan.opportunities
    assert result["referrals"] == plan.referrals and result["reference_requests"] == plan.reference_requests
    assert scalar(f"SELECT count(*) FROM completions WHERE {mine}", first=first_advocate) == plan.completions  # noqa: S608

    # Balances and lifetime points equal the ledger, never negative; one entry per source; each
    # redemption has its redeem entry (and one refund when rejected/cancelled); stock is consistent.
    check_rewards_invariants()
    assert scalar("SELECT count(*) FROM advocates WHERE balance < 0") == 0

    # Every approved completion has exactly one earn entry for its points, written when decided;
    # nothing else earns through ("completion", id).
    assert (
        scalar("""
        SELECT count(*) FROM completions c WHERE c.status = 'approved' AND (
          c.points_awarded IS NULL OR c.points_awarded <> c.points_offered OR c.decided_at IS NULL
          OR (SELECT count(*) FROM ledger_entries l WHERE l.kind = 'earn' AND l.source_type = 'completion'
              AND l.source_id = CAST(c.id AS VARCHAR(64)) AND l.advocate_id = c.advocate_id
              AND l.delta = c.points_awarded AND l.created_at >= c.decided_at) <> 1)""")
        == 0
    )
    assert scalar("SELECT count(*) FROM ledger_entries WHERE source_type = 'completion'") == scalar(
        "SELECT count(*) FROM completions WHERE status = 'approved'"
    )
    statuses = dict(db.session.execute(text("SELECT status, count(*) FROM completions GROUP BY status")).all())
    assert set(statuses) >= {"approved", "rejected", "pending_review"}, statuses
    assert statuses["approved"] > 0.75 * plan.completions
    # Undecided completions are undecided; at most one per (challenge, advocate).
    assert (
        scalar("""SELECT count(*) FROM completions WHERE status IN ('submitted', 'verifying', 'pending_review')
                     AND (decided_at IS NOT NULL OR points_awarded IS NOT NULL)""")
        == 0
    )
    assert (
        scalar("""SELECT count(*) FROM (SELECT challenge_id, advocate_id FROM completions
                     WHERE status IN ('submitted', 'verifying', 'pending_review')
                     GROUP BY challenge_id, advocate_id HAVING count(*) > 1) x""")
        == 0
    )
    # Seeded completions were submitted while the challenge was published and in date (the demo's
    # are backdated before their challenges' publication); all are within the limits.
    assert (
        scalar(
            """
        SELECT count(*) FROM completions c JOIN challenges ch ON ch.id = c.challenge_id
        WHERE c.advocate_id >= :first AND (ch.published_at IS NULL OR c.submitted_at < ch.published_at
           OR (ch.starts_at IS NOT NULL AND c.submitted_at < ch.starts_at)
           OR (ch.ends_at IS NOT NULL AND c.submitted_at >= ch.ends_at)
           OR (ch.closed_at IS NOT NULL AND c.submitted_at >= ch.closed_at)
           OR (c.decided_at IS NOT NULL AND c.decided_at < c.submitted_at))""",
            first=first_advocate,
        )
        == 0
    )
    assert (
        scalar("""
        SELECT count(*) FROM (SELECT c.challenge_id, c.advocate_id, ch.max_per_advocate FROM completions c
          JOIN challenges ch ON ch.id = c.challenge_id
          WHERE c.status IN ('submitted', 'verifying', 'pending_review', 'approved')
          GROUP BY c.challenge_id, c.advocate_id, ch.max_per_advocate HAVING count(*) > ch.max_per_advocate) x""")
        == 0
    )
    assert (
        scalar("""
        SELECT count(*) FROM (SELECT c.challenge_id, ch.max_total FROM completions c
          JOIN challenges ch ON ch.id = c.challenge_id
          WHERE ch.max_total IS NOT NULL AND c.status IN ('submitted', 'verifying', 'pending_review', 'approved')
          GROUP BY c.challenge_id, ch.max_total HAVING count(*) > ch.max_total) x""")
        == 0
    )

    # Asks: one per medium/high-effort and reference-call completion of the last 365 days, released
    # when rejected; no advocate over the annual cap now.
    year_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=365)
    ask_completions = db.session.execute(
        text("""
        SELECT c.id, c.status, ch.type, ch.effort FROM completions c JOIN challenges ch ON ch.id = c.challenge_id
        WHERE c.submitted_at > :since AND (ch.effort IN ('medium', 'high') OR ch.type = 'reference_call')"""),
        {"since": year_ago + dt.timedelta(hours=1)},
    ).all()  # clear of the seed's own "365 days ago"
    asks = {
        int(source_id): cancelled
        for source_id, cancelled in db.session.execute(
            text("SELECT source_id, cancelled_at FROM asks WHERE source_type = 'completion'")
        ).all()
    }
    assert ask_completions and len(asks) >= len(ask_completions)
    for completion_id, status, _ctype, _effort in ask_completions:
        assert completion_id in asks
        assert (asks[completion_id] is not None) == (status == "rejected"), completion_id
    annual = get_setting("caps_policy")["asks_per_365_days"]
    assert (
        scalar(
            """SELECT count(*) FROM (SELECT advocate_id FROM asks WHERE cancelled_at IS NULL
                     AND asked_at > :since GROUP BY advocate_id HAVING count(*) > :cap) x""",
            since=year_ago,
            cap=annual,
        )
        == 0
    )

    # Referrals, reference requests and their deals agree.
    assert (
        scalar("""SELECT count(*) FROM referrals r WHERE r.status IN ('opportunity', 'won')
                     AND NOT EXISTS (SELECT 1 FROM opportunities o WHERE o.referral_id = r.id)""")
        == 0
    )
    assert (
        scalar("""SELECT count(*) FROM referrals r JOIN completions c ON c.id = r.completion_id
                     WHERE (r.status IN ('opportunity', 'won')) <> (c.status = 'approved')""")
        == 0
    )
    assert scalar("SELECT count(*) FROM ledger_entries WHERE source_type = 'referral_won'") == scalar(
        """SELECT count(*) FROM referrals r JOIN completions c ON c.id = r.completion_id
           WHERE r.status = 'won' AND c.status = 'approved' AND r.bonus_points > 0"""
    )
    assert (
        scalar("""SELECT count(*) FROM reference_requests WHERE status IN ('accepted', 'completed')
                     AND (accepted_at IS NULL OR advocate_id IS NULL)""")
        == 0
    )
    assert scalar("SELECT count(*) FROM reference_requests WHERE completion_id IS NOT NULL") > 0

    # Attribution: touches of every kind, influenced credits summing to each deal's amount.
    kinds = set(db.session.scalars(text("SELECT DISTINCT kind FROM attribution_touches")))
    assert kinds == {"referral", "reference_call", "same_account"}
    assert result["touches"] > 0 and result["credits"] > 0
    assert overcredited_deals() == 0
    assert (
        scalar("""SELECT count(*) FROM (SELECT c.opportunity_id FROM attribution_credits c
                     JOIN opportunities o ON o.id = c.opportunity_id
                     GROUP BY c.opportunity_id, o.amount
                     HAVING round(sum(c.influenced_amount) * 100) <> round(o.amount * 100)) x""")
        == 0
    )
    assert scalar("SELECT count(*) FROM opportunities WHERE account_key <> lower(trim(account))") == 0

    # Tiers follow lifetime points; leaderboards agree with the ledger.
    thresholds = get_setting("tier_thresholds")
    for tier, lifetime in db.session.execute(text("SELECT tier, lifetime_points FROM advocates")).all():
        assert tier == tier_for(lifetime, thresholds).value
    for period in ("all", "month", "quarter"):
        start = leaderboard.period_start(period)
        since = "AND l.created_at >= :start" if start else ""
        expected = [
            tuple(r)
            for r in db.session.execute(
                text(f"""
            SELECT l.advocate_id, sum(l.delta) FROM ledger_entries l JOIN advocates a ON a.id = l.advocate_id
            WHERE NOT a.is_erased AND l.delta > 0 AND l.kind IN ('earn', 'bonus', 'adjust') {since}
            GROUP BY l.advocate_id ORDER BY sum(l.delta) DESC, max(l.created_at), l.advocate_id LIMIT 10"""),  # noqa: S608
                {"start": start},
            ).all()
        ]
        rows, _ = leaderboard.standings(period, limit=10)
        assert [(r.advocate_id, r.points) for r in rows] == expected, period
        assert period != "all" or len(expected) == 10


def seeded_timings(result: dict) -> None:
    for key in (
        "people_s",
        "catalog_s",
        "activity_s",
        "crm_s",
        "indexes_s",
        "tally_s",
        "caches_s",
        "leaderboards_s",
        "total_s",
    ):
        assert isinstance(result[key], float), key


def test_small_seed_holds_the_invariants_on_top_of_demo_data(app, ctx):
    """Seeded over the demo program: ids come after it, and everything still adds up."""
    runner = app.test_cli_runner()
    assert runner.invoke(args=["hub", "seed-demo"]).exit_code == 0
    first_advocate = scalar("SELECT max(id) FROM advocates") + 1
    plan = SeedPlan(**SMALL)
    result = run_seed(plan)
    try:
        seeded_timings(result)
        check_seeded(plan, result, first_advocate)
        assert scalar("SELECT count(*) FROM advocates") == plan.advocates + 30
        assert 0 < result["open_challenges"] < plan.challenges
        # The demo's own rows are untouched (its referral and reference request are still there).
        assert scalar("SELECT count(*) FROM users WHERE email = 'ada@example.com'") == 1
    finally:
        db.session.execute(text("DELETE FROM sqlite_stat1"))  # the shared test database keeps no stats
        db.session.commit()


@pytest.mark.services
@pytest.mark.multi_connection
def test_small_seed_holds_the_invariants_on_postgresql(pg_ctx, make):
    """Twice on PostgreSQL + Redis: the second run lands after the first; sequences follow."""
    from hub.models import Advocate
    from rewards.ledger import post_entry

    plan = SeedPlan(**SMALL | {"seed": 9})
    run_seed(SeedPlan(**SMALL | {"completions": 1_000, "ledger": 2_000, "opportunities": 200}))
    first_advocate = scalar("SELECT max(id) FROM advocates") + 1
    result = run_seed(plan)
    seeded_timings(result)
    assert "vacuum_s" in result
    check_seeded(plan, result, first_advocate)
    for table in ID_TABLES:  # the next id a service inserts is past every seeded one
        assert scalar(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) > "  # noqa: S608
            f"(SELECT max(id) FROM {table})"
        ), table
    advocate = make.advocate(points=50)
    assert advocate.id == db.session.scalar(select(func.max(Advocate.id)))
    post_entry(first_advocate, 10, kind="bonus", source_type="test", source_id="after-seed", memo="After the seed")
    db.session.commit()


def test_plan_sizes_scale_with_the_advocates_unless_given():
    plan = SeedPlan.for_advocates(10_000, opportunities=5, challenges=None)
    assert (plan.completions, plan.ledger, plan.redemptions, plan.referrals, plan.reference_requests) == (
        200_000,
        300_000,
        5_000,
        2_000,
        1_000,
    )
    assert plan.opportunities == 5 and plan.challenges == 1_000 and plan.rewards == 30
    assert SeedPlan.for_advocates(100_000) == SeedPlan()


def test_bench_commands_belong_to_the_bench_app_not_the_production_app():
    """`flask --app bench.app bench seed` is the way in; the production app has no `bench` group."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = os.environ | {"VOUCH_ENV": "test", "SECRET_KEY": "bench-cli-test", "DATABASE_URL": "sqlite://"}
    env.pop("REDIS_URL", None)

    def flask(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flask", *args], cwd=root, env=env, capture_output=True, text=True, timeout=120
        )

    bench = flask("--app", "bench.app", "bench", "seed", "--help")
    assert bench.returncode == 0, bench.stderr
    assert "--advocates" in bench.stdout
    production = flask("--app", "wsgi", "bench", "seed", "--help")
    assert production.returncode != 0
    assert "No such command 'bench'" in production.stderr
