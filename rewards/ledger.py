"""The only code that writes ledger entries and the balance/lifetime caches beside them.

Invariants (reliability.md I1–I4), held by the database rather than by Python checks:
- balance ≥ 0: the cache is moved by a conditional UPDATE (`WHERE balance + delta >= 0`)
  that also takes the advocate's row lock on PostgreSQL (SQLite serializes writers);
- exactly-once: a unique key on (advocate, kind, source_type, source_id); a duplicate
  inserts nothing (ON CONFLICT DO NOTHING), puts the caches back and reports "already done";
- append-only: entries are inserted, never updated or deleted (one exception: erasure blanks
  an erased advocate's memos, `scrub_memos`; amounts are never touched);
- derivable: balance, lifetime points, leaderboard scores and the per-day totals the reports
  read (`LedgerDayTotal`) move in the same transaction as the entry; `rebuild_caches` and
  `rebuild_day_totals` recompute them from the ledger.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, bindparam, case, cast, delete, func, insert, literal, select, update
from sqlalchemy.sql.elements import ColumnElement

from hub.db import _dialect_insert, _dialect_orm_insert, any_of, defer_sum, execute_dml, table_of, utcnow
from hub.errors import InsufficientPoints, NotFound, ValidationFailed
from hub.extensions import db
from hub.home_reads import HomeRead, rows_of
from hub.models import Advocate, User
from rewards import leaderboard
from rewards.metrics import count_issued_after_commit
from rewards.models import (
    CORRECTION_SOURCE,
    DAY_TOTAL_SHARDS,
    EXPIRY_NOTICE_DAYS,
    LIFETIME_KINDS,
    EntryKind,
    LedgerDayTotal,
    LedgerEntry,
    lifetime_expression,
)
from rewards.tier_changes import refresh_tier

MAX_DELTA = 10_000_000

# Whether the advocate belongs on the leaderboards: not erased, and their user active.
_ranked = (
    select(User.is_active_user)
    .where(User.id == Advocate.user_id, Advocate.is_erased.is_(False))
    .correlate(Advocate)
    .scalar_subquery()
)


@dataclass(frozen=True)
class Posted:
    """The outcome of a post: the entry, or None when the source had already been posted."""

    entry: LedgerEntry | None
    balance: int
    lifetime_points: int

    @property
    def is_new(self) -> bool:
        return self.entry is not None


def post_entry(
    advocate_id: int,
    delta: int,
    *,
    kind: EntryKind | str,
    source_type: str,
    source_id: str | int,
    memo: str = "",
    created_by_id: int | None = None,
    at: dt.datetime | None = None,
) -> Posted:
    """Append one entry of `delta` points (a whole number, + earns, − spends) and move the
    caches; idempotent on (advocate, kind, source_type, source_id). `at` is an aware UTC time
    (default now); the memo is cut to 255 characters.

    A negative `adjust` with source_type CORRECTION_SOURCE is a correction (product.md §14): it
    lowers lifetime points too (never below zero) and may drop the tier. A credited entry
    (positive earn/bonus/adjust) made while the expiry policy is on gets its `expires_at`.

    Raises InsufficientPoints when the entry would take the balance (or, for a correction,
    lifetime points) below zero, NotFound for an unknown advocate, ValidationFailed for a delta
    that is not a whole number up to MAX_DELTA.
    """
    kind = EntryKind(kind)
    if not isinstance(delta, int) or isinstance(delta, bool) or abs(delta) > MAX_DELTA:
        raise ValidationFailed({"points": f"Must be a whole number up to {MAX_DELTA:,}."})
    credited = delta > 0 and kind in LIFETIME_KINDS
    correction = delta < 0 and kind is EntryKind.ADJUST and source_type == CORRECTION_SOURCE
    lifetime_delta = delta if (credited or correction) else 0
    at = at or utcnow()
    settlement: dict[str, Any] = {}
    if delta > 0 and not credited:
        # A refund is the one entry that puts points back into older lots (FIFO gives back what
        # was spent last), so the advocate's lots are no longer known to be settled for expiry.
        settlement = {"expiry_settled_at": None, "expiry_settled_id": None, "expiry_watch_from": None}
    elif credited:
        # A new lot's first notice comes EXPIRY_NOTICE_DAYS[0] days before it expires: the run
        # must visit the advocate by then (NULL stays NULL: visit anyway). A lot dated before
        # the settlement mark would be skipped by it: the mark is cleared.
        watch = at - dt.timedelta(days=max(EXPIRY_NOTICE_DAYS))
        before_mark = Advocate.expiry_settled_at > literal(at, Advocate.expiry_settled_at.type)
        settlement = {
            "expiry_watch_from": case(
                (Advocate.expiry_watch_from > watch, literal(watch, Advocate.expiry_watch_from.type)),
                else_=Advocate.expiry_watch_from,
            ),
            "expiry_settled_at": case((before_mark, None), else_=Advocate.expiry_settled_at),
            "expiry_settled_id": case((before_mark, None), else_=Advocate.expiry_settled_id),
        }
    session = db.session
    moved = session.execute(
        update(Advocate)
        .where(
            Advocate.id == advocate_id,
            Advocate.balance + delta >= 0,
            Advocate.lifetime_points + lifetime_delta >= 0,
        )
        .values(
            balance=Advocate.balance + delta,
            lifetime_points=Advocate.lifetime_points + lifetime_delta,
            **settlement,
        )
        .returning(Advocate.balance, Advocate.lifetime_points, _ranked, Advocate.tier)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if moved is None:
        current = session.execute(select(Advocate.balance).where(Advocate.id == advocate_id)).one_or_none()
        if current is None:
            raise NotFound("Advocate not found.")
        if current.balance + delta >= 0:
            raise InsufficientPoints("A correction cannot take lifetime points below zero.")
        raise InsufficientPoints("Not enough points for this.")
    # INSERT … ON CONFLICT DO NOTHING on the source's unique key (no SAVEPOINT pair): a source
    # posted before writes nothing, and the caches move back by the same amounts. The UPDATE
    # above holds the advocate's row lock, so nobody saw the moved caches in between. Its
    # expiry settlement change stays: an earlier watch time or a cleared mark only makes the
    # next expiry run look at this advocate's lots again (rewards.expiry), never skip one.
    entry = session.scalars(
        _dialect_orm_insert(session, LedgerEntry)
        .values(
            advocate_id=advocate_id,
            delta=delta,
            kind=kind,
            source_type=source_type,
            source_id=str(source_id),
            memo=memo[:255],
            created_at=at,
            created_by_id=created_by_id,
        )
        .on_conflict_do_nothing(index_elements=["advocate_id", "kind", "source_type", "source_id"])
        .returning(LedgerEntry)
    ).first()
    if entry is None:
        standing = session.execute(
            update(Advocate)
            .where(Advocate.id == advocate_id)
            .values(balance=Advocate.balance - delta, lifetime_points=Advocate.lifetime_points - lifetime_delta)
            .returning(Advocate.balance, Advocate.lifetime_points)
            .execution_options(synchronize_session=False)
        ).one()
        _expire_cached(advocate_id)
        return Posted(None, standing.balance, standing.lifetime_points)
    _add_to_day_totals({(at.astimezone(dt.UTC).date(), kind, delta > 0, advocate_id % DAY_TOTAL_SHARDS): delta})

    _expire_cached(advocate_id)
    balance, lifetime, ranked, tier = moved
    if lifetime_delta:
        if lifetime_delta > 0:  # a correction takes points back; it issues none
            count_issued_after_commit(kind.value, lifetime_delta)
        if ranked:  # erased and deactivated advocates stay off every board (issue 14)
            leaderboard.add_points(advocate_id, lifetime_delta, at)
        refresh_tier(advocate_id, lifetime, allow_demotion=lifetime_delta < 0, at=at, stored=tier)
    return Posted(entry, balance, lifetime)


@dataclass(frozen=True)
class Credit:
    """One credited entry of a batch (`post_credits`): `delta` points (> 0) for the advocate,
    from the source (source_type, source_id), with its memo."""

    advocate_id: int
    delta: int
    source_type: str
    source_id: str | int
    memo: str = ""


def post_credits(
    credits: list[Credit], *, kind: EntryKind | str, at: dt.datetime, created_by_id: int | None = None
) -> set[tuple[int, str, str]]:
    """`post_entry` for a batch of credited entries (a verification batch's approvals), set-based:
    the advocates' caches moved in one conditional UPDATE (rows in id order; each advocate's
    credits summed), the entries written in one multi-row INSERT … ON CONFLICT DO NOTHING on the
    unique source key (a source posted before writes nothing, and its amount is taken back off the
    caches in one more UPDATE, as `post_entry` does), the per-day totals and leaderboard rows
    added once, the expiry watch moved as for one credit, and tiers refreshed only where an
    entry's running lifetime total reached another tier (`refresh_tier`, entry by entry in the
    batch's order, so a batch records the same tier changes as its entries one by one). All
    entries are dated `at` (aware UTC). Returns the (advocate id, source_type, source_id) keys
    actually written.

    Credits only: `kind` must count toward lifetime points (earn, bonus, adjust) and every delta be
    a whole number in 1..MAX_DELTA, else ValidationFailed; an unknown advocate raises NotFound.
    Balance and lifetime only grow here, so neither can go below zero (reliability.md I1)."""
    kind = EntryKind(kind)
    if kind not in LIFETIME_KINDS:
        raise ValidationFailed({"kind": "Only credited kinds are posted in a batch."})
    for credit in credits:
        delta = credit.delta
        if not isinstance(delta, int) or isinstance(delta, bool) or not 0 < delta <= MAX_DELTA:
            raise ValidationFailed({"points": f"Must be a whole number from 1 to {MAX_DELTA:,}."})
    if not credits:
        return set()
    added: dict[int, int] = {}
    for credit in credits:
        added[credit.advocate_id] = added.get(credit.advocate_id, 0) + credit.delta
    session = db.session
    watch = at - dt.timedelta(days=max(EXPIRY_NOTICE_DAYS))
    before_mark = Advocate.expiry_settled_at > literal(at, Advocate.expiry_settled_at.type)
    amount = case(added, value=Advocate.id)
    ids = sorted(added)
    if session.get_bind().dialect.name == "postgresql":
        # Row locks in id order (as a batch of single posts takes them), before the UPDATE; FOR NO
        # KEY UPDATE, the UPDATE's own mode: inserts that reference the advocates (their key
        # share locks) are not held up, as they are not by `post_entry`.
        session.execute(
            select(Advocate.id).where(any_of(Advocate.id, ids)).order_by(Advocate.id).with_for_update(key_share=True)
        )
    moved = {
        row.id: row
        for row in session.execute(
            update(Advocate)
            .where(Advocate.id.in_(ids))
            .values(
                balance=Advocate.balance + amount,
                lifetime_points=Advocate.lifetime_points + amount,
                expiry_watch_from=case(
                    (Advocate.expiry_watch_from > watch, literal(watch, Advocate.expiry_watch_from.type)),
                    else_=Advocate.expiry_watch_from,
                ),
                expiry_settled_at=case((before_mark, None), else_=Advocate.expiry_settled_at),
                expiry_settled_id=case((before_mark, None), else_=Advocate.expiry_settled_id),
            )
            .returning(Advocate.id, Advocate.balance, Advocate.lifetime_points, _ranked, Advocate.tier)
            .execution_options(synchronize_session=False)
        )
    }
    if len(moved) != len(added):
        raise NotFound("Advocate not found.")
    rows = [
        {
            "advocate_id": credit.advocate_id,
            "delta": credit.delta,
            "kind": kind,
            "source_type": credit.source_type,
            "source_id": str(credit.source_id),
            "memo": credit.memo[:255],
            "created_at": at,
            "created_by_id": created_by_id,
        }
        for credit in credits
    ]
    entries = table_of(LedgerEntry)
    written = {
        (row.advocate_id, row.source_type, row.source_id)
        for row in session.execute(
            _dialect_insert(session, entries)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["advocate_id", "kind", "source_type", "source_id"])
            .returning(entries.c.advocate_id, entries.c.source_type, entries.c.source_id)
        )
    }
    posted = [c for c in credits if (c.advocate_id, c.source_type, str(c.source_id)) in written]
    kept: dict[int, int] = {}
    for credit in posted:
        kept[credit.advocate_id] = kept.get(credit.advocate_id, 0) + credit.delta
    back = {advocate_id: total - kept.get(advocate_id, 0) for advocate_id, total in added.items()}
    back = {advocate_id: points for advocate_id, points in back.items() if points}
    if back:  # sources posted before: the caches move back by what was not written
        taken = case(back, value=Advocate.id)
        execute_dml(
            update(Advocate)
            .where(Advocate.id.in_(sorted(back)))
            .values(balance=Advocate.balance - taken, lifetime_points=Advocate.lifetime_points - taken)
            .execution_options(synchronize_session=False)
        )
    for advocate_id in ids:
        _expire_cached(advocate_id)
    if not posted:
        return written
    day_key = (at.astimezone(dt.UTC).date(), kind)
    points: dict[tuple[dt.date, EntryKind, bool, int], int] = {}
    counts: dict[tuple[dt.date, EntryKind, bool, int], int] = {}
    for credit in posted:
        key = (*day_key, True, credit.advocate_id % DAY_TOTAL_SHARDS)
        points[key] = points.get(key, 0) + credit.delta
        counts[key] = counts.get(key, 0) + 1
    _add_to_day_totals(points, counts)
    count_issued_after_commit(kind.value, sum(kept.values()))
    for advocate_id in sorted(kept):
        row = moved[advocate_id]
        if row[3]:  # ranked: erased and deactivated advocates stay off every board (issue 14)
            leaderboard.add_points(advocate_id, kept[advocate_id], at)
        # Entry by entry, as single posts would: each running total a tier may be reached at.
        lifetime = row.lifetime_points - back.get(advocate_id, 0) - kept[advocate_id]
        tier = row.tier
        for credit in (c for c in posted if c.advocate_id == advocate_id):
            lifetime += credit.delta
            tier = refresh_tier(advocate_id, lifetime, at=at, stored=tier)
    return written


@dataclass(frozen=True)
class ExpiryWrite:
    """What `post_expiries` wrote and read: points expired per advocate (by the entries actually
    written) and the rows of its `read` select, taken before the entries were written."""

    expired: dict[int, int]
    rows: list[Any]


def post_expiries(
    due: Select[Any, Any, Any, Any],
    at: dt.datetime,
    settle: Select[Any, Any, Any, Any],
    read: Select[Any, Any, Any, Any],
) -> ExpiryWrite:
    """The expiry job's write for one batch of advocates (rewards.expiry), whose row locks the
    caller holds, so the amounts computed under them stand:

    - `due` (advocate_id, lot_id, points, memo): one `expire` entry of −points per row with
      points > 0, inserted by the database (INSERT … SELECT … ON CONFLICT DO NOTHING: one per lot,
      the unique keys on ("ledger_entry", lot id) and on `lot_id`); the balances lowered by what
      was written, never below zero (else InsufficientPoints and the batch rolls back);
    - `settle` (advocate_id, settled_at, settled_id, watch_from): each advocate's new expiry
      settlement mark and watch time (`Advocate.expiry_settled_at/_id`, `expiry_watch_from`;
      NULL clears them), written where they changed;
    - `read` (advocate_id, lot_id, points, created_at): rows returned as they were before the
      write (the notices' lots).

    On PostgreSQL the three are one statement (data-modifying CTEs), so a CTE they share (the
    batch's lots) is computed once; on SQLite they run one after another. Expiry never moves
    lifetime points or leaderboards."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        written, rows = _post_expiries_at_once(due, at, settle, read)
    else:
        rows = list(session.execute(read).all())
        marks = list(session.execute(settle).all())
        written = _insert_expiries(due, at)
        expired = {advocate_id: points for advocate_id, (points, _) in written.items()}
        if expired:
            lowered = case(expired, value=Advocate.id)
            moved = execute_dml(
                update(Advocate)
                .where(Advocate.id.in_(list(expired)), Advocate.balance >= lowered)
                .values(balance=Advocate.balance - lowered)
                .execution_options(synchronize_session=False)
            ).rowcount
            if moved != len(expired):
                raise InsufficientPoints("Not enough points for this.")
        if marks:
            session.execute(
                update(Advocate),
                [
                    {
                        "id": mark.advocate_id,
                        "expiry_settled_at": mark.settled_at,
                        "expiry_settled_id": mark.settled_id,
                        "expiry_watch_from": mark.watch_from,
                    }
                    for mark in marks
                ],
                execution_options={"synchronize_session": False},
            )
    if written:
        _add_expiries_to_day_totals(written, at)
    for advocate_id in written:
        _expire_cached(advocate_id)
    return ExpiryWrite({advocate_id: points for advocate_id, (points, _) in written.items()}, rows)


def _expiry_rows(due: Select[Any, Any, Any, Any], at: dt.datetime) -> tuple[list[str], Select[Any, Any, Any, Any]]:
    rows = due.subquery()
    source = select(
        rows.c.advocate_id,
        -rows.c.points,
        literal(EntryKind.EXPIRE.value, String(16)),
        literal("ledger_entry", String(32)),
        cast(rows.c.lot_id, String(64)),
        func.substr(rows.c.memo, 1, 255),
        literal(at, LedgerEntry.created_at.type),
        rows.c.lot_id,
    ).where(rows.c.points > 0)
    return ["advocate_id", "delta", "kind", "source_type", "source_id", "memo", "created_at", "lot_id"], source


def _insert_expiries(due: Select[Any, Any, Any, Any], at: dt.datetime) -> dict[int, tuple[int, int]]:
    """SQLite: the INSERT … SELECT of `due`'s entries; (points expired, entries) per advocate."""
    columns, source = _expiry_rows(due, at)
    written = db.session.execute(
        _dialect_insert(db.session, table_of(LedgerEntry))
        .from_select(columns, source)
        .on_conflict_do_nothing()
        .returning(LedgerEntry.advocate_id, LedgerEntry.delta)
    ).all()
    per_advocate: dict[int, tuple[int, int]] = {}
    for advocate_id, delta in written:
        points, entries = per_advocate.get(advocate_id, (0, 0))
        per_advocate[advocate_id] = (points - delta, entries + 1)
    return per_advocate


def _post_expiries_at_once(
    due: Select[Any, Any, Any, Any],
    at: dt.datetime,
    settle: Select[Any, Any, Any, Any],
    read: Select[Any, Any, Any, Any],
) -> tuple[dict[int, tuple[int, int]], list[Any]]:
    """PostgreSQL: `post_expiries` as one statement. The entries are inserted, summed per
    advocate and taken off the balances (with the new settlement marks) by data-modifying CTEs;
    the result is the sums (kind 0: advocate, points, entries, whether the balance moved) and the
    `read` rows (kind 1), in one UNION ALL."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    columns, source = _expiry_rows(due, at)
    written = (
        pg_insert(LedgerEntry)
        .from_select(columns, source)
        .on_conflict_do_nothing()
        .returning(LedgerEntry.advocate_id, LedgerEntry.delta)
        .cte("written")
    )
    sums = (
        select(
            written.c.advocate_id,
            (-func.sum(written.c.delta)).label("points"),
            func.count().label("entries"),
        )
        .group_by(written.c.advocate_id)
        .cte("sums")
    )
    marks = settle.subquery("marks")
    changes = (
        select(
            func.coalesce(marks.c.advocate_id, sums.c.advocate_id).label("advocate_id"),
            marks.c.advocate_id.is_not(None).label("has_mark"),
            marks.c.settled_at,
            marks.c.settled_id,
            marks.c.watch_from,
            func.coalesce(sums.c.points, 0).label("points"),
        )
        .select_from(marks.join(sums, sums.c.advocate_id == marks.c.advocate_id, full=True))
        .subquery("changes")
    )
    mark_at = case((changes.c.has_mark, changes.c.settled_at), else_=Advocate.expiry_settled_at)
    mark_id = case((changes.c.has_mark, changes.c.settled_id), else_=Advocate.expiry_settled_id)
    watch = case((changes.c.has_mark, changes.c.watch_from), else_=Advocate.expiry_watch_from)
    moved = (
        update(Advocate)
        .where(
            Advocate.id == changes.c.advocate_id,
            Advocate.balance >= changes.c.points,
            (changes.c.points > 0)
            | Advocate.expiry_settled_at.is_distinct_from(mark_at)
            | Advocate.expiry_settled_id.is_distinct_from(mark_id)
            | Advocate.expiry_watch_from.is_distinct_from(watch),
        )
        .values(
            balance=Advocate.balance - changes.c.points,
            expiry_settled_at=mark_at,
            expiry_settled_id=mark_id,
            expiry_watch_from=watch,
        )
        .returning(Advocate.id)
        .cte("moved")
    )
    summed = select(
        literal(0).label("kind"),
        sums.c.advocate_id,
        sums.c.points.label("a"),
        sums.c.entries.label("b"),
        literal(None, LedgerEntry.created_at.type).label("at"),
        moved.c.id.is_not(None).label("moved"),
    ).select_from(sums.outerjoin(moved, moved.c.id == sums.c.advocate_id))
    lots = read.subquery("read")
    listed = select(
        literal(1),
        lots.c.advocate_id,
        lots.c.lot_id,
        lots.c.points,
        lots.c.created_at,
        literal(True),
    )
    # `moved` is referenced by `summed`, so PostgreSQL runs the UPDATE even when nothing was due
    # (a CTE's data-modifying statement runs to completion whether or not it is read).
    result = db.session.execute(summed.union_all(listed)).all()
    expired: dict[int, tuple[int, int]] = {}
    rows = []
    for kind, advocate_id, a, b, created_at, was_moved in result:
        if kind == 0:
            if not was_moved:
                raise InsufficientPoints("Not enough points for this.")
            expired[advocate_id] = (int(a), int(b))
        else:
            rows.append(_ReadRow(advocate_id, a, int(b), created_at))
    return expired, rows


@dataclass(frozen=True)
class _ReadRow:
    advocate_id: int
    lot_id: int
    points: int
    created_at: dt.datetime


def _add_expiries_to_day_totals(written: dict[int, tuple[int, int]], at: dt.datetime) -> None:
    """The per-day totals of a batch's `expire` entries: (points, entries) per advocate summed
    per shard."""
    day = at.astimezone(dt.UTC).date()
    by_shard: dict[tuple[dt.date, EntryKind, bool, int], int] = {}
    counts: dict[tuple[dt.date, EntryKind, bool, int], int] = {}
    for advocate_id, (points, entries) in written.items():
        key = (day, EntryKind.EXPIRE, False, advocate_id % DAY_TOTAL_SHARDS)
        by_shard[key] = by_shard.get(key, 0) - points
        counts[key] = counts.get(key, 0) + entries
    _add_to_day_totals(by_shard, counts)


def ledger_page(advocate_id: int, page: int, per_page: int) -> tuple[list[LedgerEntry], int]:
    """One page of an advocate's entries, newest first, and how many there are."""
    total = db.session.execute(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.advocate_id == advocate_id)
    ).scalar_one()
    return recent_entries(advocate_id, per_page, (page - 1) * per_page), total


def recent_entries(advocate_id: int, limit: int, offset: int = 0) -> list[LedgerEntry]:
    """The advocate's `limit` latest entries after the first `offset`, newest first (without the
    count `ledger_page` adds: the hub page shows five and no total)."""
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.advocate_id == advocate_id)
            .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
    )


