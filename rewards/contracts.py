"""The rewards API's contract: ledger entries and adjustments, the leaderboard, the catalog and
redemptions — their query strings, the bodies not owned by a service (redeem, reject, fulfil) and
every reply. (A reward's own body is `rewards.catalog.RewardBody`; an adjustment is
`rewards.services.Adjustment`.)"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from hub.contracts import Body, BulkIds, Page, PageQuery, Query, Reply
from hub.fields import ROW_ID, Flag, MultiLine, NameOrId, OneLine, OneOf, Timestamp, WholeNumber, invalid
from hub.models import Tier
from rewards.catalog import MAX_COST
from rewards.leaderboard import PERIODS
from rewards.models import SHIPPING_ADDRESS_MAX, EntryKind, RedemptionStatus, RewardKind

Note = Annotated[str, OneLine(500)]


class LedgerEntryReply(Reply):
    id: int
    delta: int
    kind: EntryKind
    source_type: str
    source_id: str
    memo: str | None
    created_at: Timestamp


class LedgerPage(Page[LedgerEntryReply]):
    balance: int


class AdjustmentReply(LedgerEntryReply):
    """The adjustment's ledger entry, with the balance after it."""

    balance: int


class LeaderboardQuery(Query):
    period: Annotated[str, OneOf(PERIODS)] = "all"
    group: Annotated[str | None, NameOrId(80)] = None
    limit: Annotated[int, WholeNumber(1, 100)] = 10


class LeaderboardPageQuery(PageQuery):
    """The leaderboard page: a period, a group's board (by name), and a page of it."""

    period: Annotated[str, OneOf(PERIODS)] = "all"
    group: Annotated[str | None, NameOrId(80)] = None


class LeaderboardEntry(Reply):
    """One place on a board; `advocate_id` is null for an advocate who opted out of showing by
    name, except to staff and to that advocate."""

    rank: int
    advocate_id: int | None
    display_name: str
    tier: Tier
    points: int
    is_me: bool


class MyStanding(Reply):
    """The caller's place (rank null while they have no points on this board)."""

    rank: int | None
    points: int


class LeaderboardReply(Reply):
    period: str
    group: str | None
    entries: list[LeaderboardEntry]
    me: MyStanding | None


class RewardReply(Reply):
    id: int
    name: str
    description: str
    description_html: str
    kind: RewardKind
    points_cost: int
    stock: int | None
    stock_remaining: int | None
    min_tier: Tier
    per_advocate_limit: int | None
    requires_approval: bool
    needs_shipping: bool
    active: bool
    image_url: str | None
    created_at: Timestamp
    updated_at: Timestamp
    # advocates only: whether they may redeem it now, and why not
    can_redeem: bool = False
    blocked_reason: str | None = None
    blocked_message: str | None = None
    redeemed_count: int = 0


class RewardPage(Page[RewardReply]):
    pass


class RewardListQuery(PageQuery):
    active: Annotated[bool | None, Flag()] = None
    kind: Annotated[RewardKind | None, OneOf(RewardKind)] = None


class RedeemBody(Body):
    """`confirmed_cost`: the price the advocate saw; a changed price is refused, never charged.
    `note` (a size, a shipping address) may take several lines, as the confirm page's box does."""

    note: Annotated[str | None, MultiLine(500)] = None
    shipping_address: Annotated[str | None, MultiLine(SHIPPING_ADDRESS_MAX)] = None
    confirmed_cost: Annotated[int | None, WholeNumber(1, MAX_COST)] = None


def _hex_key(key: str) -> str:
    if not all(c in "0123456789abcdef" for c in key):
        raise invalid("A request key is hexadecimal.")
    return key


class RedeemForm(RedeemBody):
    """The confirm page's post: the price shown, and the key that makes a double submit charge once."""

    confirmed_cost: Annotated[int, WholeNumber(1, MAX_COST)]
    request_key: Annotated[str, OneLine(64), AfterValidator(_hex_key)]


class RedemptionRejectBody(Body):
    reason: Note


class RedemptionBulkBody(Body):
    """Approve, fulfill (with one `note` for all) or reject (with one `reason`, required)
    several redemptions."""

    ids: BulkIds
    action: Annotated[str, OneOf(("approve", "fulfill", "reject"))]
    reason: Annotated[str | None, OneLine(500)] = None
    note: Annotated[str | None, OneLine(500)] = None


class FulfilBody(Body):
    """A note or tracking code for the advocate."""

    note: Annotated[str | None, OneLine(500)] = None


class RedemptionReply(Reply):
    id: int
    reward_id: int
    reward_name: str
    advocate_id: int
    points: int
    status: RedemptionStatus
    note: str | None
    reason: str | None
    fulfil_note: str | None
    shipping_address: str | None
    created_at: Timestamp
    updated_at: Timestamp
    decided_at: Timestamp | None
    fulfilled_at: Timestamp | None
    cancelled_at: Timestamp | None


class RedemptionPage(Page[RedemptionReply]):
    pass


class RedemptionListQuery(PageQuery):
    status: Annotated[RedemptionStatus | None, OneOf(RedemptionStatus)] = None
    reward_id: Annotated[int | None, ROW_ID] = None
    advocate_id: Annotated[int | None, ROW_ID] = None
