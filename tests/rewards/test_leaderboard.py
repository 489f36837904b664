"""Leaderboards: the SQL path, the Redis path (fakeredis) and `rebuild()` all give the ledger's standings."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from hub import accounts
from hub.db import utcnow
from hub.extensions import db
from hub.models import Advocate, Group
from rewards import leaderboard, ledger, services
from rewards.models import LIFETIME_KINDS, LeaderboardScore, LedgerEntry

NOW = dt.datetime(2026, 5, 20, 12, tzinfo=dt.UTC)
THIS_MONTH = dt.datetime(2026, 5, 3, tzinfo=dt.UTC)
EARLIER_IN_QUARTER = dt.datetime(2026, 4, 10, tzinfo=dt.UTC)
LAST_YEAR = dt.datetime(2025, 11, 1, tzinfo=dt.UTC)
PERIODS = ("all", "month", "quarter")


def seed_program(make, now: dt.datetime | None = None) -> dict[str, int]:
    """Advocates with points spread over periods and groups, plus spending that must not count.

    With `now`, the dates are relative to it (the Redis group sync only keeps current periods)."""
    this_month, earlier_in_quarter, last_year = (
        (THIS_MONTH, EARLIER_IN_QUARTER, LAST_YEAR)
        if now is None
        else (now, leaderboard.period_start("quarter", now), now - dt.timedelta(days=400))
    )
    ids: dict[str, int] = {}
    plan = {
        "ada": ("EMEA", [(500, this_month), (300, last_year)]),
        "grace": ("EMEA", [(500, this_month)]),  # ties ada this month at the same moment: id decides
        "alan": ("NA", [(900, earlier_in_quarter)]),
        "kate": ("NA", [(2000, last_year), (50, this_month)]),
        "linus": (None, [(100, this_month)]),
        "zero": (None, []),
    }
    for name, (group, earnings) in plan.items():
        advocate = make.advocate(name=name.title(), groups=(group,) if group else ())
        for n, (points, at) in enumerate(earnings):
            ledger.post_entry(
                advocate.id, points, kind="earn", source_type="test", source_id=f"{name}-{n}", memo="Earned", at=at
            )
        ids[name] = advocate.id
    ledger.post_entry(
        ids["kate"], -1000, kind="redeem", source_type="redemption", source_id="k1", memo="Spent", at=this_month
    )
    db.session.commit()
    return ids


def expected_from_ledger(period: str, group_id: int | None = None, at: dt.datetime = NOW) -> list[tuple[int, int]]:
    """(advocate_id, points) in leaderboard order, computed in Python from the raw ledger: points
    descending, then the one who reached the score first (their last counted entry), then id."""
    start = leaderboard.period_start(period, at)
    members = None
    if group_id:
        members = {a.id for a in db.session.get(Group, group_id).advocates}
    totals: dict[int, int] = {}
    reached: dict[int, dt.datetime] = {}
    for entry in db.session.scalars(select(LedgerEntry)):
        counts = (entry.delta > 0 and entry.kind in LIFETIME_KINDS) or (
            entry.delta < 0 and entry.kind == "adjust" and entry.source_type == "correction"
        )
        if not counts:
            continue
        if start is not None and entry.created_at < start:
            continue
        if members is not None and entry.advocate_id not in members:
            continue
        totals[entry.advocate_id] = totals.get(entry.advocate_id, 0) + entry.delta
        reached[entry.advocate_id] = max(reached.get(entry.advocate_id, entry.created_at), entry.created_at)
    ordered = sorted(totals.items(), key=lambda pair: (-pair[1], reached[pair[0]], pair[0]))
    return [(a, p) for a, p in ordered if p > 0]


def board(
    period: str,
    group_id: int | None = None,
    limit: int = 100,
    me: int | None = None,
    offset: int = 0,
    at: dt.datetime = NOW,
):
    rows, mine = leaderboard.standings(period, group_id, limit, offset, me, at=at)
    return [(r.rank, r.advocate_id, r.points) for r in rows], (mine.rank, mine.points) if mine else None


def group_ids() -> list[int | None]:
    return [None, *db.session.scalars(select(Group.id).order_by(Group.id))]


def test_sql_standings_per_period_with_shared_ranks(ctx, make):
    ids = seed_program(make)
    all_time, _ = board("all")
    assert all_time == [
        (1, ids["kate"], 2050),
        (2, ids["alan"], 900),
        (3, ids["ada"], 800),
        (4, ids["grace"], 500),
        (5, ids["linus"], 100),
    ]
    month, _ = board("month")
    # ada and grace tie at 500, reached at the same moment: they share rank 1, the next is 3rd.
    assert month == [(1, ids["ada"], 500), (1, ids["grace"], 500), (3, ids["linus"], 100), (4, ids["kate"], 50)]
    quarter, _ = board("quarter")
    assert [row[1:] for row in quarter] == [
        (ids["alan"], 900),
        (ids["ada"], 500),
        (ids["grace"], 500),
        (ids["linus"], 100),
        (ids["kate"], 50),
    ]
    for period in PERIODS:
        assert [row[1:] for row in board(period)[0]] == expected_from_ledger(period)


def test_group_filter_and_me(ctx, make):
    ids = seed_program(make)
    emea = db.session.scalar(select(Group.id).where(Group.name == "EMEA"))
    rows, me = board("all", emea, me=ids["grace"])
    assert rows == [(1, ids["ada"], 800), (2, ids["grace"], 500)]
    assert me == (2, 500)
    _, nobody = board("all", emea, me=ids["kate"])  # not in the group
    assert nobody is None
    _, zero = board("all", me=ids["zero"])  # no points yet
    assert zero is None


def test_me_is_reported_when_off_the_page(ctx, make):
    ids = seed_program(make)
    rows, me = board("all", limit=2, me=ids["linus"])
    assert [r[1] for r in rows] == [ids["kate"], ids["alan"]]
    assert me == (5, 100)
    page_two, _ = board("all", limit=2, offset=2)
    assert [r[0] for r in page_two] == [3, 4]


def test_opted_out_advocates_are_anonymous(ctx, make):
    ids = seed_program(make)
    db.session.get(Advocate, ids["kate"]).show_on_leaderboard = False
    db.session.commit()
    rows, _ = leaderboard.standings("all", at=NOW)
    names = {a: d["display_name"] for a, d in leaderboard.describe(rows).items()}
    assert names[ids["kate"]] == "Anonymous advocate"
    assert names[ids["ada"]] == "Ada"


def test_rebuild_equals_the_ledger(ctx, make):
    seed_program(make)
    db.session.execute(LeaderboardScore.__table__.update().values(points=12345))
    db.session.commit()
    counts = leaderboard.rebuild(at=NOW)
    db.session.commit()
    assert counts == {"all": 5, "month": 4, "quarter": 5}
    for period in PERIODS:
        for gid in group_ids():
            assert [row[1:] for row in board(period, gid)[0]] == expected_from_ledger(period, gid)


def test_erased_advocates_leave_the_board(ctx, make):
    ids = seed_program(make)
    leaderboard.remove_advocate(ids["kate"])
    db.session.get(Advocate, ids["kate"]).is_erased = True
    db.session.commit()
    assert ids["kate"] not in [row[1] for row in board("all")[0]]
    leaderboard.rebuild(at=NOW)
    db.session.commit()
    assert ids["kate"] not in [row[1] for row in board("all")[0]]


# --- the Redis path (fakeredis) gives the same answers ----------------------------------------


@pytest.fixture()
def redis_app(app_factory):
    application = app_factory(VOUCH_FAKE_REDIS=True)
    with application.app_context():
        application.extensions["vouch_redis"].flushall()
        leaderboard.rebuild()  # marks the empty sets as built in the current encoding
        db.session.commit()
        yield application
        db.session.remove()


def sql_board(period, group_id=None, limit=100, me=None, offset=0, at=NOW):
    rows, mine = leaderboard._standings_sql(leaderboard.period_key(period, at), group_id, limit, offset, me)
    return [(r.rank, r.advocate_id, r.points) for r in rows], (mine.rank, mine.points) if mine else None


def assert_redis_matches_sql(ids: dict[str, int], at: dt.datetime = NOW) -> None:
    for period in PERIODS:
        for gid in group_ids():
            for me in [None, *ids.values()]:
                for limit, offset in ((100, 0), (2, 0), (2, 2)):
                    assert board(period, gid, limit, me, offset, at) == sql_board(period, gid, limit, me, offset, at), (
                        period,
                        gid,
                        me,
                        limit,
                        offset,
                    )
            assert [row[1:] for row in board(period, gid, at=at)[0]] == expected_from_ledger(period, gid, at)


def test_redis_path_equals_sql_path(redis_app, make):
    redis = redis_app.extensions["vouch_redis"]
    ids = seed_program(make)
    assert redis.exists(leaderboard.redis_key("all"))
    assert_redis_matches_sql(ids)


def test_redis_follows_group_changes(redis_app, make):
    now = utcnow()
    ids = seed_program(make, now)
    na = db.session.scalar(select(Group.id).where(Group.name == "NA"))
    emea = db.session.scalar(select(Group.id).where(Group.name == "EMEA"))
    accounts.set_advocate_groups(ids["linus"], [na, emea], None)
    accounts.set_advocate_groups(ids["alan"], [], None)
    db.session.commit()
    assert ids["linus"] in [row[1] for row in board("month", na, at=now)[0]]
    assert ids["alan"] not in [row[1] for row in board("all", na, at=now)[0]]
    assert_redis_matches_sql(ids, now)


def test_rebuild_restores_wiped_redis(redis_app, make):
    redis = redis_app.extensions["vouch_redis"]
    ids = seed_program(make)
    before = {p: board(p, gid) for p in PERIODS for gid in group_ids()}
    redis.flushall()
    redis.zadd(leaderboard.redis_key("m1999-01"), {"junk": 5})  # a stale period disappears
    leaderboard.rebuild(at=NOW)
    db.session.commit()
    assert {p: board(p, gid) for p in PERIODS for gid in group_ids()} == before
    assert not redis.exists(leaderboard.redis_key("m1999-01"))
    assert_redis_matches_sql(ids)


def test_redis_failure_falls_back_to_sql(redis_app, make, monkeypatch):
    ids = seed_program(make)
    redis = redis_app.extensions["vouch_redis"]
    expected = sql_board("all", me=ids["ada"])

    def broken(*_a, **_k):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(redis, "pipeline", broken)
    assert board("all", me=ids["ada"]) == expected


def test_leaderboard_reads_never_touch_the_ledger(ctx, make, api, client, login, sql_statements):
    ids = seed_program(make)
    me = db.session.get(Advocate, ids["linus"])
    advocate_api = api(me.user)
    login(client, me.user)
    sql_statements.clear()
    for period in PERIODS:
        assert advocate_api.get(f"/leaderboard?period={period}&group=EMEA").status_code == 200
        assert client.get(f"/leaderboard?period={period}").status_code == 200
        assert client.get(f"/leaderboard/widget?period={period}").status_code == 200
    reads = [s for s in sql_statements if "leaderboard_scores" in s]
    assert reads, "the SQL path was not used"
    assert not [s for s in sql_statements if "ledger_entries" in s]


def test_ties_share_ranks_and_follow_who_reached_first_on_both_paths(redis_app, make):
    """Equal points share a rank (1, 1, 3); the earlier to reach the score is listed first, on
    the SQL and Redis paths alike, in every period and group, also after a correction."""
    now = utcnow()
    ids: dict[str, int] = {}
    plan = {  # name: group, [(points, minutes ago)]
        "early": ("EMEA", [(200, 50), (100, 40)]),
        "late": ("EMEA", [(300, 10)]),
        "middle": ("NA", [(150, 30), (150, 20)]),
        "top": ("NA", [(900, 60)]),
        "low": (None, [(100, 5)]),
    }
    for name, (group, earnings) in plan.items():
        advocate = make.advocate(name=name.title(), groups=(group,) if group else ())
        for n, (points, minutes) in enumerate(earnings):
            ledger.post_entry(
                advocate.id,
                points,
                kind="earn",
                source_type="test",
                source_id=f"{name}-{n}",
                memo="Earned",
                at=now - dt.timedelta(minutes=minutes),
            )
        ids[name] = advocate.id
    db.session.commit()
    rows, _ = board("all", at=now)
    assert rows == [
        (1, ids["top"], 900),
        (2, ids["early"], 300),
        (2, ids["middle"], 300),
        (2, ids["late"], 300),
        (5, ids["low"], 100),
    ]
    assert board("all", me=ids["late"], at=now)[1] == (2, 300)
    assert board("all", limit=2, offset=2, at=now)[0] == [(2, ids["middle"], 300), (2, ids["late"], 300)]
    assert_redis_matches_sql(ids, now)
    services.adjust_points(ids["top"], -600, "Awarded twice", None, lifetime=True)
    db.session.commit()
    assert board("all", at=now)[0][:4] == [
        (1, ids["early"], 300),
        (1, ids["middle"], 300),
        (1, ids["late"], 300),
        (1, ids["top"], 300),
    ]
    assert_redis_matches_sql(ids, now)
    leaderboard.rebuild(at=now)
    db.session.commit()
    assert_redis_matches_sql(ids, now)
