"""Monthly series of the dashboard's rate and standing figures (ux.md "Program dashboard": a small
trend beside each headline): the advocates per tier, the activation rate and the points
outstanding at each month's end, the reference fill rate of the requests filed in each month, and
the influenced pipeline of the deals created in each month.
Each month's value is what the program report gives for that month as its period
(challenges.reports.program), read for all the months together."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from challenges.crm.models import OpportunityTally
from challenges.references.models import ReferenceRequest, RequestStatus
from challenges.reports import activity, people
from challenges.reports.period import ReportPeriod
from challenges.reports.sql import month_of, month_of_day, rate
from hub.extensions import db
from hub.models import Advocate


def month_periods(months: ReportPeriod) -> list[ReportPeriod]:
    """The calendar months `months` touches, each as a period cut to `months`' own first and last
    days (the last month of a trend ends today)."""
    found = []
    start = months.start
    while start <= months.end:
        following = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
        found.append(ReportPeriod(start, min(following - dt.timedelta(days=1), months.end)))
        start = following
    return found


def activation_by_month(months: ReportPeriod, now: dt.datetime) -> list[dict]:
    """`[{"period": "YYYY-MM", "value": float | None}]`: active advocates ÷ advocates counted at
    each month's end (now for the running month), as the program report's activation rate
    (product.md §11). Two statements whatever the number of months: the spells counted per month
    (people.active_advocates_at) and the advocates counted per month end in one pass over
    `ix_advocates_joined_at`."""
    periods = month_periods(months)
    active = people.active_advocates_at(periods, now)
    as_ofs = [p.as_of(now) for p in periods]
    counted = db.session.execute(
        select(*(func.count().filter(Advocate.joined_at < as_of) for as_of in as_ofs)).where(
            Advocate.is_erased.is_(False)
        )
    ).one()
    return [
        {"period": f"{p.start:%Y-%m}", "value": rate(a, int(n))}
        for p, a, n in zip(periods, active, counted, strict=True)
    ]


def tiers_by_month(months: ReportPeriod, now: dt.datetime) -> dict[str, list[dict]]:
    """`{tier: [{"period": "YYYY-MM", "value": int}]}`: the advocates in each tier at each
    month's end (now for the running month), as the program report's `advocates_by_tier` for
    that month; every month in one statement over the per-day tier totals (people.tiers_at)."""
    periods = month_periods(months)
    at_ends = people.tiers_at(periods, now)
    return {
        tier: [
            {"period": f"{p.start:%Y-%m}", "value": tiers[tier]} for p, (tiers, _) in zip(periods, at_ends, strict=True)
        ]
        for tier in at_ends[0][0]
    }


def outstanding_by_month(months: ReportPeriod) -> list[dict]:
    """`[{"period": "YYYY-MM", "value": int}]`: the points outstanding at each month's end (the
    running month's: up to today), as the program report's `points.outstanding` for that month —
    the ledger's per-day totals summed up to each month's last day, in one pass
    (activity.points_moved_in)."""
    periods = month_periods(months)
    moved = activity.points_moved_in([(None, p.end) for p in periods])
    return [{"period": f"{p.start:%Y-%m}", "value": m["net"]} for p, m in zip(periods, moved, strict=True)]


def fill_rate_by_month(months: ReportPeriod) -> list[dict]:
    """`[{"period": "YYYY-MM", "value": float | None}]`: requests accepted ÷ filed among the
    reference requests filed in each month (a request its rep withdrew is not counted as filed,
    as the program report's fill rate); None for a month with none filed. One grouped query."""
    month = month_of(ReferenceRequest.created_at)
    rows = db.session.execute(
        select(month, func.count(), func.count(ReferenceRequest.accepted_at))
        .where(
            ReferenceRequest.status != RequestStatus.CANCELLED,
            ReferenceRequest.created_at >= months.starts_at,
            ReferenceRequest.created_at < months.ends_before,
        )
        .group_by(month)
    ).all()
    found = {m: rate(int(filled), int(filed)) for m, filed, filled in rows}
    return [{"period": m, "value": found.get(m)} for m in months.months()]


def influenced_pipeline_by_month(months: ReportPeriod, currency: str) -> list[dict]:
    """`[{"period": "YYYY-MM", "value": float}]`: the influenced pipeline in `currency` of the
    deals created in each month (the program report's `influenced_pipeline` for that month), from
    the opportunity tallies in one grouped query; 0 for a month without one."""
    d = OpportunityTally.__table__
    month = month_of_day(d.c.created_date)
    rows = db.session.execute(
        select(month, func.sum(d.c.influenced_amount))
        .where(
            d.c.created_date >= months.start,
            d.c.created_date <= months.end,
            d.c.currency == currency,
            d.c.advocates > 0,
        )
        .group_by(month)
    ).all()
    found = {m: float(Decimal(total or 0)) for m, total in rows}
    return [{"period": m, "value": found.get(m, 0.0)} for m in months.months()]
