"""Redis leaderboards after an outage: served from SQL meanwhile, reconciled with the ledger
automatically by the periodic job (issue 13 item 4)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub.extensions import db
from rewards import leaderboard, ledger
from rewards.jobs import reconcile_leaderboards_job
from rewards.leaderboard_reconcile import reconcile
from rewards.models import LedgerEntry
from tests.support.factories import Factory


@pytest.fixture()
def fake_server():
    import fakeredis

    return fakeredis.FakeServer()


@pytest.fixture()
def redis_app(app_factory, fake_server):
    import fakeredis

    application = app_factory(VOUCH_FAKE_REDIS=True)
    application.extensions["vouch_redis"] = fakeredis.FakeRedis(server=fake_server)
    with application.app_context():
        leaderboard.rebuild()  # marks the empty sets as built in the current encoding
        db.session.commit()
        yield application
        fake_server.connected = True
        db.session.remove()


def redis_board(r) -> dict[int, int]:
    pkey = leaderboard.period_key("all")
    return {
        leaderboard._advocate_from_member(m): leaderboard.points_of(s)
        for m, s in r.zrange(leaderboard.redis_key(pkey), 0, -1, withscores=True)
    }


def ledger_board() -> dict[int, int]:
    """All-time points per advocate, summed here straight from the earn rows of the ledger."""
    rows = db.session.execute(
        select(LedgerEntry.advocate_id, func.sum(LedgerEntry.delta))
        .where(LedgerEntry.kind == "earn")
        .group_by(LedgerEntry.advocate_id)
    ).all()
    return {a: int(p) for a, p in rows if p}


def earn(advocate_id: int, points: int, source_id: str) -> None:
    ledger.post_entry(advocate_id, points, kind="earn", source_type="test", source_id=source_id, memo="Earned")
    db.session.commit()


def test_outage_is_served_from_sql_then_reconciled_by_the_periodic_job(redis_app, fake_server):
    r = redis_app.extensions["vouch_redis"]
    server = fake_server
    make = Factory()
    ada = make.advocate(points=100, name="Ada")
    bob = make.advocate(points=50, name="Bob")
    ada, bob = ada.id, bob.id
    assert redis_board(r) == {ada: 100, bob: 50}
    assert reconcile(settle_seconds=0).status == "in_sync"

    server.connected = False  # Redis goes away: the after-commit increment fails
    earn(bob, 200, "outage-1")
    rows, _ = leaderboard.standings("all")
    assert [(row.advocate_id, row.points) for row in rows] == [(bob, 250), (ada, 100)]
    assert reconcile(settle_seconds=0).status == "unavailable"

    server.connected = True  # back, but the sorted set missed Bob's 200 points
    assert redis_board(r) == {ada: 100, bob: 50}
    rows, _ = leaderboard.standings("all")  # the reader sees the stale marker and uses SQL
    assert [(row.advocate_id, row.points) for row in rows] == [(bob, 250), (ada, 100)]
    assert r.exists(leaderboard.stale_key())

    assert reconcile_leaderboards_job() == "rebuilt"
    assert redis_board(r) == ledger_board() == {ada: 100, bob: 250}
    assert not r.exists(leaderboard.stale_key())
    assert reconcile(settle_seconds=0).status == "in_sync"


def test_a_flushed_redis_is_noticed_and_rebuilt(redis_app):
    r = redis_app.extensions["vouch_redis"]
    make = Factory()
    ada = make.advocate(points=70)
    r.flushall()
    found = reconcile(settle_seconds=0)
    db.session.commit()
    assert (found.status, found.differing) == ("rebuilt", 1)
    assert redis_board(r) == {ada.id: 70}


def test_a_difference_that_settles_is_not_rebuilt(redis_app, monkeypatch):
    """A score whose Redis write is still on its way when first compared is not a drift."""
    r = redis_app.extensions["vouch_redis"]
    make = Factory()
    ada = make.advocate(points=70)
    member = leaderboard._member(ada.id)
    step = 70 * leaderboard.SCORE_PER_POINT
    r.zincrby(leaderboard.redis_key(leaderboard.period_key("all")), -step, member)
    rebuilt = []
    monkeypatch.setattr(leaderboard, "rebuild", lambda: rebuilt.append(1))
    monkeypatch.setattr(
        "rewards.leaderboard_reconcile.time.sleep",
        lambda _s: r.zincrby(leaderboard.redis_key(leaderboard.period_key("all")), step, member),
    )
    assert reconcile().status == "in_sync"
    assert rebuilt == []


def test_reconcile_without_redis_does_nothing(ctx):
    assert reconcile().status == "no_redis"


@pytest.mark.services
def test_outage_on_real_redis_and_postgresql_is_reconciled(pg_app):
    """The same on the production stack: the breaker is open (Redis unusable) while points are
    awarded; afterwards the boards are stale, served from SQL, and the job repairs them."""
    from urllib.parse import urlsplit

    from hub.redis_client import breaker_for

    parts = urlsplit(pg_app.config["REDIS_URL"])
    breaker = breaker_for(parts.hostname, parts.port or 6379)
    make = Factory()
    with pg_app.app_context():
        r = pg_app.extensions["vouch_redis"]
        ada = make.advocate(points=100).id
        bob = make.advocate(points=50).id
        assert redis_board(r) == {ada: 100, bob: 50}
        breaker.record_failure()  # as after a timeout: Redis is not called for a while
        try:
            earn(bob, 200, "outage-pg")
            rows, _ = leaderboard.standings("all")
            assert [(row.advocate_id, row.points) for row in rows] == [(bob, 250), (ada, 100)]
        finally:
            breaker.record_success()
        assert redis_board(r) == {ada: 100, bob: 50}  # missed while the breaker was open
        rows, _ = leaderboard.standings("all")
        assert [(row.advocate_id, row.points) for row in rows] == [(bob, 250), (ada, 100)]
        assert reconcile_leaderboards_job() == "rebuilt"
        db.session.remove()
        assert redis_board(r) == ledger_board() == {ada: 100, bob: 250}
        assert reconcile(settle_seconds=0).status == "in_sync"
