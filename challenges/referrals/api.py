"""JSON routes for referrals (api.md), on the same services as the pages."""

from __future__ import annotations

from typing import Any

from challenges.referrals import services as referrals
from challenges.referrals.contracts import ReferralListQuery, ReferralPage, ReferralReply
from challenges.referrals.models import Referral
from challenges.referrals.services import ReferralInput
from hub.endpoints import api_blueprint, endpoint
from hub.errors import NotFound
from hub.models import STAFF_ROLES, Role, User

bp = api_blueprint("referrals_api")
TAG = "referrals"


def referral_reply(referral: Referral, viewer: User) -> ReferralReply:
    fields: dict[str, Any] = {
        "id": referral.id,
        "status": referral.status,
        "name": referral.name,
        "email": referral.email,
        "company": referral.company,
        "title": referral.title,
        "created_at": referral.created_at,
        "earns_points": referral.completion_id is not None and not referral.is_flagged,
        "points": referral.points,
        "bonus_points": referral.bonus_points,
    }
    if referral.is_flagged:
        fields["message"] = referrals.advocate_message(referral)
    if viewer.role in STAFF_ROLES:
        fields |= {
            "advocate_id": referral.advocate_id,
            "notes": referral.notes,
            "flag_reason": referral.flag_reason,
            "flag_reviewed_at": referral.flag_reviewed_at,
            "completion_id": referral.completion_id,
            "no_points_reason": referral.no_points_reason,
        }
    elif not referral.is_flagged and referral.no_points_reason:
        fields["message"] = referral.no_points_reason
    return ReferralReply.model_validate(fields)


@endpoint(
    bp,
    "/referrals",
    "POST",
    roles={Role.ADVOCATE},
    status=201,
    idempotent=True,
    tag=TAG,
    body=ReferralInput,
    reply=ReferralReply,
    summary="Refer a peer",
)
def create_referral(user: User, data: ReferralInput) -> tuple[ReferralReply, int]:
    if user.advocate is None:
        raise NotFound("Advocate not found.")
    referral = referrals.submit_referral(user.advocate.id, data)
    return referral_reply(referral, user), 201


@endpoint(
    bp,
    "/referrals",
    roles=STAFF_ROLES | {Role.ADVOCATE},
    tag=TAG,
    summary="Referrals (advocates: their own)",
    query=ReferralListQuery,
    reply=ReferralPage,
)
def list_referrals(user: User, args: ReferralListQuery) -> ReferralPage:
    own = user.advocate_profile.id if user.role is Role.ADVOCATE else None
    rows, total = referrals.list_referrals(own, args.flagged, args.page, args.per_page)
    return ReferralPage.of([referral_reply(r, user) for r in rows], args, total)
