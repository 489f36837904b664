"""The per-day tier totals (hub.tier_totals, `TierDayTotal`): kept by the joins, the ledger's tier
changes (rises, corrections that demote, a recomputation after new thresholds) and the erasures,
they equal a rebuild from the advocates and their tier history after any such history, and the
advocates per tier read from them (challenges.reports.people.tiers_at) equal the tiers counted
here, in Python, from the advocates and tier changes written — at every midnight around the
history and now."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from challenges.reports import people
from challenges.reports.period import ReportPeriod, quarter_of
from hub import privacy, tier_totals
from hub.db import utcnow
from hub.extensions import db
from hub.models import Advocate, Tier, TierDayTotal
from hub.settings import save_setting
from rewards import services
from rewards.ledger import post_entry
from rewards.models import CORRECTION_SOURCE, TierChange
from rewards.tier_changes import rebuild_tier_day_totals

_source = itertools.count(1)

# Each operation happens `hours` after the one before (the ledger dates each tier change at its
# entry): joins, credits, corrections and erasures, over a few days so that several fall on one
# UTC day, on the joining day, and on the days after.
OPERATION = st.one_of(
    st.tuples(st.just("join"), st.integers(0, 3), st.just(0)),
    st.tuples(st.just("earn"), st.integers(0, 3), st.sampled_from([300, 700, 1000, 4000])),
    st.tuples(st.just("correct"), st.integers(0, 3), st.sampled_from([300, 1000, 4000])),
    st.tuples(st.just("erase"), st.integers(0, 3), st.just(0)),
)
THRESHOLDS = st.none() | st.sampled_from([(500, 2000), (2000, 8000)])
STEPS = st.lists(st.tuples(OPERATION, st.sampled_from([0, 1, 5, 11, 23, 30])), min_size=1, max_size=14)


def _rows() -> dict[tuple, int]:
    """The kept change of each (day, tier) — the sum over its shards — where not zero."""
    rows = db.session.execute(
        select(TierDayTotal.day, TierDayTotal.tier, func.sum(TierDayTotal.advocates)).group_by(
            TierDayTotal.day, TierDayTotal.tier
        )
    )
    return {(day, Tier(tier)): int(n) for day, tier, n in rows if n}


def _by_hand(moment: dt.datetime) -> dict[str, int]:
    """Advocates per tier at `moment` from the rows: joined before it, not erased, in the tier
    their first change at or after it left (the earlier id on a tie), else their stored tier."""
    changes: dict[int, list[TierChange]] = {}
    for change in db.session.scalars(select(TierChange).order_by(TierChange.changed_at, TierChange.id)):
        changes.setdefault(change.advocate_id, []).append(change)
    found = {t.value: 0 for t in Tier}
    for advocate in db.session.scalars(select(Advocate)):
        if advocate.is_erased or advocate.joined_at >= moment:
            continue
        later = [c for c in changes.get(advocate.id, []) if c.changed_at >= moment]
        found[Tier(later[0].from_tier if later else advocate.tier).value] += 1
    return found


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, thresholds=THRESHOLDS)
def test_kept_tier_totals_equal_a_rebuild_and_the_tiers_counted_by_hand(ctx, make_advocate, steps, thresholds):
    _check_history(make_advocate, steps, thresholds)


@pytest.mark.services
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, thresholds=THRESHOLDS)
def test_kept_tier_totals_on_postgresql(pg_ctx, make, steps, thresholds):
    """The same on PostgreSQL (UTC days whatever the session's time zone; the fold's DELETE …
    RETURNING; the report's FILTER sums)."""
    db.session.execute(db.text("SET TIME ZONE 'America/Los_Angeles'"))
    _check_history(make.advocate, steps, thresholds)


def _check_history(make_advocate, steps, thresholds) -> None:
    when = dt.datetime.combine(utcnow().date() - dt.timedelta(days=20), dt.time(21), tzinfo=dt.UTC)
    made: list[Advocate] = []
    for (op, who, points), hours in steps:
        when += dt.timedelta(hours=hours)
        if op == "join" or not made:
            advocate = make_advocate()
            tier_totals.move_join(advocate, when)
            made.append(advocate)
            continue
        advocate = made[who % len(made)]
        if op == "earn":
            post_entry(advocate.id, points, kind="earn", source_type="test", source_id=next(_source), at=when)
        elif op == "correct":
            if advocate.lifetime_points >= points:
                post_entry(
                    advocate.id, -points, kind="adjust", source_type=CORRECTION_SOURCE, source_id=next(_source), at=when
                )
        elif not advocate.is_erased:
            privacy.erase_advocate(advocate.id, None, "test")
        db.session.commit()
        db.session.refresh(advocate)
    if thresholds is not None:
        # New thresholds move advocates both ways, each change dated now.
        save_setting("tier_thresholds", {"silver": thresholds[0], "gold": thresholds[1]}, None)
        services.recompute_all_tiers()
    db.session.commit()
    now = utcnow()  # after every change: a running period counts the stored tiers

    kept = _rows()
    # Folding the days before yesterday leaves their sums, and those days one row per tier.
    tier_totals.fold_shards(now.date() - dt.timedelta(days=1))
    assert _rows() == kept
    spread = select(TierDayTotal).where(TierDayTotal.day < now.date() - dt.timedelta(days=1))
    assert all(row.shard == 0 and row.advocates for row in db.session.scalars(spread))
    rebuild_tier_day_totals()
    assert _rows() == kept

    first = min(a.joined_at for a in made).date() - dt.timedelta(days=1)
    for day in (first + dt.timedelta(days=n) for n in range((now.date() - first).days + 1)):
        ending = ReportPeriod(day - dt.timedelta(days=1), day - dt.timedelta(days=1))
        [(tiers, advocates)] = people.tiers_at([ending], now)
        assert tiers == _by_hand(ending.as_of(now)), day
        assert advocates == sum(tiers.values())
    [(tiers, _)] = people.tiers_at([quarter_of(now.date())], now)
    assert tiers == _by_hand(now)


def test_the_demo_program_keeps_its_tier_totals(app, ctx):
    """The demo dates its advocates' joins back (hub.tier_totals.move_join) and earns their tiers
    through the ledger over a year: what it kept equals the rebuild, and its tiers now are the
    stored ones."""
    assert app.test_cli_runner().invoke(args=["hub", "seed-demo"]).exit_code == 0
    kept = _rows()
    rebuild_tier_day_totals()
    assert _rows() == kept
    now = utcnow()
    [(tiers, _)] = people.tiers_at([quarter_of(now.date())], now)
    assert tiers == _by_hand(now) and tiers["gold"] > 0
