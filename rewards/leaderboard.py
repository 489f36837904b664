"""Leaderboards per period (all time, month, quarter) and per group.

The `leaderboard_scores` table is updated in the ledger's transaction and is the indexed
SQL path. When Redis is configured, sorted sets mirror it (written after commit) and serve
reads; `rebuild()` recomputes both from the ledger. Reads never scan the ledger.

A Redis write that fails (Redis down or hung, hub.redis_client) leaves the sorted sets behind
the table: the process remembers it and, as soon as Redis answers again, marks the sets stale
(`<prefix>stale`); readers then use the SQL path until the periodic reconciler
(rewards.leaderboard_reconcile) has rebuilt them from the ledger.

Order (product.md §14): points descending; within a tie, the advocate who reached the score
first (`reached_at`, the whole second of their latest change in the period) first, then
advocate id. Equal points share a rank (1, 1, 3): a rank is 1 + the number of advocates with
more points.

The tie order lives in the Redis score itself, so a read touches no SQL (issue 16's
performance follow-up): score = points × 2^31 + (2^31 − 2 − seconds from 2000-01-01 to
`reached_at`), or + (2^31 − 1) when `reached_at` is unknown (rows from before it was kept,
listed first as SQL's NULLS FIRST does). A double holds every integer below 2^53 exactly, so
the score is exact for |points| ≤ 4,194,303 (MAX_EXACT_POINTS) and reached-at times from
2000-01-01 to 2068-01-19 (`encode`; tests/rewards/test_leaderboard_encoding.py proves the
bounds). A page that shows a score outside them is read from SQL instead (`_standings_redis`
answers None), so both paths always list the same rows in the same order. Writes stay
ZINCRBY of the difference between the row's encoded score after and before the change, which
commute, so after-commit writes landing in any order leave the right score.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app, has_app_context
from sqlalchemy import CTE, Select, and_, case, delete, func, insert, literal, or_, select

from hub.db import _dialect_insert, defer_sum, floor_second, utcnow, whole_second
from hub.extensions import db
from hub.models import Advocate, User, advocate_groups
from hub.queue import CALLBACKS_KEY, call_after_commit
from hub.redis_client import get_bulk_redis, get_redis, require_redis
from hub.redis_stamps import RedisRead, prefetched
from rewards.metrics import LEADERBOARD_REBUILD

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

PERIODS = ("all", "month", "quarter")
_MEMBER_BASE = 10**12
PERIOD_TTL_SECONDS = 400 * 24 * 3600

TIE_BITS = 31
# One point in a Redis score: the low TIE_BITS bits order a tie by reached-at.
SCORE_PER_POINT: int = 2**TIE_BITS
TIE_ORIGIN = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_TIE_UNKNOWN: int = SCORE_PER_POINT - 1  # reached_at NULL: before every known time
_TIE_LATEST: int = SCORE_PER_POINT - 2  # seconds since TIE_ORIGIN that still fit
MAX_EXACT_POINTS: int = 2 ** (53 - TIE_BITS) - 1


def _tie_part(reached: dt.datetime | None) -> int:
    """The low part of a score: larger for an earlier `reached`, clamped to [0, 2^31 − 2]."""
    if reached is None:
        return _TIE_UNKNOWN
    seconds = (reached - TIE_ORIGIN) // dt.timedelta(seconds=1)
    return _TIE_LATEST - min(max(seconds, 0), _TIE_LATEST)


def encode(points: int, reached: dt.datetime | None) -> int:
    """The Redis score of a board row: `points` in the high part, the reached-at order in the
    low part, so ZREVRANGE lists points descending, then the earliest to reach them first.
    Exact in a Redis double when `exact_score` holds for it."""
    return points * SCORE_PER_POINT + _tie_part(reached)


def points_of(score: float) -> int:
    """The points of a Redis score (`encode`'s high part)."""
    return int(score) // SCORE_PER_POINT


def exact_score(score: float) -> bool:
    """Whether a Redis score orders its row as SQL does: points within ±MAX_EXACT_POINTS and a
    reached-at inside the encodable range (not clamped to either end)."""
    points, tie = divmod(int(score), SCORE_PER_POINT)
    return abs(points) <= MAX_EXACT_POINTS and tie not in (0, _TIE_LATEST)


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


def redis_key(pkey: str, group_id: int | None = None, prefix: str | None = None) -> str:
    """A board's sorted set. `prefix`: `key_prefix()` when the caller has it already (every
    key function here takes it, so a read names its five keys with one config look-up)."""
    return f"{prefix or key_prefix()}{pkey}" + (f":g{group_id}" if group_id else "")


def stale_key(prefix: str | None = None) -> str:
    return f"{prefix or key_prefix()}stale"


# The score encoding the sorted sets hold; `rebuild` writes it last. Sets without it (a flushed
# or new Redis, or sets of plain points from before the tie encoding) are not read.
ENCODING = "tie-seconds-1"


def encoding_key(prefix: str | None = None) -> str:
    return f"{prefix or key_prefix()}encoding"


def rows_key(prefix: str | None = None) -> str:
    """The hash of display rows (`describe`'s answer) by board member, filled by reads."""
    return f"{prefix or key_prefix()}rows"


def rows_generation_key(prefix: str | None = None) -> str:
    """A counter every change of a display row bumps: a fill read before it is refused."""
    return f"{prefix or key_prefix()}rows-gen"


def _is_board(key: bytes | str) -> bool:
    name = key.decode() if isinstance(key, bytes) else key
    return name not in (stale_key(), encoding_key(), rows_key(), rows_generation_key())


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
    reconcile) or were not built by `rebuild` in this encoding (ENCODING). Publishes this
    process's own failed write first. One round trip. Raises on a Redis error."""
    global _stale_pending
    if _stale_pending:
        r.set(stale_key(), "1")
        _stale_pending = False
        return True
    stale, encoding = r.mget([stale_key(), encoding_key()])
    return stale is not None or encoding not in (ENCODING, ENCODING.encode())


