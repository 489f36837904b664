"""Filing reference requests (validated input) and reading them: one request, a list, an
advocate's asks, and the fill rate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import Select, and_, bindparam, case, func, or_, select, true

from challenges.crm.models import OpportunityReference
from challenges.references.models import (
    AssignmentStatus,
    CallFormat,
    ReferenceAssignment,
    ReferenceRequest,
    RequestStatus,
    Stage,
)
from hub.contracts import Body
from hub.db import insert_ignore, utcnow
from hub.errors import NotFound, ValidationFailed
from hub.extensions import db
from hub.fields import Amount, CurrencyCode, Date, ListOf, OneLine, OneOf, read
from hub.home_reads import HomeRead, rows_of
from hub.models import COMPANY_SIZES, STAFF_ROLES, Role, User
from hub.notifications import notify
from hub.settings import get_setting
from hub.sql_stats import median_by, seconds_between

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


class RequestBody(Body):
    """A reference request as sales file it (API body or the form): the prospect, the deal
    (`deal_size` in `currency`, the program's currency by default) and the call wanted."""

    prospect_company: Annotated[str, OneLine(160)]
    industry: Annotated[str, OneLine(80)]
    company_size: Annotated[str, OneOf(COMPANY_SIZES)]
    region: Annotated[str | None, OneLine(80)] = None
    use_case: Annotated[str, OneLine(200)]
    stage: Annotated[Stage, OneOf(Stage)]
    deal_size: Annotated[Decimal | None, Amount()] = None
    currency: Annotated[str | None, CurrencyCode()] = None
    needed_by: Date
    format: Annotated[CallFormat, OneOf(CallFormat)]
    topics: Annotated[
        tuple[str, ...],
        ListOf(
            Annotated[str, OneLine(80)],
            max_items=MAX_TOPICS,
            split=",;",
            message=f"Up to {MAX_TOPICS} topics of at most 80 characters.",
        ),
    ] = ()
    opportunity_external_id: Annotated[str | None, OneLine(64)] = None


def parse_request(data: Mapping[str, Any] | RequestBody, today: dt.date | None = None) -> RequestInput:
    """A reference request (read through RequestBody when a mapping) whose call is not in the
    past; an amount without a currency is in the program's currency. Unknown keys are ignored."""
    body = data if isinstance(data, RequestBody) else read(RequestBody, data)
    if body.needed_by < (today or utcnow().date()):
        raise ValidationFailed({"needed_by": "The date has passed; choose today or later."})
    currency = body.currency
    if currency is None and body.deal_size is not None:
        currency = get_setting("program_cost").get("currency", "USD")
    return RequestInput(
        prospect_company=body.prospect_company,
        industry=body.industry,
        company_size=body.company_size,
        region=body.region,
        use_case=body.use_case,
        stage=body.stage,
        deal_amount=body.deal_size,
        currency=currency,
        needed_by=body.needed_by,
        format=body.format,
        topics=body.topics,
        opportunity_external_id=body.opportunity_external_id,
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
    filer = db.session.get_one(User, user_id)
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
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = db.session.scalars(
        query.order_by(ReferenceRequest.created_at.desc(), ReferenceRequest.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def asks_for(advocate_id: int) -> list[tuple[ReferenceAssignment, ReferenceRequest]]:
    """An advocate's reference asks, newest first (the latest `ASKS_SHOWN`)."""
    return [
        (assignment, request)
        for assignment, request in db.session.execute(
            select(ReferenceAssignment, ReferenceRequest)
            .join(ReferenceRequest, ReferenceRequest.id == ReferenceAssignment.request_id)
            .where(ReferenceAssignment.advocate_id == advocate_id)
            .order_by(ReferenceAssignment.asked_at.desc())
            .limit(ASKS_SHOWN)
        ).all()
    ]


@dataclass(frozen=True)
class PendingAsk:
    """A reference ask waiting for the advocate's answer, as the hub page's card links it."""

    request_id: int
    prospect_company: str


ASKS_SHOWN = 100  # the latest asks an advocate's pages look at (asks_for)


def _latest_asks_statement() -> Select[*tuple[Any, ...]]:
    return (
        select(
            ReferenceRequest.id,
            ReferenceRequest.prospect_company,
            ReferenceAssignment.status,
            ReferenceAssignment.asked_at,
            ReferenceAssignment.id,
        )
        .join(ReferenceRequest, ReferenceRequest.id == ReferenceAssignment.request_id)
        .where(ReferenceAssignment.advocate_id == bindparam("advocate_id"))
        .order_by(ReferenceAssignment.asked_at.desc())
        .limit(ASKS_SHOWN)
    )


# The hub page's "Help a peer" card, read with its other cards in one statement
# (hub.home_reads; registered by challenges.hooks).
LATEST_ASKS = HomeRead("latest_reference_asks", _latest_asks_statement)


def pending_asks(advocate_id: int) -> list[PendingAsk]:
    """The advocate's asks still waiting for an answer among their latest `ASKS_SHOWN` (the ones
    `asks_for` lists), newest first."""
    rows = rows_of(LATEST_ASKS, advocate_id=advocate_id)
    # Read together as JSON, the rows come back in no promised order: sort as the query does.
    rows.sort(key=lambda row: (row[3], row[4]), reverse=True)
    return [
        PendingAsk(request_id, company)
        for request_id, company, status, _, _ in rows
        if status is AssignmentStatus.ASKED
    ]


@dataclass(frozen=True)
class FillMetrics:
    filed: int
    filled: int
    fill_rate: float | None
    median_hours_to_fill: float | None


def fill_metrics(since: dt.datetime | None = None, until: dt.datetime | None = None) -> FillMetrics:
    """Fill rate (accepted ÷ filed) and median hours from filing to acceptance of the requests
    filed in [since, until) (None: open). A request its rep withdrew before anyone agreed is not
    counted as filed: nobody failed to fill it. See `fill_metrics_in`."""
    return fill_metrics_in([(since, until)])[0]


def fill_metrics_in(windows: Sequence[tuple[dt.datetime | None, dt.datetime | None]]) -> list[FillMetrics]:
    """`fill_metrics` for each `[since, until)` window of filing time (the windows must not
    overlap), in two statements whatever their number: the counts per window (FILTER), and the
    median hours per window computed in the database (hub.sql_stats.median_by: statistics.median's
    answer), so no request row is fetched."""
    if not windows:
        return []
    created, accepted = ReferenceRequest.created_at, ReferenceRequest.accepted_at
    within = [
        and_(
            true() if since is None else created >= since,
            true() if until is None else created < until,
        )
        for since, until in windows
    ]
    counted = ReferenceRequest.status != RequestStatus.CANCELLED
    counts = db.session.execute(
        select(
            *(func.count().filter(w) for w in within),
            *(func.count().filter(w, accepted.is_not(None)) for w in within),
        ).where(counted, or_(*within))
    ).one()
    window_of = case(*((w, i) for i, w in enumerate(within)))
    hours = seconds_between(created, accepted) / 3600.0
    medians = dict(db.session.execute(median_by(window_of, hours, counted, or_(*within))).all())
    found = []
    for i in range(len(windows)):
        filed, filled = int(counts[i]), int(counts[len(windows) + i])
        median = medians.get(i)
        found.append(
            FillMetrics(
                filed=filed,
                filled=filled,
                fill_rate=round(filled / filed, 4) if filed else None,
                median_hours_to_fill=None if median is None else round(float(median), 2),
            )
        )
    return found
