"""The CRM API's contract: opportunities, an advocate's impact, the attribution rows and the
program report (money as decimal strings, each figure in the program's currency with the other
currencies beside it). An opportunity's body is `challenges.crm.opportunities.OpportunityBody`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import ConfigDict, Field

from hub.contracts import Page, PageQuery, Query, Reply
from hub.fields import Amount, Date, IsoDate, OneOf, Timestamp

# api.md `/reports/trends` metrics (challenges.reports.TRENDS computes each).
TREND_METRICS = ("acts", "reviews", "points_issued", "points_redeemed", "active_advocates", "asks")

MoneyText = Annotated[Decimal, Amount()]


class OpportunityReply(Reply):
    id: int
    external_id: str
    name: str
    account: str
    amount: MoneyText
    currency: str
    stage: str
    is_closed: bool
    is_won: bool
    created_date: Date
    close_date: Date | None
    contact_emails: list[str]
    referral_id: int | None
    reference_request_ids: list[int]
    updated_at: Timestamp


class OpportunityPage(Page[OpportunityReply]):
    pass


class HelpedDealReply(Reply):
    """A deal the advocate helped: account and stage, never amounts; `how` lists their touches."""

    account: str
    name: str
    stage: str
    is_closed: bool
    is_won: bool
    how: list[str]


class ImpactReply(Reply):
    items: list[HelpedDealReply]


class AttributionRow(Reply):
    """One advocate's attribution in one currency."""

    advocate_id: int
    name: str | None
    currency: str
    sourced_pipeline: str
    sourced_won: str
    influenced_pipeline: str
    influenced_won: str
    deals: int
    deals_closed: int
    deals_won: int
    win_rate: float | None


class AttributionPage(Page[AttributionRow]):
    pass


class ProgramReportQuery(Query):
    """The period, both dates inclusive (UTC)."""

    since: Annotated[dt.date | None, IsoDate()] = Field(None, alias="from")
    until: Annotated[dt.date | None, IsoDate()] = Field(None, alias="to")


class ReferenceCounts(Reply):
    filed: int
    filled: int


class CurrencyTotals(Reply):
    sourced_pipeline: str
    sourced_won: str
    influenced_pipeline: str
    influenced_won: str


class LiabilityReply(Reply):
    amount: str
    currency: str


class ProgramPoints(Reply):
    """Points within the period — issued (positive earn/bonus/adjust), redeemed (net of refunds),
    expired, adjusted_down (negative adjustments and corrections) — and standing at its end:
    outstanding (the sum of balances), its liability (outstanding × point value; null while the
    point value is zero) and, while the period runs, the points expiring in the next 30 days."""

    issued: int
    redeemed: int
    expired: int
    adjusted_down: int
    outstanding: int
    liability: LiabilityReply | None
    expiring_30d: int | None


class BurnoutCounts(Reply):
    """Advocates per burnout bucket from their asks in the 365 days to the period's end."""

    healthy: int
    acceptable: int
    at_risk: int
    burning: int


class MonthCount(Reply):
    month: str
    count: int


class PeriodFigures(Reply):
    """Every figure of the program report for one period (both dates inclusive, UTC)."""

    model_config = ConfigDict(serialize_by_alias=True, populate_by_name=True)

    since: str = Field(alias="from")
    until: str = Field(alias="to")
    advocates: int
    active_advocates: int
    advocates_by_tier: dict[str, int]
    activation_rate: float | None
    participation_rate: float | None
    asks: int
    asks_per_advocate: float | None
    burnout: BurnoutCounts
    review_velocity: list[MonthCount]
    review_velocity_by_platform: dict[str, list[MonthCount]]
    points: ProgramPoints
    redemptions_by_status: dict[str, int]
    advocate_accounts_retention: float | None
    other_accounts_retention: float | None
    reference_requests: ReferenceCounts
    reference_fill_rate: float | None
    reference_median_hours_to_fill: float | None
    currency: str
    sourced_pipeline: str
    sourced_won: str
    influenced_pipeline: str
    influenced_won: str
    win_rate_with_reference: float | None
    win_rate_without_reference: float | None
    median_sales_cycle_days_with_reference: float | None
    median_sales_cycle_days_without_reference: float | None
    program_cost: str
    roi: float | None
    other_currencies: dict[str, CurrencyTotals]


class ProgramReport(PeriodFigures):
    """The program report (challenges.reports): every figure for the period, and `previous`, the
    same figures for the period of the same length just before it."""

    previous: PeriodFigures


class TrendsQuery(Query):
    """A monthly series over a period (default: the twelve months to today)."""

    metric: Annotated[str, OneOf(TREND_METRICS)]
    interval: Annotated[str, OneOf(("month",))] = "month"
    since: Annotated[dt.date | None, IsoDate()] = Field(None, alias="from")
    until: Annotated[dt.date | None, IsoDate()] = Field(None, alias="to")


class TrendPoint(Reply):
    period: str
    value: int


class TrendReply(Reply):
    """api.md `/reports/trends`: one point per month of the period, a month with nothing at 0."""

    metric: str
    interval: str
    points: list[TrendPoint]


class AttributionQuery(PageQuery):
    """A page of attribution rows; with `from`/`to` (both inclusive, UTC; the reports' period
    rule) only the deals whose opportunity was created in that period, else all deals."""

    since: Annotated[dt.date | None, IsoDate()] = Field(None, alias="from")
    until: Annotated[dt.date | None, IsoDate()] = Field(None, alias="to")


class PerformanceRow(Reply):
    """One challenge's or group's completions submitted in the period (challenges.report_tables):
    `approval_rate` = approved ÷ decided (null while none is decided), `median_hours_to_approve`
    (null while none is approved), `points_paid` on approval, `asks_spent` held by them."""

    id: int
    name: str
    type: str | None = None
    completions: int
    approved: int
    rejected: int
    approval_rate: float | None
    median_hours_to_approve: float | None
    points_paid: int
    asks_spent: int


class PerformanceReply(Reply):
    """The period read (`from`, `to`, both inclusive) and its rows, most completions first."""

    model_config = ConfigDict(serialize_by_alias=True, populate_by_name=True)

    since: str = Field(alias="from")
    until: str = Field(alias="to")
    items: list[PerformanceRow]
