"""The approval tallies the reports read, counted one approval at a time in the approval's own
transaction (challenges.services.approve_completion) and rebuilt from the completions by grouped
statements (the migrations that added them, the bench seeder, `flask challenges rebuild-act-totals`):

- `ActDayTotal`: approved completions per UTC day, challenge type, review platform and shard;
- `ActiveAdvocatePeriod` / `ActiveAdvocateTotal`: which advocates had a completion approved in
  each calendar month and quarter, and how many per period (active advocates per month,
  quarterly participation);
- `ActiveSpell`: each advocate's runs of approvals no more than 90 days apart (activation), and
  `ActiveSpellDayTotal`: how many spells start and end on each day (the activation figure's sums)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Integer,
    Interval,
    String,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from challenges.models import (
    ACT_TOTAL_SHARDS,
    ACTIVE_SPELL_GAP,
    ActDayTotal,
    ActiveAdvocatePeriod,
    ActiveAdvocateTotal,
    ActiveSpell,
    ActiveSpellDayTotal,
    Challenge,
    Completion,
    CompletionStatus,
)
from hub.db import defer_sum, dialect_insert, insert_ignore_many, table_of, upsert_add_each
from hub.extensions import db
from hub.models import Advocate

# ActiveAdvocatePeriod.span: a calendar month, a calendar quarter.
MONTH, QUARTER = 1, 3
REVIEW_TYPE = "review"


def period_start(day: dt.date, span: int) -> dt.date:
    """The first day of the calendar month (`span` 1) or quarter (`span` 3) containing `day`."""
    return dt.date(day.year, day.month - (day.month - 1) % span, 1)


def next_period_start(first: dt.date, span: int) -> dt.date:
    """The first day of the month (`span` 1) or quarter (`span` 3) after the one starting on `first`."""
    months = first.year * 12 + first.month - 1 + span
    return dt.date(months // 12, months % 12 + 1, 1)


def act_platform(challenge_type: str, platform: str | None) -> str:
    """The `platform` an act is tallied under: the review platform for a review ("" when the
    review names none), "" for every other type."""
    return (platform or "") if challenge_type == REVIEW_TYPE else ""


def count_approved_act(
    advocate_id: int, challenge_type: str, decided_at: dt.datetime, platform: str | None = None
) -> None:
    """Add one approved act of `challenge_type` (a review: on `platform`) on `decided_at`'s UTC
    day, and mark the advocate active in that month and quarter (call once per approval, in its
    transaction: approval is a conditional UPDATE that succeeds once per completion): the day
    upsert, and `_write_approvals` (periods, their totals, the spell). Inside
    `hub.db.deferred_sums` (a batch of approvals) both are written once, for the whole batch,
    when the block ends."""
    day = decided_at.astimezone(dt.UTC).date()
    shard = advocate_id % ACT_TOTAL_SHARDS
    act = {(day, challenge_type, act_platform(challenge_type, platform), shard): 1}
    if not defer_sum(_write_act_days, act):  # type: ignore[arg-type]
        _write_act_days(act)
    approval = {(advocate_id, decided_at): 1}
    if not defer_sum(_write_approvals, approval):  # type: ignore[arg-type]
        _write_approvals(approval)


def _write_act_days(acts: dict[tuple[dt.date, str, str, int], int]) -> None:
    """Add acts per (day, challenge_type, platform, shard) to the day totals in one upsert, rows
    in key order (two writers lock shared rows in the same order)."""
    rows = [
        {"day": day, "challenge_type": challenge_type, "platform": platform, "shard": shard, "acts": acts[key]}
        for key in sorted(acts)
        for day, challenge_type, platform, shard in [key]
    ]
    upsert_add_each(db.session, table_of(ActDayTotal), rows, "acts")


def _write_active_totals(active: dict[tuple[int, dt.date, int], int]) -> None:
    """Add newly active advocates per (span, starts, shard) in one upsert, rows in key order (so
    two approvals never wait on each other in a cycle)."""
    rows = [
        {"span": span, "starts": starts, "shard": shard, "advocates": active[key]}
        for key in sorted(active)
        for span, starts, shard in [key]
    ]
    upsert_add_each(db.session, table_of(ActiveAdvocateTotal), rows, "advocates")


def _write_approvals(approvals: dict[tuple[int, dt.datetime], int]) -> None:
    """The approvals' (advocate, decided_at) keys written set-based, whatever their number: one
    insert-ignore of the month and quarter rows (`ActiveAdvocatePeriod`), one upsert of the
    totals of the rows actually written, and the spells (`_extend_spells`)."""
    periods = sorted(
        {
            (span, period_start(at.astimezone(dt.UTC).date(), span), advocate_id)
            for advocate_id, at in approvals
            for span in (MONTH, QUARTER)
        }
    )
    written = insert_ignore_many(
        db.session,
        table_of(ActiveAdvocatePeriod),
        [{"span": span, "starts": starts, "advocate_id": advocate_id} for span, starts, advocate_id in periods],
        ["span", "starts", "advocate_id"],
    )
    # Key order (span, starts, shard) for every writer, so two approvals never wait on each other in a cycle.
    active: dict[tuple[int, dt.date, int], int] = {}
    for span, starts, advocate_id in written:
        key = (int(span), starts, advocate_id % ACT_TOTAL_SHARDS)
        active[key] = active.get(key, 0) + 1
    if active:
        _write_active_totals(active)
    _extend_spells(sorted(approvals))


def _extend_spells(approvals: list[tuple[int, dt.datetime]]) -> None:
    """Add approvals — (advocate, decided_at) each — to their advocates' spells (ActiveSpell) in
    four statements whatever their number: the advocates' row locks (FOR NO KEY UPDATE, in id
    order; the ledger's balance update takes them anyway), the spells near any of the approvals
    read, then the spells the approvals join deleted and their merges inserted. A spell is a
    run of approvals no more than ACTIVE_SPELL_GAP apart, so the merge does not depend on the
    order the approvals arrive in (the demo's history, imports): one at a time or in a batch, the
    result is the spells `rebuild_spells` computes from the approved completions."""
    if not approvals:
        return
    session = db.session
    advocate_ids = sorted({advocate_id for advocate_id, _ in approvals})
    session.execute(
        select(Advocate.id).where(Advocate.id.in_(advocate_ids)).order_by(Advocate.id).with_for_update(key_share=True)
    ).all()
    earliest = min(at for _, at in approvals)
    latest = max(at for _, at in approvals)
    near = session.execute(
        select(ActiveSpell.advocate_id, ActiveSpell.started_at, ActiveSpell.last_at).where(
            ActiveSpell.advocate_id.in_(advocate_ids),
            ActiveSpell.last_at >= earliest - ACTIVE_SPELL_GAP,
            ActiveSpell.started_at <= latest + ACTIVE_SPELL_GAP,
        )
    ).all()
    spans: dict[int, list[tuple[dt.datetime, dt.datetime, bool]]] = {a: [] for a in advocate_ids}
    for row in near:
        spans[row.advocate_id].append((row.started_at, row.last_at, True))
    for advocate_id, at in approvals:
        spans[advocate_id].append((at, at, False))
    gone: list[tuple[int, dt.datetime]] = []
    new: list[dict[str, Any]] = []
    for advocate_id, items in spans.items():
        items.sort(key=lambda item: (item[0], item[1]))
        merged: list[list[Any]] = []  # [started_at, last_at, stored spells in it, approvals in it]
        for started, last, stored in items:
            if merged and started - merged[-1][1] <= ACTIVE_SPELL_GAP:
                run = merged[-1]
                run[1] = max(run[1], last)
            else:
                run = [started, last, [], 0]
                merged.append(run)
            if stored:
                run[2].append(started)
            else:
                run[3] += 1
        for started, last, stored_starts, added in merged:
            if not added:
                continue  # a stored spell no approval of this batch reaches
            if len(stored_starts) == 1 and started == stored_starts[0] and _last_of(near, advocate_id, started) == last:
                continue  # the approvals fall inside one stored spell: it stays as it is
            gone += [(advocate_id, start) for start in stored_starts]
            new.append({"advocate_id": advocate_id, "started_at": started, "last_at": last})
    if gone:
        session.execute(delete(ActiveSpell).where(tuple_(ActiveSpell.advocate_id, ActiveSpell.started_at).in_(gone)))
    if new:
        session.execute(insert(ActiveSpell), new)
        _lower_first_approvals(new)
    _write_spell_days(
        [(advocate_id, start, _last_of(near, advocate_id, start), -1) for advocate_id, start in gone]
        + [(row["advocate_id"], row["started_at"], row["last_at"], 1) for row in new]
    )


def _lower_first_approvals(spells: list[dict[str, Any]]) -> None:
    """Set each advocate's `first_approved_at` to the earliest start among their new spells
    where it is later or unset (one executemany; a row is written only by an advocate's first
    approval, or one dated before it). The caller holds the advocates' row locks."""
    earliest: dict[int, dt.datetime] = {}
    for spell in spells:
        advocate_id, started = spell["advocate_id"], spell["started_at"]
        earliest[advocate_id] = min(started, earliest.get(advocate_id, started))
    table = table_of(Advocate)
    db.session.execute(
        update(table)
        .where(
            table.c.id == bindparam("advocate"),
            or_(table.c.first_approved_at.is_(None), table.c.first_approved_at > bindparam("started")),
        )
        .values(first_approved_at=bindparam("started")),
        [{"advocate": advocate_id, "started": earliest[advocate_id]} for advocate_id in sorted(earliest)],
    )


def _write_spell_days(changes: list[tuple[int, dt.datetime, dt.datetime | None, int]]) -> None:
    """Count spells deleted (-1) and inserted (+1) — `(advocate, started_at, last_at, ±1)` each —
    into ActiveSpellDayTotal in one upsert that adds to `starts` and `lasts` per (UTC day, shard);
    rows in key order (two writers lock shared rows in the same order), none where the changes
    cancel out (a spell extended within the day it ended on)."""
    deltas: dict[tuple[dt.date, int], list[int]] = {}
    for advocate_id, started, last, sign in changes:
        if last is None:
            raise ValueError("a deleted spell's last approval time was not read")
        shard = advocate_id % ACT_TOTAL_SHARDS
        deltas.setdefault((_utc_date(started), shard), [0, 0])[0] += sign
        deltas.setdefault((_utc_date(last), shard), [0, 0])[1] += sign
    rows = [
        {"day": day, "shard": shard, "starts": starts, "lasts": lasts}
        for (day, shard), (starts, lasts) in sorted(deltas.items())
        if starts or lasts
    ]
    if not rows:
        return
    table = table_of(ActiveSpellDayTotal)
    stmt = dialect_insert(db.session, table).values(rows)
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["day", "shard"],
            set_={
                "starts": table.c.starts + stmt.excluded.starts,
                "lasts": table.c.lasts + stmt.excluded.lasts,
            },
        )
    )