def _member(advocate_id: int) -> str:
    # ZREVRANGE orders equal scores by member descending; this makes that id ascending.
    return f"{_MEMBER_BASE - advocate_id:013d}"


def member(advocate_id: int) -> str:
    """An advocate's member name in the board sorted sets (the read script returns it as bytes)."""
    return _member(advocate_id)


def _advocate_from_member(member: bytes | str) -> int:
    return _MEMBER_BASE - int(member)


def add_points(advocate_id: int, points: int, at: dt.datetime) -> None:
    """Add lifetime-counting points to every period containing `at` (caller's transaction);
    `reached_at` becomes `at`'s whole second unless it is later already. Inside
    `hub.db.deferred_sums` (a batch of approvals) the batch's awards are written together when the
    block ends (`_write_points`: three statements for the batch instead of three per award).

    The caller holds the advocate's row lock (rewards.ledger.post_entry's conditional UPDATE)
    until its transaction ends, so the rows read before the upsert are the ones it changes: the
    Redis increment is the difference of their encoded scores (`encode`)."""
    award = {(advocate_id, at): points}
    if not defer_sum(_write_points, award):  # type: ignore[arg-type]
        _write_points(award)


def _write_points(awards: dict[tuple[int, dt.datetime], int]) -> None:
    """Awards — (advocate, at) → points — written in three statements whatever their number: the
    stored rows of their periods read (when Redis is on), one multi-row upsert (rows in key
    order: two writers lock shared rows in the same order; points added, `reached_at` raised),
    and the advocates' groups read; then each advocate's sorted-set steps queued for after commit."""
    from rewards.models import LeaderboardScore as S

    totals: dict[tuple[str, int], tuple[int, dt.datetime]] = {}
    for (advocate_id, at), points in awards.items():
        reached = floor_second(at)
        for period in PERIODS:
            key = (period_key(period, at), advocate_id)
            before = totals.get(key)
            totals[key] = (points, reached) if before is None else (before[0] + points, max(before[1], reached))
    if not totals:
        return
    advocate_ids = sorted({advocate_id for _, advocate_id in totals})
    keys = sorted({pkey for pkey, _ in totals})
    redis_on = get_redis() is not None
    stored: dict[tuple[str, int], tuple[int, dt.datetime | None]] = {}
    if redis_on:
        stored = {
            (pkey, advocate_id): (old_points, old_reached)
            for pkey, advocate_id, old_points, old_reached in db.session.execute(
                select(S.period_key, S.advocate_id, S.points, S.reached_at).where(
                    S.advocate_id.in_(advocate_ids), S.period_key.in_(keys)
                )
            )
        }
    table = S.__table__
    stmt = _dialect_insert(db.session, table).values(
        [
            {"period_key": pkey, "advocate_id": advocate_id, "points": points, "reached_at": reached}
            for (pkey, advocate_id), (points, reached) in sorted(totals.items())
        ]
    )
    stored_reached, newer = table.c.reached_at, stmt.excluded.reached_at
    raised = case((or_(stored_reached.is_(None), stored_reached < newer), newer), else_=stored_reached)
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["period_key", "advocate_id"],
            set_={
                "points": table.c.points + stmt.excluded.points,
                "reached_at": raised,
            },
        )
    )
    if not redis_on:
        return
    groups: dict[int, list[int]] = {advocate_id: [] for advocate_id in advocate_ids}
    for advocate_id, group_id in db.session.execute(
        select(advocate_groups.c.advocate_id, advocate_groups.c.group_id).where(
            advocate_groups.c.advocate_id.in_(advocate_ids)
        )
    ):
        groups[advocate_id].append(group_id)
    steps: dict[int, dict[str, int]] = {advocate_id: {} for advocate_id in advocate_ids}
    for (pkey, advocate_id), (points, reached) in totals.items():
        if (pkey, advocate_id) in stored:
            old_points, old_reached = stored[(pkey, advocate_id)]
            latest = reached if old_reached is None else max(old_reached, reached)
            steps[advocate_id][pkey] = encode(old_points + points, latest) - encode(old_points, old_reached)
        else:  # a member Redis does not hold counts as 0 for ZINCRBY
            steps[advocate_id][pkey] = encode(points, reached)
    for advocate_id in advocate_ids:
        _increment_after_commit(advocate_id, steps[advocate_id], groups[advocate_id])


