"""Leaderboards on real PostgreSQL + Redis: sorted sets follow the ledger, and rebuild restores them."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from hub.errors import InsufficientPoints
from hub.extensions import db
from hub.models import Group
from rewards import leaderboard, ledger, services
from tests.support.threads import run_committing

pytestmark = pytest.mark.services
PERIODS = ("all", "month", "quarter")


def both_paths() -> dict:
    """Every board (period × group), each read from Redis and from SQL, with everyone's own rank."""
    redis = leaderboard.get_redis()
    boards = {}
    groups = [None, *db.session.scalars(select(Group.id).order_by(Group.id))]
    advocates = [None, *db.session.scalars(select(db.text("id FROM advocates ORDER BY id")))]
    for period in PERIODS:
        pkey = leaderboard.period_key(period)
        for gid in groups:
            for me in advocates:
                via_redis = leaderboard._standings_redis(redis, pkey, gid, 1000, 0, me)
                via_sql = leaderboard._standings_sql(pkey, gid, 1000, 0, me)
                boards[(period, gid, me)] = (via_redis, via_sql)
    return boards


def assert_redis_equals_sql() -> dict:
    boards = both_paths()
    for key, (via_redis, via_sql) in boards.items():
        assert via_redis == via_sql, key
    assert any(rows for (rows, _), _ in boards.values())
    return {key: pair[0] for key, pair in boards.items()}


def test_award_stream_keeps_redis_equal_to_sql(pg_ctx, make):
    owner = make.user("owner")
    rng = random.Random(42)
    groups = [("EMEA",), ("NA",), ("EMEA", "Beta"), ()]
    advocates = [make.advocate(groups=groups[n % len(groups)]).id for n in range(8)]
    for step in range(60):
        advocate_id = rng.choice(advocates)
        action = rng.random()
        if action < 0.7:
            ledger.post_entry(
                advocate_id,
                rng.choice([10, 50, 100, 250]),
                kind="earn",
                source_type="completion",
                source_id=step,
                memo="Award",
            )
        elif action < 0.85:
            try:
                ledger.post_entry(
                    advocate_id,
                    -rng.choice([10, 60]),
                    kind="redeem",
                    source_type="redemption",
                    source_id=step,
                    memo="Spend",
                )
            except InsufficientPoints:
                db.session.rollback()
                continue
        else:
            services.adjust_points(advocate_id, rng.choice([5, 40]), "Bonus", owner.id)
        if step % 7 == 0:  # replayed awards never count twice
            ledger.post_entry(
                advocate_id, 100, kind="earn", source_type="completion", source_id=f"dup-{step // 14}", memo="Replay"
            )
        db.session.commit()
    assert_redis_equals_sql()


@pytest.mark.multi_connection
def test_parallel_awards_keep_redis_equal_to_sql(pg_app, make):
    with pg_app.app_context():
        advocates = [make.advocate(groups=("EMEA",) if n % 2 else ()).id for n in range(4)]

    def award(i: int) -> str:
        ledger.post_entry(
            advocates[i % 4], 10 + i, kind="earn", source_type="completion", source_id=f"p{i}", memo="Parallel"
        )
        return "ok"

    assert run_committing(pg_app, 16, award, (InsufficientPoints,)) == Counter({"ok": 16})
    with pg_app.app_context():
        assert_redis_equals_sql()
        db.session.remove()


@pytest.mark.multi_connection
def test_twenty_parallel_awards_of_one_source_count_once_in_redis(pg_app, make):
    with pg_app.app_context():
        advocate_id = make.advocate(groups=("EMEA",)).id

    def same_source(_i: int) -> str:
        return (
            "new"
            if ledger.post_entry(
                advocate_id, 100, kind="earn", source_type="completion", source_id="race", memo="Race"
            ).is_new
            else "dup"
        )

    assert run_committing(pg_app, 20, same_source, (InsufficientPoints,)) == Counter({"new": 1, "dup": 19})
    with pg_app.app_context():
        redis = leaderboard.get_redis()
        group_id = db.session.scalar(select(Group.id))
        for period in PERIODS:
            pkey = leaderboard.period_key(period)
            for gid in (None, group_id):
                score = redis.zscore(leaderboard.redis_key(pkey, gid), leaderboard._member(advocate_id))
                assert leaderboard.points_of(score) == 100
        db.session.remove()


def test_rebuild_command_restores_wiped_redis(pg_ctx, make):
    rng = random.Random(3)
    for n in range(10):
        advocate = make.advocate(groups=(("EMEA",), ("NA",), ())[n % 3])
        for k in range(3):
            ledger.post_entry(
                advocate.id,
                rng.randint(1, 500),
                kind="earn",
                source_type="completion",
                source_id=f"{n}-{k}",
                memo="Award",
            )
    db.session.commit()
    before = assert_redis_equals_sql()
    redis = leaderboard.get_redis()
    for key in redis.scan_iter(match=f"{leaderboard.key_prefix()}*"):
        redis.delete(key)
    assert not list(redis.scan_iter(match=f"{leaderboard.key_prefix()}*"))

    result = pg_ctx.test_cli_runner().invoke(args=["rewards", "rebuild-leaderboards"])
    assert result.exit_code == 0, result.output
    assert assert_redis_equals_sql() == before