@dataclass(frozen=True)
class RecentEntry:
    """One ledger entry as the hub page's recent-activity card shows it (points, kind, memo and
    when, aware UTC)."""

    id: int
    delta: int
    kind: EntryKind
    memo: str
    created_at: dt.datetime


HOME_RECENT = 5


def _home_recent_statement() -> Select[*tuple[Any, ...]]:
    return (
        select(LedgerEntry.id, LedgerEntry.delta, LedgerEntry.kind, LedgerEntry.memo, LedgerEntry.created_at)
        .where(LedgerEntry.advocate_id == bindparam("advocate_id"))
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
        .limit(HOME_RECENT)
    )


# The recent-activity card's query, read with the hub page's other cards in one statement
# (hub.home_reads; registered by rewards.hooks).
HOME_RECENT_ENTRIES = HomeRead("recent_entries", _home_recent_statement)


def home_recent_entries(advocate_id: int) -> list[RecentEntry]:
    """The advocate's `HOME_RECENT` latest entries, newest first (the hub page's card: no total,
    no ORM rows)."""
    rows = rows_of(HOME_RECENT_ENTRIES, advocate_id=advocate_id)
    entries = [RecentEntry(*row) for row in rows]
    # Read together as JSON, the rows come back in no promised order: sort as the query does.
    entries.sort(key=lambda entry: (entry.created_at, entry.id), reverse=True)
    return entries


