"""JSON routes: reference requests, referrals, CRM opportunities, attribution and program reports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import request
from sqlalchemy import func, select

from challenges import attribution
from challenges.references import crm, referrals, reports, services
from challenges.references.models import Opportunity, ReferenceRequest, Referral
from hub.api import api_blueprint, api_error, endpoint, page_args, paginated
from hub.errors import NotFound
from hub.extensions import db
from hub.models import ALL_ROLES, STAFF_ROLES, Advocate, Role, User
from hub.validation import Fields, iso

bp = api_blueprint("references_api")
TAG = "references"
SALES_AND_STAFF = STAFF_ROLES | {Role.SALES}
INTEGRATION_ENDPOINTS = frozenset({"references_api.upsert_opportunity", "openapi.openapi_document"})


@bp.before_app_request
def _integration_scope():
    """A CRM integration token (`vci_…`) may only upsert opportunities, whoever it acts for."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if (
        scheme.lower() == "bearer"
        and token.strip().startswith(crm.INTEGRATION_PREFIX)
        and request.endpoint not in INTEGRATION_ENDPOINTS
    ):
        return api_error(403, "forbidden", "This integration token may only upsert CRM opportunities.")
    return None


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


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
        "deal_size": _money(rr.deal_amount),
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


# --- referrals ----------------------------------------------------------------------------


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


# --- CRM ----------------------------------------------------------------------------------


def opportunity_json(o: Opportunity) -> dict:
    return {
        "id": o.id,
        "external_id": o.external_id,
        "name": o.name,
        "account": o.account,
        "amount": _money(o.amount),
        "currency": o.currency,
        "stage": o.stage,
        "is_closed": o.is_closed,
        "is_won": o.is_won,
        "created_date": iso(o.created_date),
        "close_date": iso(o.close_date),
        "contact_emails": list(o.contact_emails or []),
        "referral_id": o.referral_id,
        "reference_request_ids": list(o.reference_request_ids or []),
        "updated_at": iso(o.updated_at),
    }


OPPORTUNITY_BODY = {
    "type": "object",
    "required": ["external_id", "name", "account", "amount", "currency", "stage", "created_date"],
    "properties": {
        "external_id": {"type": "string", "maxLength": 64},
        "name": {"type": "string", "maxLength": 255},
        "account": {"type": "string", "maxLength": 160},
        "amount": {"type": "string", "pattern": r"^\d{1,16}(\.\d{1,2})?$"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "stage": {"type": "string", "maxLength": 80},
        "is_closed": {"type": "boolean"},
        "is_won": {"type": "boolean"},
        "created_date": {"type": "string", "format": "date"},
        "close_date": {"type": "string", "format": "date"},
        "contact_emails": {"type": "array", "items": {"type": "string", "format": "email"}, "maxItems": 50},
        "referral_id": {"type": "integer", "minimum": 1},
        "reference_request_ids": {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": 50},
    },
}


@endpoint(
    bp,
    "/crm/opportunities",
    "POST",
    roles={Role.OWNER},
    body=OPPORTUNITY_BODY,
    idempotent=True,
    tag=TAG,
    summary="Upsert an opportunity by external_id (owner or CRM integration token): 201 created, 200 updated",
)
def upsert_opportunity(user: User, data: dict) -> tuple[dict, int]:
    result = crm.upsert_opportunity(crm.parse_opportunity(data))
    return opportunity_json(result.opportunity), 201 if result.created else 200


@endpoint(
    bp,
    "/crm/opportunities",
    roles={Role.OWNER, Role.MANAGER},
    tag=TAG,
    summary="Opportunities",
    query={"page": "integer", "per_page": "integer"},
)
def list_opportunities(user: User) -> dict:
    page, per_page = page_args()
    total = db.session.scalar(select(func.count()).select_from(Opportunity))
    rows = db.session.scalars(
        select(Opportunity)
        .order_by(Opportunity.updated_at.desc(), Opportunity.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return paginated([opportunity_json(o) for o in rows], page, per_page, total)


# --- impact and reports -------------------------------------------------------------------


@endpoint(bp, "/me/impact", roles={Role.ADVOCATE}, tag=TAG, summary="Deals I helped (account and stage, no amounts)")
def my_impact(user: User) -> dict:
    deals = attribution.deals_helped(user.advocate.id) if user.advocate else []
    return {
        "items": [
            {
                "account": d.account,
                "name": d.name,
                "stage": d.stage,
                "is_closed": d.is_closed,
                "is_won": d.is_won,
                "how": list(d.kinds),
            }
            for d in deals
        ]
    }


@endpoint(
    bp,
    "/reports/attribution",
    roles={Role.OWNER},
    tag=TAG,
    summary="Attribution per advocate",
    query={"page": "integer", "per_page": "integer"},
)
def attribution_report(user: User) -> dict:
    page, per_page = page_args()
    rows, total = attribution.per_advocate(limit=per_page, offset=(page - 1) * per_page)
    names = dict(
        db.session.execute(
            select(Advocate.id, User.name)
            .join(User, User.id == Advocate.user_id)
            .where(Advocate.id.in_([r.advocate_id for r in rows]))
        ).all()
    )
    return paginated([reports.attribution_row_json(r, names.get(r.advocate_id)) for r in rows], page, per_page, total)


@endpoint(
    bp,
    "/reports/program",
    roles={Role.OWNER},
    tag=TAG,
    summary="The program report",
    query={"from": "string", "to": "string"},
)
def program_report(user: User) -> dict:
    f = Fields(request.args)
    since: dt.date | None = f.date("from")
    until: dt.date | None = f.date("to")
    if since and until and until < since:
        f.errors.setdefault("to", "Must be on or after `from`.")
    f.done()
    return reports.program_report(since, until)
