"""Issue 22, feed: what is compiled once per catalogue version gives the answers of the plain code.

- a segment (the published challenges of one tier and group set, open at a moment, in the feed's
  order) equals filtering every published challenge by the targeting rule and the dates and
  sorting by the feed's key, for every tier, group set and moment around the challenges' dates;
- the API feed's JSON, written from per-entry pieces plus the advocate's six fields, is byte for
  byte what the reply model writes, whatever the advocate's fields hold (hypothesis);
- a catalogue change, a change of the advocate's groups and a change of their tier made in one
  process are seen by the next feed request of another process that compiled the segment before.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, update

from challenges import catalogue, services
from challenges.api import challenge_reply, feed_item_json, feed_page
from challenges.contracts import ChallengeListQuery, ChallengePage
from challenges.models import CompletionStatus
from challenges.services.feed import FeedItem, LatestCompletion, is_targeted
from hub.extensions import db
from hub.models import Advocate, Group, Tier, advocate_groups
from tests.support.challenges import create_challenge

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


def naive_segment(tier: Tier, group_ids: set[int], at: dt.datetime) -> list[int]:
    """The feed's challenges by the plain rule: every published one, open at `at`, targeted
    (tier listed or none listed; a group in common or none listed), sorted by the feed's key."""
    far = dt.datetime.max.replace(tzinfo=dt.UTC)

    class Someone:
        groups = [type("G", (), {"id": i})() for i in group_ids]

    Someone.tier = tier  # type: ignore[attr-defined]
    chosen = [
        e
        for e in catalogue.published()
        if (e.starts_at is None or e.starts_at <= at)
        and (e.ends_at is None or at < e.ends_at)
        and is_targeted(e, Someone(), set(group_ids))  # type: ignore[arg-type]
    ]
    return [e.id for e in sorted(chosen, key=lambda e: (e.ends_at or far, -e.points, e.id))]


def test_a_segment_equals_the_plain_filter_for_every_tier_group_set_and_moment(ctx, make):
    staff = make.user("manager")
    make.advocate(groups=("EMEA", "APAC", "NA"))  # creates the groups
    days = dt.timedelta(days=1)
    shapes = [
        {},
        {"target_tiers": ["gold"]},
        {"target_tiers": ["silver", "gold"], "target_groups": ["EMEA"]},
        {"target_groups": ["APAC", "NA"]},
        {"target_groups": ["NA"], "points": 50},
        {"starts_at": NOW + days, "points": 50},
        {"ends_at": NOW + 2 * days},
        {"starts_at": NOW - days, "ends_at": NOW + days, "target_groups": ["EMEA"]},
        {"ends_at": NOW + 2 * days, "points": 50},
    ]
    for n, shape in enumerate(shapes):
        create_challenge(staff.id, title=f"Shape {n}", **shape)
    create_challenge(staff.id, publish=False, title="A draft")
    groups = {name: db.session.scalar(select(Group.id).where(Group.name == name)) for name in ("EMEA", "APAC", "NA")}
    moments = [NOW - 2 * days, NOW - days, NOW, NOW + days, NOW + 2 * days, NOW + 3 * days, NOW + days / 2]
    catalogue.forget()
    for tier, size in itertools.product(Tier, range(4)):
        for names in itertools.combinations(groups, size):
            ids = {groups[name] for name in names} | {999_999}  # a group no challenge targets
            for at in moments + moments[::-1]:  # back and forth through each segment's span
                segment = catalogue.segment(tier.value, ids, at)
                assert list(segment.ids) == naive_segment(tier, ids, at), (tier, names, at)
                assert [e.id for e in segment.entries] == list(segment.ids)
                limited = [e.id for e in segment.entries if e.max_total is not None]
                assert list(segment.limited_ids) == limited


def _reply_json(items: list[FeedItem], page: int, per_page: int, total: int) -> bytes:
    replies = [challenge_reply(i.challenge, False, i) for i in items]
    query = ChallengeListQuery(page=page, per_page=per_page)
    return ChallengePage.of(replies, query, total).model_dump_json().encode()