def scrub_memos(advocate_id: int) -> int:
    """Erasure (product.md §12): blank the memos of the advocate's entries, which can carry
    personal text (a manager's note, a challenge title naming them). Amounts, kinds and sources
    stay, so balances, liability and program totals do not move. Returns the rows changed."""
    return execute_dml(
        update(LedgerEntry)
        .where(LedgerEntry.advocate_id == advocate_id, LedgerEntry.memo != "")
        .values(memo="")
        .execution_options(synchronize_session=False)
    ).rowcount


def rebuild_caches() -> int:
    """Recompute every advocate's balance and lifetime points from the ledger (set-based); the
    expiry settlement marks are cleared (a corrected balance can change what lots hold)."""
    balance_sq = (
        select(func.coalesce(func.sum(LedgerEntry.delta), 0))
        .where(LedgerEntry.advocate_id == Advocate.id)
        .scalar_subquery()
    )
    lifetime_sq = select(lifetime_expression()).where(LedgerEntry.advocate_id == Advocate.id).scalar_subquery()
    result = execute_dml(
        update(Advocate)
        .values(
            balance=balance_sq,
            lifetime_points=lifetime_sq,
            expiry_settled_at=None,
            expiry_settled_id=None,
            expiry_watch_from=None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    return result.rowcount


def _add_to_day_totals(
    points: dict[tuple[dt.date, EntryKind, bool, int], int],
    entries: dict[tuple[dt.date, EntryKind, bool, int], int] | None = None,
) -> None:
    """Add points (and entries, 1 each by default) to the per-day totals in one INSERT … ON
    CONFLICT DO UPDATE, rows in key order so two writers lock shared rows in the same order.
    Inside `hub.db.deferred_sums` (a batch of approvals) the amounts are summed and written
    once when the block ends."""
    amounts = {key: (delta, (entries or {}).get(key, 1)) for key, delta in points.items()}
    if not defer_sum(_write_day_totals, amounts):  # type: ignore[arg-type]
        _write_day_totals(amounts)


def _write_day_totals(amounts: dict[tuple[dt.date, EntryKind, bool, int], tuple[int, int]]) -> None:
    """The per-day totals' upsert: (points, entries) to add per (day, kind, is_credit, shard)."""
    rows = []
    for key in sorted(amounts, key=lambda k: (k[0], k[1].value, k[2], k[3])):
        day, kind, is_credit, shard = key
        rows.append(
            {
                "day": day,
                "kind": kind,
                "is_credit": is_credit,
                "shard": shard,
                "points": amounts[key][0],
                "entries": amounts[key][1],
            }
        )
    table = table_of(LedgerDayTotal)
    stmt = _dialect_insert(db.session, table).values(rows)
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["day", "kind", "is_credit", "shard"],
            set_={"points": table.c.points + stmt.excluded.points, "entries": table.c.entries + stmt.excluded.entries},
        )
    )


