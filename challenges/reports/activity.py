"""What happened in a period, in figures and monthly series: approved acts, reviews, active
advocates, asks, points issued and redeemed, and redemptions by status. Each series is one
grouped query; months with nothing are present with 0."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Select, and_, case, distinct, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from challenges.models import ActDayTotal, ActiveAdvocateTotal, AskDayTotal, Completion
from challenges.reports.period import ReportPeriod
from challenges.reports.sql import approved_status, month_of_day
from challenges.services.act_tallies import MONTH, next_period_start
from hub.extensions import db
from rewards.models import EntryKind, LedgerDayTotal, Redemption, RedemptionStatus

REVIEW_TYPE = "review"


def _monthly(query: Select, month: ColumnElement[str], period: ReportPeriod) -> dict[str, int]:
    """Run a `(month, value)` query grouped by month and zero-fill the period's months."""
    found = {m: int(v or 0) for m, v in db.session.execute(query.group_by(month)).all()}
    return {m: found.get(m, 0) for m in period.months()}


def _act_days(period: ReportPeriod) -> list[ColumnElement[bool]]:
    return [ActDayTotal.day >= period.start, ActDayTotal.day <= period.end]


def acts_by_month(period: ReportPeriod) -> dict[str, int]:
    """Completions approved per month (by when they were approved), from the approvals' tally
    (ActDayTotal)."""
    month = month_of_day(ActDayTotal.day)
    return _monthly(select(month, func.sum(ActDayTotal.acts)).where(*_act_days(period)), month, period)


def reviews_by_month(period: ReportPeriod) -> dict[str, int]:
    """Review velocity (product.md §11): completions of `review` challenges approved per month."""
    month = month_of_day(ActDayTotal.day)
    query = select(month, func.sum(ActDayTotal.acts)).where(
        ActDayTotal.challenge_type == REVIEW_TYPE, *_act_days(period)
    )
    return _monthly(query, month, period)


def active_advocates_by_month(period: ReportPeriod) -> dict[str, int]:
    """Advocates with at least one completion approved in the month (within the period). A
    month whose approvals all fall inside the period is read from the approvals' tally
    (ActiveAdvocateTotal); a partial month with approvals outside the period (a period starting
    or ending mid-month) is counted over the approvals themselves."""
    whole: list[dt.date] = []
    partial: list[tuple[dt.datetime, dt.datetime]] = []
    for first in period.month_starts():
        after = next_period_start(first, MONTH)
        lo = max(period.starts_at, _midnight(first))
        hi = min(period.ends_before, _midnight(after))
        if approvals_only_within(_midnight(first), _midnight(after), lo, hi):
            whole.append(first)
        else:
            partial.append((lo, hi))
    found: dict[str, int] = {}
    if whole:
        rows = db.session.execute(
            select(ActiveAdvocateTotal.starts, func.sum(ActiveAdvocateTotal.advocates))
            .where(ActiveAdvocateTotal.span == MONTH, ActiveAdvocateTotal.starts.in_(whole))
            .group_by(ActiveAdvocateTotal.starts)
        ).all()
        found |= {f"{starts:%Y-%m}": int(n or 0) for starts, n in rows}
    for lo, hi in partial:
        found[f"{lo:%Y-%m}"] = db.session.execute(
            select(func.count(distinct(Completion.advocate_id))).where(
                approved_status(), Completion.decided_at >= lo, Completion.decided_at < hi
            )
        ).scalar_one()
    return {m: found.get(m, 0) for m in period.months()}


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def approvals_only_within(span_start: dt.datetime, span_end: dt.datetime, lo: dt.datetime, hi: dt.datetime) -> bool:
    """Whether every completion approved in `[span_start, span_end)` was approved in `[lo, hi)`
    (a sub-range of it), so the span's tally answers for the sub-range. One statement of two
    index probes (ix_completions_approved_decided); True without a query when they are equal."""
    gaps = [(a, b) for a, b in ((span_start, lo), (hi, span_end)) if a < b]
    if not gaps:
        return True
    found = or_(
        *(exists().where(approved_status(), Completion.decided_at >= a, Completion.decided_at < b) for a, b in gaps)
    )
    return not db.session.execute(select(found)).scalar_one()


def asks_by_month(period: ReportPeriod) -> dict[str, int]:
    """Asks made per month (product.md §5), not counting those later cancelled: a sum of the
    per-day totals challenges.caps keeps with each claim and release (AskDayTotal)."""
    month = month_of_day(AskDayTotal.day)
    query = select(month, func.sum(AskDayTotal.asks)).where(
        AskDayTotal.day >= period.start, AskDayTotal.day <= period.end
    )
    return _monthly(query, month, period)


def _days_in(period: ReportPeriod) -> list[ColumnElement[bool]]:
    return [LedgerDayTotal.day >= period.start, LedgerDayTotal.day <= period.end]


