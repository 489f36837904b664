"""The per-challenge and per-group tallies the reports page's "performance per challenge" and
"performance per group" tables read (issue 17), kept in the transaction of every change they
summarise and rebuilt from the completions by grouped statements (the migrations that added
them, `flask challenges rebuild-act-totals`, the bench seeder):

- `CompletionDayTotal`: per (challenge, UTC day of submission) the completions submitted,
  approved, rejected, the points awarded on approval and the active asks they hold;
- `ApprovalHourCount`: per (challenge, day of submission, whole hours to approve) how many were
  approved, so the median time to approve is exact to the hour;
- `GroupDayTotal` / `GroupApprovalHourCount`: the same per group of advocates (and shard), each
  change added to every group its advocate is in *now* (`GroupTallyMember`, which
  `follow_memberships` keeps equal to hub's `advocate_groups`: a group joined gets the
  advocate's whole history, a group left loses it).

Every change goes through the functions below, called by the only places that make it:
`submit_completion` (the insert, and the ask it claims), `approval_effects` /
`rejection_effects` (the decision, and the ask a rejection releases), and the erasure's bulk
rejection (challenges.privacy). Inside `hub.db.deferred_sums` (the approval batches) the deltas
are summed in memory and written once, in key order, at the end of the block. A group delta is
one INSERT … SELECT from the advocate's GroupTallyMember rows (nothing is written for an
advocate in no group).

Membership changes and completion changes of one advocate are serialized without a lock on the
hot paths: `follow_memberships` locks the advocate's completions and then the advocate row (the
order decisions and erasure take), so a submission (which holds the advocate row) or a decision
(which holds its completion) in flight commits first and is in the history it reads, and one
that starts later waits and then reads the new memberships."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    Select,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from challenges.models import (
    GROUP_TOTAL_SHARDS,
    ApprovalHourCount,
    Ask,
    Completion,
    CompletionDayTotal,
    CompletionStatus,
    GroupApprovalHourCount,
    GroupDayTotal,
    GroupTallyMember,
)
from hub.db import _dialect_insert, any_of, defer_sum, table_of
from hub.extensions import db
from hub.models import Advocate, advocate_groups

HOUR = dt.timedelta(hours=1)
# The columns of CompletionDayTotal a change adds to, in this order in every delta tuple.
SUMMED = ("completions", "approved", "rejected", "points_paid", "asks_spent")

DayKey = tuple[int, dt.date]
HourKey = tuple[int, dt.date, int]
# (advocate id, day) and (advocate id, day, hours): the group deltas, spread by GroupTallyMember.
AdvocateDayKey = tuple[int, dt.date]
AdvocateHourKey = tuple[int, dt.date, int]


def submission_day(submitted_at: dt.datetime) -> dt.date:
    """The UTC day a completion submitted at `submitted_at` (aware) is tallied under."""
    return submitted_at.astimezone(dt.UTC).date()


def hours_to_approve(submitted_at: dt.datetime, decided_at: dt.datetime) -> int:
    """Whole hours from submission to approval, rounded down (negative if the approval is dated
    earlier, as an import may): the histogram's resolution."""
    return (decided_at - submitted_at) // HOUR


def _add(challenge_id: int, advocate_id: int, submitted_at: dt.datetime, *amounts: int) -> None:
    day = submission_day(submitted_at)
    sums = {(challenge_id, day): tuple(amounts)}
    if not defer_sum(_write_day_totals, sums):  # type: ignore[arg-type]
        _write_day_totals(sums)
    mine = {(advocate_id, day): tuple(amounts)}
    if not defer_sum(_write_group_day_totals, mine):  # type: ignore[arg-type]
        _write_group_day_totals(mine)


def count_submission(challenge_id: int, advocate_id: int, submitted_at: dt.datetime) -> None:
    """One completion submitted (whatever its first status): its challenge and day count it, and
    each group of its advocate."""
    _add(challenge_id, advocate_id, submitted_at, 1, 0, 0, 0, 0)


def count_ask(challenge_id: int, advocate_id: int, submitted_at: dt.datetime, change: int) -> None:
    """The completion's ask claimed (`change` +1) or released (−1)."""
    _add(challenge_id, advocate_id, submitted_at, 0, 0, 0, 0, change)


