"""JSON routes for reference requests (api.md), on the same services as the pages."""

from __future__ import annotations

from typing import Any

from challenges.references import services
from challenges.references.contracts import (
    AssignBody,
    MatchesReply,
    RequestListQuery,
    RequestPage,
    RequestReply,
)
from challenges.references.models import ReferenceRequest
from challenges.references.services import FeedbackBody, RequestBody, UnfilledBody
from hub.endpoints import api_blueprint, endpoint
from hub.errors import NotFound
from hub.models import ALL_ROLES, STAFF_ROLES, Role, User

bp = api_blueprint("references_api")


TAG = "references"


SALES_AND_STAFF = STAFF_ROLES | {Role.SALES}


def request_reply(rr: ReferenceRequest, viewer: User, **extra: Any) -> RequestReply:
    """A request as `viewer` may see it: amounts never to advocates; the advocate's contact
    details to sales only once the advocate accepted."""
    fields: dict[str, Any] = {
        "id": rr.id,
        "status": rr.status,
        "prospect_company": rr.prospect_company,
        "industry": rr.industry,
        "company_size": rr.company_size,
        "region": rr.region,
        "use_case": rr.use_case,
        "stage": rr.stage,
        "needed_by": rr.needed_by,
        "format": rr.format,
        "topics": list(rr.topics or []),
        "created_at": rr.created_at,
        "matched_at": rr.matched_at,
        "accepted_at": rr.accepted_at,
        "completed_at": rr.completed_at,
    }
    if viewer.role is Role.ADVOCATE:
        feedback = {"helped": rr.feedback_helped} if rr.completed_at else None
        return RequestReply.model_validate(fields | {"feedback": feedback} | extra)
    advocate = None
    if (
        rr.advocate_id is not None
        and (viewer.role in STAFF_ROLES or rr.contact_visible)
        and (adv := rr.advocate) is not None
    ):
        advocate = {
            "advocate_id": adv.id,
            "name": adv.user.name,
            "email": adv.user.email,
            "title": adv.title,
            "company": adv.company,
        }
    staff = viewer.role in STAFF_ROLES
    return RequestReply.model_validate(
        fields
        | {
            "deal_size": rr.deal_amount,
            "currency": rr.currency,
            "opportunity_external_id": rr.opportunity_external_id,
            "requested_by": {"id": rr.requested_by_id, "name": rr.requested_by.name},
            "advocate": advocate,
            "unfilled_at": rr.unfilled_at,
            "unfilled_note": rr.unfilled_note,
            "alternatives": rr.alternatives or [],
            "feedback": None
            if rr.feedback_rating is None
            else {"rating": rr.feedback_rating, "notes": rr.feedback_notes, "helped": rr.feedback_helped},
            "completion_id": rr.completion_id if staff else None,
            "points_note": rr.points_note if staff else None,
        }
        | extra
    )


@endpoint(
    bp,
    "/reference-requests",
    "POST",
    roles=SALES_AND_STAFF,
    status=201,
    body=RequestBody,
    reply=RequestReply,
    idempotent=True,
    tag=TAG,
    summary="File a reference request",
)
def create_reference_request(user: User, data: RequestBody) -> tuple[RequestReply, int]:
    rr = services.file_request(user.id, services.parse_request(data))
    return request_reply(rr, user), 201


@endpoint(
    bp,
    "/reference-requests",
    roles=ALL_ROLES,
    tag=TAG,
    summary="Reference requests (own for sales and advocates)",
    query=RequestListQuery,
    reply=RequestPage,
)
def list_reference_requests(user: User, args: RequestListQuery) -> RequestPage:
    if user.role is Role.ADVOCATE:
        pairs = services.asks_for(user.advocate.id) if user.advocate else []
        asks = [(a, rr) for a, rr in pairs if not args.status or rr.status == args.status]
        items = [request_reply(rr, user, my_answer=a.status) for a, rr in args.window(asks)]
        return RequestPage.of(items, args, len(asks))
    rows, total = services.list_requests(user, args.status, args.page, args.per_page)
    return RequestPage.of([request_reply(r, user) for r in rows], args, total)


