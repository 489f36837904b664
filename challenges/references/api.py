"""JSON routes for reference requests (api.md), on the same services as the pages."""

from __future__ import annotations

from flask import request

from challenges.references import services
from challenges.references.models import ReferenceRequest
from challenges.values import decimal_text
from hub.endpoints import api_blueprint, endpoint, page_args, paginated
from hub.errors import NotFound
from hub.models import ALL_ROLES, STAFF_ROLES, Role, User
from hub.validation import Fields, iso

bp = api_blueprint("references_api")


TAG = "references"


SALES_AND_STAFF = STAFF_ROLES | {Role.SALES}


def request_json(rr: ReferenceRequest, viewer: User) -> dict:
    """A request as `viewer` may see it: amounts never to advocates; the advocate's contact
    details to sales only once the advocate accepted."""
    payload = {
        "id": rr.id,
        "status": rr.status.value,
        "prospect_company": rr.prospect_company,
        "industry": rr.industry,
        "company_size": rr.company_size,
        "region": rr.region,
        "use_case": rr.use_case,
        "stage": rr.stage.value,
        "needed_by": iso(rr.needed_by),
        "format": rr.format.value,
        "topics": list(rr.topics or []),
        "created_at": iso(rr.created_at),
        "matched_at": iso(rr.matched_at),
        "accepted_at": iso(rr.accepted_at),
        "completed_at": iso(rr.completed_at),
    }
    if viewer.role is Role.ADVOCATE:
        return payload | {"feedback": {"helped": rr.feedback_helped} if rr.completed_at else None}
    advocate = None
    if rr.advocate_id is not None and (viewer.role in STAFF_ROLES or rr.contact_visible):
        adv = rr.advocate
        advocate = {
            "advocate_id": adv.id,
            "name": adv.user.name,
            "email": adv.user.email,
            "title": adv.title,
            "company": adv.company,
        }
    return payload | {
        "deal_size": decimal_text(rr.deal_amount),
        "currency": rr.currency,
        "opportunity_external_id": rr.opportunity_external_id,
        "requested_by": {"id": rr.requested_by_id, "name": rr.requested_by.name},
        "advocate": advocate,
        "unfilled_at": iso(rr.unfilled_at),
        "unfilled_note": rr.unfilled_note,
        "alternatives": rr.alternatives or [],
        "feedback": None
        if rr.feedback_rating is None
        else {"rating": rr.feedback_rating, "notes": rr.feedback_notes, "helped": rr.feedback_helped},
        "completion_id": rr.completion_id if viewer.role in STAFF_ROLES else None,
        "points_note": rr.points_note if viewer.role in STAFF_ROLES else None,
    }


REQUEST_BODY = {
    "type": "object",
    "required": ["prospect_company", "industry", "company_size", "use_case", "stage", "needed_by", "format"],
    "properties": {
        "prospect_company": {"type": "string", "maxLength": 160},
        "industry": {"type": "string", "maxLength": 80},
        "company_size": {"type": "string", "enum": ["1-50", "51-200", "201-1000", "1001-5000", "5000+"]},
        "region": {"type": "string", "maxLength": 80},
        "use_case": {"type": "string", "maxLength": 200},
        "stage": {"type": "string", "enum": ["evaluation", "poc", "negotiation"]},
        "deal_size": {"type": "string", "pattern": r"^\d{1,16}(\.\d{1,2})?$"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "needed_by": {"type": "string", "format": "date"},
        "format": {"type": "string", "enum": ["phone", "video", "email"]},
        "topics": {"type": "array", "items": {"type": "string", "maxLength": 80}, "maxItems": 10},
        "opportunity_external_id": {"type": "string", "maxLength": 64},
    },
}


@endpoint(
    bp,
    "/reference-requests",
    "POST",
    roles=SALES_AND_STAFF,
    status=201,
    body=REQUEST_BODY,
    idempotent=True,
    tag=TAG,
    summary="File a reference request",
)
def create_reference_request(user: User, data: dict) -> tuple[dict, int]:
    rr = services.file_request(user.id, services.parse_request(data))
    return request_json(rr, user), 201


@endpoint(
    bp,
    "/reference-requests",
    roles=ALL_ROLES,
    tag=TAG,
    summary="Reference requests (own for sales and advocates)",
    query={"status": "string", "page": "integer", "per_page": "integer"},
)
def list_reference_requests(user: User) -> dict:
    page, per_page = page_args()
    f = Fields(request.args)
    status = f.choice("status", ["open", "matched", "accepted", "completed", "unfilled", "cancelled"])
    f.done()
    if user.role is Role.ADVOCATE:
        pairs = services.asks_for(user.advocate.id) if user.advocate else []
        items = [
            request_json(rr, user) | {"my_answer": a.status.value}
            for a, rr in pairs
            if not status or rr.status.value == status
        ]
        return paginated(items[(page - 1) * per_page : page * per_page], page, per_page, len(items))
    rows, total = services.list_requests(user, status, page, per_page)
    return paginated([request_json(r, user) for r in rows], page, per_page, total)


@endpoint(bp, "/reference-requests/<int:request_id>", roles=ALL_ROLES, tag=TAG, summary="One reference request")
def get_reference_request(user: User, request_id: int) -> dict:
    return request_json(services.request_for(user, request_id), user)


@endpoint(
    bp,
    "/reference-requests/<int:request_id>/matches",
    roles=STAFF_ROLES,
    tag=TAG,
    summary="Candidates ranked by fit and days since last tapped, with exclusions",
)
def reference_matches(user: User, request_id: int) -> dict:
    matches = services.find_matches(request_id)
    return {
        "items": [
            {
                "advocate_id": c.advocate_id,
                "name": c.name,
                "company": c.company,
                "score": c.score,
                "reasons": list(c.reasons),
                "last_tapped_at": iso(c.last_tapped_at),
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
                    "available_at": iso(e.available_at),
                }
                for e in matches.exclusions
            ],
        },
    }


