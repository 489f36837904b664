"""Points expiry with grandfathering (product.md §14): which credited points expire when, and the
`expire` entries that take them away.

The policy is two settings: `points_expiry_days` (N, None = off) and `points_expiry_since` (when
it was switched on). A credited entry (earn, bonus, positive adjust) made at or after `since`
is a lot that expires N days after it was credited; earlier lots are grandfathered and never
expire. Spending uses the oldest points first (FIFO by credit time, then entry id), so what is
left of each lot is a pure function of the advocate's ledger (`remaining_lots`): every debit
that is not an expiry (redeem, negative adjust, correction) consumes from the front, a refund
gives back what was consumed last, and an `expire` entry takes away what was left of its own
lot. Hence the sum of the lots' remainders is the balance, and an expiry never overdraws.

`expire_points` writes one `expire` entry per lot (unique key: source ("ledger_entry", lot id)),
in batches of advocates whose rows it locks first and whose ledgers it reads under the locks
(rewards.ledger.post_expiries writes them), so a redemption racing it and a second run in
parallel both see the other's result: no overdraft, no double expiry. Lifetime points never
move (an `expire` entry is not a lifetime kind).
"""

from __future__ import annotations

import datetime as dt
import threading
import zoneinfo
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    FunctionElement,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler

from hub.db import UTCDateTime, any_of, execute_dml, insert_ignore_many, insert_unnest, table_of, utcnow
from hub.extensions import db
from hub.models import Advocate
from hub.notifications import notify_many
from hub.settings import get_setting
from hub.timezones import localize, zone_named
from rewards.ledger import post_expiries
from rewards.models import (
    DAY_TOTAL_SHARDS,
    EXPIRY_NOTICE_DAYS,
    LIFETIME_KINDS,
    EntryKind,
    ExpiryNotice,
    LedgerEntry,
    credited_condition,
)

EXPIRY_SOURCE = "ledger_entry"
NOTICE_DAYS = EXPIRY_NOTICE_DAYS


@dataclass(frozen=True)
class Policy:
    """The expiry policy: lots credited at or after `since` expire `days` after crediting."""

    days: int | None
    since: dt.datetime | None

    @property
    def is_on(self) -> bool:
        return bool(self.days) and self.since is not None

    @property
    def start(self) -> dt.datetime:
        """When the policy was switched on (lots credited before it never expire); asked only
        while `is_on`."""
        if self.since is None:
            raise LookupError("points expiry is off")
        return self.since

    @property
    def lifetime(self) -> dt.timedelta:
        """How long a lot lasts: `days` (0 while expiry is off)."""
        return dt.timedelta(days=self.days or 0)

    def expires_at(self, credited_at: dt.datetime) -> dt.datetime | None:
        """When a lot credited at `credited_at` expires; None for a grandfathered one."""
        if not self.is_on or credited_at < self.start:
            return None
        return credited_at + self.lifetime


def current_policy() -> Policy:
    """The owner's policy, read through hub.settings."""
    since = get_setting("points_expiry_since")
    days: int | None = get_setting("points_expiry_days")
    return Policy(days, dt.datetime.fromisoformat(since) if since else None)


@dataclass(frozen=True)
class Entry:
    """What FIFO needs of a ledger entry."""

    id: int
    delta: int
    kind: str
    source_type: str
    source_id: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Lot:
    """A credited entry and the points of it still unspent and unexpired."""

    entry_id: int
    credited_at: dt.datetime
    remaining: int
    expired: bool  # it has its `expire` entry already


def remaining_lots(entries: Iterable[Entry]) -> list[Lot]:
    """Each credited entry's unspent, unexpired points, oldest first (pure; see the module doc).

    remaining(lot) = clamp(credits of effective lots up to and including it − net spending,
    0, its effective size), where a lot's effective size is its credit less its expiry."""
    credited_kinds = {k.value for k in LIFETIME_KINDS}
    lots: list[Entry] = []
    expired: dict[str, int] = {}
    spent = 0
    for e in entries:
        kind = str(e.kind)
        if kind in credited_kinds and e.delta > 0:
            lots.append(e)
        elif kind == EntryKind.EXPIRE.value and e.source_type == EXPIRY_SOURCE:
            expired[e.source_id] = expired.get(e.source_id, 0) - e.delta
        else:
            spent -= e.delta
    lots.sort(key=lambda e: (e.created_at, e.id))
    result: list[Lot] = []
    cumulative = 0
    for lot in lots:
        size = lot.delta - expired.get(str(lot.id), 0)
        cumulative += size
        left = max(0, min(size, cumulative - spent))
        result.append(Lot(lot.id, lot.created_at, left, str(lot.id) in expired))
    return result


