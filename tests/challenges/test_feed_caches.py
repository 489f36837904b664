"""Issue 22, feed and hub page: what replaced per-request work keeps giving the same answers.

- places taken (trigger-kept counters) equal a recount after any sequence of completion writes —
  inserts, status changes, deletions, approvals, rejections and erasures — on SQLite and
  PostgreSQL, and the rebuild command writes the same counts;
- the retry round from (tries, last try) equals the round computed from every try;
- the catalogue's and the settings' stamps move in the transaction that changes their source
  (and move back with a rollback), so no process keeps a stale copy;
- the hub's program activity is cached per process for the configured seconds only, and says
  "You" per viewer from the shared rows;
- `any_of` sends one array parameter on PostgreSQL and selects the same rows as IN.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from challenges import catalogue, services
from challenges.models import Challenge, ChallengePlaces, Completion, CompletionStatus
from challenges.services import places
from challenges.services.feed import retry_round, retry_round_of
from hub import privacy, stamps
from hub.errors import VouchError
from hub.extensions import db
from hub.settings import get_setting, save_setting
from tests.support.challenges import create_challenge

STATUSES = list(CompletionStatus)
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)

operation = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 2), st.integers(0, 1), st.sampled_from(STATUSES)),
    st.tuples(st.just("set"), st.integers(0, 50), st.sampled_from(STATUSES)),
    st.tuples(st.just("delete"), st.integers(0, 50)),
    st.tuples(st.just("approve"), st.integers(0, 50)),
    st.tuples(st.just("reject"), st.integers(0, 50)),
    st.tuples(st.just("erase"), st.integers(0, 2)),
)


def counted_from_scratch(challenge_ids: list[int]) -> dict[int, int]:
    """Places taken by a plain count of the completions (independent of the counters)."""
    counts = dict.fromkeys(challenge_ids, 0)
    for challenge_id, status in db.session.execute(
        select(Completion.challenge_id, Completion.status).where(Completion.challenge_id.in_(challenge_ids))
    ):
        if status in (
            CompletionStatus.SUBMITTED,
            CompletionStatus.VERIFYING,
            CompletionStatus.PENDING_REVIEW,
            CompletionStatus.APPROVED,
        ):
            counts[challenge_id] += 1
    return counts


def pick_one(ids: list[int], k: int) -> int:
    return ids[k % len(ids)]


def run_operations(make, ops: list[tuple]) -> list[int]:
    """Apply `ops` to 3 new advocates and 2 new challenges; returns the challenges' ids."""
    advocates = [make.advocate() for _ in range(3)]
    challenges = [create_challenge(None, max_total=100), create_challenge(None)]
    for op in ops:
        ids = list(
            db.session.scalars(
                select(Completion.id)
                .where(Completion.challenge_id.in_([c.id for c in challenges]))
                .order_by(Completion.id)
            )
        )
        pick = partial(pick_one, ids) if ids else None
        try:
            with db.session.begin_nested():
                if op[0] == "insert":
                    _, a, c, status = op
                    db.session.execute(
                        insert(Completion).values(
                            challenge_id=challenges[c].id,
                            advocate_id=advocates[a].id,
                            status=status,
                            points_offered=10,
                            submitted_at=NOW,
                        )
                    )
                elif op[0] == "set" and pick:
                    db.session.execute(update(Completion).where(Completion.id == pick(op[1])).values(status=op[2]))
                elif op[0] == "delete" and pick:
                    db.session.execute(delete(Completion).where(Completion.id == pick(op[1])))
                elif op[0] == "approve" and pick:
                    services.approve_completion(pick(op[1]), None)
                elif op[0] == "reject" and pick:
                    services.reject_completion(pick(op[1]), None, "Not this time.")
                elif op[0] == "erase":
                    privacy.erase_advocate(advocates[op[1]].id, None, "operator")
        except (IntegrityError, VouchError):
            pass  # refused (a second open completion, an invalid transition): nothing written
    return [c.id for c in challenges]