def test_the_feed_json_is_the_reply_models_json(ctx, make):
    advocate = make.advocate(groups=("EMEA",))
    create_challenge(None, title='Quotes " and \\ and ünïcödé', description="**Bold** <b>", max_total=3)
    limited = create_challenge(None, title="Limited, grouped", max_total=1, target_groups=["EMEA"], cooldown_days=7)
    create_challenge(
        None, title="Quiz", type="quiz", quiz={"questions": [{"prompt": "2+2?", "options": ["4", "5"], "answer": 0}]}
    )
    services.submit_completion(limited.id, advocate.id, {"evidence_text": "Done"})
    db.session.commit()
    items = services.feed_for(advocate)
    assert len(items) == 3 and any(i.locked_reason for i in items)
    for item in items:
        assert feed_item_json(item).encode() == challenge_reply(item.challenge, False, item).model_dump_json().encode()
    query = ChallengeListQuery(page=1, per_page=2)
    page = feed_page(query.window(items), query, len(items))
    written = page.model_dump_json()
    assert written.encode() == _reply_json(query.window(items), 1, 2, 3)
    assert json.loads(written)["total"] == 3
    assert ChallengePage.model_validate_json(written).total == 3  # the check the endpoint skips for it


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    available=st.booleans(),
    reason=st.none() | st.text(),
    available_at=st.none() | st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)),
    latest=st.none() | st.tuples(st.integers(1, 2**62), st.sampled_from(list(CompletionStatus)), st.integers(0, 10**6)),
    times=st.integers(0, 10**6),
)
def test_any_advocate_fields_are_written_as_the_reply_model_writes_them(
    ctx, make, available, reason, available_at, latest, times
):
    entry = catalogue.published()[0] if catalogue.published() else None
    if entry is None:
        create_challenge(None, title="One")
        entry = catalogue.published()[0]
    item = FeedItem(
        challenge=entry,
        type=entry.spec,  # type: ignore[arg-type]
        available=available,
        locked_reason=reason,
        available_at=available_at.replace(tzinfo=dt.UTC) if available_at else None,
        latest=LatestCompletion(latest[0], latest[1], latest[2], None, None, NOW) if latest else None,
        times_done=times,
    )
    assert feed_item_json(item) == challenge_reply(entry, False, item).model_dump_json()


_OTHER_PROCESS = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {root!r})
    from tests.support.environment import build_app
    app = build_app({pg_url!r}, REDIS_URL={redis_url!r})
    client = app.test_client()
    for line in sys.stdin:
        reply = client.get("/api/v1/challenges", headers={{"Authorization": "Bearer " + {token!r}}})
        print(json.dumps(sorted(i["title"] for i in reply.get_json()["items"])), flush=True)
    """
)


@pytest.mark.multi_connection
def test_catalogue_group_and_tier_changes_reach_another_process_at_its_next_request(pg_app, pg_url, redis_url, make):
    with pg_app.app_context():
        advocate = make.advocate(groups=("EMEA",))
        make.advocate(groups=("APAC",))
        advocate_id = advocate.id
        staff_id = make.user("manager").id
        token = make.token(advocate.user)
        apac = db.session.scalar(select(Group.id).where(Group.name == "APAC"))
        create_challenge(None, title="Everyone")
        grouped = create_challenge(None, title="APAC only", target_groups=["APAC"])
        create_challenge(None, title="Gold only", target_tiers=["gold"])
        grouped_id = grouped.id
    root = str(Path(__file__).resolve().parents[2])
    script = _OTHER_PROCESS.format(root=root, pg_url=pg_url, redis_url=redis_url, token=token)
    other = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=root
    )
    assert other.stdin is not None and other.stdout is not None

    def titles() -> list[str]:
        """The other process's feed: the titles it answers."""
        other.stdin.write("go\n")
        other.stdin.flush()
        return list(json.loads(other.stdout.readline()))

    try:
        assert titles() == titles() == ["Everyone"]  # the second from the compiled segment
        with pg_app.app_context():  # the advocate joins APAC
            db.session.execute(insert(advocate_groups).values(advocate_id=advocate_id, group_id=apac))
            db.session.commit()
        assert titles() == ["APAC only", "Everyone"]
        with pg_app.app_context():  # their tier changes
            db.session.execute(update(Advocate).where(Advocate.id == advocate_id).values(tier=Tier.GOLD))
            db.session.commit()
        assert titles() == ["APAC only", "Everyone", "Gold only"]
        with pg_app.app_context():  # the catalogue changes: a retitle, a close, a new challenge
            challenge = services.get_challenge(grouped_id)
            services.update_challenge(grouped_id, services.input_from(challenge, title="APAC, renamed"), staff_id)
            db.session.commit()
            assert titles() == ["APAC, renamed", "Everyone", "Gold only"]
            services.close_challenge(grouped_id, staff_id)
            create_challenge(None, title="New")
        assert titles() == ["Everyone", "Gold only", "New"]
    finally:
        other.stdin.close()
        other.wait(timeout=60)
        other.stdout.close()