def _entries_of(advocate_id: int) -> list[Entry]:
    rows = db.session.execute(
        select(
            LedgerEntry.id,
            LedgerEntry.delta,
            LedgerEntry.kind,
            LedgerEntry.source_type,
            LedgerEntry.source_id,
            LedgerEntry.created_at,
        ).where(LedgerEntry.advocate_id == advocate_id)
    ).all()
    return [Entry(r.id, r.delta, str(r.kind), r.source_type, r.source_id, r.created_at) for r in rows]


@dataclass(frozen=True)
class Expiring:
    points: int
    expires_at: dt.datetime


def upcoming(advocate_id: int, within_days: int | None = None, policy: Policy | None = None) -> list[Expiring]:
    """The advocate's points that will expire, grouped by day, soonest first (within
    `within_days` of now when given). Empty while the policy is off."""
    policy = policy or current_policy()
    if not policy.is_on:
        return []
    return _group(remaining_lots(_entries_of(advocate_id)), policy, within_days)


def _group(lots: list[Lot], policy: Policy, within_days: int | None, now: dt.datetime | None = None) -> list[Expiring]:
    now = now or utcnow()
    horizon = now + dt.timedelta(days=within_days) if within_days is not None else None
    by_day: dict[dt.date, tuple[int, dt.datetime]] = {}
    for lot in lots:
        when = policy.expires_at(lot.credited_at)
        if when is None or lot.expired or lot.remaining <= 0 or (horizon is not None and when > horizon):
            continue
        points, first = by_day.get(when.date(), (0, when))
        by_day[when.date()] = (points + lot.remaining, min(first, when))
    return [Expiring(points, at) for _, (points, at) in sorted(by_day.items())]


def expiring_total(within_days: int, policy: Policy | None = None) -> int:
    """Points of every advocate that expire within `within_days` (the liability report's figure;
    overdue lots the job has not reached yet count too), set-based (`expiring_totals`)."""
    return expiring_totals((within_days,), policy)[0]


def expiring_totals(within_days: tuple[int, ...], policy: Policy | None = None) -> tuple[int, ...]:
    """`expiring_total` for several horizons (days) in one pass over the lots (the what-if's 30
    and 90 days). All zeros while the policy is off.

    Per advocate, not per lot: FIFO fills the lots from the newest back with the balance, so the
    lots credited up to a cutoff hold clamp(balance − sizes of the lots after it, 0, their
    sizes) — one grouped sum per advocate over the lots after their settlement mark. That counts
    an expired lot's refilled points too, so the few advocates whose unsettled lots may include
    an expired one (no mark, and some `expire` entry) take the per-lot path (`_lot_rows`)."""
    policy = policy or current_policy()
    if not policy.is_on:
        return tuple(0 for _ in within_days)
    now = utcnow()
    befores = [now + dt.timedelta(days=d) - policy.lifetime for d in within_days]
    if max(befores) < policy.start:
        return tuple(0 for _ in within_days)
    _for_bulk_reads()
    e = LedgerEntry
    x = aliased(LedgerEntry)
    any_expiry = select(x.id).where(x.advocate_id == Advocate.id, x.lot_id.is_not(None)).correlate(Advocate).exists()
    clean = Advocate.expiry_settled_at.is_not(None) | ~any_expiry
    sums = (
        func.sum(e.delta).label("total"),
        *(
            func.sum(case((e.created_at <= before, e.delta), else_=0)).label(f"upto_{i}")
            for i, before in enumerate(befores)
        ),
    )
    # Only advocates holding points can have points expire.
    wanted = (Advocate.is_erased.is_(False), Advocate.balance > 0, _may_be_due(max(befores)), clean)
    grouped: Any
    if db.session.get_bind().dialect.name == "postgresql":
        # Summed per advocate in a LATERAL subquery over their index range: no sort or hash of
        # every lot by advocate, as a GROUP BY over the join needs.
        per_advocate = select(*sums).where(_in_scope(e, policy.start)).correlate(Advocate).lateral("lot_sums")
        grouped = (
            select(Advocate.balance, per_advocate).select_from(Advocate).join(per_advocate, true()).where(*wanted)
        ).subquery()
    else:
        grouped = (
            select(Advocate.balance, *sums)
            .select_from(Advocate)
            .join(e, _in_scope(e, policy.start))
            .where(*wanted)
            .group_by(Advocate.id, Advocate.balance)
            .subquery()
        )
    held = [
        _clamp(grouped.c.balance - (grouped.c.total - grouped.c[f"upto_{i}"]), grouped.c[f"upto_{i}"])
        for i in range(len(befores))
    ]
    fast = db.session.execute(select(*(func.coalesce(func.sum(h), 0) for h in held))).one()
    lots = _lot_rows(policy.start, where=(Advocate.balance > 0) & ~clean).subquery()
    slow = db.session.execute(
        select(
            *(
                func.coalesce(func.sum(case((lots.c.created_at <= before, lots.c.points), else_=0)), 0)
                for before in befores
            )
        ).where(~lots.c.has_expiry)
    ).one()
    return tuple(int(a or 0) + int(b or 0) for a, b in zip(fast, slow, strict=True))


