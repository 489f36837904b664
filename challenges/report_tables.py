"""The reports page's tables about challenges and asks, for a period (issue 17), each by grouped
SQL (a few queries per table whatever the number of completions):

- **per challenge** and **per group**: completions, approval rate, median time to approve,
  points paid, asks spent;
- **advocates with their asks and burnout**: asks in the period, by kind, and the burnout
  bucket and the tier as of the period's end (challenges.caps: active asks in the 365 days
  before it; the tier by the report's rule, challenges.reports.people.tiers_at).

Which completions a period holds: those *submitted* in it (a cohort), so every figure of a row
speaks of the same completions — approved ones are approved at any later time:

- `completions`: submitted in the period, whatever their status;
- `approval_rate`: approved ÷ decided (approved + rejected), None while none is decided;
- `median_hours_to_approve`: median of (decided_at − submitted_at) over the approved, in hours
  (per challenge, for a period of whole UTC days: of whole hours, rounded down — read from the
  hour histogram challenges.services.completion_tallies keeps; to the second otherwise);
- `points_paid`: points awarded on approval (the ledger `earn` entries of those completions);
- `asks_spent`: the asks those completions hold (challenges.caps; a rejected completion's ask is
  released and not counted).

A completion counts for each group its advocate belongs to *now* (membership today, not at the
time of the completion), so per-group totals may exceed the program's. Periods are half-open
`[start, end)` in aware UTC; None is an open end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, case, cast, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from challenges.caps import LOOKBACK_DAYS, burnout_bucket
from challenges.models import (
    ApprovalHourCount,
    Ask,
    AskKind,
    Challenge,
    Completion,
    CompletionDayTotal,
    CompletionStatus,
    GroupApprovalHourCount,
    GroupDayTotal,
)
from hub.db import utcnow
from hub.extensions import db
from hub.models import Advocate, Group, User, advocate_groups
from hub.sql_stats import median_by, seconds_between
from rewards.models import TierChange

BATCH = 1000


@dataclass(frozen=True)
class Performance:
    """One row of the per-challenge or per-group table. `key` is the challenge or group id,
    `name` its title or name, `kind` the challenge type ("" for a group)."""

    key: int
    name: str
    kind: str
    completions: int
    approved: int
    rejected: int
    median_hours_to_approve: float | None
    points_paid: int
    asks_spent: int

    @property
    def approval_rate(self) -> float | None:
        """approved ÷ (approved + rejected), 4 places; None while nothing is decided."""
        decided = self.approved + self.rejected
        return round(self.approved / decided, 4) if decided else None


HEADER = (
    "completions",
    "approved",
    "rejected",
    "approval_rate",
    "median_hours_to_approve",
    "points_paid",
    "asks_spent",
)


def performance_cells(row: Performance) -> list[object]:
    """A row's figures in HEADER's order (for CSV)."""
    return [
        row.completions,
        row.approved,
        row.rejected,
        row.approval_rate,
        row.median_hours_to_approve,
        row.points_paid,
        row.asks_spent,
    ]


def _submitted_in(start: dt.datetime | None, end: dt.datetime | None) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if start is not None:
        found.append(Completion.submitted_at >= start)
    if end is not None:
        found.append(Completion.submitted_at < end)
    return found


def _performance(
    key: Any,
    joins: list[ColumnElement[bool]],
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> tuple[dict[int, tuple[int, int, int, int, int]], dict[int, float]]:
    approved = Completion.status == CompletionStatus.APPROVED
    rejected = Completion.status == CompletionStatus.REJECTED
    # The ask a completion holds: (source_type "completion", its id), unique (challenges.caps).
    held = (
        (Ask.source_type == "completion") & (Ask.source_id == cast(Completion.id, String)) & Ask.cancelled_at.is_(None)
    )
    sums = db.session.execute(
        select(
            key,
            func.count(Completion.id.distinct()),
            func.coalesce(func.sum(case((approved, 1), else_=0)), 0),
            func.coalesce(func.sum(case((rejected, 1), else_=0)), 0),
            func.coalesce(func.sum(case((approved, func.coalesce(Completion.points_awarded, 0)), else_=0)), 0),
            func.count(Ask.id),
        )
        .select_from(Completion)
        .outerjoin(Ask, held)
        .where(*joins, *_submitted_in(start, end))
        .group_by(key)
    ).all()
    medians = db.session.execute(
        median_by(
            key,
            seconds_between(Completion.submitted_at, Completion.decided_at),
            approved,
            *joins,
            *_submitted_in(start, end),
        )
    ).all()
    return (
        {int(k): (int(n), int(a), int(r), int(p), int(s)) for k, n, a, r, p, s in sums},
        {int(k): float(seconds) for k, seconds in medians},
    )


def _rows(
    names: dict[int, tuple[str, str]], sums: dict[int, tuple[int, int, int, int, int]], medians: dict[int, float]
) -> list[Performance]:
    rows = [
        Performance(
            key,
            *names.get(key, ("", "")),
            completions=n,
            approved=a,
            rejected=r,
            median_hours_to_approve=round(medians[key] / 3600, 2) if key in medians else None,
            points_paid=p,
            asks_spent=s,
        )
        for key, (n, a, r, p, s) in sums.items()
    ]
    return sorted(rows, key=lambda row: (-row.completions, row.name, row.key))


def _whole_days(start: dt.datetime | None, end: dt.datetime | None) -> tuple[dt.date | None, dt.date | None] | None:
    """The UTC days `[start, end)` covers when both ends fall on UTC midnight (or are open): the
    summary tables hold whole days. None otherwise (read the completions)."""
    days: list[dt.date | None] = []
    for at in (start, end):
        if at is None:
            days.append(None)
            continue
        utc = at.astimezone(dt.UTC)
        if utc != dt.datetime.combine(utc.date(), dt.time(), dt.UTC):
            return None
        days.append(utc.date())
    return days[0], days[1]


def median_of_histogram(counts: list[tuple[int, int]]) -> float | None:
    """The median of values given as (value, how many), in any order: the middle value, or the
    mean of the two middle ones (statistics.median's answer); None when there are none."""
    ordered = sorted((value, n) for value, n in counts if n > 0)
    total = sum(n for _, n in ordered)
    if total == 0:
        return None
    # 1-based positions of the middle value(s): (total + 1) // 2 and (total + 2) // 2.
    wanted = [(total + 1) // 2, (total + 2) // 2]
    found: list[int] = []
    seen = 0
    for value, n in ordered:
        seen += n
        while wanted and wanted[0] <= seen:
            found.append(value)
            wanted.pop(0)
        if not wanted:
            break
    return sum(found) / 2


def _summed(
    key: Any, day_table: Any, hour_table: Any, first: dt.date | None, last: dt.date | None
) -> tuple[dict[int, tuple[int, int, int, int, int]], dict[int, float]]:
    """Per `key` (a column of both summaries) from the day summaries (challenges.services.
    completion_tallies): the sums, and the median whole hours to approve (in seconds, like
    `_performance`)."""
    days: list[ColumnElement[bool]] = []
    hour_days: list[ColumnElement[bool]] = []
    if first is not None:
        days.append(day_table.day >= first)
        hour_days.append(hour_table.day >= first)
    if last is not None:
        days.append(day_table.day < last)
        hour_days.append(hour_table.day < last)
    day_key, hour_key = getattr(day_table, key), getattr(hour_table, key)
    sums = db.session.execute(
        select(
            day_key,
            func.sum(day_table.completions),
            func.sum(day_table.approved),
            func.sum(day_table.rejected),
            func.sum(day_table.points_paid),
            func.sum(day_table.asks_spent),
        )
        .where(*days)
        .group_by(day_key)
        .having(func.sum(day_table.completions) > 0)
    ).all()
    histograms: dict[int, list[tuple[int, int]]] = {}
    for found, hours, n in db.session.execute(
        select(hour_key, hour_table.hours, func.sum(hour_table.approvals))
        .where(*hour_days)
        .group_by(hour_key, hour_table.hours)
    ):
        histograms.setdefault(int(found), []).append((int(hours), int(n)))
    medians = {k: median_of_histogram(counts) for k, counts in histograms.items()}
    return (
        {int(k): (int(n), int(a), int(r), int(p), int(s)) for k, n, a, r, p, s in sums},
        {k: hours * 3600 for k, hours in medians.items() if hours is not None},
    )


def challenge_performance(start: dt.datetime | None, end: dt.datetime | None) -> list[Performance]:
    """Per challenge with a completion submitted in `[start, end)`, most completions first.

    For a period of whole UTC days (every period the reports page offers) the figures come from
    the day summaries, where the median time to approve is of whole hours (rounded down, so
    exact to the hour: `median_hours_to_approve` is then a whole number of hours, or a half when
    the two middle approvals differ); for any other period from the completions, to the second."""
    days = _whole_days(start, end)
    if days is not None:
        sums, medians = _summed("challenge_id", CompletionDayTotal, ApprovalHourCount, *days)
    else:
        sums, medians = _performance(Completion.challenge_id, [], start, end)
    names = {
        int(i): (str(title), str(kind))
        for i, title, kind in db.session.execute(
            select(Challenge.id, Challenge.title, Challenge.type).where(Challenge.id.in_(list(sums)))
        )
    }
    return _rows(names, sums, medians)


def group_performance(start: dt.datetime | None, end: dt.datetime | None) -> list[Performance]:
    """Per group of advocates, for completions submitted in `[start, end)`, most completions
    first. Groups as they are *now*: a completion counts for each group its advocate is in
    today (including completions from before they joined; none for a group they left).

    For a period of whole UTC days the figures come from the group day summaries (kept with
    the per-challenge ones, and when an advocate's groups change), the median time to approve
    of whole hours as in `challenge_performance`; for any other period from the completions."""
    days = _whole_days(start, end)
    if days is not None:
        sums, medians = _summed("group_id", GroupDayTotal, GroupApprovalHourCount, *days)
    else:
        group_id = advocate_groups.c.group_id
        joins = [advocate_groups.c.advocate_id == Completion.advocate_id]
        sums, medians = _performance(group_id, joins, start, end)
    names = {
        int(i): (str(name), "")
        for i, name in db.session.execute(select(Group.id, Group.name).where(Group.id.in_(list(sums))))
    }
    return _rows(names, sums, medians)


@dataclass(frozen=True)
class AdvocateAsks:
    """An advocate's asks: in the period (all, and by kind) and in the 365 days before the
    period's end, with the burnout bucket those make (challenges.caps.burnout_bucket); `tier` is
    the tier they had at the period's end (now, while it runs), as the report's tier counts."""

    advocate_id: int
    name: str
    email: str
    tier: str
    asks: int
    reference_calls: int
    medium: int
    high: int
    asks_last_365: int

    @property
    def burnout(self) -> str:
        return burnout_bucket(self.asks_last_365)


ASKS_HEADER = (
    "advocate_id",
    "name",
    "email",
    "tier_at_period_end",
    "asks_in_period",
    "reference_calls",
    "medium_effort",
    "high_effort",
    "asks_last_365_days",
    "burnout",
)


def asks_cells(row: AdvocateAsks) -> list[object]:
    """A row in ASKS_HEADER's order (for CSV)."""
    return [
        row.advocate_id,
        row.name,
        row.email,
        row.tier,
        row.asks,
        row.reference_calls,
        row.medium,
        row.high,
        row.asks_last_365,
        row.burnout,
    ]


def _as_of(end: dt.datetime | None) -> dt.datetime:
    """The moment the burnout window and the tier are read at: the period's end, or now while it
    has not ended."""
    return min(end, utcnow()) if end is not None else utcnow()


def _asks_totals(start: dt.datetime | None, end: dt.datetime | None) -> Any:
    """Subquery: per advocate with an active ask in `[start, end)` or in the 365 days before the
    period's end, the asks in the period (all and by kind) and in the window. One pass over the
    asks from the earlier of the period's start and the window's (`ix_asks_advocate_asked` is not
    needed: the year's asks are read once and grouped in a hash)."""
    at = _as_of(end)
    window_start = at - dt.timedelta(days=LOOKBACK_DAYS)
    in_period: ColumnElement[bool] = literal(True)
    if start is not None:
        in_period = in_period & (Ask.asked_at >= start)
    if end is not None:
        in_period = in_period & (Ask.asked_at < end)
    in_window = (Ask.asked_at > window_start) & (Ask.asked_at < at)

    def counted(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    period_asks = counted(in_period)
    last_365 = counted(in_window)
    # The asks either count needs: from the earlier of the period's start and the window's.
    scanned: list[ColumnElement[bool]] = [Ask.cancelled_at.is_(None)]
    if start is not None:
        scanned.append(Ask.asked_at >= min(start, window_start))
    if end is not None:
        scanned.append(Ask.asked_at < end)
    return (
        select(
            Ask.advocate_id.label("advocate_id"),
            period_asks.label("asks"),
            counted(in_period & (Ask.kind == AskKind.REFERENCE_CALL)).label("reference_calls"),
            counted(in_period & (Ask.kind == AskKind.MEDIUM)).label("medium"),
            counted(in_period & (Ask.kind == AskKind.HIGH)).label("high"),
            last_365.label("last_365"),
        )
        .where(*scanned)
        .group_by(Ask.advocate_id)
        .having((period_asks > 0) | (last_365 > 0))
        .subquery("asked")
    )


def _tier_at(advocate_id: Any, as_of: dt.datetime) -> ColumnElement[Any]:
    """SQL: the advocate's tier at `as_of` — the tier they left at their first tier change at or
    after it (the earlier id on a tie of times), else their stored tier: the rule of the
    report's tier counts (challenges.reports.people.tiers_at). A read by `ix_tier_changes_advocate_id`
    per row."""
    left = (
        select(TierChange.from_tier)
        .where(TierChange.advocate_id == advocate_id, TierChange.changed_at >= as_of)
        .order_by(TierChange.changed_at, TierChange.id)
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(left, Advocate.tier)


def _asks_query(
    start: dt.datetime | None, end: dt.datetime | None, limit: int | None = None, offset: int = 0
) -> Select[Any, Any, Any, Any, Any, Any, Any, Any, Any, Any]:
    """Rows of ASKS_HEADER's figures plus how many advocates the whole table has, most asked first
    (`limit`/`offset` for a page). The advocates are grouped, ordered and cut to the page first,
    and only the page's rows are joined to their names and tiers."""
    asked = _asks_totals(start, end)
    order = (asked.c.last_365.desc(), asked.c.asks.desc(), asked.c.advocate_id)
    page = select(asked, func.count().over().label("total")).order_by(*order)
    if limit is not None:
        page = page.limit(limit).offset(offset)
    rows = page.subquery("page")
    return (
        select(
            rows.c.advocate_id,
            User.name,
            User.email,
            _tier_at(rows.c.advocate_id, _as_of(end)),
            rows.c.asks,
            rows.c.reference_calls,
            rows.c.medium,
            rows.c.high,
            rows.c.last_365,
            rows.c.total,
        )
        .join(Advocate, Advocate.id == rows.c.advocate_id)
        .join(User, User.id == Advocate.user_id)
        .order_by(rows.c.last_365.desc(), rows.c.asks.desc(), rows.c.advocate_id)
    )


def _asks_row(raw: tuple[Any, ...]) -> AdvocateAsks:
    advocate_id, name, email, tier, asks, refs, medium, high, last_365 = raw[:9]
    return AdvocateAsks(
        int(advocate_id),
        str(name),
        str(email),
        str(getattr(tier, "value", tier)),
        int(asks),
        int(refs),
        int(medium),
        int(high),
        int(last_365),
    )


def advocate_asks(
    start: dt.datetime | None, end: dt.datetime | None, limit: int = 20, offset: int = 0
) -> tuple[list[AdvocateAsks], int]:
    """A page of advocates with an active ask in `[start, end)` or in the 365 days before the
    period's end (now, when the period has not ended), most asked first, and how many there are
    (one statement: the count is a window over the grouped advocates)."""
    raw = [tuple(r) for r in db.session.execute(_asks_query(start, end, limit, offset))]
    if raw:
        return [_asks_row(r) for r in raw], int(raw[0][9])
    if offset == 0:
        return [], 0
    # A page past the end: count the advocates on their own.
    total = db.session.execute(select(func.count()).select_from(_asks_totals(start, end))).scalar_one()
    return [], int(total)


def iter_advocate_asks(start: dt.datetime | None, end: dt.datetime | None) -> Iterator[AdvocateAsks]:
    """Every row of `advocate_asks`, read from the database in batches (for the CSV)."""
    for raw in db.session.execute(_asks_query(start, end).execution_options(yield_per=BATCH)):
        yield _asks_row(tuple(raw))
