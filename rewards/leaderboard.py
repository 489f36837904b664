"""Leaderboards per period (all time, month, quarter) and per group.

The `leaderboard_scores` table is updated in the ledger's transaction and is the indexed
SQL path. When Redis is configured, sorted sets mirror it (written after commit) and serve
reads; `rebuild()` recomputes both from the ledger. Reads never scan the ledger.

A Redis write that fails (Redis down or hung, hub.redis_client) leaves the sorted sets behind
the table: the process remembers it and, as soon as Redis answers again, marks the sets stale
(`<prefix>stale`); readers then use the SQL path until the periodic reconciler
(rewards.leaderboard_reconcile) has rebuilt them from the ledger.

Order (product.md §14): points descending; within a tie, the advocate who reached the score
first (`reached_at`, the time of their last change in the period) first, then advocate id.
Equal points share a rank (1, 1, 3): a rank is 1 + the number of advocates with more points.
Redis holds the scores; the tie order is read from the SQL table's `reached_at` for the tie
groups on the page, so both paths list the same rows in the same order.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from flask import current_app
from sqlalchemy import Select, and_, case, delete, func, insert, literal, select

from hub.db import upsert_add, utcnow
from hub.extensions import db
from hub.models import Advocate, User, advocate_groups
from hub.queue import call_after_commit
from hub.redis_client import get_bulk_redis, get_redis, require_redis
from rewards.metrics import LEADERBOARD_REBUILD

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

PERIODS = ("all", "month", "quarter")
_MEMBER_BASE = 10**12
PERIOD_TTL_SECONDS = 400 * 24 * 3600


def period_key(period: str, at: dt.datetime | None = None) -> str:
    at = at or utcnow()
    if period == "all":
        return "all"
    if period == "month":
        return f"m{at.year:04d}-{at.month:02d}"
    if period == "quarter":
        return f"q{at.year:04d}-{(at.month - 1) // 3 + 1}"
    raise ValueError(f"unknown period {period!r}")


def period_start(period: str, at: dt.datetime | None = None) -> dt.datetime | None:
    at = at or utcnow()
    if period == "all":
        return None
    month = at.month if period == "month" else 3 * ((at.month - 1) // 3) + 1
    return dt.datetime(at.year, month, 1, tzinfo=dt.UTC)


def key_prefix() -> str:
    return f"{current_app.config.get('VOUCH_REDIS_NAMESPACE', 'vouch')}:lb:"


def redis_key(pkey: str, group_id: int | None = None) -> str:
    return f"{key_prefix()}{pkey}" + (f":g{group_id}" if group_id else "")


def stale_key() -> str:
    return f"{key_prefix()}stale"


_stale_pending = False


def _marks_stale(write: Callable[[], None]) -> Callable[[], None]:
    """Wrap an after-commit Redis write: if it fails, the sorted sets are behind the table."""

    def run() -> None:
        global _stale_pending
        try:
            write()
        except Exception:
            _stale_pending = True
            raise

    return run


def redis_stale(r: Redis) -> bool:
    """Whether the sorted sets may be behind the SQL table (a write failed since the last
    reconcile). Publishes this process's own failed write first. Raises on a Redis error."""
    global _stale_pending
    if _stale_pending:
        r.set(stale_key(), "1")
        _stale_pending = False
        return True
    return bool(r.exists(stale_key()))


def _member(advocate_id: int) -> str:
    # ZREVRANGE orders equal scores by member descending; this makes that id ascending.
    return f"{_MEMBER_BASE - advocate_id:013d}"


def _advocate_from_member(member: bytes | str) -> int:
    return _MEMBER_BASE - int(member)


def add_points(advocate_id: int, points: int, at: dt.datetime) -> None:
    """Add lifetime-counting points to every period containing `at` (caller's transaction)."""
    from rewards.models import LeaderboardScore

    keys = [period_key(p, at) for p in PERIODS]
    table = LeaderboardScore.__table__
    upsert_add(
        db.session,
        table,
        [{"period_key": key, "advocate_id": advocate_id} for key in keys],
        "points",
        points,
        also={"reached_at": at},
    )
    if get_redis() is not None:
        group_ids = list(
            db.session.scalars(select(advocate_groups.c.group_id).where(advocate_groups.c.advocate_id == advocate_id))
        )
        call_after_commit(_marks_stale(lambda: _redis_increment(advocate_id, points, keys, group_ids)))


