"""The tie order inside a Redis score (rewards.leaderboard.encode): exact within its bounds, in
the order SQL lists, kept by after-commit increments in any order, and read without SQL."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event

from hub.extensions import db
from rewards import leaderboard, ledger

ORIGIN = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
# The last whole second `encode` keeps apart from later ones: 2^31 − 3 seconds after 2000-01-01.
LAST_EXACT = ORIGIN + dt.timedelta(seconds=2**31 - 3)
MAX_POINTS = 4_194_303  # 2^22 − 1: points × 2^31 + 2^31 − 1 < 2^53

exact_times = st.one_of(
    st.none(),
    st.integers(min_value=1, max_value=2**31 - 3).map(lambda s: ORIGIN + dt.timedelta(seconds=s)),
)
exact_points = st.integers(min_value=-MAX_POINTS, max_value=MAX_POINTS)


def test_the_bounds_are_what_the_docs_say():
    assert leaderboard.MAX_EXACT_POINTS == MAX_POINTS
    assert leaderboard.TIE_ORIGIN == ORIGIN
    assert dt.datetime(2068, 1, 19, 3, 14, 5, tzinfo=dt.UTC) == LAST_EXACT
    # The largest and smallest scores a row can have inside the bounds are exact doubles.
    for points, reached in ((MAX_POINTS, None), (-MAX_POINTS, LAST_EXACT), (1, ORIGIN + dt.timedelta(seconds=1))):
        score = leaderboard.encode(points, reached)
        assert abs(score) < 2**53
        assert float(score) == score
        assert leaderboard.points_of(float(score)) == points
        assert leaderboard.exact_score(float(score))
    assert leaderboard.encode(MAX_POINTS, None) == 2**53 - 1


def test_scores_outside_the_bounds_are_flagged():
    inside = ORIGIN + dt.timedelta(days=9000)
    assert not leaderboard.exact_score(float(leaderboard.encode(MAX_POINTS + 1, inside)))
    assert not leaderboard.exact_score(float(leaderboard.encode(-MAX_POINTS - 1, inside)))
    # Reached before 2000 or after 2068 clamps to the ends of the range: flagged, never mixed up.
    assert not leaderboard.exact_score(float(leaderboard.encode(5, ORIGIN - dt.timedelta(days=1))))
    assert not leaderboard.exact_score(float(leaderboard.encode(5, ORIGIN)))
    assert not leaderboard.exact_score(float(leaderboard.encode(5, LAST_EXACT + dt.timedelta(seconds=1))))
    assert leaderboard.exact_score(float(leaderboard.encode(5, LAST_EXACT)))


@given(points=exact_points, reached=exact_times)
def test_inside_the_bounds_a_score_is_exact_and_decodes(points, reached):
    score = leaderboard.encode(points, reached)
    assert float(score) == score
    assert leaderboard.points_of(float(score)) == points
    assert leaderboard.exact_score(float(score))


@given(
    rows=st.lists(st.tuples(exact_points, exact_times), min_size=2, max_size=12),
)
def test_redis_order_is_sql_order(rows):
    """ZREVRANGE lists by score descending, then member descending (id ascending, `_member`);
    SQL lists points descending, reached_at ascending with NULL first, then id."""
    advocates = [(n + 1, points, reached) for n, (points, reached) in enumerate(rows)]
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    sql = sorted(advocates, key=lambda a: (-a[1], a[2] or never, a[0]))
    redis = sorted(
        advocates,
        key=lambda a: (float(leaderboard.encode(a[1], a[2])), leaderboard._member(a[0])),
        reverse=True,
    )
    assert [a[0] for a in redis] == [a[0] for a in sql]


@given(
    changes=st.lists(
        st.tuples(
            st.integers(min_value=-5000, max_value=5000),
            st.integers(min_value=1, max_value=2**31 - 3).map(lambda s: ORIGIN + dt.timedelta(seconds=s)),
        ),
        min_size=1,
        max_size=10,
    ),
    seed=st.integers(0, 1000),
)
def test_increments_landing_in_any_order_leave_the_exact_score(changes, seed):
    """add_points's ZINCRBY steps: each the difference of the row's encoded score after and
    before its change (points added, reached-at only moving forward), summed as doubles in any
    order, end at the final row's score."""
    points, reached, steps = 0, None, []
    for delta, at in changes:
        after_points, after_reached = points + delta, at if reached is None else max(reached, at)
        before = 0 if not steps else leaderboard.encode(points, reached)
        steps.append(leaderboard.encode(after_points, after_reached) - before)
        points, reached = after_points, after_reached
    random.Random(seed).shuffle(steps)
    total = 0.0
    for step in steps:
        total += float(step)
    assert total == leaderboard.encode(points, reached)
    assert leaderboard.points_of(total) == points