def test_rebuild_on_postgresql_writes_only_the_rows_that_differ(pg_ctx, make):
    """The rebuild's table is the ledger's, whatever it held before; rows that were already right
    are not rewritten (PostgreSQL's xmin: the transaction that last wrote a row stays the same)."""
    from rewards.models import LeaderboardScore as S

    advocates = [make.advocate() for _ in range(4)]
    for n, advocate in enumerate(advocates):
        ledger.post_entry(advocate.id, 100 * (n + 1), kind="earn", source_type="completion", source_id=n, memo="Award")
    db.session.commit()
    leaderboard.rebuild()
    db.session.commit()

    def table() -> set[tuple]:
        return {tuple(row) for row in db.session.execute(select(S.period_key, S.advocate_id, S.points, S.reached_at))}

    def versions_of_rows() -> dict[str, str]:
        rows = db.session.execute(
            db.text("SELECT period_key || ':' || advocate_id, xmin::text FROM leaderboard_scores")
        )
        return {key: version for key, version in rows}

    expected = table()
    versions = versions_of_rows()
    keep, wrong, gone = advocates[0].id, advocates[1].id, advocates[2].id
    db.session.execute(db.update(S).where(S.advocate_id == wrong, S.period_key == "all").values(points=1))
    db.session.execute(db.delete(S).where(S.advocate_id == gone))
    db.session.add(S(period_key="m2001-01", advocate_id=keep, points=5))  # a board of a past month
    db.session.commit()

    leaderboard.rebuild()
    db.session.commit()
    assert table() == expected
    after = versions_of_rows()
    rewritten = {key for key, version in after.items() if versions.get(key) != version}
    assert rewritten == {f"all:{wrong}", *(f"{key}:{gone}" for key in (leaderboard.period_key(p) for p in PERIODS))}


@pytest.mark.multi_connection
def test_rebuild_while_awards_continue(pg_app, make):
    """A rebuild racing live awards never leaves Redis empty for readers, and a final rebuild is exact."""
    with pg_app.app_context():
        advocate_ids = [make.advocate().id for _ in range(3)]
    stop = threading.Event()
    seen_empty = []

    def reader() -> None:
        with pg_app.app_context():
            while not stop.is_set():
                rows, _ = leaderboard.standings("all")
                if not rows:
                    seen_empty.append(True)
            db.session.remove()

    with pg_app.app_context():
        ledger.post_entry(advocate_ids[0], 10, kind="earn", source_type="completion", source_id="first", memo="First")
        db.session.commit()
        thread = threading.Thread(target=reader)
        thread.start()
        try:
            for n in range(5):
                ledger.post_entry(
                    advocate_ids[n % 3], 10, kind="earn", source_type="completion", source_id=f"live-{n}", memo="Live"
                )
                db.session.commit()
                leaderboard.rebuild()
                db.session.commit()
        finally:
            stop.set()
            thread.join()
        assert not seen_empty
        assert_redis_equals_sql()
        db.session.remove()


def test_a_transactions_awards_reach_redis_together_and_a_rollback_sends_none(pg_ctx, make):
    """A batch of approvals posts many awards in one transaction (one advocate twice): their
    increments go in one pipeline after commit and match SQL; a rolled-back transaction's
    increments are dropped with it, and the next transaction's still go out."""
    groups = [("EMEA",), ("NA",), ()]
    advocates = [make.advocate(groups=groups[n % len(groups)]).id for n in range(5)]
    db.session.commit()
    for n, advocate_id in enumerate([*advocates, advocates[0]]):
        ledger.post_entry(advocate_id, 10 * (n + 1), kind="earn", source_type="completion", source_id=f"b{n}")
    pending = db.session.info[leaderboard.INCREMENTS_KEY]
    assert len(pending) == 6  # one list for the transaction, sent by one callback
    db.session.commit()
    assert_redis_equals_sql()
    ledger.post_entry(advocates[1], 500, kind="earn", source_type="completion", source_id="rolled-back")
    db.session.rollback()
    ledger.post_entry(advocates[2], 7, kind="earn", source_type="completion", source_id="after")
    db.session.commit()
    assert_redis_equals_sql()


@pytest.mark.services
def test_a_batchs_awards_are_written_together_and_match_sql_and_a_recount(pg_ctx, make):
    """Inside `deferred_sums` (a verification batch, issue 22) the awards reach the table in one
    upsert at the end of the block (nothing before it), one advocate's two awards as one step;
    the table equals a recount from the ledger and Redis equals the table."""
    from sqlalchemy import func, select

    from hub.db import deferred_sums
    from rewards.models import LeaderboardScore, LedgerEntry

    groups = [("EMEA",), ("NA",), ()]
    advocates = [make.advocate(groups=groups[n % len(groups)]).id for n in range(4)]
    ledger.post_entry(advocates[3], 5, kind="earn", source_type="completion", source_id="before")
    db.session.commit()
    with deferred_sums():
        for n, advocate_id in enumerate([*advocates, advocates[0]]):
            ledger.post_entry(advocate_id, 10 * (n + 1), kind="earn", source_type="completion", source_id=f"d{n}")
        written = db.session.scalar(
            select(func.count()).select_from(LeaderboardScore).where(LeaderboardScore.advocate_id.in_(advocates[:3]))
        )
        assert written == 0  # deferred to the end of the block
    pending = db.session.info[leaderboard.INCREMENTS_KEY]
    assert sorted(advocate_id for advocate_id, _, _ in pending) == sorted(advocates)  # one step per advocate
    db.session.commit()
    stored = dict(
        db.session.execute(
            select(LeaderboardScore.advocate_id, LeaderboardScore.points).where(LeaderboardScore.period_key == "all")
        ).all()
    )
    recount = dict(
        db.session.execute(
            select(LedgerEntry.advocate_id, func.sum(LedgerEntry.delta))
            .where(LedgerEntry.advocate_id.in_(advocates))
            .group_by(LedgerEntry.advocate_id)
        ).all()
    )
    assert (
        {a: stored[a] for a in advocates}
        == recount
        == {
            advocates[0]: 10 + 50,
            advocates[1]: 20,
            advocates[2]: 30,
            advocates[3]: 5 + 40,
        }
    )
    assert_redis_equals_sql()