def _clamp(value: ColumnElement[int], high: ColumnElement[int]) -> ColumnElement[int]:
    """SQL: `value` limited to [0, `high`]."""
    return case((value <= 0, 0), (value >= high, high), else_=value)


def _in_scope(e: type[LedgerEntry], since: dt.datetime) -> ColumnElement[bool]:
    """SQL, joining `Advocate` to their lots: the credited entries made since the policy's start
    and after the advocate's settlement mark (Advocate.expiry_settled_at/_id; a mark older than
    the start counts as none), in FIFO order (time, then id) as the index
    ix_ledger_entries_credited keeps them."""
    settled = Advocate.expiry_settled_at >= since
    start_at = case((settled, Advocate.expiry_settled_at), else_=literal(since, LedgerEntry.created_at.type))
    start_id = case((settled, Advocate.expiry_settled_id), else_=literal(0))
    return and_(
        e.advocate_id == Advocate.id,
        credited_condition(),
        e.created_at >= since,
        tuple_(e.created_at, e.id) > tuple_(start_at, start_id),
    )


def _may_be_due(credited_by: dt.datetime) -> ColumnElement[bool]:
    """SQL: whether the advocate may hold a lot credited up to `credited_by` that is not settled.
    Every lot read after a settlement mark is credited at or after the mark's time (the mark is
    the first unsettled lot's time, or the last lot's), so an advocate whose mark is later holds
    none: nothing of theirs is due or noticed, and no lot of theirs counts in a total up to then."""
    return Advocate.expiry_settled_at.is_(None) | (Advocate.expiry_settled_at <= credited_by)


