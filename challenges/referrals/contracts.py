"""The referrals API's contract: the list query and the referral reply (staff also see the flag
and its review; an advocate sees a message when a referral earns nothing). A referral's body is
`challenges.referrals.services.ReferralInput`."""

from __future__ import annotations

from typing import Annotated

from challenges.referrals.models import FlagReason, ReferralStatus
from hub.contracts import Page, PageQuery, Reply
from hub.fields import Flag, Timestamp


class ReferralListQuery(PageQuery):
    flagged: Annotated[bool | None, Flag()] = None


class ReferralReply(Reply):
    id: int
    status: ReferralStatus
    name: str
    email: str
    company: str
    title: str | None
    created_at: Timestamp
    earns_points: bool
    points: int
    bonus_points: int
    message: str | None = None  # why it earns nothing (flagged, or no open referral challenge)
    # staff only
    advocate_id: int | None = None
    notes: str | None = None
    flag_reason: FlagReason | None = None
    flag_reviewed_at: Timestamp | None = None
    completion_id: int | None = None
    no_points_reason: str | None = None


class ReferralPage(Page[ReferralReply]):
    pass