def count_decision(completion: Completion) -> None:
    """The completion was just decided (approved or rejected; call once, in the decision's
    transaction — a decision is a conditional UPDATE or the insert itself, so it happens once):
    an approval adds its points and its hours to approve, a rejection one rejected."""
    if completion.status is CompletionStatus.APPROVED:
        assert completion.decided_at is not None, "an approved completion has its decision time"
        advocate_id = completion.advocate_id
        _add(completion.challenge_id, advocate_id, completion.submitted_at, 0, 1, 0, completion.points_awarded or 0, 0)
        day = submission_day(completion.submitted_at)
        took = hours_to_approve(completion.submitted_at, completion.decided_at)
        hours = {(completion.challenge_id, day, took): 1}
        if not defer_sum(_write_hour_counts, hours):  # type: ignore[arg-type]
            _write_hour_counts(hours)
        mine = {(advocate_id, day, took): 1}
        if not defer_sum(_write_group_hour_counts, mine):  # type: ignore[arg-type]
            _write_group_hour_counts(mine)
    elif completion.status is CompletionStatus.REJECTED:
        _add(completion.challenge_id, completion.advocate_id, completion.submitted_at, 0, 0, 1, 0, 0)


def count_rejections(advocate_id: int, rejected: Iterable[tuple[int, dt.datetime]]) -> None:
    """The advocate's completions rejected in bulk (an erasure), each given as (challenge id,
    submitted_at)."""
    sums: dict[DayKey, tuple[int, ...]] = {}
    mine: dict[AdvocateDayKey, tuple[int, ...]] = {}
    for challenge_id, submitted_at in rejected:
        day = submission_day(submitted_at)
        for found, key in ((sums, (challenge_id, day)), (mine, (advocate_id, day))):
            before = found.get(key, (0, 0, 0, 0, 0))
            found[key] = (before[0], before[1], before[2] + 1, before[3], before[4])
    if sums and not defer_sum(_write_day_totals, sums):  # type: ignore[arg-type]
        _write_day_totals(sums)
    if mine and not defer_sum(_write_group_day_totals, mine):  # type: ignore[arg-type]
        _write_group_day_totals(mine)


# Statements of one shape built once per process and dialect (the construct costs about as much
# client CPU as its execution): a submission's or a decision's single row, and a single
# advocate's spread over their groups, run these with bound values.
_BUILT: dict[tuple[str, ...], Any] = {}


def _built(key: tuple[str, ...], build: Any) -> Any:
    found = _BUILT.get(key)
    if found is None:
        found = _BUILT[key] = build()
    return found