def check_counters(challenge_ids: list[int]) -> None:
    expected = counted_from_scratch(challenge_ids)
    assert places.places_taken(challenge_ids) == expected
    places.rebuild_places()
    assert places.places_taken(challenge_ids) == expected
    assert {k: v for k, v in places.recount().items() if k in challenge_ids} == {k: v for k, v in expected.items() if v}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, max_size=25))
def test_places_equal_a_recount_after_any_writes_sqlite(ctx, make, ops):
    check_counters(run_operations(make, ops))


@pytest.mark.services
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, max_size=25))
def test_places_equal_a_recount_after_any_writes_postgresql(pg_ctx, make, ops):
    check_counters(run_operations(make, ops))


def test_places_taken_is_zero_for_an_untaken_challenge_and_counts_shards(ctx, make):
    challenge = create_challenge(None, max_total=20)
    assert places.places_taken([challenge.id]) == {challenge.id: 0}
    advocates = [make.advocate() for _ in range(9)]  # more advocates than shards
    for advocate in advocates:
        services.submit_completion(challenge.id, advocate.id, {"evidence_text": "Done"})
    rows = db.session.scalar(
        select(db.func.count()).select_from(ChallengePlaces).where(ChallengePlaces.challenge_id == challenge.id)
    )
    assert rows > 1  # spread over shards
    assert places.places_taken([challenge.id]) == {challenge.id: 9}


@given(
    limit=st.integers(1, 4),
    wait=st.integers(0, 48),
    gaps=st.lists(st.integers(0, 30 * 3600), max_size=10),
    later=st.integers(0, 100 * 3600),
)
def test_retry_round_from_count_and_last_try_equals_the_full_walk(limit, wait, gaps, later):
    class Rules:
        retry_limit = limit
        retry_wait_hours = wait

    tries, moment = [], NOW
    for gap in gaps:
        moment += dt.timedelta(seconds=gap)
        tries.append(moment)
    at = moment + dt.timedelta(seconds=later)
    full = retry_round(Rules, tuple(tries), at)  # type: ignore[arg-type]
    short = retry_round_of(Rules, len(tries), tries[-1] if tries else None, at)  # type: ignore[arg-type]
    assert full == short


def test_catalogue_stamp_moves_with_the_change_and_back_with_a_rollback(ctx, make):
    staff = make.user("manager")
    challenge = create_challenge(staff.id, title="Stamped")
    before = stamps.current(catalogue.STAMP)
    assert catalogue.get(challenge.id).title == "Stamped"
    services.update_challenge(challenge.id, services.input_from(challenge, title="Renamed"), staff.id)
    during = stamps.current(catalogue.STAMP)
    assert during != before
    assert catalogue.get(challenge.id).title == "Renamed"  # this transaction sees its change
    db.session.rollback()
    assert stamps.current(catalogue.STAMP) == before
    assert catalogue.get(challenge.id).title == "Stamped"
    services.close_challenge(challenge.id, staff.id)  # a conditional UPDATE statement, not a flush
    db.session.commit()
    assert stamps.current(catalogue.STAMP) not in (before, during)
    assert catalogue.get(challenge.id) is None


def test_catalogue_entries_follow_target_group_changes(ctx, make):
    staff = make.user("manager")
    emea = make.advocate(groups=("EMEA",))
    make.advocate(groups=("APAC",))
    challenge = create_challenge(staff.id, title="Grouped", target_groups=["EMEA"])
    assert [g.name for g in catalogue.get(challenge.id).target_groups] == ["EMEA"]
    assert challenge.id in {i.challenge.id for i in services.feed_for(emea)}
    services.update_challenge(challenge.id, services.input_from(challenge, target_groups=("APAC",)), staff.id)
    db.session.commit()
    assert [g.name for g in catalogue.get(challenge.id).target_groups] == ["APAC"]
    assert challenge.id not in {i.challenge.id for i in services.feed_for(emea)}