def _utc_date(moment: dt.datetime) -> dt.date:
    """The UTC calendar day of an aware time."""
    return moment.astimezone(dt.UTC).date()


def _last_of(near: Sequence[Any], advocate_id: int, started: dt.datetime) -> dt.datetime | None:
    """The stored last approval time of the advocate's spell that starts at `started`."""
    return next((row.last_at for row in near if row.advocate_id == advocate_id and row.started_at == started), None)


def _utc_day(column: Any) -> ColumnElement[dt.date]:
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), ActDayTotal.day.type)
    return func.date(column)


def _period_start_sql(column: Any, span: int) -> ColumnElement[dt.date]:
    """SQL: `period_start` of a UTC time column."""
    if db.session.get_bind().dialect.name == "postgresql":
        unit = "month" if span == MONTH else "quarter"
        return cast(func.date_trunc(unit, func.timezone("UTC", column)), ActDayTotal.day.type)
    if span == MONTH:
        return func.date(column, "start of month")
    back = (cast(func.strftime("%m", column), Integer) - 1) % 3
    return func.date(column, "start of month", literal("-").concat(cast(back, String)).concat(" months"))


def rebuild_act_totals() -> None:
    """Recompute `ActDayTotal`, `ActiveAdvocatePeriod` and `ActiveAdvocateTotal` from the approved
    completions (one grouped INSERT … SELECT each); the result equals what the approvals wrote."""
    session = db.session
    decided = Completion.decided_at
    approved = [Completion.status == CompletionStatus.APPROVED, decided.is_not(None)]
    day = _utc_day(decided)
    shard = Completion.advocate_id % ACT_TOTAL_SHARDS
    platform = case((Challenge.type == REVIEW_TYPE, func.coalesce(Challenge.platform, "")), else_="")
    grouped = (
        select(day, Challenge.type, platform, shard, func.count())
        .join(Challenge, Challenge.id == Completion.challenge_id)
        .where(*approved)
        .group_by(day, Challenge.type, platform, shard)
    )
    session.execute(delete(ActDayTotal))
    session.execute(insert(ActDayTotal).from_select(["day", "challenge_type", "platform", "shard", "acts"], grouped))
    session.execute(delete(ActiveAdvocateTotal))
    session.execute(delete(ActiveAdvocatePeriod))
    for span in (MONTH, QUARTER):
        starts = _period_start_sql(decided, span)
        session.execute(
            insert(ActiveAdvocatePeriod).from_select(
                ["span", "starts", "advocate_id"],
                select(literal(span), starts, Completion.advocate_id).where(*approved).distinct(),
            )
        )
    rebuild_spells()
    period_shard = ActiveAdvocatePeriod.advocate_id % ACT_TOTAL_SHARDS
    session.execute(
        insert(ActiveAdvocateTotal).from_select(
            ["span", "starts", "shard", "advocates"],
            select(ActiveAdvocatePeriod.span, ActiveAdvocatePeriod.starts, period_shard, func.count()).group_by(
                ActiveAdvocatePeriod.span, ActiveAdvocatePeriod.starts, period_shard
            ),
        )
    )