def points_issued_by_month(period: ReportPeriod) -> dict[str, int]:
    """Points credited per month: positive earn, bonus and adjust entries (rewards.models), read
    from the per-day totals the ledger keeps (LedgerDayTotal)."""
    month = month_of_day(LedgerDayTotal.day)
    credited = lifetime_kind(LedgerDayTotal.kind) & LedgerDayTotal.is_credit.is_(True)
    query = select(month, func.sum(LedgerDayTotal.points)).where(credited, *_days_in(period))
    return _monthly(query, month, period)


def points_redeemed_by_month(period: ReportPeriod) -> dict[str, int]:
    """Points redeemed per month net of refunds (a refund lowers the month it is written in)."""
    month = month_of_day(LedgerDayTotal.day)
    query = select(month, -func.sum(LedgerDayTotal.points)).where(
        LedgerDayTotal.kind.in_([EntryKind.REDEEM, EntryKind.REFUND]), *_days_in(period)
    )
    return _monthly(query, month, period)


TRENDS: dict[str, Callable[[ReportPeriod], dict[str, int]]] = {
    "acts": acts_by_month,
    "reviews": reviews_by_month,
    "points_issued": points_issued_by_month,
    "points_redeemed": points_redeemed_by_month,
    "active_advocates": active_advocates_by_month,
    "asks": asks_by_month,
}


def trend(metric: str, period: ReportPeriod) -> list[dict]:
    """api.md `/reports/trends`: `[{"period": "YYYY-MM", "value": int}]` for every month the
    period touches, oldest first. `metric` is a key of TRENDS (KeyError otherwise)."""
    return [{"period": m, "value": v} for m, v in TRENDS[metric](period).items()]


def review_velocity(period: ReportPeriod) -> list[dict]:
    """api.md `review_velocity`: `[{"month": "YYYY-MM", "count": int}]`, zero-filled."""
    return [{"month": m, "count": n} for m, n in reviews_by_month(period).items()]


# A review challenge that names no platform (made before challenges carried one).
UNSPECIFIED_PLATFORM = "unspecified"


def review_velocity_by_platform(period: ReportPeriod) -> dict[str, list[dict]]:
    """Review velocity per review platform (product.md §11, issue 17): `{platform: [{"month":
    "YYYY-MM", "count": int}]}` with every platform of challenges.review_rules.PLATFORMS present
    (zero-filled), plus "unspecified" when reviews without a platform were approved in the
    period. Each month's counts sum to `review_velocity`'s (`review_velocity_by_platform_at`)."""
    return review_velocity_by_platform_at([period])[0]


def review_velocity_by_platform_at(periods: Sequence[ReportPeriod]) -> list[dict[str, list[dict]]]:
    """`review_velocity_by_platform` for each of `periods` (which must not overlap): one grouped
    query over the approvals' day tally (ActDayTotal) from the earliest start to the latest end,
    each day placed in its period."""
    from challenges.review_rules import PLATFORMS

    if not periods:
        return []
    month = month_of_day(ActDayTotal.day)
    which = case(
        *((and_(ActDayTotal.day >= p.start, ActDayTotal.day <= p.end), i) for i, p in enumerate(periods)),
        else_=None,
    )
    rows = db.session.execute(
        select(which, ActDayTotal.platform, month, func.sum(ActDayTotal.acts))
        .where(
            ActDayTotal.challenge_type == REVIEW_TYPE,
            ActDayTotal.day >= min(p.start for p in periods),
            ActDayTotal.day <= max(p.end for p in periods),
        )
        .group_by(which, ActDayTotal.platform, month)
    ).all()
    counts: list[dict[str, dict[str, int]]] = [
        {name: dict.fromkeys(p.months(), 0) for name in PLATFORMS} for p in periods
    ]
    for i, platform, m, n in rows:
        if i is not None and n:
            name = platform or UNSPECIFIED_PLATFORM
            counts[i].setdefault(name, dict.fromkeys(periods[i].months(), 0))[m] += int(n)
    return [
        {name: [{"month": m, "count": n} for m, n in per_month.items()] for name, per_month in found.items()}
        for found in counts
    ]


def velocity_of(by_platform: dict[str, list[dict]], period: ReportPeriod) -> list[dict]:
    """`review_velocity` from `review_velocity_by_platform` of the same period: each month's
    counts summed over the platforms."""
    totals = dict.fromkeys(period.months(), 0)
    for series in by_platform.values():
        for point in series:
            totals[point["month"]] += point["count"]
    return [{"month": m, "count": n} for m, n in totals.items()]