def test_settings_are_cached_per_process_until_their_stamp_moves(ctx, make, sql_statements):
    from flask import g

    def in_a_new_request() -> str:
        with ctx.test_request_context():
            g.pop("vouch_settings", None)  # the test's app context outlives a request's
            value: str = get_setting("program_name")
            return value

    owner = make.user("owner")
    save_setting("program_name", "First name", owner.id)
    db.session.commit()
    assert in_a_new_request() == "First name"
    sql_statements.clear()
    assert in_a_new_request() == "First name"
    assert not [s for s in sql_statements if "FROM settings" in s]  # the stamp read only
    save_setting("program_name", "Second name", owner.id)
    db.session.commit()
    assert in_a_new_request() == "Second name"
    # A raw write that bypasses SQLAlchemy is not seen until someone bumps the stamp.
    db.session.execute(db.text("UPDATE settings SET value = '\"Third name\"' WHERE key = 'program_name'"))
    db.session.commit()
    assert in_a_new_request() == "Second name"
    stamps.bump("settings")
    db.session.commit()
    assert in_a_new_request() == "Third name"


def test_program_activity_is_cached_for_the_configured_seconds(ctx, make, monkeypatch):
    from challenges.services import activity

    activity.forget_recent_activity()
    ctx.config["VOUCH_ACTIVITY_CACHE_SECONDS"] = 60
    clock = [1000.0]
    monkeypatch.setattr(activity.time, "monotonic", lambda: clock[0])
    try:
        grace, viewer = make.advocate(name="Grace Hopper"), make.advocate()
        challenge = create_challenge(None, title="Product quiz")
        assert activity.recent_activity(viewer.id) == []
        done = services.submit_completion(challenge.id, grace.id, {"evidence_text": "Done"})
        services.approve_completion(done.id, None)
        db.session.commit()
        assert activity.recent_activity(viewer.id) == []  # read 0 s ago: still the cached rows
        clock[0] += 59.9
        assert activity.recent_activity(viewer.id) == []
        clock[0] += 0.2
        lines = activity.recent_activity(viewer.id)
        assert [line.text for line in lines] == ["Grace completed “Product quiz”"]
        assert [line.text for line in activity.recent_activity(grace.id)] == ["You completed “Product quiz”"]
    finally:
        ctx.config["VOUCH_ACTIVITY_CACHE_SECONDS"] = 0
        activity.forget_recent_activity()


@pytest.mark.services
def test_any_of_is_one_array_parameter_on_postgresql(pg_ctx, make):
    from sqlalchemy.dialects import postgresql

    from hub.db import any_of

    challenges = [create_challenge(None, title=f"Any {n}") for n in range(3)]
    ids = [c.id for c in challenges]
    for n in (2, 3):
        stmt = select(db.func.count()).where(any_of(Completion.challenge_id, ids[:n]))
        compiled = stmt.compile(dialect=postgresql.psycopg.dialect())
        assert "= ANY (" in str(compiled) and len(compiled.params) == 1
    found = db.session.scalars(select(Challenge.id).where(any_of(Challenge.id, ids[:2]))).all()
    assert sorted(found) == sorted(ids[:2])


def test_feed_reply_from_a_catalogue_entry_equals_the_reply_from_the_challenge_row(ctx, make):
    """The API validates an entry's reply once per version and adds the advocate's fields; the
    JSON is the one the challenge's own row gives."""
    from challenges.api import challenge_reply

    advocate = make.advocate(groups=("EMEA",))
    create_challenge(None, title="Plain")
    limited = create_challenge(None, title="Limited, grouped", max_total=3, target_groups=["EMEA"])
    services.submit_completion(limited.id, advocate.id, {"evidence_text": "Done"})
    db.session.commit()
    items = services.feed_for(advocate)
    assert {i.challenge.title for i in items} == {"Plain", "Limited, grouped"}
    for item in items:
        row = db.session.get(Challenge, item.challenge.id)
        assert isinstance(item.challenge, catalogue.Entry)
        from_entry = challenge_reply(item.challenge, False, item).model_dump_json()
        assert from_entry == challenge_reply(row, False, item).model_dump_json()
        assert challenge_reply(item.challenge, False, item).model_dump_json() == from_entry  # cached: same