def _redis_increment(advocate_id: int, points: int, keys: list[str], group_ids: list[int]) -> None:
    r = require_redis()
    pipe = r.pipeline(transaction=False)
    for key in keys:
        for gid in [None, *group_ids]:
            rkey = redis_key(key, gid)
            pipe.zincrby(rkey, points, _member(advocate_id))
            if key != "all":
                pipe.expire(rkey, PERIOD_TTL_SECONDS)
    pipe.execute()


def sync_advocate_groups(advocate_id: int) -> None:
    """After group membership changes, copy the advocate's scores into the group sets."""
    if get_redis() is None:
        return
    from rewards.models import LeaderboardScore

    rows = db.session.execute(
        select(LeaderboardScore.period_key, LeaderboardScore.points).where(
            LeaderboardScore.advocate_id == advocate_id,
            LeaderboardScore.period_key.in_([period_key(p) for p in PERIODS]),
        )
    ).all()
    group_ids = list(
        db.session.scalars(select(advocate_groups.c.group_id).where(advocate_groups.c.advocate_id == advocate_id))
    )

    def _sync() -> None:
        r = require_redis()
        pipe = r.pipeline(transaction=False)
        member = _member(advocate_id)
        for cursor_key in r.scan_iter(match=f"{key_prefix()}*:g*"):
            pipe.zrem(cursor_key, member)
        for pkey, points in rows:
            for gid in group_ids:
                pipe.zadd(redis_key(pkey, gid), {member: points})
        pipe.execute()

    call_after_commit(_marks_stale(_sync))


def remove_advocate(advocate_id: int) -> None:
    """Take an advocate off every board (erasure)."""
    from rewards.models import LeaderboardScore

    db.session.execute(delete(LeaderboardScore).where(LeaderboardScore.advocate_id == advocate_id))
    if get_redis() is not None:

        def _remove() -> None:
            r = require_redis()
            for key in r.scan_iter(match=f"{key_prefix()}*"):
                if key not in (stale_key(), stale_key().encode()):
                    r.zrem(key, _member(advocate_id))

        call_after_commit(_marks_stale(_remove))


def restore_advocate(advocate_id: int, at: dt.datetime | None = None) -> None:
    """Put a reactivated advocate back on the current boards: their period scores recomputed
    from the ledger (as `rebuild` does for everyone), Redis after commit."""
    from rewards.models import LeaderboardScore as S
    from rewards.models import LedgerEntry, lifetime_condition, lifetime_expression

    at = at or utcnow()
    reached = func.max(case((lifetime_condition(), LedgerEntry.created_at), else_=None))
    db.session.execute(delete(S).where(S.advocate_id == advocate_id))
    for period in PERIODS:
        start = period_start(period, at)
        agg = select(literal(period_key(period, at)), LedgerEntry.advocate_id, lifetime_expression(), reached).where(
            LedgerEntry.advocate_id == advocate_id
        )
        if start is not None:
            agg = agg.where(LedgerEntry.created_at >= start)
        agg = agg.group_by(LedgerEntry.advocate_id).having(lifetime_expression() > 0)
        db.session.execute(insert(S).from_select(["period_key", "advocate_id", "points", "reached_at"], agg))
    if get_redis() is not None:
        rows = db.session.execute(select(S.period_key, S.points).where(S.advocate_id == advocate_id)).all()
        group_ids = list(
            db.session.scalars(select(advocate_groups.c.group_id).where(advocate_groups.c.advocate_id == advocate_id))
        )

        def _restore() -> None:
            r = require_redis()
            pipe = r.pipeline(transaction=False)
            for pkey, points in rows:
                for gid in [None, *group_ids]:
                    pipe.zadd(redis_key(pkey, gid), {_member(advocate_id): points})
            pipe.execute()

        call_after_commit(_restore)


def advocate_active_changed(advocate_id: int, active: bool) -> None:
    """hub.hooks listener: an inactive advocate leaves every board; reactivated, they return."""
    if active:
        restore_advocate(advocate_id)
    else:
        remove_advocate(advocate_id)


@dataclass(frozen=True)
class Row:
    rank: int
    advocate_id: int
    points: int


def standings(
    period: str,
    group_id: int | None = None,
    limit: int = 10,
    offset: int = 0,
    me_advocate_id: int | None = None,
    at: dt.datetime | None = None,
) -> tuple[list[Row], Row | None]:
    """The top rows and the caller's own row (None when they have no points in the period)."""
    pkey = period_key(period, at)
    r = get_redis()
    if r is not None:
        try:
            if not redis_stale(r):
                return _standings_redis(r, pkey, group_id, limit, offset, me_advocate_id)
        except Exception:  # Redis down: the SQL path answers the same question.
            log.warning("leaderboard read from Redis failed; using SQL", exc_info=True)
    return _standings_sql(pkey, group_id, limit, offset, me_advocate_id)