def _lot_rows(
    since: dt.datetime, advocate_ids: list[int] | None = None, where: ColumnElement[bool] | None = None
) -> Select[Any, Any, Any, Any]:
    """SQL: (advocate_id, lot_id, created_at, size, has_expiry, points, rn) of every lot after the
    advocates' settlement marks (`_in_scope`; of `advocate_ids`, or of every advocate not erased,
    narrowed by `where`): its size (credit less its `expire` entry), whether it has that entry,
    the points it holds and its place in FIFO order (1 = oldest read) — `remaining_lots`' closed
    form, set-based.

    Spending is FIFO, so an advocate's balance is held by their newest lots: a lot keeps
    clamp(balance − sizes of the lots credited after it, 0, its size). That equals
    `remaining_lots` because balance = ledger sum = all sizes − net spending (the ledger keeps
    the cached balance in step in the same transaction, reliability.md I4). A lot's points
    depend only on the lots after it, so the older ones — grandfathered, or settled — are not
    read at all."""
    e = LedgerEntry
    x = aliased(LedgerEntry)
    # The lot's `expire` entry (at most one: the unique `lot_id`), probed per lot in the small
    # partial index of expire entries: a bounded lookup whatever the statistics say. (A join's
    # plan follows the statistics, which say "no expire entries" while a run is writing them:
    # a nested loop over all of them per lot.)
    expired = select(x.delta).where(x.advocate_id == e.advocate_id, x.lot_id == e.id).correlate(e).scalar_subquery()
    rows = (
        select(
            Advocate.id.label("advocate_id"),
            Advocate.balance,
            e.id.label("lot_id"),
            e.created_at,
            e.delta.label("credit"),
            expired.label("expired"),
        )
        .select_from(Advocate)
        .join(e, _in_scope(e, since))
        .where(Advocate.is_erased.is_(False))
    )
    if advocate_ids is not None:  # the batch's advocates by key, not a scan of them all
        rows = rows.where(any_of(Advocate.id, advocate_ids))
    if where is not None:
        rows = rows.where(where)
    # Ordered as the index and fenced by OFFSET 0 (PostgreSQL does not merge such a subquery into
    # the outer query), so each lookup runs once per lot rather than once per use of `size`,
    # and the windows take the rows in their order.
    inner = rows.order_by(Advocate.id, e.created_at, e.id).offset(0).subquery()
    size = inner.c.credit + func.coalesce(inner.c.expired, 0)
    order = (inner.c.created_at, inner.c.lot_id)
    lots = select(
        inner.c.advocate_id,
        inner.c.lot_id,
        inner.c.created_at,
        inner.c.balance,
        size.label("size"),
        inner.c.expired.is_not(None).label("has_expiry"),
        # The sizes of the lots credited after this one: the advocate's total less the running
        # sum (two windows whose aggregates advance row by row, in index order: no sort).
        (
            func.sum(size).over(partition_by=inner.c.advocate_id)
            - func.sum(size).over(partition_by=inner.c.advocate_id, order_by=order)
        ).label("newer"),
        func.row_number().over(partition_by=inner.c.advocate_id, order_by=order).label("rn"),
    ).subquery()
    return select(
        lots.c.advocate_id,
        lots.c.lot_id,
        lots.c.created_at,
        lots.c.size,
        lots.c.has_expiry,
        _clamp(lots.c.balance - lots.c.newer, lots.c.size).label("points"),
        lots.c.rn,
    )


def _for_bulk_reads() -> None:
    """PostgreSQL, this transaction only: no JIT compilation (seconds of compiling for a query
    that runs once per batch) and room to hash and sort in memory."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))


class days_before(FunctionElement[dt.datetime]):
    """SQL: a UTCDateTime expression less a whole number of days (`literal_column` of digits),
    on PostgreSQL and SQLite (where the text keeps milliseconds: up to 1 ms earlier)."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(days_before, "postgresql")
def _days_before_postgresql(element: days_before, compiler: SQLCompiler, **kw: Any) -> str:
    moment, days = (compiler.process(c, **kw) for c in element.clauses)
    return f"({moment} - make_interval(days => {days}))"


@compiles(days_before, "sqlite")
def _days_before_sqlite(element: days_before, compiler: SQLCompiler, **kw: Any) -> str:
    moment, days = (compiler.process(c, **kw) for c in element.clauses)
    return f"strftime('%Y-%m-%d %H:%M:%f000', {moment}, '-{days} days')"


