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

from sqlalchemy import Select, String, case, cast, delete, func, insert, literal, select, update
from sqlalchemy.sql.elements import ColumnElement

from hub.db import _dialect_insert, _dialect_orm_insert, execute_dml, table_of, utcnow
from hub.errors import InsufficientPoints, NotFound, ValidationFailed
from hub.extensions import db
from hub.models import Advocate, User
from rewards import leaderboard
from rewards.metrics import count_issued_after_commit
from rewards.models import (
    CORRECTION_SOURCE,
    DAY_TOTAL_SHARDS,
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
    session = db.session
    moved = session.execute(
        update(Advocate)
        .where(
            Advocate.id == advocate_id,
            Advocate.balance + delta >= 0,
            Advocate.lifetime_points + lifetime_delta >= 0,
        )
        .values(balance=Advocate.balance + delta, lifetime_points=Advocate.lifetime_points + lifetime_delta)
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
    # above holds the advocate's row lock, so nobody saw the moved caches in between.
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


def post_expiries(due: Select[Any, Any, Any, Any], at: dt.datetime) -> dict[int, int]:
    """Append the `expire` entries of `due` (a SELECT of advocate_id, lot_id, points > 0 and memo,
    rewards.expiry) in one INSERT … SELECT … ON CONFLICT DO NOTHING, computed and written by the
    database (one per lot: the unique keys on ("ledger_entry", lot id) and on `lot_id`), and
    lower the balances of those written in one UPDATE, for the expiry job's batches. Expiry
    never moves lifetime points or leaderboards.

    The caller holds the advocates' row locks, so the amounts `due` computes under them stand;
    a balance that would still go below zero raises InsufficientPoints (the batch rolls back).
    Returns points expired per advocate by the entries actually written."""
    session = db.session
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
    columns = ["advocate_id", "delta", "kind", "source_type", "source_id", "memo", "created_at", "lot_id"]
    written = session.execute(
        _dialect_insert(session, table_of(LedgerEntry))
        .from_select(columns, source)
        .on_conflict_do_nothing()
        .returning(LedgerEntry.advocate_id, LedgerEntry.delta)
    ).all()
    per_advocate: dict[int, int] = {}
    for advocate_id, delta in written:
        per_advocate[advocate_id] = per_advocate.get(advocate_id, 0) - delta
    if not per_advocate:
        return {}
    day = at.astimezone(dt.UTC).date()
    by_shard: dict[tuple[dt.date, EntryKind, bool, int], int] = {}
    counts: dict[tuple[dt.date, EntryKind, bool, int], int] = {}
    for advocate_id, delta in written:
        key = (day, EntryKind.EXPIRE, False, advocate_id % DAY_TOTAL_SHARDS)
        by_shard[key] = by_shard.get(key, 0) + delta
        counts[key] = counts.get(key, 0) + 1
    _add_to_day_totals(by_shard, counts)
    lowered = case(per_advocate, value=Advocate.id)
    moved = execute_dml(
        update(Advocate)
        .where(Advocate.id.in_(list(per_advocate)), Advocate.balance >= lowered)
        .values(balance=Advocate.balance - lowered)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != len(per_advocate):
        raise InsufficientPoints("Not enough points for this.")
    for advocate_id in per_advocate:
        _expire_cached(advocate_id)
    return per_advocate


def ledger_page(advocate_id: int, page: int, per_page: int) -> tuple[list[LedgerEntry], int]:
    """One page of an advocate's entries, newest first, and how many there are."""
    total = db.session.execute(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.advocate_id == advocate_id)
    ).scalar_one()
    items = db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.advocate_id == advocate_id)
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(items), total


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
    """Recompute every advocate's balance and lifetime points from the ledger (set-based)."""
    balance_sq = (
        select(func.coalesce(func.sum(LedgerEntry.delta), 0))
        .where(LedgerEntry.advocate_id == Advocate.id)
        .scalar_subquery()
    )
    lifetime_sq = select(lifetime_expression()).where(LedgerEntry.advocate_id == Advocate.id).scalar_subquery()
    result = execute_dml(
        update(Advocate)
        .values(balance=balance_sq, lifetime_points=lifetime_sq)
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    return result.rowcount


def _add_to_day_totals(
    points: dict[tuple[dt.date, EntryKind, bool, int], int],
    entries: dict[tuple[dt.date, EntryKind, bool, int], int] | None = None,
) -> None:
    """Add points (and entries, 1 each by default) to the per-day totals in one INSERT … ON
    CONFLICT DO UPDATE, rows in key order so two writers lock shared rows in the same order."""
    rows = []
    for key in sorted(points, key=lambda k: (k[0], k[1].value, k[2], k[3])):
        day, kind, is_credit, shard = key
        rows.append(
            {
                "day": day,
                "kind": kind,
                "is_credit": is_credit,
                "shard": shard,
                "points": points[key],
                "entries": (entries or {}).get(key, 1),
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
        db.session.expire(obj, ["balance", "lifetime_points"])