@endpoint(
    bp,
    "/reference-requests/<int:request_id>",
    roles=ALL_ROLES,
    tag=TAG,
    summary="One reference request",
    reply=RequestReply,
)
def get_reference_request(user: User, request_id: int) -> RequestReply:
    return request_reply(services.request_for(user, request_id), user)


@endpoint(
    bp,
    "/reference-requests/<int:request_id>/matches",
    roles=STAFF_ROLES,
    tag=TAG,
    summary="Candidates ranked by fit and days since last tapped, with exclusions",
    reply=MatchesReply,
)
def reference_matches(user: User, request_id: int) -> MatchesReply:
    matches = services.find_matches(request_id)
    return MatchesReply.model_validate(
        {
            "items": [
                {
                    "advocate_id": c.advocate_id,
                    "name": c.name,
                    "company": c.company,
                    "score": c.score,
                    "reasons": list(c.reasons),
                    "last_tapped_at": c.last_tapped_at,
                }
                for c in matches.candidates
            ],
            "excluded": {
                "total": len(matches.exclusions),
                "by_reason": [{"code": code, "label": label, "count": n} for code, label, n in matches.excluded_counts],
                "items": [
                    {
                        "advocate_id": e.advocate_id,
                        "name": e.name,
                        "code": e.code,
                        "reason": e.label,
                        "detail": e.detail,
                        "available_at": e.available_at,
                    }
                    for e in matches.exclusions
                ],
            },
        }
    )


@endpoint(
    bp,
    "/reference-requests/<int:request_id>/assign",
    "POST",
    roles=STAFF_ROLES,
    tag=TAG,
    body=AssignBody,
    reply=RequestReply,
    summary="Ask an advocate (claims their reference-call ask; 409 cap_reached)",
)
def assign_reference_request(user: User, request_id: int, data: AssignBody) -> RequestReply:
    return request_reply(services.assign(request_id, data.advocate_id, user.id), user)


def _respond(user: User, request_id: int, accept: bool) -> RequestReply:
    if user.advocate is None:
        raise NotFound("Reference request not found.")
    return request_reply(services.respond(request_id, user.advocate.id, accept), user)


@endpoint(
    bp,
    "/reference-requests/<int:request_id>/accept",
    "POST",
    roles={Role.ADVOCATE},
    tag=TAG,
    summary="The asked advocate accepts",
    reply=RequestReply,
)
def accept_reference_request(user: User, request_id: int) -> RequestReply:
    return _respond(user, request_id, True)


@endpoint(
    bp,
    "/reference-requests/<int:request_id>/decline",
    "POST",
    roles={Role.ADVOCATE},
    tag=TAG,
    summary="The asked advocate declines (the ask is released)",
    reply=RequestReply,
)
def decline_reference_request(user: User, request_id: int) -> RequestReply:
    return _respond(user, request_id, False)


@endpoint(
    bp,
    "/reference-requests/<int:request_id>/feedback",
    "POST",
    roles=SALES_AND_STAFF,
    tag=TAG,
    body=FeedbackBody,
    reply=RequestReply,
    summary="After the call: rating, notes, helped → completed; the advocate's completion is approved",
)
def reference_feedback(user: User, request_id: int, data: FeedbackBody) -> RequestReply:
    services.request_for(user, request_id)
    return request_reply(services.give_feedback(request_id, user, services.parse_feedback(data)), user)


@endpoint(
    bp,
    "/reference-requests/<int:request_id>/unfilled",
    "POST",
    roles=STAFF_ROLES,
    tag=TAG,
    body=UnfilledBody,
    reply=RequestReply,
    summary="No match: close as unfilled with suggested alternatives",
)
def unfilled_reference_request(user: User, request_id: int, data: UnfilledBody) -> RequestReply:
    return request_reply(services.mark_unfilled(request_id, user.id, data.note), user)


@endpoint(
    bp,
    "/reference-requests/<int:request_id>/withdraw",
    "POST",
    roles=SALES_AND_STAFF,
    tag=TAG,
    reply=RequestReply,
    summary="Withdraw a request nobody has agreed to yet (open or matched) → cancelled; 409 invalid_state after",
)
def withdraw_reference_request(user: User, request_id: int) -> RequestReply:
    return request_reply(services.withdraw(request_id, user), user)
