"""The advocates per tier at any moment, kept as daily changes (`hub.models.TierDayTotal`).

An advocate is counted in the reports from the moment they join (`joined_at`) until they are
erased, in the tier they had then: their tier before their first tier change at or after that
moment (`from_tier`, the earlier id on a tie of times), or the stored tier when it has not
changed since (challenges.reports.people.tiers_at). Read at midnight starting a day D, that is
the sum of these per-day changes over the days before D:

- on the UTC day they joined, +1 in the tier they had at the end of that day (their stored tier
  for a new advocate: no change yet);
- on the UTC day of each later tier change, −1 in the tier it left and +1 in the tier the next
  change left (or the stored tier after the last) — for a history written by
  `rewards.tier_changes.refresh_tier`, −1 `from_tier` +1 `to_tier`. A change on or before the
  joining day is folded into the joining day's +1.

`history_changes` computes one advocate's rows from their history, the one rule the rebuild
(`rewards.tier_changes.rebuild_tier_day_totals`, the migration's backfill) and the erasure (which
takes them back out) follow; joins (`count_join`, `move_join`) and tier changes
(`rewards.tier_changes.refresh_tier`) add theirs in their own transaction with one INSERT … ON
CONFLICT DO UPDATE, shards spreading one day's writers over several rows. A (day, tier)'s change
is the sum over its shards: once a day has passed, `fold_shards` (the daily tier job) sums its
shards into shard 0, and the rebuild writes shard 0 alone, so a reader sums about three rows per
day however many shards there are."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, select

from hub.db import execute_dml, table_of, upsert_add_each
from hub.extensions import db
from hub.models import TIER_DAY_SHARDS, Advocate, Tier, TierDayTotal

Key = tuple[dt.date, Tier, int]


def utc_day(moment: dt.datetime) -> dt.date:
    """The UTC calendar day of an aware moment (a naive one is read as UTC)."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(dt.UTC).date()


def shard_of(advocate_id: int) -> int:
    """The shard an advocate's rows go to."""
    return advocate_id % TIER_DAY_SHARDS


def history_changes(
    advocate_id: int,
    joined_at: dt.datetime,
    stored: Tier | str,
    changes: Iterable[tuple[dt.datetime, Tier | str]],
) -> dict[Key, int]:
    """One advocate's rows: `{(day, tier, shard): advocates}` from their joining time, stored
    tier and tier changes given as `(changed_at, from_tier)` in the order the reports read them
    (changed_at, then id). Zero sums are left out."""
    shard = shard_of(advocate_id)
    join_day = utc_day(joined_at)
    later = [(utc_day(at), Tier(left)) for at, left in changes if utc_day(at) > join_day]
    tiers_left = [tier for _, tier in later] + [Tier(stored)]
    found: dict[Key, int] = {}

    def add(day: dt.date, tier: Tier, n: int) -> None:
        found[(day, tier, shard)] = found.get((day, tier, shard), 0) + n

    add(join_day, tiers_left[0], 1)
    for i, (day, left) in enumerate(later):
        add(day, left, -1)
        add(day, tiers_left[i + 1], 1)
    return {key: n for key, n in found.items() if n}


def add_changes(changes: dict[Key, int]) -> None:
    """Add `changes` to the kept rows in one INSERT … ON CONFLICT DO UPDATE, rows in key order (so
    two writers lock shared rows in the same order)."""
    rows = [
        {"day": day, "tier": tier, "shard": shard, "advocates": changes[(day, tier, shard)]}
        for day, tier, shard in sorted(changes, key=lambda k: (k[0], k[1].value, k[2]))
        if changes[(day, tier, shard)]
    ]
    upsert_add_each(db.session, table_of(TierDayTotal), rows, "advocates")


def count_join(advocate: Advocate) -> None:
    """A new advocate (flushed: id, joining time and tier set, no tier change yet) counts in
    their tier from the day they joined."""
    add_changes({(utc_day(advocate.joined_at), Tier(advocate.tier), shard_of(advocate.id)): 1})


def move_join(advocate: Advocate, joined_at: dt.datetime) -> None:
    """Set the joining time of an advocate whose tier has not changed yet (the demo dates its
    advocates back) and move their row to that day."""
    assert advocate.tier_changed_at is None, "only an advocate without tier changes moves their join"
    tier, shard = Tier(advocate.tier), shard_of(advocate.id)
    before, after = utc_day(advocate.joined_at), utc_day(joined_at)
    advocate.joined_at = joined_at
    if before != after:
        add_changes({(before, tier, shard): -1, (after, tier, shard): 1})


def count_tier_change(advocate_id: int, joined_at: dt.datetime, at: dt.datetime, left: Tier, reached: Tier) -> None:
    """A tier change at `at` (the latest of the advocate's history) from `left` to `reached`: on
    its day, or on the joining day when it is not later (`history_changes`)."""
    day = max(utc_day(at), utc_day(joined_at))
    shard = shard_of(advocate_id)
    add_changes({(day, left, shard): -1, (day, reached, shard): 1})


def uncount(
    advocate_id: int, joined_at: dt.datetime, stored: Tier | str, changes: Iterable[tuple[dt.datetime, Tier | str]]
) -> None:
    """Take an erased advocate's whole history back out (they are counted at no moment)."""
    add_changes({key: -n for key, n in history_changes(advocate_id, joined_at, stored, changes).items()})


def fold_shards(before: dt.date) -> int:
    """Sum the shards of each (day, tier) of the days before `before` into shard 0 and drop the
    rows left at zero, in the caller's transaction: the sums per (day, tier) do not change, and
    the days past hold one row per tier (`rewards.jobs.recompute_tiers_job` folds every day before
    yesterday). The rows are deleted with RETURNING, so what is added to shard 0 is what each
    held when deleted, whatever a writer of such a day (an erasure, a tier change dated back)
    committed meanwhile; a later write to a folded day adds a shard row again, folded next time.
    Returns the rows removed.

    Every row of those days is locked first, in key order — the order `add_changes` writes in —
    so an erasure or a dated-back change writing some of them waits for the fold or the fold for
    it, and the two never deadlock (the DELETEs alone would lock in the table's order)."""
    t = TierDayTotal
    db.session.execute(select(t.day).where(t.day < before).order_by(t.day, t.tier, t.shard).with_for_update()).all()
    spread = db.session.execute(
        delete(t)
        .where(t.day < before, t.shard != 0)
        .returning(t.day, t.tier, t.advocates)
        .execution_options(synchronize_session=False)
    ).all()
    sums: dict[Key, int] = {}
    for day, tier, n in spread:
        key = (day, Tier(tier), 0)
        sums[key] = sums.get(key, 0) + int(n)
    add_changes(sums)
    zeros = execute_dml(
        delete(t).where(t.day < before, t.advocates == 0).execution_options(synchronize_session=False)
    ).rowcount
    return len(spread) + int(zeros or 0)
