"""The Redis leaderboards checked against the ledger's table, and rebuilt when they differ.

After a Redis outage the sorted sets miss the points awarded meanwhile (their after-commit
writes failed), and a flushed or replaced Redis has none at all. `reconcile()` runs every few
minutes (a PeriodicJob, rewards.hooks): it compares the overall board of each current period
with `leaderboard_scores` (kept in the ledger's transaction, so equal to the ledger, I4) and,
when a write failed since the last check (the `stale` marker) or the boards differ, rebuilds
both from the ledger (`leaderboard.rebuild`). A difference seen once is checked again after
`settle_seconds`, so points committed a moment ago whose Redis write is still on its way do
not cause a rebuild.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from sqlalchemy import select

from hub.extensions import db
from hub.redis_client import get_bulk_redis
from rewards import leaderboard

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reconciled:
    """What one check found: `status` is "no_redis", "unavailable", "in_sync" or "rebuilt";
    `differing` counts the advocates whose Redis score differed (0 when only marked stale)."""

    status: str
    differing: int = 0


def _differences(r: Redis) -> dict[str, set[int]]:
    """Advocates whose Redis score differs from the table, per current period key: points or
    tie order (the whole encoded score, `leaderboard.encode`, compared as the double Redis
    holds)."""
    from rewards.models import LeaderboardScore as S

    found: dict[str, set[int]] = {}
    for period in leaderboard.PERIODS:
        pkey = leaderboard.period_key(period)
        table = {
            a: float(leaderboard.encode(p, reached))
            for a, p, reached in db.session.execute(
                select(S.advocate_id, S.points, S.reached_at).where(S.period_key == pkey)
            ).all()
            if p
        }
        cached = {
            leaderboard._advocate_from_member(m): score
            # withscores=True: (member, score) pairs, which redis-py's return type does not distinguish.
            for m, score in cast(
                "list[tuple[bytes, float]]", r.zrange(leaderboard.redis_key(pkey), 0, -1, withscores=True)
            )
            if leaderboard.points_of(score)
        }
        differing = {a for a in table.keys() | cached.keys() if table.get(a) != cached.get(a)}
        if differing:
            found[pkey] = differing
    return found


def reconcile(settle_seconds: float = 2.0) -> Reconciled:
    """Check the Redis boards and rebuild them from the ledger when stale or different.

    Caller commits (the rebuild rewrites `leaderboard_scores`). Never raises for Redis being
    down: that is reported as "unavailable" and the next run tries again."""
    r = get_bulk_redis()
    if r is None:
        return Reconciled("no_redis")
    try:
        stale = leaderboard.redis_stale(r)
        differing = _differences(r)
        if differing and not stale:
            time.sleep(settle_seconds)
            db.session.expire_all()
            again = _differences(r)
            differing = {k: v & again.get(k, set()) for k, v in differing.items() if v & again.get(k, set())}
        if not stale and not differing:
            return Reconciled("in_sync")
        count = len(set().union(*differing.values())) if differing else 0
        log.warning("Redis leaderboards behind the ledger (stale=%s, %d advocates differ); rebuilding", stale, count)
        leaderboard.rebuild()
        return Reconciled("rebuilt", count)
    except Exception as exc:
        from redis.exceptions import RedisError

        if isinstance(exc, RedisError):
            log.warning("leaderboard reconcile skipped: Redis unavailable (%s)", exc)
            return Reconciled("unavailable")
        raise