@pytest.fixture()
def redis_app(app_factory):
    application = app_factory(VOUCH_FAKE_REDIS=True)
    with application.app_context():
        application.extensions["vouch_redis"].flushall()
        leaderboard.rebuild()  # marks the empty sets as built in the current encoding
        db.session.commit()
        yield application
        db.session.remove()


def _earn(advocate_id: int, points: int, at: dt.datetime, source: str) -> None:
    ledger.post_entry(advocate_id, points, kind="earn", source_type="test", source_id=source, memo="Earned", at=at)


def _both(me: int | None, limit: int = 10, offset: int = 0):
    pkey = leaderboard.period_key("all")
    return leaderboard.standings("all", None, limit, offset, me), leaderboard._standings_sql(
        pkey, None, limit, offset, me
    )


def test_a_redis_read_runs_no_sql(redis_app, make):
    base = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    ids = [make.advocate().id for _ in range(5)]
    plan = zip(ids, (300, 300, 100, 300, 50), (30, 10, 5, 20, 1), strict=True)
    for n, (advocate_id, points, minutes) in enumerate(plan):
        _earn(advocate_id, points, base + dt.timedelta(minutes=minutes), f"e{n}")
    db.session.commit()
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        rows, me = leaderboard.standings("all", limit=3, offset=1, me_advocate_id=ids[4])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements == []
    # 300 reached at :10 (ids[1]), :20 (ids[3]), :30 (ids[0]); then 100, then 50.
    assert [(r.rank, r.advocate_id, r.points) for r in rows] == [(1, ids[3], 300), (1, ids[0], 300), (4, ids[2], 100)]
    assert (me.rank, me.points) == (5, 50)
    assert _both(ids[4], 3, 1)[0] == _both(ids[4], 3, 1)[1]


def test_ties_within_one_second_are_by_id_on_both_paths(redis_app, make):
    """reached_at is kept to the whole second: within one, the lower id is listed first, in
    SQL and Redis alike, whatever the microseconds."""
    second = dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=dt.UTC)
    first_id, second_id = make.advocate().id, make.advocate().id
    _earn(second_id, 200, second.replace(microsecond=100), "a")
    _earn(first_id, 200, second.replace(microsecond=900_000), "b")
    db.session.commit()
    via_redis, via_sql = _both(first_id)
    assert via_redis == via_sql
    assert [(r.rank, r.advocate_id) for r in via_redis[0]] == [(1, first_id), (1, second_id)]


