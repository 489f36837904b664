"""Filing reference requests (validated input) and reading them: one request, a list, an
advocate's asks, and the fill rate."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from challenges.crm.models import OpportunityReference
from challenges.references.models import (
    CallFormat,
    ReferenceAssignment,
    ReferenceRequest,
    Stage,
)
from challenges.values import parse_currency, parse_money
from hub.db import insert_ignore, utcnow
from hub.errors import NotFound, ValidationFailed
from hub.extensions import db
from hub.models import COMPANY_SIZES, STAFF_ROLES, Role, User
from hub.notifications import notify
from hub.settings import get_setting
from hub.validation import Fields

MAX_TOPICS = 10


@dataclass(frozen=True)
class RequestInput:
    prospect_company: str
    industry: str
    company_size: str
    region: str | None
    use_case: str
    stage: Stage
    deal_amount: Decimal | None
    currency: str | None
    needed_by: dt.date
    format: CallFormat
    topics: tuple[str, ...]
    opportunity_external_id: str | None


def parse_request(data: Mapping[str, Any], today: dt.date | None = None) -> RequestInput:
    """Validate a reference request from the form or the API (unknown keys are ignored)."""
    f = Fields(data)
    errors = f.errors
    today = today or utcnow().date()

    prospect = f.str("prospect_company", required=True, max_length=160)
    industry = f.str("industry", required=True, max_length=80)
    size = f.choice("company_size", COMPANY_SIZES, required=True)
    region = f.str("region", max_length=80)
    use_case = f.str("use_case", required=True, max_length=200)
    stage = f.choice("stage", [s.value for s in Stage], required=True)
    call_format = f.choice("format", [c.value for c in CallFormat], required=True)
    amount = parse_money(data.get("deal_size"), errors, "deal_size")
    program_currency = get_setting("program_cost").get("currency", "USD")
    currency = parse_currency(
        data.get("currency"), errors, "currency", default=program_currency if amount is not None else None
    )
    needed_by = None
    raw_date = data.get("needed_by")
    if raw_date is None or raw_date == "":
        errors.setdefault("needed_by", "This field is required.")
    else:
        try:
            needed_by = dt.date.fromisoformat(raw_date.strip()[:10]) if isinstance(raw_date, str) else None
        except ValueError:
            needed_by = None
        if needed_by is None:
            errors.setdefault("needed_by", "A date like 2026-12-01.")
        elif needed_by < today:
            errors.setdefault("needed_by", "The date has passed; choose today or later.")
    topics_raw = data.get("topics") or []
    if isinstance(topics_raw, str):
        topics_raw = [t for t in (p.strip() for p in topics_raw.replace(";", ",").split(",")) if t]
    if (
        not isinstance(topics_raw, list)
        or len(topics_raw) > MAX_TOPICS
        or not all(isinstance(t, str) and 0 < len(t.strip()) <= 80 for t in topics_raw)
    ):
        errors.setdefault("topics", f"Up to {MAX_TOPICS} topics of at most 80 characters.")
        topics_raw = []
    opportunity = f.str("opportunity_external_id", max_length=64)
    if errors:
        raise ValidationFailed(errors)
    return RequestInput(
        prospect_company=prospect,
        industry=industry,
        company_size=size,
        region=region,
        use_case=use_case,
        stage=Stage(stage),
        deal_amount=amount,
        currency=currency,
        needed_by=needed_by,
        format=CallFormat(call_format),
        topics=tuple(dict.fromkeys(t.strip() for t in topics_raw)),
        opportunity_external_id=opportunity,
    )


def file_request(user_id: int, item: RequestInput) -> ReferenceRequest:
    """A new open request; managers are told in-app."""
    request = ReferenceRequest(
        requested_by_id=user_id,
        prospect_company=item.prospect_company,
        industry=item.industry,
        company_size=item.company_size,
        region=item.region,
        use_case=item.use_case,
        stage=item.stage,
        deal_amount=item.deal_amount,
        currency=item.currency,
        needed_by=item.needed_by,
        format=item.format,
        topics=list(item.topics),
        opportunity_external_id=item.opportunity_external_id,
    )
    db.session.add(request)
    db.session.flush()
    if item.opportunity_external_id:
        insert_ignore(
            db.session,
            OpportunityReference.__table__,
            {"opportunity_external_id": item.opportunity_external_id, "reference_request_id": request.id},
        )
    filer = db.session.get(User, user_id)
    for manager_id in db.session.scalars(
        select(User.id).where(User.role == Role.MANAGER, User.is_active_user.is_(True)).limit(50)
    ):
        notify(
            manager_id,
            "reference_request",
            f"{filer.name} needs a reference for {item.prospect_company} by {item.needed_by:%b %-d}.",
            f"/admin/references/{request.id}",
        )
    return request


def request_for(user: User, request_id: int) -> ReferenceRequest:
    """The request if this user may see it: staff, the sales user who filed it, or an advocate
    who was asked; anyone else gets 404 (its existence is private)."""
    request = db.session.get(ReferenceRequest, request_id)
    if request is None:
        raise NotFound("Reference request not found.")
    if user.role in STAFF_ROLES or (user.role is Role.SALES and request.requested_by_id == user.id):
        return request
    if (
        user.role is Role.ADVOCATE
        and user.advocate is not None
        and db.session.scalar(
            select(ReferenceAssignment.id).where(
                ReferenceAssignment.request_id == request.id, ReferenceAssignment.advocate_id == user.advocate.id
            )
        )
    ):
        return request
    raise NotFound("Reference request not found.")


def assignment_of(request_id: int, advocate_id: int) -> ReferenceAssignment | None:
    return db.session.scalar(
        select(ReferenceAssignment).where(
            ReferenceAssignment.request_id == request_id, ReferenceAssignment.advocate_id == advocate_id
        )
    )


def list_requests(user: User, status: str | None, page: int, per_page: int) -> tuple[list[ReferenceRequest], int]:
    query = select(ReferenceRequest)
    if user.role is Role.SALES:
        query = query.where(ReferenceRequest.requested_by_id == user.id)
    if status:
        query = query.where(ReferenceRequest.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(ReferenceRequest.created_at.desc(), ReferenceRequest.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def asks_for(advocate_id: int) -> list[tuple[ReferenceAssignment, ReferenceRequest]]:
    """An advocate's reference asks, newest first."""
    return [
        tuple(r)
        for r in db.session.execute(
            select(ReferenceAssignment, ReferenceRequest)
            .join(ReferenceRequest, ReferenceRequest.id == ReferenceAssignment.request_id)
            .where(ReferenceAssignment.advocate_id == advocate_id)
            .order_by(ReferenceAssignment.asked_at.desc())
            .limit(100)
        ).all()
    ]


@dataclass(frozen=True)
class FillMetrics:
    filed: int
    filled: int
    fill_rate: float | None
    median_hours_to_fill: float | None


def fill_metrics(since: dt.datetime | None = None, until: dt.datetime | None = None) -> FillMetrics:
    """Fill rate (accepted ÷ filed) and median hours from filing to acceptance."""
    query = select(ReferenceRequest.created_at, ReferenceRequest.accepted_at)
    if since is not None:
        query = query.where(ReferenceRequest.created_at >= since)
    if until is not None:
        query = query.where(ReferenceRequest.created_at < until)
    rows = db.session.execute(query).all()
    hours = [(accepted - created).total_seconds() / 3600 for created, accepted in rows if accepted is not None]
    return FillMetrics(
        filed=len(rows),
        filled=len(hours),
        fill_rate=round(len(hours) / len(rows), 4) if rows else None,
        median_hours_to_fill=round(statistics.median(hours), 2) if hours else None,
    )
