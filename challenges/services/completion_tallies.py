"""The per-challenge tallies the reports page's "performance per challenge" table reads (issue 17),
kept in the transaction of every change they summarise and rebuilt from the completions by
grouped statements (the migration that added them, `flask challenges rebuild-act-totals`, the
bench seeder):

- `CompletionDayTotal`: per (challenge, UTC day of submission) the completions submitted,
  approved, rejected, the points awarded on approval and the active asks they hold;
- `ApprovalHourCount`: per (challenge, day of submission, whole hours to approve) how many were
  approved, so the median time to approve is exact to the hour.

Every change goes through the functions below, called by the only places that make it:
`submit_completion` (the insert, and the ask it claims), `approval_effects` /
`rejection_effects` (the decision, and the ask a rejection releases), and the erasure's bulk
rejection (challenges.privacy). Inside `hub.db.deferred_sums` (the approval batches) the deltas
are summed in memory and written once, in key order, at the end of the block."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Date, Integer, case, cast, delete, func, insert, select
from sqlalchemy.sql.elements import ColumnElement

from challenges.models import ApprovalHourCount, Completion, CompletionDayTotal, CompletionStatus
from hub.db import _dialect_insert, defer_sum, table_of
from hub.extensions import db

HOUR = dt.timedelta(hours=1)
# The columns of CompletionDayTotal a change adds to, in this order in every delta tuple.
SUMMED = ("completions", "approved", "rejected", "points_paid", "asks_spent")

DayKey = tuple[int, dt.date]
HourKey = tuple[int, dt.date, int]


def submission_day(submitted_at: dt.datetime) -> dt.date:
    """The UTC day a completion submitted at `submitted_at` (aware) is tallied under."""
    return submitted_at.astimezone(dt.UTC).date()


def hours_to_approve(submitted_at: dt.datetime, decided_at: dt.datetime) -> int:
    """Whole hours from submission to approval, rounded down (negative if the approval is dated
    earlier, as an import may): the histogram's resolution."""
    return (decided_at - submitted_at) // HOUR


def _add(challenge_id: int, submitted_at: dt.datetime, *amounts: int) -> None:
    sums = {(challenge_id, submission_day(submitted_at)): tuple(amounts)}
    if not defer_sum(_write_day_totals, sums):  # type: ignore[arg-type]
        _write_day_totals(sums)


def count_submission(challenge_id: int, submitted_at: dt.datetime) -> None:
    """One completion submitted (whatever its first status): its challenge and day count it."""
    _add(challenge_id, submitted_at, 1, 0, 0, 0, 0)


def count_ask(challenge_id: int, submitted_at: dt.datetime, change: int) -> None:
    """The completion's ask claimed (`change` +1) or released (−1)."""
    _add(challenge_id, submitted_at, 0, 0, 0, 0, change)


def count_decision(completion: Completion) -> None:
    """The completion was just decided (approved or rejected; call once, in the decision's
    transaction — a decision is a conditional UPDATE or the insert itself, so it happens once):
    an approval adds its points and its hours to approve, a rejection one rejected."""
    if completion.status is CompletionStatus.APPROVED:
        assert completion.decided_at is not None, "an approved completion has its decision time"
        _add(completion.challenge_id, completion.submitted_at, 0, 1, 0, completion.points_awarded or 0, 0)
        hours = {
            (
                completion.challenge_id,
                submission_day(completion.submitted_at),
                hours_to_approve(completion.submitted_at, completion.decided_at),
            ): 1
        }
        if not defer_sum(_write_hour_counts, hours):  # type: ignore[arg-type]
            _write_hour_counts(hours)
    elif completion.status is CompletionStatus.REJECTED:
        _add(completion.challenge_id, completion.submitted_at, 0, 0, 1, 0, 0)