def test_a_board_outside_the_exact_range_is_read_from_sql(redis_app, make):
    """An advocate above MAX_EXACT_POINTS, and ties reached before 2000: the page that shows them
    comes from SQL, so the order stays the rule's."""
    whale, early, earlier, plain = (make.advocate().id for _ in range(4))
    _earn(whale, MAX_POINTS + 10, dt.datetime(2026, 1, 5, tzinfo=dt.UTC), "w")
    _earn(early, 100, dt.datetime(1999, 6, 1, tzinfo=dt.UTC), "e")
    _earn(earlier, 100, dt.datetime(1998, 6, 1, tzinfo=dt.UTC), "r")
    _earn(plain, 40, dt.datetime(2026, 1, 5, tzinfo=dt.UTC), "p")
    db.session.commit()
    r = redis_app.extensions["vouch_redis"]
    pkey = leaderboard.period_key("all")
    assert leaderboard._standings_redis(r, pkey, None, 10, 0, None) is None
    rows, me = leaderboard.standings("all", limit=10, me_advocate_id=plain)
    assert [(row.rank, row.advocate_id, row.points) for row in rows] == [
        (1, whale, MAX_POINTS + 10),
        (2, earlier, 100),
        (2, early, 100),
        (4, plain, 40),
    ]
    assert (me.rank, me.points) == (4, 40)
    # A page that shows only exact scores still comes from Redis, ranks counting the whale above.
    assert leaderboard._standings_redis(r, pkey, None, 1, 3, plain) == (
        [leaderboard.Row(4, plain, 40)],
        leaderboard.Row(4, plain, 40),
    )


def test_sets_in_an_older_encoding_are_not_read_until_rebuilt(redis_app, make):
    """Sets of plain points (as before the tie encoding) or a Redis without the encoding marker
    are not read: SQL answers until the reconciler has rebuilt them."""
    from rewards.leaderboard_reconcile import reconcile

    first, second = make.advocate().id, make.advocate().id
    _earn(first, 30, dt.datetime(2026, 3, 2, tzinfo=dt.UTC), "a")
    _earn(second, 70, dt.datetime(2026, 3, 3, tzinfo=dt.UTC), "b")
    db.session.commit()
    r = redis_app.extensions["vouch_redis"]
    key = leaderboard.redis_key(leaderboard.period_key("all"))
    r.delete(leaderboard.encoding_key())
    r.zadd(key, {leaderboard._member(first): 30, leaderboard._member(second): 70})  # plain points
    expected = [(1, second, 70), (2, first, 30)]
    rows, _ = leaderboard.standings("all")
    assert [(row.rank, row.advocate_id, row.points) for row in rows] == expected
    assert reconcile(settle_seconds=0).status == "rebuilt"
    db.session.commit()
    assert r.get(leaderboard.encoding_key()) == leaderboard.ENCODING.encode()
    assert [
        (row.rank, row.advocate_id, row.points)
        for row in leaderboard._standings_redis(r, leaderboard.period_key("all"), None, 10, 0, None)[0]
    ] == expected


def test_a_warm_read_is_one_redis_round_trip(redis_app, make, monkeypatch):
    """Markers, page, the caller's score and both shared ranks come back from one script call
    (issue 22): past the first page, with the caller outside it, and ranks counting ties."""
    base = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    ids = [make.advocate().id for _ in range(6)]
    for n, (advocate_id, points) in enumerate(zip(ids, (500, 400, 400, 400, 90, 10), strict=True)):
        _earn(advocate_id, points, base + dt.timedelta(minutes=n), f"w{n}")
    db.session.commit()
    r = redis_app.extensions["vouch_redis"]
    leaderboard.standings("all", limit=2, offset=2, me_advocate_id=ids[5])  # the script is loaded
    trips: list[str] = []
    send = r.execute_command

    def counted(*args, **kwargs):
        trips.append(str(args[0]))
        return send(*args, **kwargs)

    monkeypatch.setattr(r, "execute_command", counted)
    monkeypatch.setattr(r, "pipeline", lambda *a, **k: pytest.fail("a read needs no pipeline"))
    rows, me = leaderboard.standings("all", limit=2, offset=2, me_advocate_id=ids[5])
    assert trips == ["EVALSHA"]
    # 500; then 400 ×3 reached at :01, :02, :03 share rank 2; the page of 2 from the third row.
    assert [(row.rank, row.advocate_id, row.points) for row in rows] == [(2, ids[2], 400), (2, ids[3], 400)]
    assert (me.rank, me.points) == (6, 10)
