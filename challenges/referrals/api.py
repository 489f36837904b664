"""JSON routes for referrals (api.md), on the same services as the pages."""

from __future__ import annotations

from flask import request

from challenges.referrals import services as referrals
from challenges.referrals.models import Referral
from hub.endpoints import api_blueprint, endpoint, page_args, paginated
from hub.errors import NotFound
from hub.models import STAFF_ROLES, Role, User
from hub.validation import Fields, iso

bp = api_blueprint("referrals_api")
TAG = "referrals"


def referral_json(referral: Referral, viewer: User) -> dict:
    payload = {
        "id": referral.id,
        "status": referral.status.value,
        "name": referral.name,
        "email": referral.email,
        "company": referral.company,
        "title": referral.title,
        "created_at": iso(referral.created_at),
        "earns_points": referral.completion_id is not None and not referral.is_flagged,
        "points": referral.points,
        "bonus_points": referral.bonus_points,
    }
    if referral.is_flagged:
        payload["message"] = referrals.advocate_message(referral)
    if viewer.role in STAFF_ROLES:
        payload |= {
            "advocate_id": referral.advocate_id,
            "notes": referral.notes,
            "flag_reason": referral.flag_reason.value if referral.flag_reason else None,
            "flag_reviewed_at": iso(referral.flag_reviewed_at),
            "completion_id": referral.completion_id,
            "no_points_reason": referral.no_points_reason,
        }
    elif not referral.is_flagged and referral.no_points_reason:
        payload["message"] = referral.no_points_reason
    return payload


@endpoint(
    bp,
    "/referrals",
    "POST",
    roles={Role.ADVOCATE},
    status=201,
    idempotent=True,
    tag=TAG,
    body={
        "type": "object",
        "required": ["name", "email", "company", "consent"],
        "properties": {
            "name": {"type": "string", "maxLength": 120},
            "email": {"type": "string", "format": "email"},
            "company": {"type": "string", "maxLength": 160},
            "title": {"type": "string", "maxLength": 120},
            "notes": {"type": "string", "maxLength": 2000},
            "consent": {"type": "boolean", "enum": [True]},
        },
    },
    summary="Refer a peer",
)
def create_referral(user: User, data: dict) -> tuple[dict, int]:
    if user.advocate is None:
        raise NotFound("Advocate not found.")
    referral = referrals.submit_referral(user.advocate.id, referrals.parse_referral(data))
    return referral_json(referral, user), 201


@endpoint(
    bp,
    "/referrals",
    roles=STAFF_ROLES | {Role.ADVOCATE},
    tag=TAG,
    summary="Referrals (advocates: their own)",
    query={"flagged": "boolean", "page": "integer", "per_page": "integer"},
)
def list_referrals(user: User) -> dict:
    page, per_page = page_args()
    f = Fields(request.args)
    flagged = f.bool("flagged")
    f.done()
    rows, total = referrals.list_referrals(
        user.advocate.id if user.role is Role.ADVOCATE else None, flagged, page, per_page
    )
    return paginated([referral_json(r, user) for r in rows], page, per_page, total)