INCREMENTS_KEY = "vouch_leaderboard_increments"
Increment = tuple[int, dict[str, int], list[int]]  # (advocate id, step per period key, group ids)


def _increment_after_commit(advocate_id: int, steps: dict[str, int], group_ids: list[int]) -> None:
    """Queue this award's sorted-set increments for after commit; every award of the transaction
    (a batch of approvals) goes to Redis in one pipeline. The list lives on the session only
    while its after-commit callback is registered there (a rollback drops both)."""
    info = db.session().info
    pending: list[Increment] | None = info.get(INCREMENTS_KEY)
    if pending is None or not any(getattr(fn, "increments", None) is pending for fn in info.get(CALLBACKS_KEY, [])):
        batch: list[Increment] = []
        info[INCREMENTS_KEY] = pending = batch
        send = _marks_stale(lambda: _redis_increment(batch))
        send.increments = batch  # type: ignore[attr-defined]
        call_after_commit(send)
    pending.append((advocate_id, steps, group_ids))


def _redis_increment(increments: list[Increment]) -> None:
    """ZINCRBY each award's steps into its boards (the program's and its groups'), one round trip."""
    r = require_redis()
    pipe = r.pipeline(transaction=False)
    expiring: set[str] = set()
    for advocate_id, steps, group_ids in increments:
        for key, step in steps.items():
            for gid in [None, *group_ids]:
                rkey = redis_key(key, gid)
                pipe.zincrby(rkey, step, _member(advocate_id))
                if key != "all":
                    expiring.add(rkey)
    for rkey in sorted(expiring):
        pipe.expire(rkey, PERIOD_TTL_SECONDS)
    pipe.execute()