def _standings_redis(
    r: Redis, pkey: str, group_id: int | None, limit: int, offset: int, me_id: int | None
) -> tuple[list[Row], Row | None]:
    key = redis_key(pkey, group_id)
    pipe = r.pipeline(transaction=False)
    pipe.zrevrange(key, offset, offset + limit - 1, withscores=True)
    if me_id is not None:
        pipe.zscore(key, _member(me_id))
    results = pipe.execute()
    window = [(_advocate_from_member(m), int(s)) for m, s in results[0] if s > 0]
    rows: list[Row] = []
    if window:
        top, bottom = window[0][1], window[-1][1]
        # Every member of the tie groups the page touches, so they can be ordered by reached_at.
        tied = cast("list[tuple[bytes, float]]", r.zrevrangebyscore(key, top, bottom, withscores=True))
        members = [(_advocate_from_member(m), int(s)) for m, s in tied]
        above = r.zcount(key, f"({top}", "+inf")
        ordered = _tie_order(pkey, members)
        ranks = _shared_ranks([p for _, p in ordered], above, above)
        start = offset - above
        rows = [Row(rank, a, p) for (a, p), rank in list(zip(ordered, ranks, strict=True))[start : start + limit]]
    me = None
    if me_id is not None:
        score = results[1]
        if score and score > 0:
            me = Row(int(r.zcount(key, f"({int(score)}", "+inf")) + 1, me_id, int(score))
    return rows, me