def _upsert_add(table: Any, keys: list[str], columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """One INSERT … ON CONFLICT DO UPDATE adding each of `columns`; rows in key order, so two
    writers lock the shared rows in the same order and never wait on each other in a cycle. One
    row (a request's usual case) runs a statement built once, with bound values."""
    if not rows:
        return
    if len(rows) == 1:
        dialect = db.session.get_bind().dialect.name

        def build() -> Any:
            stmt = _dialect_insert(db.session, table).values({c: bindparam(c) for c in [*keys, *columns]})
            return stmt.on_conflict_do_update(
                index_elements=keys, set_={c: table.c[c] + stmt.excluded[c] for c in columns}
            )

        db.session.execute(_built(("upsert", dialect, table.name, *keys, *columns), build), rows[0])
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


def _shard(advocate_id: int) -> int:
    return advocate_id % GROUP_TOTAL_SHARDS


def _spread(
    table: Any, keys: list[str], columns: tuple[str, ...], deltas: list[tuple[int, dict[str, Any], tuple[int, ...]]]
) -> None:
    """Add each delta — (advocate id, its key columns but the group and the shard, amounts in
    `columns` order) — to the rows of every group the advocate is in (GroupTallyMember): one
    INSERT … SELECT … ON CONFLICT DO UPDATE adding, the deltas of one key summed first (a row is
    updated once per statement) and written in key order."""
    member = GroupTallyMember
    moving = [(advocate_id, fixed, amounts) for advocate_id, fixed, amounts in deltas if any(amounts)]
    if len(moving) == 1:
        _spread_one(table, keys, columns, *moving[0])
        return
    if len(moving) > 1 and db.session.get_bind().dialect.name == "postgresql":
        _spread_arrays(table, keys, columns, moving)
        return
    parts: list[Any] = [
        select(
            *(literal(value, type_=Date if name == "day" else Integer).label(name) for name, value in fixed.items()),
            member.group_id.label("group_id"),
            literal(_shard(advocate_id), type_=Integer).label("shard"),
            *(literal(amount, type_=BigInteger).label(name) for name, amount in zip(columns, amounts, strict=True)),
        ).where(member.advocate_id == advocate_id)
        for advocate_id, fixed, amounts in deltas
        if any(amounts)
    ]
    if not parts:
        return
    rows: Any = union_all(*parts) if len(parts) > 1 else parts[0]
    spread = rows.subquery("spread")
    grouped = (
        select(*(spread.c[k] for k in keys), *(func.sum(spread.c[c]) for c in columns))
        .where(true())  # SQLite: an INSERT … SELECT with an upsert needs a WHERE before ON CONFLICT
        .group_by(*(spread.c[k] for k in keys))
        .order_by(*(spread.c[k] for k in keys))
    )
    stmt = _dialect_insert(db.session, table).from_select([*keys, *columns], grouped)
    db.session.execute(
        stmt.on_conflict_do_update(index_elements=keys, set_={c: table.c[c] + stmt.excluded[c] for c in columns})
    )


def _spread_arrays(
    table: Any, keys: list[str], columns: tuple[str, ...], deltas: list[tuple[int, dict[str, Any], tuple[int, ...]]]
) -> None:
    """`_spread` on PostgreSQL: the deltas go as one array per column (`unnest(…) AS v(…)` joined
    to GroupTallyMember), so a batch's spread is one statement built once per shape with bound
    arrays — not a UNION ALL of one SELECT of literals per advocate, built and compiled anew for
    every batch (most of a verification batch's client CPU in its tallies, issue 22)."""
    from sqlalchemy.dialects.postgresql import ARRAY

    order = [name for name in keys if name not in ("group_id", "shard")]

    def build() -> Any:
        member = GroupTallyMember
        given = (
            func.unnest(
                bindparam("advocate_ids", type_=ARRAY(Integer)),
                *(bindparam(f"key_{name}", type_=ARRAY(Date if name == "day" else Integer)) for name in order),
                *(bindparam(f"amount_{name}", type_=ARRAY(BigInteger)) for name in columns),
            )
            .table_valued("advocate_id", *order, *columns)
            .render_derived(name="given")
        )
        rows = (
            select(
                *(given.c[name].label(name) for name in order),
                member.group_id.label("group_id"),
                (given.c.advocate_id % GROUP_TOTAL_SHARDS).label("shard"),
                *(given.c[name].label(name) for name in columns),
            )
            .select_from(given)
            .join(member, member.advocate_id == given.c.advocate_id)
            .subquery("spread")
        )
        grouped = (
            select(*(rows.c[k] for k in keys), *(func.sum(rows.c[c]) for c in columns))
            .group_by(*(rows.c[k] for k in keys))
            .order_by(*(rows.c[k] for k in keys))
        )
        stmt = _dialect_insert(db.session, table).from_select([*keys, *columns], grouped)
        return stmt.on_conflict_do_update(index_elements=keys, set_={c: table.c[c] + stmt.excluded[c] for c in columns})

    values: dict[str, Any] = {"advocate_ids": [advocate_id for advocate_id, _, _ in deltas]}
    for name in order:
        values[f"key_{name}"] = [fixed[name] for _, fixed, _ in deltas]
    for position, name in enumerate(columns):
        values[f"amount_{name}"] = [amounts[position] for _, _, amounts in deltas]
    db.session.execute(_built(("spread_arrays", table.name, *keys, *columns), build), values)


def _spread_one(
    table: Any,
    keys: list[str],
    columns: tuple[str, ...],
    advocate_id: int,
    fixed: dict[str, Any],
    amounts: tuple[int, ...],
) -> None:
    """`_spread` of one advocate's delta (a submission's, a decision's): one row per group they
    are in — a group appears once in GroupTallyMember per advocate, so nothing to sum — in
    group order, by a statement built once per shape with bound values."""
    dialect = db.session.get_bind().dialect.name

    def build() -> Any:
        member = GroupTallyMember
        rows = (
            select(
                *(bindparam(name, type_=Date if name == "day" else Integer) for name in fixed),
                member.group_id,
                bindparam("shard", type_=Integer),
                *(bindparam(name, type_=BigInteger) for name in columns),
            )
            .where(member.advocate_id == bindparam("advocate_id"))
            .order_by(member.group_id)
        )
        order = [name for name in keys if name not in ("group_id", "shard")]
        stmt = _dialect_insert(db.session, table).from_select([*order, "group_id", "shard", *columns], rows)
        return stmt.on_conflict_do_update(index_elements=keys, set_={c: table.c[c] + stmt.excluded[c] for c in columns})

    order_key = tuple(name for name in keys if name not in ("group_id", "shard"))
    assert tuple(fixed) == order_key, (tuple(fixed), order_key)
    values = {**fixed, "shard": _shard(advocate_id), "advocate_id": advocate_id}
    values |= dict(zip(columns, amounts, strict=True))
    db.session.execute(_built(("spread", dialect, table.name, *keys, *columns), build), values)


def _write_group_day_totals(sums: dict[AdvocateDayKey, tuple[int, ...]]) -> None:
    deltas = [(advocate_id, {"day": day}, sums[(advocate_id, day)]) for advocate_id, day in sorted(sums)]
    _spread(table_of(GroupDayTotal), ["day", "group_id", "shard"], SUMMED, deltas)


def _write_group_hour_counts(counts: dict[AdvocateHourKey, int]) -> None:
    deltas: list[tuple[int, dict[str, Any], tuple[int, ...]]] = [
        (advocate_id, {"day": day, "hours": hours}, (counts[(advocate_id, day, hours)],))
        for advocate_id, day, hours in sorted(counts)
    ]
    _spread(table_of(GroupApprovalHourCount), ["day", "hours", "group_id", "shard"], ("approvals",), deltas)


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


def _history(where: ColumnElement[bool], *by: Any) -> tuple[Select[Any], Select[Any]]:
    """SELECTs of the tallies' figures over the completions matching `where`, grouped by `by`
    and the day of submission: (by…, day, SUMMED…) and, of the approved, (by…, day, hours,
    approvals)."""
    day = _day_sql(Completion.submitted_at)
    approved = Completion.status == CompletionStatus.APPROVED
    held = (
        select(Ask.source_id.label("source_id"))
        .where(Ask.source_type == "completion", Ask.cancelled_at.is_(None))
        .subquery()
    )
    sums = (
        select(
            *by,
            day,
            func.count(),
            func.sum(case((approved, 1), else_=0)),
            func.sum(case((Completion.status == CompletionStatus.REJECTED, 1), else_=0)),
            func.sum(case((approved, func.coalesce(Completion.points_awarded, 0)), else_=0)),
            func.count(held.c.source_id),
        )
        .select_from(Completion)
        .outerjoin(held, held.c.source_id == cast(Completion.id, held.c.source_id.type))
        .where(where)
        .group_by(*by, day)
    )
    hours = _hours_sql(Completion.submitted_at, Completion.decided_at)
    counts = (
        select(*by, day, hours, func.count())
        .select_from(Completion)
        .where(where, approved, Completion.decided_at.is_not(None))
        .group_by(*by, day, hours)
    )
    return sums, counts


def _upsert_many(table: Any, keys: list[str], columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """`_upsert_add` for many rows (a membership change of thousands of advocates): the statement
    compiled once and executed for all the rows in batches (SQLAlchemy's insertmanyvalues); the
    rows' keys must be distinct, in key order."""
    if not rows:
        return
    stmt = _dialect_insert(db.session, table)
    db.session.execute(
        stmt.on_conflict_do_update(index_elements=keys, set_={c: table.c[c] + stmt.excluded[c] for c in columns}),
        rows,
    )


def _as_date(day: Any) -> dt.date:
    """A day read back from `_day_sql` (SQLite's date() is text)."""
    return day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))