def _settlement_marks(
    lots: Any, advocate_ids: list[int], policy: Policy, now: dt.datetime
) -> Select[Any, Any, Any, Any]:
    """SQL: (advocate_id, settled_at, settled_id, watch_from) of each of `advocate_ids` once this
    run's due lots have their `expire` entries.

    The settlement mark: a lot is settled when it has its entry, holds nothing, or is due (it
    gets its entry now); only a refund can put points back into a lot holding nothing, and it
    clears the mark (rewards.ledger). The mark is the last lot before the first unsettled one
    (written as that lot's time and id − 1, which leaves the same lots after it), or the last
    lot read when all are settled; an advocate with no lot read keeps theirs. It is cleared
    instead when an expired lot lies after the first unsettled one (a refund, then a longer N),
    so that a marked advocate never has an expired lot after the mark (`expiring_totals`
    relies on it).

    The watch time: per unsettled lot, its credit time less the widest notice lead not yet
    reached (30 days, then 7, then 0 — the moment it expires), the earliest of them; at most
    now − 30 days, which covers lots credited from now on (a credit dated earlier lowers it
    itself, rewards.ledger). Until the policy's cutoff reaches it, no lot of the advocate comes
    due or needs a notice this run has not sent."""
    due_before = now - policy.lifetime
    unsettled = ~lots.c.has_expiry & (lots.c.points > 0) & (lots.c.created_at > due_before)
    leads = sorted(NOTICE_DAYS, reverse=True)
    watch_of_lot = case(
        *(
            (
                lots.c.created_at > due_before + dt.timedelta(days=lead),
                days_before(lots.c.created_at, literal_column(str(lead))),
            )
            for lead in leads
        ),
        else_=lots.c.created_at,
    )
    per_advocate = (
        select(
            lots.c.advocate_id,
            func.min(case((unsettled, lots.c.rn))).label("first_open"),
            func.max(case((lots.c.has_expiry, lots.c.rn))).label("last_expired"),
            func.max(lots.c.rn).label("last"),
            func.min(case((unsettled, watch_of_lot))).label("watch"),
        )
        .group_by(lots.c.advocate_id)
        .subquery()
    )
    target = lots.alias("target")
    advocate = aliased(Advocate)
    unread = per_advocate.c.advocate_id.is_(None)
    broken = per_advocate.c.last_expired > per_advocate.c.first_open
    cap = literal(now - dt.timedelta(days=max(NOTICE_DAYS)), LedgerEntry.created_at.type)
    return (
        select(
            advocate.id.label("advocate_id"),
            case((unread, advocate.expiry_settled_at), (broken, None), else_=target.c.created_at).label("settled_at"),
            case(
                (unread, advocate.expiry_settled_id),
                (broken, None),
                (per_advocate.c.first_open.is_(None), target.c.lot_id),
                else_=target.c.lot_id - 1,
            ).label("settled_id"),
            case((per_advocate.c.watch < cap, per_advocate.c.watch), else_=cap).label("watch_from"),
        )
        .select_from(advocate)
        .outerjoin(per_advocate, per_advocate.c.advocate_id == advocate.id)
        .outerjoin(
            target,
            (target.c.advocate_id == per_advocate.c.advocate_id)
            & (target.c.rn == func.coalesce(per_advocate.c.first_open, per_advocate.c.last)),
        )
        .where(any_of(advocate.id, advocate_ids))
    )


def watched(cutoff: dt.datetime) -> ColumnElement[bool]:
    """SQL: whether the run must visit the advocate when the policy's cutoff (now − N) is
    `cutoff` (`Advocate.expiry_watch_from`, NULL = visit)."""
    return Advocate.expiry_watch_from.is_(None) | (Advocate.expiry_watch_from <= cutoff)


def forget_watches() -> int:
    """Clear every advocate's watch time, so the next run visits everyone: a change of N moves
    every lot's notice and due times (rewards.program_settings calls it). Returns rows changed."""
    return execute_dml(
        update(Advocate)
        .where(Advocate.expiry_watch_from.is_not(None))
        .values(expiry_watch_from=None)
        .execution_options(synchronize_session=False)
    ).rowcount


def expire_batch(advocate_ids: list[int], policy: Policy, now: dt.datetime) -> tuple[dict[int, int], int]:
    """One batch of the run: the advocates' rows locked (in id order, so two runs never
    deadlock); their lots after their settlement marks read under the locks (`_lot_rows`, once:
    a CTE the write shares); the due ones expired (rewards.ledger.post_expiries: idempotent, one
    `expire` entry per lot, never below a zero balance), the marks moved past what is settled
    (`_settlement_marks`), and the lots expiring within the widest notice lead given their
    30/7-day notices (`_record_notices`). Expiring a lot leaves the newer lots' points as they
    were (FIFO: a lot has points left only while every newer one is full), so the notices come
    from the lots as read. Returns (points expired per advocate, notices sent)."""
    ids = sorted(advocate_ids)
    _for_bulk_reads()
    db.session.execute(select(Advocate.id).where(any_of(Advocate.id, ids)).order_by(Advocate.id).with_for_update())
    due_before = now - policy.lifetime
    horizon = now + dt.timedelta(days=max(NOTICE_DAYS)) - policy.lifetime
    lots = _lot_rows(policy.start, ids).cte("lots")
    if db.session.get_bind().dialect.name == "postgresql":
        lots = lots.prefix_with("MATERIALIZED")
    holds = ~lots.c.has_expiry & (lots.c.points > 0)
    memo = literal("Unspent points of entry #") + cast(lots.c.lot_id, String) + literal(" expired")
    due = select(lots.c.advocate_id, lots.c.lot_id, lots.c.points, memo.label("memo")).where(
        holds, lots.c.created_at <= due_before
    )
    coming = select(lots.c.advocate_id, lots.c.lot_id, lots.c.points, lots.c.created_at).where(
        holds, lots.c.created_at > due_before, lots.c.created_at <= horizon
    )
    written = post_expiries(due, now, _settlement_marks(lots, ids, policy, now), coming)
    by_advocate: dict[int, list[Lot]] = {}
    for row in written.rows:
        by_advocate.setdefault(row.advocate_id, []).append(Lot(row.lot_id, row.created_at, row.points, False))
    notices = [n for advocate_id, left in by_advocate.items() for n in _notices_due(advocate_id, left, policy, now)]
    return written.expired, _record_notices(notices, now)


