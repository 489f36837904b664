"""The program report (api.md `GET /reports/program`, product.md §11): every figure for a period,
beside the same figures for the previous period of the same length. The API, the dashboard, the
reports page and the program CSV all read `program_report`, so they cannot disagree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from challenges.crm.reports import references_and_attribution_in
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
    runs, else None). See `points_figures_at`."""
    return points_figures_at([period], now)[0]


def points_figures_at(periods: Sequence[ReportPeriod], now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """`points_figures` for each period: the ledger's per-day totals read once for all of them
    (each period's window and everything up to its end), the point value once, and the points
    expiring soon once (only when a period runs)."""
    # The ledger's per-day totals summed to the end (a few thousand rows): while the period runs
    # that is every entry so far, which equals the sum of balances (rewards.ledger keeps both in
    # the entry's transaction; tests/rewards check they agree) without reading every advocate.
    windows: list[tuple[dt.date | None, dt.date]] = []
    for period in periods:
        windows += [(period.start, period.end), (None, period.end)]
    moved = activity.points_moved_in(windows)
    value = point_value()
    expiring = None
    if any(period.is_running(now) for period in periods):
        from rewards.expiry import expiring_total

        expiring = expiring_total(30)
    figures = []
    for i, period in enumerate(periods):
        within, outstanding = moved[2 * i], moved[2 * i + 1]["net"]
        owed = liability(outstanding, value) if value[0] > 0 else None
        figures.append(
            {
                "issued": within["issued"],
                "redeemed": within["redeemed"],
                "expired": within["expired"],
                "adjusted_down": within["adjusted_down"],
                "outstanding": outstanding,
                "liability": None
                if owed is None
                else {"amount": f"{owed['amount']:.2f}", "currency": owed["currency"]},
                "expiring_30d": expiring if period.is_running(now) else None,
            }
        )
    return figures


def period_figures(period: ReportPeriod, now: dt.datetime | None = None) -> dict[str, Any]:
    """Every figure of the program report for one period (no comparison)."""
    return period_figures_at([period], now or utcnow())[0]


def period_figures_at(periods: Sequence[ReportPeriod], now: dt.datetime) -> list[dict[str, Any]]:
    """Every figure of the program report for each of `periods` (which must not overlap), each
    family of figures read for all the periods in one statement (challenges.reports.people,
    activity, challenges.crm.reports): the previous period costs no extra statement."""
    tiers = people.tiers_at(periods, now)
    advocates = [whole for _, whole in tiers]
    asks = people.asks_and_burnout_at(periods, now, advocates)
    active = people.active_advocates_at(periods, now)
    by_platform = activity.review_velocity_by_platform_at(periods)
    points = points_figures_at(periods, now)
    redemptions = activity.redemptions_by_status_at(periods)
    attribution = references_and_attribution_in([(p.start, p.end) for p in periods])
    figures = []
    for i, period in enumerate(periods):
        figures.append(
            period.as_json()
            | {
                "advocates": advocates[i],
                "active_advocates": active[i],
                "advocates_by_tier": tiers[i][0],
                "activation_rate": rate(active[i], advocates[i]),
                "participation_rate": people.participation_rate(period, now, advocates[i]),
                "asks": asks[i]["asks"],
                "asks_per_advocate": asks[i]["asks_per_advocate"],
                "burnout": asks[i]["burnout"],
                "review_velocity": activity.velocity_of(by_platform[i], period),
                "review_velocity_by_platform": by_platform[i],
                "points": points[i],
                "redemptions_by_status": redemptions[i],
                # api.md: present, null while Vouch keeps no renewal data to compare retention with.
                "advocate_accounts_retention": None,
                "other_accounts_retention": None,
            }
            | attribution[i]
        )
    return figures


def program_report(period: ReportPeriod, now: dt.datetime | None = None) -> dict[str, Any]:
    """api.md `/reports/program` for `period`: every figure, plus `previous` — the same figures
    for the period of the same length just before (ReportPeriod.previous)."""
    current, previous = period_figures_at([period, period.previous], now or utcnow())
    return current | {"previous": previous}


def change(current: float | int | Decimal | None, previous: float | int | Decimal | None) -> float | None:
    """The relative change from `previous` to `current` (0.25 = up 25 %); None when either is
    missing or the previous is zero."""
    if current is None or previous is None or not previous:
        return None
    return round((float(current) - float(previous)) / float(previous), 4)