def rebuild_spells() -> None:
    """Recompute ActiveSpell from the approved completions: one INSERT … SELECT that numbers each
    advocate's spells by a running count of the gaps longer than ACTIVE_SPELL_GAP; then their
    day totals (`rebuild_spell_days`) and each advocate's `first_approved_at` (their first
    spell's start)."""
    session = db.session
    decided = Completion.decided_at
    previous = func.lag(decided).over(partition_by=Completion.advocate_id, order_by=decided)
    ordered = (
        select(Completion.advocate_id, decided.label("at"), previous.label("before"))
        .where(Completion.status == CompletionStatus.APPROVED, decided.is_not(None))
        .subquery()
    )
    if session.get_bind().dialect.name == "postgresql":
        gap = ordered.c.at - ordered.c.before > literal(ACTIVE_SPELL_GAP, type_=Interval())
    else:
        # Whole milliseconds, so a gap of exactly 90 days is not lost to floating point.
        millis = func.round((func.julianday(ordered.c.at) - func.julianday(ordered.c.before)) * 86_400_000)
        gap = millis > ACTIVE_SPELL_GAP.days * 86_400_000
    starts = case((ordered.c.before.is_(None) | gap, 1), else_=0)
    numbered = select(
        ordered.c.advocate_id,
        ordered.c.at,
        func.sum(starts).over(partition_by=ordered.c.advocate_id, order_by=ordered.c.at).label("spell"),
    ).subquery()
    session.execute(delete(ActiveSpell))
    session.execute(
        insert(ActiveSpell).from_select(
            ["advocate_id", "started_at", "last_at"],
            select(numbered.c.advocate_id, func.min(numbered.c.at), func.max(numbered.c.at)).group_by(
                numbered.c.advocate_id, numbered.c.spell
            ),
        )
    )
    rebuild_spell_days()
    first = (
        select(func.min(ActiveSpell.started_at))
        .where(ActiveSpell.advocate_id == Advocate.id)
        .correlate(Advocate)
        .scalar_subquery()
    )
    # Only the rows whose value changes are written (a rebuild on a settled database writes none).
    session.execute(
        update(Advocate)
        .where(Advocate.first_approved_at.is_distinct_from(first))
        .values(first_approved_at=first)
        .execution_options(synchronize_session=False)
    )


def rebuild_spell_days() -> None:
    """Recompute ActiveSpellDayTotal from the spells: one grouped INSERT … SELECT of their start
    days and last days per shard (the rows the spells' writers add up to, less those at zero)."""
    session = db.session
    shard = ActiveSpell.advocate_id % ACT_TOTAL_SHARDS
    ends = union_all(
        *(
            select(_utc_day(end).label("day"), shard.label("shard"), literal(s).label("s"), literal(1 - s).label("l"))
            for end, s in ((ActiveSpell.started_at, 1), (ActiveSpell.last_at, 0))
        )
    ).subquery("ends")
    session.execute(delete(ActiveSpellDayTotal))
    session.execute(
        insert(ActiveSpellDayTotal).from_select(
            ["day", "shard", "starts", "lasts"],
            select(ends.c.day, ends.c.shard, func.sum(ends.c.s), func.sum(ends.c.l)).group_by(ends.c.day, ends.c.shard),
        )
    )