def _membership_changes(ids: list[int]) -> dict[int, dict[int, int]]:
    """advocate id → {group id: +1 joined / −1 left} between hub's memberships and the followed
    ones (GroupTallyMember), for the advocates `ids` whose groups differ."""
    if not ids:
        return {}
    now: dict[int, set[int]] = {}
    for advocate_id, group_id in db.session.execute(
        select(advocate_groups.c.advocate_id, advocate_groups.c.group_id).where(
            any_of(advocate_groups.c.advocate_id, ids)
        )
    ):
        now.setdefault(int(advocate_id), set()).add(int(group_id))
    tallied: dict[int, set[int]] = {}
    for advocate_id, group_id in db.session.execute(
        select(GroupTallyMember.advocate_id, GroupTallyMember.group_id).where(any_of(GroupTallyMember.advocate_id, ids))
    ):
        tallied.setdefault(int(advocate_id), set()).add(int(group_id))
    changes: dict[int, dict[int, int]] = {}
    for advocate_id in ids:
        joined = now.get(advocate_id, set()) - tallied.get(advocate_id, set())
        left = tallied.get(advocate_id, set()) - now.get(advocate_id, set())
        if joined or left:
            changes[advocate_id] = {g: 1 for g in joined} | {g: -1 for g in left}
    return changes


