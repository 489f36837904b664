"""Issue 22, feed: a feed the process keeps per advocate gives the answer computed afresh.

`challenges.services.feed.feed_for` reads the advocate's rows (records, places, asks) in one
statement on every call and returns the feed it computed before when those rows, the
advocate's preferences and ask settings, the caps policy, the viewer's zone and the catalogue
segment are all unchanged and no moment at which a rule's answer flips has passed. Checked here:

- at 720 moments, in order and then shuffled, across a cooldown's end, a used-up round of tries'
  end, an ask leaving a cap's window, a break's start and end, a challenge closing and another
  opening and several midnights, the kept feed equals a feed computed afresh from the rows —
  and it was reused (the test fails if nothing was kept);
- the one statement reads the same advocate, groups, records, places and asks as the plain
  per-table queries (SQLite and PostgreSQL: the raw column types give the same values);
- a place taken that fills nothing keeps the feed; the one that fills the challenge does not;
- another process that keeps the feed sees, at its next request, a completion approved by a
  bulk UPDATE, the last place of a limited challenge taken by someone else, a new ask filling a
  cap, a change of the caps policy and a break set in the advocate's preferences.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update

from challenges import caps, catalogue, services
from challenges.models import Ask, AskKind, Completion, CompletionStatus
from challenges.services import feed, places
from hub.extensions import db
from hub.models import Advocate, Group, Tier, advocate_groups
from hub.settings import save_setting
from hub.timezones import viewer_zone
from tests.support.challenges import create_challenge
from tests.support.feed_process import feed_in_another_process

T0 = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


def shown(items: list[feed.FeedItem]) -> list[tuple[Any, ...]]:
    """What a feed says of each challenge, in its order."""
    return [
        (
            i.challenge.id,
            i.available,
            i.lock_code,
            i.locked_reason,
            i.available_at,
            (i.latest.id, i.latest.status) if i.latest else None,
            i.times_done,
            (i.tries.used, i.tries.wait_until) if i.tries else None,
        )
        for i in items
    ]


def computed_afresh(advocate: Advocate, at: dt.datetime) -> list[tuple[Any, ...]]:
    """The feed at `at` computed from the rows without looking at anything kept."""
    state = feed.read_state(advocate.id, at)
    segment = catalogue.segment(advocate.tier.value, state.group_ids, at)
    items, _ = feed._compute(advocate, segment, state, at, viewer_zone())
    return shown(items)


def add_completion(advocate_id: int, challenge_id: int, status: CompletionStatus, submitted, decided=None) -> None:
    db.session.add(
        Completion(
            advocate_id=advocate_id,
            challenge_id=challenge_id,
            status=status,
            points_offered=100,
            points_awarded=100 if status is CompletionStatus.APPROVED else None,
            reason="Not what we asked for." if status is CompletionStatus.REJECTED else None,
            submitted_at=submitted,
            decided_at=decided,
        )
    )


def rules_world(make) -> tuple[Advocate, dict[str, int]]:
    """An advocate whose feed changes at known moments after T0 (see the module docstring)."""
    save_setting(
        "caps_policy",
        {
            "reference_calls_per_30_days": 1,
            "medium_asks_per_60_days": 1,
            "high_asks_per_90_days": 1,
            "asks_per_365_days": 12,
        },
        None,
    )
    db.session.commit()
    advocate = make.advocate()
    other = make.advocate()
    day = T0.date()
    advocate.preferences = {
        "activity_types": ["custom"],
        "blackouts": [{"start": str(day + dt.timedelta(days=2)), "end": str(day + dt.timedelta(days=3))}],
    }
    ids = {
        "cooldown": create_challenge(None, title="Cooldown", max_per_advocate=5, cooldown_days=1).id,
        "retry": create_challenge(None, title="Retry", retry_limit=1, retry_wait_hours=5).id,
        "limited": create_challenge(None, title="Limited", max_total=1).id,
        "medium": create_challenge(None, title="Medium", effort="medium").id,
        "ending": create_challenge(None, title="Ending", ends_at=(T0 + dt.timedelta(hours=9)).isoformat()).id,
        "starting": create_challenge(None, title="Starting", starts_at=(T0 + dt.timedelta(hours=11)).isoformat()).id,
        "plain": create_challenge(None, title="Plain", points=10).id,
    }
    add_completion(advocate.id, ids["cooldown"], CompletionStatus.APPROVED, T0 - dt.timedelta(hours=6))
    add_completion(
        advocate.id, ids["retry"], CompletionStatus.REJECTED, T0 - dt.timedelta(hours=2), T0 - dt.timedelta(hours=1)
    )
    add_completion(other.id, ids["limited"], CompletionStatus.APPROVED, T0 - dt.timedelta(days=1))
    db.session.add(
        Ask(
            advocate_id=advocate.id,
            kind=AskKind.MEDIUM,
            source_type="import",
            source_id="kept-feed",
            asked_at=T0 - dt.timedelta(days=60) + dt.timedelta(hours=7),
        )
    )
    db.session.commit()
    return db.session.get_one(Advocate, advocate.id), ids


def test_a_kept_feed_equals_the_feed_computed_afresh_at_every_moment(ctx, make, monkeypatch):
    advocate, ids = rules_world(make)
    computed: list[dt.datetime] = []
    compute = feed._compute

    def counted(*args: Any) -> Any:
        computed.append(args[3])
        return compute(*args)

    monkeypatch.setattr(feed, "_compute", counted)
    # Every 5 minutes for 60 hours (a kept feed lasts at most to the next quarter hour), in
    # order, then the same moments shuffled (back and forth in time).
    moments = [T0 + dt.timedelta(minutes=5 * k) for k in range(60 * 12)]
    shuffled = random.Random(22).sample(moments, len(moments))
    feed.forget_kept()
    kept_computed = 0
    for at in moments:
        before = len(computed)
        kept = shown(feed.feed_for(advocate, at))
        kept_computed += len(computed) - before
        assert kept == computed_afresh(advocate, at), at
    for at in shuffled:
        assert shown(feed.feed_for(advocate, at)) == computed_afresh(advocate, at), at
    # In order, the feed was kept between quarter hours and the rules' moments: computed about
    # once per three calls, not every time.
    assert kept_computed < len(moments) / 2
    # …and what it kept did change across them: each rule's lock ended while the moments ran.
    first = shown(feed.feed_for(advocate, moments[0]))
    last = shown(feed.feed_for(advocate, T0 + dt.timedelta(days=4)))  # after the break
    locked_first = {row[0]: row[2] for row in first}
    locked_last = {row[0]: row[2] for row in last}
    assert locked_first[ids["cooldown"]] == locked_first[ids["retry"]] == "limit_reached"
    assert locked_first[ids["medium"]] == "cap_reached"
    assert locked_first[ids["limited"]] == "limit_reached"
    assert ids["ending"] in locked_first and ids["starting"] not in locked_first
    assert ids["ending"] not in locked_last and ids["starting"] in locked_last
    assert locked_last[ids["cooldown"]] is None and locked_last[ids["retry"]] is None
    assert locked_last[ids["medium"]] is None


def test_a_kept_feed_sees_a_break_begin_and_end(ctx, make):
    advocate, ids = rules_world(make)
    feed.forget_kept()
    on_break = T0 + dt.timedelta(days=1, hours=12, minutes=1)  # the break's first day, 00:01 UTC
    before = {row[0]: row[2] for row in shown(feed.feed_for(advocate, on_break - dt.timedelta(minutes=2)))}
    during = {row[0]: row[2] for row in shown(feed.feed_for(advocate, on_break))}
    after = {row[0]: row[2] for row in shown(feed.feed_for(advocate, T0 + dt.timedelta(days=4)))}
    assert before[ids["plain"]] is None and during[ids["plain"]] == "on_break" and after[ids["plain"]] is None


def test_a_place_taken_keeps_the_feed_until_it_fills_the_challenge(ctx, make, monkeypatch):
    advocate = make.advocate()
    others = [make.advocate() for _ in range(2)]
    limited = create_challenge(None, title="Two places", max_total=2).id
    db.session.commit()
    computed: list[dt.datetime] = []
    compute = feed._compute

    def counted(*args: Any) -> Any:
        computed.append(args[3])
        return compute(*args)

    monkeypatch.setattr(feed, "_compute", counted)
    feed.forget_kept()
    at = T0 + dt.timedelta(minutes=1)

    def lock() -> str | None:
        return next(i.lock_code for i in feed.feed_for(advocate, at) if i.challenge.id == limited)

    assert lock() is None and len(computed) == 1
    add_completion(others[0].id, limited, CompletionStatus.SUBMITTED, T0)  # one of two places
    db.session.commit()
    assert lock() is None and len(computed) == 1  # kept: nothing the rules read changed
    add_completion(others[1].id, limited, CompletionStatus.SUBMITTED, T0)  # the last place
    db.session.commit()
    assert lock() == "limit_reached" and len(computed) == 2
    assert places.places_taken([limited]) == {limited: 2}


def plain_reads(advocate: Advocate, at: dt.datetime) -> tuple[Any, ...]:
    """The advocate, records, places and asks read the plain way: ORM rows per table, grouped here."""
    published = catalogue.current()
    advocate_id = advocate.id
    history: dict[int, list[Completion]] = {}
    for c in db.session.scalars(
        select(Completion)
        .where(Completion.advocate_id == advocate_id, Completion.challenge_id.in_(published.ids))
        .order_by(Completion.submitted_at.desc(), Completion.id.desc())
    ):
        history.setdefault(c.challenge_id, []).append(c)
    records = {cid: feed.MyRecord.of(rows) for cid, rows in history.items()}
    asks = [
        (a.kind, a.asked_at)
        for a in db.session.scalars(
            select(Ask)
            .where(
                Ask.advocate_id == advocate_id,
                Ask.cancelled_at.is_(None),
                Ask.asked_at > at - dt.timedelta(days=caps.LOOKBACK_DAYS),
            )
            .order_by(Ask.asked_at)
        )
    ]
    taken = {cid: n for cid, n in places.places_taken(published.limited_ids).items() if n}
    person = (advocate.tier, advocate.preferences, advocate.available_for_references, advocate.max_asks_per_quarter)
    return person, {g.id for g in advocate.groups}, records, taken, asks


def one_statement_reads(advocate_id: int, at: dt.datetime) -> tuple[Any, ...]:
    state = feed.read_state(advocate_id, at)
    assert state.advocate is not None
    _, _, references, per_quarter, *_ = state.advocate
    person = (Tier(state.advocate[7]), json.loads(state.advocate[10]), bool(references), per_quarter)
    records = {
        cid: (r.counting, r.approved, r.in_flight, r.last_counting_at, r.tries, r.last_try_at, r.latest)
        for cid, r in feed._records_of(state).items()
    }
    taken = {row[1]: row[2] for row in state.places if row[2]}
    asks = [(AskKind(row[7]), feed._aware(row[5])) for row in state.asks]
    return person, set(state.group_ids), records, taken, asks


def check_one_statement_reads_as_the_plain_queries(make) -> None:
    advocate, _ = rules_world(make)
    advocate.max_asks_per_quarter = 4
    db.session.add(Group(name="Kept feed A"))
    db.session.add(Group(name="Kept feed B"))
    db.session.flush()
    for group in db.session.scalars(select(Group).where(Group.name.like("Kept feed %"))):
        db.session.execute(insert(advocate_groups).values(advocate_id=advocate.id, group_id=group.id))
    db.session.commit()
    db.session.expire_all()
    advocate = db.session.get_one(Advocate, advocate.id)
    plain_person, plain_groups, plain_records, plain_taken, plain_asks = plain_reads(advocate, T0)
    person, groups, records, taken, asks = one_statement_reads(advocate.id, T0)
    assert person == plain_person and plain_person[3] == 4 and plain_person[1]["activity_types"] == ["custom"]
    assert groups == plain_groups and len(groups) == 2
    assert taken == plain_taken and asks == plain_asks and len(plain_asks) == 1
    assert set(records) == set(plain_records) and len(records) == 2
    for cid, r in plain_records.items():
        latest = r.latest
        assert latest is not None
        expected_latest = feed.LatestCompletion(
            latest.id, latest.status, latest.points_offered, latest.points_awarded, latest.reason, latest.submitted_at
        )
        assert records[cid] == (
            r.counting,
            r.approved,
            r.in_flight,
            r.last_counting_at,
            r.tries,
            r.last_try_at,
            expected_latest,
        )


def test_the_one_statement_reads_what_the_plain_queries_read_sqlite(ctx, make):
    check_one_statement_reads_as_the_plain_queries(make)


def test_the_one_statement_reads_what_the_plain_queries_read_postgresql(pg_ctx, make):
    check_one_statement_reads_as_the_plain_queries(make)


@pytest.mark.multi_connection
def test_another_process_keeping_the_feed_sees_every_change_at_its_next_request(pg_app, pg_url, redis_url, make):
    with pg_app.app_context():
        advocate = make.advocate()
        other = make.advocate()
        advocate_id, other_id = advocate.id, other.id
        token = make.token(advocate.user)
        create_challenge(None, title="Plain")
        done = create_challenge(None, title="Sent in").id
        limited = create_challenge(None, title="Limited", max_total=1).id
        create_challenge(None, title="Medium", effort="medium")
        now = dt.datetime.now(dt.UTC)
        add_completion(advocate_id, done, CompletionStatus.PENDING_REVIEW, now - dt.timedelta(hours=1))
        db.session.commit()
    with feed_in_another_process(pg_url, redis_url, token, ("available", "locked_reason", "my_status")) as seen:
        first = seen()
        assert first == seen()  # the second from the kept feed
        assert first["Sent in"] == [False, "You have sent this in — it is being checked.", "pending_review"]
        assert first["Limited"] == first["Plain"] == first["Medium"] == [True, None, None]
        with pg_app.app_context():  # approved by a bulk UPDATE (no ORM object, no stamp)
            db.session.execute(
                update(Completion)
                .where(Completion.advocate_id == advocate_id, Completion.challenge_id == done)
                .values(status=CompletionStatus.APPROVED, points_awarded=100, decided_at=dt.datetime.now(dt.UTC))
            )
            db.session.commit()
        assert seen()["Sent in"] == [False, "You have completed this challenge — thank you!", "approved"]
        with pg_app.app_context():  # someone else takes the one place
            add_completion(other_id, limited, CompletionStatus.SUBMITTED, dt.datetime.now(dt.UTC))
            db.session.commit()
        assert seen()["Limited"] == [False, "All places for this challenge have been taken.", None]
        with pg_app.app_context():  # the owner allows no medium-effort asks
            save_setting(
                "caps_policy",
                {
                    "reference_calls_per_30_days": 1,
                    "medium_asks_per_60_days": 0,
                    "high_asks_per_90_days": 1,
                    "asks_per_365_days": 12,
                },
                None,
            )
            db.session.commit()
        medium = "The program is not asking for medium-effort activities right now."
        assert seen()["Medium"] == [False, medium, None]
        with pg_app.app_context():  # a yearly cap of one, then an ask that fills it
            save_setting(
                "caps_policy",
                {
                    "reference_calls_per_30_days": 1,
                    "medium_asks_per_60_days": 1,
                    "high_asks_per_90_days": 1,
                    "asks_per_365_days": 1,
                },
                None,
            )
            db.session.commit()
        assert seen()["Medium"] == [True, None, None]
        with pg_app.app_context():
            db.session.add(
                Ask(
                    advocate_id=advocate_id,
                    kind=AskKind.HIGH,
                    source_type="import",
                    source_id="kept-feed-2",
                    asked_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
                )
            )
            db.session.commit()
        available, reason, _ = seen()["Medium"]
        assert not available and reason.startswith("You have helped 1 times in the last 12 months")
        with pg_app.app_context():  # a break from today (preferences: the advocate's own row)
            today = dt.datetime.now(dt.UTC).date()
            row = db.session.get_one(Advocate, advocate_id)
            row.preferences = {"blackouts": [{"start": str(today), "end": str(today + dt.timedelta(days=2))}]}
            db.session.commit()
        available, reason, _ = seen()["Plain"]
        assert not available and reason.startswith("You are on a break until")


def test_the_api_feed_of_an_unknown_advocate_is_not_found(ctx):
    from hub.errors import NotFound

    with pytest.raises(NotFound):
        services.feed_of(10**9)


@pytest.mark.parametrize(
    ("at", "boundary"),
    [
        (dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC), dt.datetime(2026, 11, 30, 12, 15, tzinfo=dt.UTC)),
        (dt.datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, tzinfo=dt.UTC)),
        # 10:05 UTC written in Kathmandu's time (+05:45): the next boundary is 10:15 UTC
        (
            dt.datetime(2026, 11, 30, 15, 50, tzinfo=ZoneInfo("Asia/Kathmandu")),
            dt.datetime(2026, 11, 30, 10, 15, tzinfo=dt.UTC),
        ),
    ],
)
def test_a_kept_feed_lasts_at_most_to_the_next_quarter_hour(at, boundary):
    assert feed._next_quarter_hour(at) == boundary
