"""The program report (api.md `GET /reports/program`, product.md §11): every figure for a period,
beside the same figures for the previous period of the same length. The API, the dashboard, the
reports page and the program CSV all read `program_report`, so they cannot disagree."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from challenges.crm.reports import references_and_attribution
from challenges.reports import activity, people
from challenges.reports.period import ReportPeriod
from challenges.reports.sql import rate
from hub.db import utcnow
from rewards.services.economy import liability, point_value


def points_figures(period: ReportPeriod, now: dt.datetime | None = None) -> dict[str, Any]:
    """Points in the period and standing at its end: `issued`, `redeemed` (net of refunds),
    `expired`, `adjusted_down` within it; `outstanding` (the sum of balances at the end: the
    ledger's per-day totals summed to the end, LedgerDayTotal), `liability`
    (outstanding × the owner's point value, `{amount: "0.00", currency}`; None while the point
    value is zero) and `expiring_30d` (points expiring in the next 30 days; only while the period
    runs, else None)."""
    moved = activity.points_moved(period.start, period.end)
    running = period.is_running(now)
    # The ledger's per-day totals summed to the end (a few thousand rows): while the period runs
    # that is every entry so far, which equals the sum of balances (rewards.ledger keeps both in
    # the entry's transaction; tests/rewards check they agree) without reading every advocate.
    outstanding = activity.points_moved(None, period.end)["net"]
    value = point_value()
    owed = liability(outstanding, value) if value[0] > 0 else None
    expiring = None
    if running:
        from rewards.expiry import expiring_total

        expiring = expiring_total(30)
    return {
        "issued": moved["issued"],
        "redeemed": moved["redeemed"],
        "expired": moved["expired"],
        "adjusted_down": moved["adjusted_down"],
        "outstanding": outstanding,
        "liability": None if owed is None else {"amount": f"{owed['amount']:.2f}", "currency": owed["currency"]},
        "expiring_30d": expiring,
    }


def period_figures(period: ReportPeriod, now: dt.datetime | None = None) -> dict[str, Any]:
    """Every figure of the program report for one period (no comparison)."""
    advocates = people.advocate_count(period.as_of(now))
    asks = people.asks_and_burnout(period, now, advocates)
    active = people.active_advocates(period, now)
    return (
        period.as_json()
        | {
            "advocates": advocates,
            "active_advocates": active,
            "advocates_by_tier": people.advocates_by_tier(period, now),
            "activation_rate": rate(active, advocates),
            "participation_rate": people.participation_rate(period, now, advocates),
            "asks": asks["asks"],
            "asks_per_advocate": asks["asks_per_advocate"],
            "burnout": asks["burnout"],
            "review_velocity": activity.review_velocity(period),
            "review_velocity_by_platform": activity.review_velocity_by_platform(period),
            "points": points_figures(period, now),
            "redemptions_by_status": activity.redemptions_by_status(period),
            # api.md: present, null while Vouch keeps no renewal data to compare retention with.
            "advocate_accounts_retention": None,
            "other_accounts_retention": None,
        }
        | references_and_attribution(period.start, period.end)
    )


def program_report(period: ReportPeriod, now: dt.datetime | None = None) -> dict[str, Any]:
    """api.md `/reports/program` for `period`: every figure, plus `previous` — the same figures
    for the period of the same length just before (ReportPeriod.previous)."""
    now = now or utcnow()
    return period_figures(period, now) | {"previous": period_figures(period.previous, now)}


def change(current: float | int | Decimal | None, previous: float | int | Decimal | None) -> float | None:
    """The relative change from `previous` to `current` (0.25 = up 25 %); None when either is
    missing or the previous is zero."""
    if current is None or previous is None or not previous:
        return None
    return round((float(current) - float(previous)) / float(previous), 4)