def _tie_order(pkey: str, members: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`members` (advocate id, points) ordered: points descending, reached first, id."""
    from rewards.models import LeaderboardScore as S

    reached = dict(
        db.session.execute(
            select(S.advocate_id, S.reached_at).where(S.period_key == pkey, S.advocate_id.in_([a for a, _ in members]))
        ).all()
    )
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(members, key=lambda m: (-m[1], reached.get(m[0]) or never, m[0]))


def _shared_ranks(points: list[int], start: int, above: int) -> list[int]:
    """Ranks of rows in board order: the first is at position `start` (0-based) and has `above`
    rows with more points ahead; a row tied with the one before shares its rank."""
    ranks: list[int] = []
    for i, p in enumerate(points):
        if i == 0:
            ranks.append(above + 1)
        else:
            ranks.append(ranks[-1] if p == points[i - 1] else start + i + 1)
    return ranks


def _scores_query(pkey: str, group_id: int | None) -> Select[int, int]:
    from rewards.models import LeaderboardScore as S

    q = select(S.advocate_id, S.points).where(S.period_key == pkey, S.points > 0)
    if group_id:
        q = q.join(
            advocate_groups,
            and_(advocate_groups.c.advocate_id == S.advocate_id, advocate_groups.c.group_id == group_id),
        )
    return q


def _count_above(pkey: str, group_id: int | None, points: int) -> int:
    from rewards.models import LeaderboardScore as S

    ahead = _scores_query(pkey, group_id).where(S.points > points)
    return db.session.execute(select(func.count()).select_from(ahead.subquery())).scalar_one()


def _standings_sql(
    pkey: str, group_id: int | None, limit: int, offset: int, me_id: int | None
) -> tuple[list[Row], Row | None]:
    from rewards.models import LeaderboardScore as S

    q = _scores_query(pkey, group_id).order_by(S.points.desc(), S.reached_at.asc().nulls_first(), S.advocate_id.asc())
    found = db.session.execute(q.limit(limit).offset(offset)).all()
    rows: list[Row] = []
    if found:
        above = _count_above(pkey, group_id, found[0].points) if offset else 0
        ranks = _shared_ranks([p for _, p in found], offset, above)
        rows = [Row(rank, a, p) for (a, p), rank in zip(found, ranks, strict=True)]
    me = None
    if me_id is not None:
        mine = db.session.execute(_scores_query(pkey, group_id).where(S.advocate_id == me_id)).first()
        if mine is not None:
            me = Row(_count_above(pkey, group_id, mine.points) + 1, me_id, mine.points)
    return rows, me


def count_ranked(period: str, group_id: int | None = None) -> int:
    pkey = period_key(period)
    r = get_redis()
    if r is not None:
        try:
            if not redis_stale(r):
                return r.zcount(redis_key(pkey, group_id), "(0", "+inf")
        except Exception:
            log.warning("leaderboard count from Redis failed; using SQL", exc_info=True)
    return db.session.execute(select(func.count()).select_from(_scores_query(pkey, group_id).subquery())).scalar_one()


def describe(rows: list[Row]) -> dict[int, dict[str, Any]]:
    """Display name, tier and whether they show by name (`shown`; opted out of the board: false)
    for the advocates in `rows`, in one query."""
    ids = [row.advocate_id for row in rows]
    if not ids:
        return {}
    found = db.session.execute(
        select(Advocate.id, Advocate.tier, Advocate.show_on_leaderboard, User.name)
        .join(User, User.id == Advocate.user_id)
        .where(Advocate.id.in_(ids))
    ).all()
    return {
        a_id: {"display_name": name if shown else "Anonymous advocate", "tier": str(tier), "shown": bool(shown)}
        for a_id, tier, shown, name in found
    }


@LEADERBOARD_REBUILD.time()
def rebuild(at: dt.datetime | None = None) -> dict[str, int]:
    """Recompute current-period scores from the ledger (set-based) and reload Redis.

    Redis sets are built under temporary keys and renamed into place, so readers never
    see an empty or half-built board.
    """
    from rewards.models import LeaderboardScore as S
    from rewards.models import LedgerEntry, lifetime_condition, lifetime_expression

    at = at or utcnow()
    reached = func.max(case((lifetime_condition(), LedgerEntry.created_at), else_=None))
    db.session.execute(delete(S))
    counts: dict[str, int] = {}
    for period in PERIODS:
        pkey = period_key(period, at)
        start = period_start(period, at)
        agg = (
            select(literal(pkey), LedgerEntry.advocate_id, lifetime_expression(), reached)
            .join(Advocate, Advocate.id == LedgerEntry.advocate_id)
            .join(User, User.id == Advocate.user_id)
            .where(Advocate.is_erased.is_(False), User.is_active_user.is_(True))
        )
        if start is not None:
            agg = agg.where(LedgerEntry.created_at >= start)
        agg = agg.group_by(LedgerEntry.advocate_id).having(lifetime_expression() > 0)
        db.session.execute(insert(S).from_select(["period_key", "advocate_id", "points", "reached_at"], agg))
        counts[period] = db.session.execute(select(func.count()).where(S.period_key == pkey)).scalar_one()
    db.session.flush()
    r = get_bulk_redis()
    if r is not None:
        _reload_redis(r, [period_key(p, at) for p in PERIODS])
    return counts


def _reload_redis(r: Redis, pkeys: list[str]) -> None:
    from rewards.models import LeaderboardScore as S

    staged: dict[str, str] = {}
    batch = 5000
    for pkey in pkeys:
        rows = db.session.execute(
            select(S.advocate_id, S.points, advocate_groups.c.group_id)
            .outerjoin(advocate_groups, advocate_groups.c.advocate_id == S.advocate_id)
            .where(S.period_key == pkey)
        ).yield_per(batch)
        pipe = r.pipeline(transaction=False)
        seen_overall: set[int] = set()
        # Members go out as multi-member ZADDs (one command per `batch` members of a set),
        # not one command per member: 100,000 advocates are a few dozen commands.
        buffers: dict[str, dict[str, int]] = {}
        for advocate_id, points, group_id in rows:
            targets = []
            if advocate_id not in seen_overall:
                seen_overall.add(advocate_id)
                targets.append(redis_key(pkey))
            if group_id is not None:
                targets.append(redis_key(pkey, group_id))
            for final in targets:
                tmp = staged.setdefault(final, f"{final}:rebuild")
                members = buffers.setdefault(tmp, {})
                members[_member(advocate_id)] = points
                if len(members) >= batch:
                    pipe.zadd(tmp, buffers.pop(tmp))
                    pipe.execute()
        for tmp, members in buffers.items():
            pipe.zadd(tmp, members)
        pipe.execute()
    live = set(r.scan_iter(match=f"{key_prefix()}*"))
    pipe = r.pipeline(transaction=True)
    for final, tmp in staged.items():
        pipe.rename(tmp, final)
        if not final.startswith(f"{key_prefix()}all"):
            pipe.expire(final, PERIOD_TTL_SECONDS)
    for stale in live:
        name = stale.decode() if isinstance(stale, bytes) else stale
        if name not in staged and not name.endswith(":rebuild"):
            pipe.delete(name)
    pipe.execute()
