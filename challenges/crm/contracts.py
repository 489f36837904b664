"""The CRM API's contract: opportunities, an advocate's impact, the attribution rows and the
program report (money as decimal strings, each figure in the program's currency with the other
currencies beside it). An opportunity's body is `challenges.crm.opportunities.OpportunityBody`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import ConfigDict, Field

from hub.contracts import Page, Query, Reply
from hub.fields import Amount, Date, IsoDate, Timestamp

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
    """Points as of now: issued, redeemed (net of refunds), outstanding (balances), their
    liability (outstanding × point value) and the points expiring in the next 30 days."""

    issued: int
    redeemed: int
    outstanding: int
    liability: LiabilityReply
    expiring_30d: int


class ProgramReport(Reply):
    """Reference fill, sourced and influenced pipeline and won revenue, win rates and sales
    cycles with and without a reference call, and ROI (influenced won ÷ program cost; null
    while no cost is entered)."""

    model_config = ConfigDict(serialize_by_alias=True, populate_by_name=True)

    since: str | None = Field(alias="from")
    until: str | None = Field(alias="to")
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
    points: ProgramPoints
