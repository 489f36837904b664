"""JSON routes for the CRM (api.md): the opportunity upsert the CRM integration token may call,
opportunities, an advocate's impact, and the attribution and program reports."""

from __future__ import annotations

import datetime as dt

from flask import request
from sqlalchemy import func, select

from challenges.crm import integration, opportunities, reports
from challenges.crm.models import Opportunity
from challenges.values import decimal_text
from hub.endpoints import api_blueprint, api_error, endpoint, page_args, paginated
from hub.extensions import db
from hub.models import Advocate, Role, User
from hub.validation import Fields, iso

bp = api_blueprint("crm_api")
TAG = "crm"
# A CRM integration token reaches only these endpoints.
INTEGRATION_ENDPOINTS = frozenset({"crm_api.upsert_opportunity", "openapi.openapi_document"})


@bp.before_app_request
def _integration_scope():
    """A CRM integration token (`vci_…`) may only upsert opportunities, whoever it acts for."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if (
        scheme.lower() == "bearer"
        and token.strip().startswith(integration.INTEGRATION_PREFIX)
        and request.endpoint not in INTEGRATION_ENDPOINTS
    ):
        return api_error(403, "forbidden", "This integration token may only upsert CRM opportunities.")
    return None


def opportunity_json(o: Opportunity) -> dict:
    return {
        "id": o.id,
        "external_id": o.external_id,
        "name": o.name,
        "account": o.account,
        "amount": decimal_text(o.amount),
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
    result = opportunities.upsert_opportunity(opportunities.parse_opportunity(data))
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


@endpoint(bp, "/me/impact", roles={Role.ADVOCATE}, tag=TAG, summary="Deals I helped (account and stage, no amounts)")
def my_impact(user: User) -> dict:
    deals = reports.deals_helped(user.advocate.id) if user.advocate else []
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
    rows, total = reports.per_advocate(limit=per_page, offset=(page - 1) * per_page)
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