def sync_advocate_groups(advocate_id: int) -> None:
    """After group membership changes, copy the advocate's scores into the group sets."""
    if get_redis() is None:
        return
    from rewards.models import LeaderboardScore

    rows = db.session.execute(
        select(LeaderboardScore.period_key, LeaderboardScore.points, LeaderboardScore.reached_at).where(
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
        for pkey, points, reached in rows:
            for gid in group_ids:
                pipe.zadd(redis_key(pkey, gid), {member: encode(points, reached)})
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
                if _is_board(key):
                    r.zrem(key, _member(advocate_id))

        call_after_commit(_marks_stale(_remove))


def restore_advocate(advocate_id: int, at: dt.datetime | None = None) -> None:
    """Put a reactivated advocate back on the current boards: their period scores recomputed
    from the ledger (as `rebuild` does for everyone), Redis after commit."""
    from rewards.models import LeaderboardScore as S
    from rewards.models import LedgerEntry, lifetime_condition, lifetime_expression

    at = at or utcnow()
    reached = whole_second(func.max(case((lifetime_condition(), LedgerEntry.created_at), else_=None)))
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
        rows = db.session.execute(
            select(S.period_key, S.points, S.reached_at).where(S.advocate_id == advocate_id)
        ).all()
        group_ids = list(
            db.session.scalars(select(advocate_groups.c.group_id).where(advocate_groups.c.advocate_id == advocate_id))
        )

        def _restore() -> None:
            r = require_redis()
            pipe = r.pipeline(transaction=False)
            for pkey, points, reached in rows:
                for gid in [None, *group_ids]:
                    pipe.zadd(redis_key(pkey, gid), {_member(advocate_id): encode(points, reached)})
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
    rows, me, _ = board(period, group_id, limit, offset, me_advocate_id, at, described=False)
    return rows, me


def board(
    period: str,
    group_id: int | None = None,
    limit: int = 10,
    offset: int = 0,
    me_advocate_id: int | None = None,
    at: dt.datetime | None = None,
    described: bool = True,
) -> tuple[list[Row], Row | None, dict[int, dict[str, Any]]]:
    """`standings` plus, when `described`, the display rows of the rows shown (`describe`'s
    answer). From Redis a warm read is one round trip and no SQL: the display rows come from
    the `rows_key` hash in the same script call; rows it lacks are read from SQL once and put
    there (unless a display change came in between, `rows_generation_key`)."""
    pkey = period_key(period, at)
    r = get_redis()
    if r is not None:
        try:
            # A write this process could not apply is published (one SET) and SQL answers;
            # otherwise the markers are checked inside the read's one script call.
            if not (_stale_pending and redis_stale(r)):
                found = _read_board(r, pkey, group_id, limit, offset, me_advocate_id, True, described)
                if found is not None:
                    rows, me, cached, generation = found
                    return rows, me, _complete(r, rows, cached, generation) if described else {}
        except Exception:  # Redis down: the SQL path answers the same question.
            log.warning("leaderboard read from Redis failed; using SQL", exc_info=True)
    rows, me = _standings_sql(pkey, group_id, limit, offset, me_advocate_id)
    return rows, me, describe(rows) if described else {}


# One round trip for a whole read: the stale and encoding markers, the page (ZREVRANGE), the
# caller's score (ZSCORE) and the shared ranks (ZCOUNT from the next point up) of the page's
# first row and of the caller. KEYS: board, stale marker, encoding marker. ARGV: offset, limit,
# the caller's member ('' for none), ENCODING, SCORE_PER_POINT, '1' to check the markers. Scores travel as Redis writes
# them (exact integers below 2^53); a bound is formatted with %.0f because Lua's own number to
# string conversion keeps only 14 digits. Returns {1} when the sets must not be read, else
# {0, page (member, score, ...), the caller's score or false, count above the page's first row
# or -1 (first page), count above the caller or -1, the display rows of the page's members from
# the hash KEYS[4] (false where absent; only when ARGV[7] is '1'), the generation KEYS[5] or '0'}.
_READ_LUA = """
if ARGV[6] == '1' and (redis.call('EXISTS', KEYS[2]) == 1 or redis.call('GET', KEYS[3]) ~= ARGV[4]) then
  return {1}
end
local offset, limit, per = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[5])
local function above(score)
  local floor = (math.floor(tonumber(score) / per) + 1) * per
  return redis.call('ZCOUNT', KEYS[1], string.format('%.0f', floor), '+inf')
end
local page = redis.call('ZREVRANGE', KEYS[1], offset, offset + limit - 1, 'WITHSCORES')
local page_above = -1
if offset > 0 and #page > 0 then page_above = above(page[2]) end
local mine, mine_above = false, -1
if ARGV[3] ~= '' then
  mine = redis.call('ZSCORE', KEYS[1], ARGV[3])
  if mine then mine_above = above(mine) end
end
local shown = {}
if ARGV[7] == '1' and #page > 0 then
  local members = {}
  for i = 1, #page, 2 do members[#members + 1] = page[i] end
  shown = redis.call('HMGET', KEYS[4], unpack(members))
end
return {0, page, mine, page_above, mine_above, shown, redis.call('GET', KEYS[5]) or '0'}
"""
# Display rows read from SQL go into the hash only if no display change was recorded since the
# read began (KEYS: hash, generation; ARGV: the generation the read saw, then field, value, ...).
_FILL_LUA = """
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""
_fill_script: Any = None
_read_script: Any = None


def _read(r: Redis, read: RedisRead) -> Any:
    """The read script's answer: the one the rate limit's script call already got for this very
    read in this request (hub.redis_stamps.prefetched: no round trip of its own), else one
    EVALSHA (redis-py loads the script on NOSCRIPT, e.g. after a Redis restart)."""
    global _read_script
    found = prefetched(read)
    if found is not None:
        return found
    if _read_script is None:
        _read_script = r.register_script(_READ_LUA)
    return _read_script(keys=list(read.keys), args=list(read.args), client=r)


def board_read(
    pkey: str,
    group_id: int | None,
    limit: int,
    offset: int,
    me_id: int | None,
    markers: bool = True,
    described: bool = True,
) -> RedisRead:
    """The read script call (`_READ_LUA`) for a page of a board and the caller's row: what
    `board` sends, and what a route plans ahead so that the rate limit's script call makes it
    (hub.redis_stamps.RedisRead; rewards.leaderboard_view.plan_board_read)."""
    prefix = key_prefix()  # one config look-up for the five keys (this runs twice per API read)
    keys = (
        redis_key(pkey, group_id, prefix),
        stale_key(prefix),
        encoding_key(prefix),
        rows_key(prefix),
        rows_generation_key(prefix),
    )
    me_member = _member(me_id) if me_id is not None else ""
    args = (offset, limit, me_member, ENCODING, SCORE_PER_POINT, "1" if markers else "0", "1" if described else "0")
    return RedisRead("leaderboard.board", _READ_LUA, keys, args)


def _standings_redis(
    r: Redis,
    pkey: str,
    group_id: int | None,
    limit: int,
    offset: int,
    me_id: int | None,
    markers: bool = False,
) -> tuple[list[Row], Row | None] | None:
    """The board from Redis alone in one round trip (`_READ_LUA`, no SQL), or None when a score
    the page would show lies outside the exact range of `encode`, or — with `markers` — when the
    sets may not be read (marked stale, or not built in this ENCODING); the caller then reads SQL."""
    found = _read_board(r, pkey, group_id, limit, offset, me_id, markers, False)
    return None if found is None else (found[0], found[1])


def _read_board(
    r: Redis,
    pkey: str,
    group_id: int | None,
    limit: int,
    offset: int,
    me_id: int | None,
    markers: bool,
    described: bool,
) -> tuple[list[Row], Row | None, dict[int, dict[str, Any]], bytes] | None:
    """`_standings_redis`, plus (when `described`) the display rows the hash holds for the rows
    shown and the display generation the read saw."""
    return decode_answer(_read(r, board_read(pkey, group_id, limit, offset, me_id, markers, described)), offset, me_id)


def warm_answer(pkey: str, group_id: int | None, limit: int, me_id: int | None) -> Any | None:
    """The read script's raw answer (`_READ_LUA`) for the first `limit` rows of a board, their
    display rows and the caller's row (`me_id`; None for staff): the one the rate limit's call
    already made for this request (`prefetched`), else one EVALSHA. None without Redis, or when
    this process has a failed write to publish (`board` then answers, from SQL). Raises on a
    Redis error. What `board` reads, before any decoding: a reader that keeps what it writes
    per raw answer (rewards.api.leaderboard_json) never keeps a stale reply."""
    r = get_redis()
    if r is None or _stale_pending:
        return None
    return _read(r, board_read(pkey, group_id, limit, 0, me_id))


def decode_answer(
    found: Any, offset: int, me_id: int | None
) -> tuple[list[Row], Row | None, dict[int, dict[str, Any]], bytes] | None:
    """A read script answer (`_READ_LUA`) decoded: the page's rows with shared ranks, the
    caller's row (None when they have no points), the display rows the hash held (advocate id →
    `describe`'s row) and the display generation the read saw. None when the sets must not be
    read (marked stale, another ENCODING) or a score shown lies outside `encode`'s exact range:
    the caller then reads SQL."""
    if int(found[0]):
        return None
    _, flat, mine, page_above, mine_above, shown, generation = found
    pairs = [(flat[i], float(flat[i + 1])) for i in range(0, len(flat), 2)]
    window = [(_advocate_from_member(m), s) for m, s in pairs if s >= SCORE_PER_POINT]
    my_score = float(mine) if mine is not None and float(mine) >= SCORE_PER_POINT else None
    scores = [s for _, s in window] + ([my_score] if my_score is not None else [])
    if not all(exact_score(s) for s in scores):
        return None
    rows: list[Row] = []
    if window:
        points = [points_of(s) for _, s in window]
        # A rank is 1 + the advocates with more points (the script counted from the next point up).
        above = int(page_above) if offset else 0
        ranks = _shared_ranks(points, offset, above)
        rows = [Row(rank, a, p) for (a, _), p, rank in zip(window, points, ranks, strict=True)]
    me = None
    if me_id is not None and my_score is not None:
        me = Row(int(mine_above) + 1, me_id, points_of(my_score))
    cached = {
        _advocate_from_member(member): _display_row(value)
        for (member, _), value in zip(pairs, shown or [None] * len(pairs), strict=True)
        if value is not None
    }
    return rows, me, cached, generation


# A display row's JSON as the hash holds it → the decoded row (read-only: shared between
# requests). The same top-N rows are decoded on every read otherwise (issue 22).
_decoded_rows: dict[bytes | str, dict[str, Any]] = {}
_DECODED_ROWS_MAX = 4_096


def _display_row(value: bytes | str) -> dict[str, Any]:
    """`json.loads(value)`, kept per raw value: an unchanged row is the same bytes, and a
    changed one (name, tier, shown) is other bytes, so a kept row is never stale. Callers
    only read it. Emptied when full (a board's pages are far fewer rows than that)."""
    found = _decoded_rows.get(value)
    if found is None:
        found = json.loads(value)
        if len(_decoded_rows) >= _DECODED_ROWS_MAX:
            _decoded_rows.clear()
        _decoded_rows[value] = found
    return found


def complete_display(
    rows: list[Row], cached: dict[int, dict[str, Any]], generation: bytes | str
) -> dict[int, dict[str, Any]]:
    """`decode_answer`'s display rows completed for `rows`: the missing ones read from SQL
    (`describe`) and put in the hash for the next reads (`_complete`). Raises on a Redis error."""
    if all(row.advocate_id in cached for row in rows):
        return cached
    return _complete(require_redis(), rows, cached, generation)


def _complete(
    r: Redis, rows: list[Row], cached: dict[int, dict[str, Any]], generation: bytes | str
) -> dict[int, dict[str, Any]]:
    """The display rows of `rows`: those the hash held, the others read from SQL (`describe`)
    and put in the hash for the next reads, unless the generation moved since the read."""
    global _fill_script
    missing = [row for row in rows if row.advocate_id not in cached]
    if not missing:
        return cached
    found = describe(missing)
    if found:
        if _fill_script is None:
            _fill_script = r.register_script(_FILL_LUA)
        args: list[Any] = [generation]
        for advocate_id, shown in found.items():
            args += [_member(advocate_id), json.dumps(shown)]
        _fill_script(keys=[rows_key(), rows_generation_key()], args=args, client=r)
    return {**cached, **found}


def forget_display(advocate_ids: set[int], session: Any = None) -> None:
    """After the transaction commits, drop these advocates' display rows from the hash and bump
    the generation (a read that began before sees its fill refused). A failed write marks the
    boards stale, so SQL answers until the reconciler's rebuild, which empties the hash.
    `session`: the one whose commit it follows (default: the request's)."""
    if not advocate_ids or get_redis() is None:
        return
    members = [_member(a) for a in sorted(advocate_ids)]

    def _forget() -> None:
        pipe = require_redis().pipeline(transaction=True)
        pipe.incr(rows_generation_key())
        pipe.hdel(rows_key(), *members)
        pipe.execute()

    target = session if session is not None else db.session()
    target.info.setdefault(CALLBACKS_KEY, []).append(_marks_stale(_forget))


def display_changes(session: Any, _context: Any) -> None:
    """`after_flush` listener: the advocates whose display row (`describe`: name, tier, shown)
    this flush changed — a user's name, an advocate's tier or leaderboard choice, a recorded
    tier change (rewards.tier_changes writes the tier with a Core UPDATE and records it as a
    TierChange) — get `forget_display` once the transaction commits."""
    from sqlalchemy import inspect

    from rewards.models import TierChange

    changed: set[int] = set()
    users: list[int] = []
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, TierChange) and obj in session.new:
            changed.add(obj.advocate_id)
        elif isinstance(obj, Advocate) and obj not in session.new:
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in ("tier", "show_on_leaderboard")):
                changed.add(obj.id)
        elif isinstance(obj, User) and obj not in session.new and inspect(obj).attrs.name.history.has_changes():
            users.append(obj.id)
    if users:
        changed.update(session.connection().execute(select(Advocate.id).where(Advocate.user_id.in_(users))).scalars())
    if changed and has_app_context():
        forget_display(changed, session)


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
                return r.zcount(redis_key(pkey, group_id), SCORE_PER_POINT, "+inf")
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
    """Recompute current-period scores from the ledger (set-based) and reload Redis; returns the
    number of advocates on each period's board ({"all": n, "month": n, "quarter": n}).

    One scan of the ledger serves every period: per advocate, the lifetime points, those earned
    since each period's start (SUM … FILTER) and the reached-at time. An advocate on a period's
    board has a lifetime-counting entry in that period, so their latest such entry, the
    reached-at of every board, is the same for all periods. Erased and deactivated advocates are
    dropped after the aggregation (a join of 100,000 advocates, not of every entry).
    Redis sets are built under temporary keys and renamed into place, so readers never see an
    empty or half-built board. Time grows with the ledger's rows (one sequential scan) plus the
    board rows written (a few per advocate).
    """
    from rewards.models import LeaderboardScore as S
    from rewards.models import LedgerEntry, lifetime_condition

    at = at or utcnow()
    counted = case((lifetime_condition(), LedgerEntry.delta), else_=0)
    reached = whole_second(func.max(case((lifetime_condition(), LedgerEntry.created_at), else_=None)))
    columns = []
    for period in PERIODS:
        start = period_start(period, at)
        in_period = counted if start is None else case((LedgerEntry.created_at >= start, counted), else_=0)
        columns.append(func.coalesce(func.sum(in_period), 0).label(f"p_{period}"))
    per_advocate = (
        select(LedgerEntry.advocate_id.label("advocate_id"), reached.label("reached_at"), *columns)
        .group_by(LedgerEntry.advocate_id)
        .cte("per_advocate")
    )
    boards = []
    for period in PERIODS:
        points = per_advocate.c[f"p_{period}"]
        boards.append(
            select(
                literal(period_key(period, at)).label("period_key"),
                per_advocate.c.advocate_id,
                points.label("points"),
                per_advocate.c.reached_at,
            )
            .join(Advocate, Advocate.id == per_advocate.c.advocate_id)
            .join(User, User.id == Advocate.user_id)
            .where(Advocate.is_erased.is_(False), User.is_active_user.is_(True), points > 0)
        )
    board = boards[0].union_all(*boards[1:])
    names = ["period_key", "advocate_id", "points", "reached_at"]
    if db.session.get_bind().dialect.name == "postgresql":
        _write_differences(board.cte("board"), names)
    else:
        db.session.execute(delete(S))
        db.session.execute(insert(S).from_select(names, board))
    counts: dict[str, int] = {
        key: count for key, count in db.session.execute(select(S.period_key, func.count()).group_by(S.period_key))
    }
    db.session.flush()
    r = get_bulk_redis()
    if r is not None:
        _reload_redis(r, [period_key(p, at) for p in PERIODS])
    return {period: counts.get(period_key(period, at), 0) for period in PERIODS}


def _write_differences(board: CTE, names: list[str]) -> None:
    """PostgreSQL: make `leaderboard_scores` equal `board` in one statement that writes only the
    rows that differ — an upsert of changed rows and a delete of rows no longer on a board. A
    rebuild over correct rows (after Redis was lost, or the reconciler's check) then rewrites
    nothing; rewriting 250,000 rows and their two indexes cost more than computing them."""
    from sqlalchemy.dialects.postgresql import insert as postgres_insert

    from rewards.models import LeaderboardScore as S

    upsert = postgres_insert(S).from_select(names, select(*(board.c[name] for name in names)))
    written = (
        upsert.on_conflict_do_update(
            index_elements=[S.period_key, S.advocate_id],
            set_={"points": upsert.excluded.points, "reached_at": upsert.excluded.reached_at},
            where=(S.points != upsert.excluded.points) | S.reached_at.is_distinct_from(upsert.excluded.reached_at),
        )
        .returning(S.advocate_id)
        .cte("written")
    )
    # The DELETE sees the table as it was before the statement (PostgreSQL runs a data-modifying
    # CTE on the same snapshot), and never a row that is on a board, which is all the upsert touches.
    on_board = (
        select(literal(1))
        .select_from(board)
        .where(board.c.period_key == S.period_key, board.c.advocate_id == S.advocate_id)
    )
    db.session.execute(delete(S).where(~on_board.exists()).add_cte(written))


def _reload_redis(r: Redis, pkeys: list[str]) -> None:
    from rewards.models import LeaderboardScore as S

    staged: dict[str, str] = {}
    batch = 5000
    prefix = key_prefix()
    for pkey in pkeys:
        # Core rows, streamed: no ORM row processing for a few hundred thousand members.
        rows = db.session.connection().execute(
            select(S.advocate_id, S.points, S.reached_at, advocate_groups.c.group_id)
            .outerjoin(advocate_groups, advocate_groups.c.advocate_id == S.advocate_id)
            .where(S.period_key == pkey),
            execution_options={"yield_per": batch},
        )
        overall = f"{prefix}{pkey}"
        group_keys: dict[int, str] = {}
        pipe = r.pipeline(transaction=False)
        seen_overall: set[int] = set()
        # Members go out as multi-member ZADDs (one command per `batch` members of a set),
        # not one command per member: 100,000 advocates are a few dozen commands.
        buffers: dict[str, dict[str, int]] = {}
        for advocate_id, points, reached, group_id in rows:
            targets = []
            if advocate_id not in seen_overall:
                seen_overall.add(advocate_id)
                targets.append(overall)
            if group_id is not None:
                group_key = group_keys.get(group_id)
                if group_key is None:
                    group_key = group_keys[group_id] = redis_key(pkey, group_id)
                targets.append(group_key)
            for final in targets:
                tmp = staged.setdefault(final, f"{final}:rebuild")
                members = buffers.setdefault(tmp, {})
                members[_member(advocate_id)] = encode(points, reached)
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
        if name not in staged and not name.endswith(":rebuild") and name != encoding_key():
            pipe.delete(name)
    pipe.set(encoding_key(), ENCODING)
    pipe.execute()