def rebuild_day_totals() -> None:
    """Recompute the per-day totals (`LedgerDayTotal`) from the ledger in one grouped INSERT …
    SELECT: `flask rewards rebuild-caches` and the bench seeder run it (the migration that added
    the table ran the same statement)."""
    session = db.session
    created = LedgerEntry.created_at
    day: ColumnElement[dt.date] = (
        cast(func.timezone("UTC", created), LedgerDayTotal.day.type)
        if session.get_bind().dialect.name == "postgresql"
        else func.date(created)
    )
    credit = LedgerEntry.delta > 0
    shard = LedgerEntry.advocate_id % DAY_TOTAL_SHARDS
    grouped = select(day, LedgerEntry.kind, credit, shard, func.sum(LedgerEntry.delta), func.count()).group_by(
        day, LedgerEntry.kind, credit, shard
    )
    session.execute(delete(LedgerDayTotal))
    session.execute(
        insert(LedgerDayTotal).from_select(["day", "kind", "is_credit", "shard", "points", "entries"], grouped)
    )


def _expire_cached(advocate_id: int) -> None:
    obj = db.session.identity_map.get(db.session.identity_key(Advocate, advocate_id))
    if obj is not None:
        db.session.expire(
            obj, ["balance", "lifetime_points", "expiry_settled_at", "expiry_settled_id", "expiry_watch_from"]
        )
