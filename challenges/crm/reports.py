"""Attribution in figures — per advocate, for the program, the deals an advocate helped — and the
references and attribution part of the program report (challenges.reports): reference fill,
pipeline and revenue, win rates, ROI against the owner's program cost."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    case,
    func,
    select,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from challenges.crm.models import AttributionCredit, AttributionTouch, Opportunity, OpportunityTally
from challenges.references import services
from hub.extensions import db
from hub.home_reads import HomeRead, rows_of
from hub.settings import get_setting


def program_cost() -> tuple[Decimal, str]:
    setting = get_setting("program_cost") or {}
    try:
        amount = Decimal(str(setting.get("amount", "0")))
    except InvalidOperation:
        amount = Decimal(0)
    return (amount if amount.is_finite() and amount > 0 else Decimal(0)), str(setting.get("currency") or "USD")


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def references_and_attribution(since: dt.date | None, until: dt.date | None) -> dict:
    """Reference fill rate and time-to-fill; sourced/influenced pipeline and won revenue in the
    program currency; win rate and median sales cycle with vs without a reference call; ROI =
    influenced won ÷ program cost (None while no cost is entered, and when no deal was won in the
    cost's currency though some were in another). `since`/`until`: inclusive dates (None: open).
    See `references_and_attribution_in`."""
    return references_and_attribution_in([(since, until)])[0]


def references_and_attribution_in(windows: Sequence[tuple[dt.date | None, dt.date | None]]) -> list[dict]:
    """`references_and_attribution` for each `(since, until)` window of inclusive dates (the
    windows must not overlap: the program report's period and the previous one), four
    statements whatever their number (services.fill_metrics_in, program_in)."""
    bounds = [
        (
            dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC) if since else None,
            dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC) if until else None,
        )
        for since, until in windows
    ]
    fills = services.fill_metrics_in(bounds)
    cost, currency = program_cost()
    found = []
    for fill, totals in zip(fills, program_in(currency, windows), strict=True):
        # A return in the cost's currency only: won revenue in other currencies is not
        # converted, so when the deals are all in another currency the ROI is unknown, not 0×.
        elsewhere = any(v["influenced_won"] > 0 for v in totals.other_currencies.values())
        roi = (
            round(float(totals.influenced_won / cost), 4)
            if cost > 0 and (totals.influenced_won or not elsewhere)
            else None
        )
        found.append(
            {
                "reference_requests": {"filed": fill.filed, "filled": fill.filled},
                "reference_fill_rate": fill.fill_rate,
                "reference_median_hours_to_fill": fill.median_hours_to_fill,
                "currency": currency,
                "sourced_pipeline": _money(totals.sourced_pipeline),
                "sourced_won": _money(totals.sourced_won),
                "influenced_pipeline": _money(totals.influenced_pipeline),
                "influenced_won": _money(totals.influenced_won),
                "win_rate_with_reference": totals.win_rate_with_reference,
                "win_rate_without_reference": totals.win_rate_without_reference,
                "median_sales_cycle_days_with_reference": totals.median_cycle_days_with_reference,
                "median_sales_cycle_days_without_reference": totals.median_cycle_days_without_reference,
                "program_cost": _money(cost),
                "roi": roi,
                "other_currencies": {
                    cur: {k: _money(v) for k, v in values.items()}
                    for cur, values in sorted(totals.other_currencies.items())
                },
            }
        )
    return found


def attribution_row_json(row: AdvocateAttribution, name: str | None) -> dict:
    return {
        "advocate_id": row.advocate_id,
        "name": name,
        "currency": row.currency,
        "sourced_pipeline": _money(row.sourced_pipeline),
        "sourced_won": _money(row.sourced_won),
        "influenced_pipeline": _money(row.influenced_pipeline),
        "influenced_won": _money(row.influenced_won),
        "deals": row.deals,
        "deals_closed": row.deals_closed,
        "deals_won": row.deals_won,
        "win_rate": row.win_rate,
    }


def save_program_cost(amount_raw: object, currency_raw: object, actor_id: int) -> tuple[Decimal, str]:
    """The owner's program cost (the ROI denominator, hub.fields.Money), audited."""
    from hub.audit import record_audit
    from hub.fields import Money, read
    from hub.settings import save_setting

    cost = read(Money, {"amount": amount_raw, "currency": currency_raw})
    value = {"amount": f"{cost.amount:.2f}", "currency": cost.currency}
    before, _ = save_setting("program_cost", value, actor_id)
    record_audit(actor_id, "settings.program_cost", "setting", "program_cost", before, value)
    return cost.amount, cost.currency


CENT = Decimal("0.01")


def money(cents: int | float | Decimal | None) -> Decimal:
    """Whole cents (as summed by the database) to a 2-place Decimal."""
    return (Decimal(round(cents or 0)) * CENT).quantize(CENT)


def _cents(column):
    return func.round(column * 100)


@dataclass
class AdvocateAttribution:
    advocate_id: int
    currency: str
    sourced_pipeline: Decimal
    sourced_won: Decimal
    influenced_pipeline: Decimal
    influenced_won: Decimal
    deals: int
    deals_closed: int
    deals_won: int

    @property
    def win_rate(self) -> float | None:
        return round(self.deals_won / self.deals_closed, 4) if self.deals_closed else None


def _created_in(created_date, since: dt.date | None, until: dt.date | None) -> list[ColumnElement[bool]]:
    """Opportunities created from `since` to `until` (inclusive dates; None = open): the one
    period rule of every attribution figure (the program totals and the per-advocate rows),
    applied to the opportunity's creation date as the tally copied it (`created_date`: the
    column of the credits or of the opportunity tallies)."""
    found: list[ColumnElement[bool]] = [true()]
    if since is not None:
        found.append(created_date >= since)
    if until is not None:
        found.append(created_date <= until)
    return found


def per_advocate(
    advocate_ids: Sequence[int] | None = None,
    limit: int | None = None,
    offset: int = 0,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> tuple[list[AdvocateAttribution], int]:
    """Per-advocate, per-currency totals from the credits table, largest influenced won first;
    with `since`/`until`, only the deals whose opportunity was created in that period (as the
    program totals of `program`)."""
    c = AttributionCredit.__table__
    won = c.c.is_won.is_(True)
    query = select(
        c.c.advocate_id,
        c.c.currency,
        func.sum(_cents(c.c.sourced_amount)),
        func.sum(case((won, _cents(c.c.sourced_amount)), else_=0)),
        func.sum(_cents(c.c.influenced_amount)),
        func.sum(case((won, _cents(c.c.influenced_amount)), else_=0)),
        func.count(),
        func.sum(case((c.c.is_closed.is_(True), 1), else_=0)),
        func.sum(case((won, 1), else_=0)),
    ).group_by(c.c.advocate_id, c.c.currency)
    if since is not None or until is not None:
        query = query.where(*_created_in(c.c.created_date, since, until))
    if advocate_ids is not None:
        query = query.where(c.c.advocate_id.in_(list(advocate_ids)))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    query = query.order_by(
        func.sum(case((won, _cents(c.c.influenced_amount)), else_=0)).desc(), c.c.advocate_id, c.c.currency
    )
    if limit is not None:
        query = query.limit(limit).offset(offset)
    rows = [
        AdvocateAttribution(adv, cur, money(sp), money(sw), money(ip), money(iw), int(n), int(cl or 0), int(w or 0))
        for adv, cur, sp, sw, ip, iw, n, cl, w in db.session.execute(query).all()
    ]
    return rows, total


@dataclass
class ProgramAttribution:
    currency: str
    sourced_pipeline: Decimal = Decimal("0.00")
    sourced_won: Decimal = Decimal("0.00")
    influenced_pipeline: Decimal = Decimal("0.00")
    influenced_won: Decimal = Decimal("0.00")
    win_rate_with_reference: float | None = None
    win_rate_without_reference: float | None = None
    median_cycle_days_with_reference: float | None = None
    median_cycle_days_without_reference: float | None = None
    deals_with_reference: int = 0
    deals_without_reference: int = 0
    other_currencies: dict[str, dict[str, Decimal]] = field(default_factory=dict)


def program(currency: str, since: dt.date | None = None, until: dt.date | None = None) -> ProgramAttribution:
    """Program totals in `currency` (other currencies reported beside, never summed into it),
    win rate and median sales cycle (won deals, days) with vs without a reference call.
    `since`/`until` filter opportunities by created date (inclusive; None: open). See
    `program_in`."""
    return program_in(currency, [(since, until)])[0]


def program_in(currency: str, windows: Sequence[tuple[dt.date | None, dt.date | None]]) -> list[ProgramAttribution]:
    """`program` for each `(since, until)` window of opportunity creation dates (the windows
    must not overlap), in two statements whatever their number: the sums per (window, currency)
    and the closed deals' histogram per window. Read from the opportunity tallies the
    attribution tally keeps (one row per opportunity: a range scan of the windows, index-only on
    PostgreSQL); their sums equal the credits' (tests/references/test_opportunity_tallies.py)."""
    if not windows:
        return []
    d = OpportunityTally.__table__
    within = [and_(*_created_in(d.c.created_date, since, until)) for since, until in windows]
    window_of = case(*((w, i) for i, w in enumerate(within))).label("period_index")
    # One range over every window keeps the scan index-only (an OR of ranges is a bitmap scan
    # of the table); rows between windows fall in no window (NULL) and are skipped.
    span = _created_in(d.c.created_date, *_hull(windows))
    won = d.c.is_won.is_(True)
    sums = db.session.execute(
        select(
            window_of,
            d.c.currency,
            func.sum(_cents(d.c.sourced_amount)),
            func.sum(case((won, _cents(d.c.sourced_amount)), else_=0)),
            func.sum(_cents(d.c.influenced_amount)),
            func.sum(case((won, _cents(d.c.influenced_amount)), else_=0)),
        )
        .where(*span, d.c.advocates > 0)
        .group_by(window_of, d.c.currency)
    ).all()
    results = [ProgramAttribution(currency=currency) for _ in windows]
    for i, cur, sp, sw, ip, iw in sums:
        if i is None:
            continue
        values = {
            "sourced_pipeline": money(sp),
            "sourced_won": money(sw),
            "influenced_pipeline": money(ip),
            "influenced_won": money(iw),
        }
        if cur == currency:
            for key, value in values.items():
                setattr(results[i], key, value)
        else:
            results[i].other_currencies[cur] = values

    # Closed deals counted per (window, reference call?, won?, cycle days) in the database: the
    # cycle takes a few hundred distinct values, so medians come from that histogram, not from
    # 100,000s of rows fetched into Python.
    histogram = db.session.execute(
        select(window_of, d.c.has_reference_call, d.c.is_won, d.c.cycle_days, func.count())
        .where(d.c.is_closed.is_(True), *span)
        .group_by(window_of, d.c.has_reference_call, d.c.is_won, d.c.cycle_days)
    ).all()
    for i, result in enumerate(results):
        for ref, label in ((True, "with_reference"), (False, "without_reference")):
            rows = [(bool(won), cycle, n) for w, r, won, cycle, n in histogram if w == i and bool(r) is ref]
            deals = sum(n for _, _, n in rows)
            setattr(result, f"deals_{label}", deals)
            if deals:
                setattr(result, f"win_rate_{label}", round(sum(n for won, _, n in rows if won) / deals, 4))
            median = _median_of_counts([(cycle, n) for won, cycle, n in rows if won and cycle is not None])
            if median is not None:
                setattr(result, f"median_cycle_days_{label}", median)
    return results


def _hull(windows: Sequence[tuple[dt.date | None, dt.date | None]]) -> tuple[dt.date | None, dt.date | None]:
    """The smallest `(since, until)` holding every window (None: open on that side)."""
    starts = [since for since, _ in windows if since is not None]
    ends = [until for _, until in windows if until is not None]
    return (min(starts) if len(starts) == len(windows) else None, max(ends) if len(ends) == len(windows) else None)


def _median_of_counts(counts: list[tuple[int, int]]) -> float | None:
    """The median of a multiset given as (value, how many) pairs (statistics.median's answer)."""
    total = sum(n for _, n in counts)
    if not total:
        return None
    ordered = sorted(counts)

    def nth(k: int) -> int:  # the k-th smallest value, 0-based
        for value, n in ordered:
            if k < n:
                return value
            k -= n
        raise IndexError(k)

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2


@dataclass(frozen=True)
class HelpedDeal:
    opportunity_id: int
    account: str
    name: str
    stage: str
    is_closed: bool
    is_won: bool
    kinds: tuple[str, ...]


def _deals_helped_statement() -> Select[*tuple[Any, ...]]:
    t = AttributionTouch.__table__
    return (
        select(
            Opportunity.id,
            Opportunity.account,
            Opportunity.name,
            Opportunity.stage,
            Opportunity.is_closed,
            Opportunity.is_won,
            t.c.kind,
            Opportunity.updated_at,
        )
        .join(t, t.c.opportunity_id == Opportunity.id)
        .where(t.c.advocate_id == bindparam("advocate_id"))
        .order_by(Opportunity.updated_at.desc(), Opportunity.id.desc())
    )


# "Deals you helped" on the hub page, read with its other cards in one statement
# (hub.home_reads; registered by challenges.hooks).
DEALS_HELPED = HomeRead("deals_helped", _deals_helped_statement)


def deals_helped(advocate_id: int, limit: int = 100) -> list[HelpedDeal]:
    """The deals an advocate touched (for their impact page and hub card: no amounts), the most
    recently updated first, each once with the kinds of touch sorted."""
    rows = rows_of(DEALS_HELPED, advocate_id=advocate_id)
    # Read together as JSON, the rows come back in no promised order: sort as the query does.
    rows.sort(key=lambda row: (row[7], row[0]), reverse=True)
    deals: dict[int, HelpedDeal] = {}
    for opp_id, account, name, stage, is_closed, is_won, kind, _updated in rows:
        known = deals.get(opp_id)
        kinds = (*known.kinds, str(kind)) if known else (str(kind),)
        deals[opp_id] = HelpedDeal(opp_id, account, name, stage, bool(is_closed), bool(is_won), tuple(sorted(kinds)))
    return list(deals.values())[:limit]