@dataclass(frozen=True)
class ExpiryRun:
    advocates: int
    entries_points: int
    notices: int


BATCH = 1000
# Batches run in this many workers at once (PostgreSQL, committing per batch): each its own
# connection and transactions, on advocates no other worker locks (`_worker_of`). The run is
# mostly the database's work, so two keep both cores of a small server busy.
WORKERS = 2


def _worker_of(advocate_id: int, workers: int) -> int:
    """The worker that expires the advocate's lots: by their day-total shard
    (rewards.models.DAY_TOTAL_SHARDS), so the workers never lock the same advocate, nor the
    same `ledger_day_totals` row (each batch adds its entries to its advocates' shards, and would
    otherwise wait for the other worker's commit)."""
    return advocate_id % DAY_TOTAL_SHARDS % workers


def expire_points(now: dt.datetime | None = None, commit_each: bool = False) -> ExpiryRun:
    """Expire every due lot and send the 30- and 7-day notices (the cron job and
    `flask rewards expire-points`), in one pass over the advocates in id order, BATCH at a time
    (`expire_batch`). Only advocates whose watch time the policy's cutoff has reached are
    visited (`watched`): those with a lot that came due or into a notice window since the last
    run, a new lot near its notice, a refund, or N changed; each reads only its lots after its
    settlement mark. A run with nothing due writes nothing. `commit_each` commits after each
    batch (the command and job: short row locks); otherwise the caller's one transaction holds
    everything. With `commit_each` on PostgreSQL the batches run in WORKERS workers, each
    committing its own (`_run_in_workers`); a batch is the same unit either way, so a run that
    fails midway has committed whole batches only, and the next run does the rest. On
    PostgreSQL a run that wrote entries refreshes the ledger's statistics (ANALYZE), so the next
    run's plans see the `expire` entries it added."""
    now = now or utcnow()
    policy = current_policy()
    if not policy.is_on:
        return ExpiryRun(0, 0, 0)
    advocates = list(
        db.session.scalars(
            select(Advocate.id)
            .where(Advocate.is_erased.is_(False), watched(now - policy.lifetime))
            .order_by(Advocate.id)
        )
    )
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    workers = min(WORKERS, DAY_TOTAL_SHARDS) if commit_each and postgresql and len(advocates) > BATCH else 1
    if workers > 1:
        db.session.commit()  # the caller asked for commits; nothing of its own is held open
        expired, notices = _run_in_workers(advocates, workers, policy, now)
    else:
        expired, notices = _run_batches(advocates, policy, now, commit_each)
    if expired and postgresql:
        db.session.execute(text("ANALYZE ledger_entries"))
    return ExpiryRun(len(expired), sum(expired.values()), notices)


def _run_batches(
    advocate_ids: list[int], policy: Policy, now: dt.datetime, commit_each: bool, stop: threading.Event | None = None
) -> tuple[dict[int, int], int]:
    """`expire_batch` over `advocate_ids` (in id order), BATCH at a time, in this thread's session;
    stops early once `stop` is set (another worker failed). Returns (points expired per advocate,
    notices)."""
    expired: dict[int, int] = {}
    notices = 0
    for start in range(0, len(advocate_ids), BATCH):
        if stop is not None and stop.is_set():
            break
        batch_expired, batch_notices = expire_batch(advocate_ids[start : start + BATCH], policy, now)
        expired |= batch_expired
        notices += batch_notices
        if commit_each:
            db.session.commit()
    return expired, notices