def acts_by_type_and_month(period: ReportPeriod) -> dict[str, dict[str, int]]:
    """Completions approved per challenge type and month (the reports page's stacked chart):
    `{type: {"YYYY-MM": count}}`, each type zero-filled over the period's months."""
    month = month_of_day(ActDayTotal.day)
    rows = db.session.execute(
        select(ActDayTotal.challenge_type, month, func.sum(ActDayTotal.acts))
        .where(*_act_days(period))
        .group_by(ActDayTotal.challenge_type, month)
    ).all()
    series: dict[str, dict[str, int]] = {}
    for kind, m, n in rows:
        if n:
            series.setdefault(str(kind), dict.fromkeys(period.months(), 0))[m] = int(n)
    return dict(sorted(series.items()))


def redemptions_by_status(period: ReportPeriod) -> dict[str, int]:
    """Redemptions requested within the period, per current status, every status present."""
    return redemptions_by_status_at([period])[0]


def redemptions_by_status_at(periods: Sequence[ReportPeriod]) -> list[dict[str, int]]:
    """`redemptions_by_status` for each of `periods`, in one grouped query (a count per period).
    Every status is named in the condition, so PostgreSQL reads one range of
    `ix_redemptions_status_created` per status from the index alone (the created-at range
    alone, behind the status in that index, read the whole table)."""
    if not periods:
        return []
    counts = [
        func.count().filter(Redemption.created_at >= p.starts_at, Redemption.created_at < p.ends_before)
        for p in periods
    ]
    rows = db.session.execute(
        select(Redemption.status, *counts)
        .where(
            Redemption.status.in_([s.value for s in RedemptionStatus]),
            Redemption.created_at >= min(p.starts_at for p in periods),
            Redemption.created_at < max(p.ends_before for p in periods),
        )
        .group_by(Redemption.status)
    ).all()
    found = [{s.value: 0 for s in RedemptionStatus} for _ in periods]
    for status, *per_period in rows:
        for i, n in enumerate(per_period):
            found[i][RedemptionStatus(status).value] += int(n or 0)
    return found


def points_moved(since: dt.date | None, until: dt.date) -> dict[str, int]:
    """Ledger totals for entries written on UTC days `since` … `until` (both inclusive; since
    None: from the beginning), from the per-day totals (LedgerDayTotal): `issued` (positive
    earn/bonus/adjust), `redeemed` (redeem net of refunds), `expired`, `adjusted_down` (negative
    earn/bonus/adjust: owners' deductions and corrections), and `net` (the sum of every delta).
    issued − redeemed − expired − adjusted_down = net, entry by entry."""
    return points_moved_in([(since, until)])[0]


def points_moved_in(windows: Sequence[tuple[dt.date | None, dt.date]]) -> list[dict[str, int]]:
    """`points_moved` for each `(since, until)` window, in one pass over the per-day totals up to
    the latest `until`: the days cut at every window's bounds into consecutive segments, points
    summed per (kind, sign, segment) — a few dozen rows — and each window's figures added up
    from the segments it covers. (Ten filtered sums over every row took three times as long.)"""
    if not windows:
        return []
    cuts = sorted({d for since, until in windows for d in (since, until + dt.timedelta(days=1)) if d is not None})
    # Segment j holds the days in [cuts[j - 1], cuts[j]) (segment 0: every day before cuts[0]).
    segment = case(*((LedgerDayTotal.day < cut, j) for j, cut in enumerate(cuts)), else_=len(cuts))
    rows = db.session.execute(
        select(LedgerDayTotal.kind, LedgerDayTotal.is_credit, segment, func.sum(LedgerDayTotal.points))
        .where(LedgerDayTotal.day <= max(until for _, until in windows))
        .group_by(LedgerDayTotal.kind, LedgerDayTotal.is_credit, segment)
    ).all()
    lifetime = {EntryKind.EARN.value, EntryKind.BONUS.value, EntryKind.ADJUST.value}
    spending = {EntryKind.REDEEM.value, EntryKind.REFUND.value}
    found = []
    for since, until in windows:
        first = 0 if since is None else cuts.index(since) + 1
        last = cuts.index(until + dt.timedelta(days=1))
        moved = dict.fromkeys(("issued", "redeemed", "expired", "adjusted_down", "net"), 0)
        for kind, is_credit, j, points in rows:
            if not first <= j <= last:
                continue
            points, kind = int(points or 0), EntryKind(kind).value
            moved["net"] += points
            if kind in lifetime:
                moved["issued" if is_credit else "adjusted_down"] += points if is_credit else -points
            elif kind in spending:
                moved["redeemed"] -= points
            elif kind == EntryKind.EXPIRE.value:
                moved["expired"] -= points
        found.append(moved)
    return found


def lifetime_kind(kind: Any) -> ColumnElement[bool]:
    """SQL: the entry is of a kind that credits points (earn, bonus, adjust)."""
    return kind.in_([EntryKind.EARN, EntryKind.BONUS, EntryKind.ADJUST])


def _when(condition: ColumnElement[bool], value: Any) -> ColumnElement:
    return case((condition, value), else_=0)