@endpoint(
    bp,
    "/reference-requests/<int:request_id>/assign",
    "POST",
    roles=STAFF_ROLES,
    tag=TAG,
    body={"type": "object", "required": ["advocate_id"], "properties": {"advocate_id": {"type": "integer"}}},
    summary="Ask an advocate (claims their reference-call ask; 409 cap_reached)",
)
def assign_reference_request(user: User, request_id: int, data: dict) -> dict:
    f = Fields(data)
    advocate_id = f.int("advocate_id", required=True, minimum=1)
    f.done()
    return request_json(services.assign(request_id, advocate_id, user.id), user)


def _respond(user: User, request_id: int, accept: bool) -> dict:
    if user.advocate is None:
        raise NotFound("Reference request not found.")
    return request_json(services.respond(request_id, user.advocate.id, accept), user)


@endpoint(
    bp,
    "/reference-requests/<int:request_id>/accept",
    "POST",
    roles={Role.ADVOCATE},
    tag=TAG,
    summary="The asked advocate accepts",
)
def accept_reference_request(user: User, request_id: int) -> dict:
    return _respond(user, request_id, True)


@endpoint(
    bp,
    "/reference-requests/<int:request_id>/decline",
    "POST",
    roles={Role.ADVOCATE},
    tag=TAG,
    summary="The asked advocate declines (the ask is released)",
)
def decline_reference_request(user: User, request_id: int) -> dict:
    return _respond(user, request_id, False)


@endpoint(
    bp,
    "/reference-requests/<int:request_id>/feedback",
    "POST",
    roles=SALES_AND_STAFF,
    tag=TAG,
    body={
        "type": "object",
        "required": ["rating", "helped"],
        "properties": {
            "rating": {"type": "integer", "minimum": 1, "maximum": 5},
            "notes": {"type": "string", "maxLength": 2000},
            "helped": {"type": "boolean"},
        },
    },
    summary="After the call: rating, notes, helped → completed; the advocate's completion is approved",
)
def reference_feedback(user: User, request_id: int, data: dict) -> dict:
    services.request_for(user, request_id)
    return request_json(services.give_feedback(request_id, user, services.parse_feedback(data)), user)


@endpoint(
    bp,
    "/reference-requests/<int:request_id>/unfilled",
    "POST",
    roles=STAFF_ROLES,
    tag=TAG,
    body={"type": "object", "properties": {"note": {"type": "string", "maxLength": 500}}},
    summary="No match: close as unfilled with suggested alternatives",
)
def unfilled_reference_request(user: User, request_id: int, data: dict) -> dict:
    f = Fields(data)
    note = f.str("note", max_length=500)
    f.done()
    return request_json(services.mark_unfilled(request_id, user.id, note), user)