def _run_in_workers(
    advocate_ids: list[int], workers: int, policy: Policy, now: dt.datetime
) -> tuple[dict[int, int], int]:
    """The batches of `advocate_ids` split among `workers` workers by `_worker_of` (disjoint
    advocates; each batch still locks its rows in id order, so a second run in parallel cannot
    deadlock with either), each committing per batch: this thread is the first worker, the others
    are threads with an app context — hence a session and connection — of their own. The first
    error stops the other workers after their current batch and is raised here. Returns (points
    expired per advocate, notices)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    shares: list[list[int]] = [[] for _ in range(workers)]
    for advocate_id in advocate_ids:
        shares[_worker_of(advocate_id, workers)].append(advocate_id)
    stop = threading.Event()

    def work(share: list[int]) -> tuple[dict[int, int], int]:
        with app.app_context():
            try:
                return _run_batches(share, policy, now, True, stop)
            except BaseException:
                stop.set()
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=workers - 1, thread_name_prefix="expiry") as pool:
        others = [pool.submit(work, share) for share in shares[1:]]
        try:
            results = [_run_batches(shares[0], policy, now, True, stop)]
        except BaseException:
            stop.set()  # leaving the pool waits for the others' current batch
            raise
        results += [future.result() for future in others]
    expired: dict[int, int] = {}
    for batch_expired, _ in results:
        expired |= batch_expired
    return expired, sum(notices for _, notices in results)


def _notices_due(advocate_id: int, lots: list[Lot], policy: Policy, now: dt.datetime) -> list[dict[str, Any]]:
    """The notice rows one advocate is due: per expiry date within the widest lead, the
    narrowest lead (30 or 7 days) it falls in."""
    due = []
    for item in _group(lots, policy, max(NOTICE_DAYS), now):
        days_left = (item.expires_at - now).total_seconds() / 86400
        ahead = min((d for d in NOTICE_DAYS if days_left <= d), default=None)
        if ahead is None or days_left <= 0:
            continue
        due.append(
            {
                "advocate_id": advocate_id,
                "expires_on": item.expires_at.date(),
                "days_ahead": ahead,
                "points": item.points,
                "sent_at": now,
                "expires_at": item.expires_at,
            }
        )
    return due


def _record_notices(due: list[dict[str, Any]], now: dt.datetime) -> int:
    """Write the notices not sent before (the unique key skips those) and tell their advocates."""
    if not due:
        return 0
    when = {(n["advocate_id"], n["expires_on"], n["days_ahead"]): n.pop("expires_at") for n in due}
    keys = ["advocate_id", "expires_on", "days_ahead", "points"]
    if db.session.get_bind().dialect.name == "postgresql":
        written = insert_unnest(db.session, table_of(ExpiryNotice), due, keys, ignore_conflicts=True)
    else:
        written = insert_ignore_many(db.session, table_of(ExpiryNotice), due, keys)
    if not written:
        return 0
    # Each notice names the day in the advocate's own time zone (it is also their email): the
    # batch's advocates are read in one query and each zone they name is resolved once.
    people = {
        advocate_id: (user_id, zone)
        for advocate_id, user_id, zone in db.session.execute(
            select(Advocate.id, Advocate.user_id, Advocate.time_zone).where(
                any_of(Advocate.id, sorted({row.advocate_id for row in written}))
            )
        )
    }
    zones = {name: zone_named(name) for name in {zone for _, zone in people.values()}}
    notify_many(
        [
            (
                people[row.advocate_id][0],
                "points_expiry",
                expiry_text(
                    Expiring(row.points, when[(row.advocate_id, row.expires_on, row.days_ahead)]),
                    zones[people[row.advocate_id][1]],
                )
                + ": spend them first.",
                "/rewards",
            )
            for row in written
        ]
    )
    return len(written)


def expiry_text(item: Expiring, zone: zoneinfo.ZoneInfo | None = None) -> str:
    """ "120 points expire on 12 Mar" (the hub and the notices): the day in `zone`, by default
    the reader's (hub.timezones); a notice, also sent by email, passes the advocate's zone."""
    when = localize(item.expires_at, zone)
    return f"{item.points:,} points expire on {when.day} {when:%b}"


def expiring_facts(advocate_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The advocate-facts hook (hub.hooks): each advocate's `expiring` [{points, expires_at}]."""
    policy = current_policy()
    if not policy.is_on:
        return {}
    return {
        a: {"expiring": [{"points": e.points, "expires_at": e.expires_at} for e in upcoming(a, policy=policy)]}
        for a in advocate_ids
    }