def count_rejections(rejected: Iterable[tuple[int, dt.datetime]]) -> None:
    """Completions rejected in bulk (an erasure), each given as (challenge id, submitted_at)."""
    sums: dict[DayKey, tuple[int, ...]] = {}
    for challenge_id, submitted_at in rejected:
        key = (challenge_id, submission_day(submitted_at))
        before = sums.get(key, (0, 0, 0, 0, 0))
        sums[key] = (before[0], before[1], before[2] + 1, before[3], before[4])
    if sums and not defer_sum(_write_day_totals, sums):  # type: ignore[arg-type]
        _write_day_totals(sums)


def _upsert_add(table: Any, keys: list[str], columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """One INSERT … ON CONFLICT DO UPDATE adding each of `columns`; rows in key order, so two
    writers lock the shared rows in the same order and never wait on each other in a cycle."""
    if not rows:
        return
    stmt = _dialect_insert(db.session, table).values(rows)
    db.session.execute(
        stmt.on_conflict_do_update(index_elements=keys, set_={c: table.c[c] + stmt.excluded[c] for c in columns})
    )


def _write_day_totals(sums: dict[DayKey, tuple[int, ...]]) -> None:
    rows = [
        {"challenge_id": challenge_id, "day": day, **dict(zip(SUMMED, sums[(challenge_id, day)], strict=True))}
        for challenge_id, day in sorted(sums)
        if any(sums[(challenge_id, day)])
    ]
    _upsert_add(table_of(CompletionDayTotal), ["challenge_id", "day"], SUMMED, rows)


def _write_hour_counts(counts: dict[HourKey, int]) -> None:
    rows = [
        {"challenge_id": challenge_id, "day": day, "hours": hours, "approvals": counts[(challenge_id, day, hours)]}
        for challenge_id, day, hours in sorted(counts)
    ]
    _upsert_add(table_of(ApprovalHourCount), ["challenge_id", "day", "hours"], ("approvals",), rows)


def _day_sql(column: Any) -> ColumnElement[dt.date]:
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def _hours_sql(submitted: Any, decided: Any) -> ColumnElement[int]:
    """SQL: `hours_to_approve`. On PostgreSQL the epoch of an interval is numeric, so the floor
    is exact to the microsecond; SQLite's julianday is a float, so its difference is rounded to
    whole milliseconds first (else exactly 4 hours reads as 3.999… and floors to 3)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", decided - submitted) / 3600), Integer)
    millis = func.round((func.julianday(decided) - func.julianday(submitted)) * 86_400_000)
    return cast(func.floor(millis / 3_600_000.0), Integer)


def rebuild_completion_totals() -> None:
    """Recompute CompletionDayTotal and ApprovalHourCount from the completions and their active
    asks (one grouped INSERT … SELECT each); the rows equal what the changes wrote one by one.
    The caller commits."""
    from challenges.models import Ask

    session = db.session
    day = _day_sql(Completion.submitted_at)
    approved = Completion.status == CompletionStatus.APPROVED
    held = (
        select(Ask.source_id.label("source_id"))
        .where(Ask.source_type == "completion", Ask.cancelled_at.is_(None))
        .subquery()
    )
    grouped = (
        select(
            Completion.challenge_id,
            day,
            func.count(),
            func.sum(case((approved, 1), else_=0)),
            func.sum(case((Completion.status == CompletionStatus.REJECTED, 1), else_=0)),
            func.sum(case((approved, func.coalesce(Completion.points_awarded, 0)), else_=0)),
            func.count(held.c.source_id),
        )
        .outerjoin(held, held.c.source_id == cast(Completion.id, held.c.source_id.type))
        .group_by(Completion.challenge_id, day)
    )
    session.execute(delete(CompletionDayTotal))
    session.execute(insert(CompletionDayTotal).from_select(["challenge_id", "day", *SUMMED], grouped))
    hours = _hours_sql(Completion.submitted_at, Completion.decided_at)
    session.execute(delete(ApprovalHourCount))
    session.execute(
        insert(ApprovalHourCount).from_select(
            ["challenge_id", "day", "hours", "approvals"],
            select(Completion.challenge_id, day, hours, func.count())
            .where(approved, Completion.decided_at.is_not(None))
            .group_by(Completion.challenge_id, day, hours),
        )
    )