def follow_memberships(advocate_ids: list[int]) -> None:
    """Make the group tallies follow these advocates' groups (hub's group-change batch listener,
    in the changing transaction; hub.privacy's erasure too): each group an advocate joined
    since the tallies last followed gets the advocate's whole history of completions added, each
    group left has it taken off, and GroupTallyMember is set to the groups now. One batch of
    statements for all the advocates (a bulk assignment of thousands). Locks their completions,
    then the advocates, each in id order (module docstring)."""
    # Those whose groups differ from the followed ones (none, e.g., for the members of a deleted
    # group: its GroupTallyMember rows went with it); only they are locked, then read again.
    ids = sorted(_membership_changes(sorted(set(advocate_ids))))
    if not ids:
        return
    db.session.execute(
        select(Completion.id).where(any_of(Completion.advocate_id, ids)).order_by(Completion.id).with_for_update()
    ).all()
    # The advocate rows as locked_row locks them (FOR NO KEY UPDATE), without reloading the
    # objects (an erasure holds unflushed changes to its advocate).
    db.session.execute(
        select(Advocate.id).where(any_of(Advocate.id, ids)).order_by(Advocate.id).with_for_update(key_share=True)
    ).all()
    changes = _membership_changes(ids)
    if not changes:
        return
    sums, counts = _history(any_of(Completion.advocate_id, list(changes)), Completion.advocate_id)
    days: dict[tuple[dt.date, int, int], list[int]] = {}
    for advocate_id, day, *amounts in db.session.execute(sums).all():
        for group_id, sign in changes[int(advocate_id)].items():
            row = days.setdefault((_as_date(day), group_id, _shard(int(advocate_id))), [0] * len(SUMMED))
            for i, amount in enumerate(amounts):
                row[i] += sign * int(amount)
    hours: dict[tuple[dt.date, int, int, int], int] = {}
    for advocate_id, day, took, n in db.session.execute(counts).all():
        for group_id, sign in changes[int(advocate_id)].items():
            key = (_as_date(day), int(took), group_id, _shard(int(advocate_id)))
            hours[key] = hours.get(key, 0) + sign * int(n)
    day_rows = [
        {"day": d, "group_id": g, "shard": sh, **dict(zip(SUMMED, days[(d, g, sh)], strict=True))}
        for d, g, sh in sorted(days)
    ]
    hour_rows = [
        {"day": d, "hours": h, "group_id": g, "shard": sh, "approvals": hours[(d, h, g, sh)]}
        for d, h, g, sh in sorted(hours)
    ]
    _upsert_many(table_of(GroupDayTotal), ["day", "group_id", "shard"], SUMMED, day_rows)
    _upsert_many(table_of(GroupApprovalHourCount), ["day", "hours", "group_id", "shard"], ("approvals",), hour_rows)
    joined_rows = [
        {"advocate_id": a, "group_id": g} for a in sorted(changes) for g, sign in sorted(changes[a].items()) if sign > 0
    ]
    if joined_rows:
        db.session.execute(insert(GroupTallyMember), joined_rows)
    for advocate_id in sorted(changes):
        gone = sorted(g for g, sign in changes[advocate_id].items() if sign < 0)
        if gone:
            db.session.execute(
                delete(GroupTallyMember).where(
                    GroupTallyMember.advocate_id == advocate_id, GroupTallyMember.group_id.in_(gone)
                )
            )


def rebuild_completion_totals() -> None:
    """Recompute CompletionDayTotal and ApprovalHourCount from the completions and their active
    asks, and the group tallies from them and hub's group memberships (one grouped INSERT …
    SELECT each); the rows equal what the changes wrote one by one. The caller commits."""
    session = db.session
    sums, counts = _history(true(), Completion.challenge_id)
    session.execute(delete(CompletionDayTotal))
    session.execute(insert(CompletionDayTotal).from_select(["challenge_id", "day", *SUMMED], sums))
    session.execute(delete(ApprovalHourCount))
    session.execute(insert(ApprovalHourCount).from_select(["challenge_id", "day", "hours", "approvals"], counts))
    rebuild_group_totals()


def rebuild_group_totals() -> None:
    """Set GroupTallyMember to hub's group memberships and recompute GroupDayTotal and
    GroupApprovalHourCount from the completions of the members. The caller commits."""
    session = db.session
    member = advocate_groups.c
    shard = Completion.advocate_id % GROUP_TOTAL_SHARDS
    joined = Completion.advocate_id == member.advocate_id
    session.execute(delete(GroupTallyMember))
    session.execute(
        insert(GroupTallyMember).from_select(["advocate_id", "group_id"], select(member.advocate_id, member.group_id))
    )
    sums, counts = _history(joined, member.group_id, shard)
    session.execute(delete(GroupDayTotal))
    session.execute(insert(GroupDayTotal).from_select(["group_id", "shard", "day", *SUMMED], sums))
    session.execute(delete(GroupApprovalHourCount))
    session.execute(
        insert(GroupApprovalHourCount).from_select(["group_id", "shard", "day", "hours", "approvals"], counts)
    )
