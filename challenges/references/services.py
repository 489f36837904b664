"""Reference requests: file, match (through challenges.caps), assign, accept/decline, feedback.

Lifecycle: open → matched (a manager assigned an advocate; their `reference_call` ask is
claimed atomically, 409 cap_reached otherwise) → accepted (the sales user now sees the
advocate's contact details) → completed (the sales user's feedback; the advocate's
`reference_call` completion is approved once). A decline releases the ask and reopens the
request; a request nobody can take is marked unfilled with alternatives. Every transition is
a conditional UPDATE on the request row (locked on PostgreSQL), so two clicks cannot both win.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update

from challenges import caps
from challenges.models import Ask, AskKind, Challenge, ChallengeStatus, Completion, CompletionStatus
from challenges.references import bridge, matching, webhooks
from challenges.references.crm import schedule_tally_for_external_id
from challenges.references.models import (
    AssignmentStatus,
    CallFormat,
    OpportunityReference,
    ReferenceAssignment,
    ReferenceRequest,
    RequestStatus,
    Stage,
)
from challenges.references.values import parse_currency, parse_money
from hub.db import insert_ignore, locked_row, utcnow
from hub.email.sending import queue_email
from hub.errors import InvalidState, NotFound, ValidationFailed
from hub.extensions import db
from hub.models import COMPANY_SIZES, STAFF_ROLES, Advocate, Role, User
from hub.notifications import notify
from hub.settings import get_setting
from hub.validation import Fields
from rewards.badges import award_badge

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


def _locked(request_id: int) -> ReferenceRequest:
    request = locked_row(ReferenceRequest, request_id)
    if request is None:
        raise NotFound("Reference request not found.")
    return request


def _move(request: ReferenceRequest, from_status: RequestStatus, **values: Any) -> None:
    moved = db.session.execute(
        update(ReferenceRequest)
        .where(ReferenceRequest.id == request.id, ReferenceRequest.status == from_status)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        raise InvalidState(f"This request is {request.status.value}, not {from_status.value}.")
    db.session.refresh(request)


# --- matching -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Matches:
    candidates: list[matching.Candidate]
    exclusions: list[matching.Exclusion]

    @property
    def excluded_counts(self) -> list[tuple[str, str, int]]:
        return matching.exclusion_counts(self.exclusions)


def find_matches(request_id: int, at: dt.datetime | None = None) -> Matches:
    """Every available advocate ranked by fit, then least recently tapped; the others excluded
    with the caps' reason (capped, blackout, not available) or because they were already asked."""
    at = at or utcnow()
    request = db.session.get(ReferenceRequest, request_id)
    if request is None:
        raise NotFound("Reference request not found.")
    rows = db.session.execute(
        select(Advocate, User.name)
        .join(User, User.id == Advocate.user_id)
        .where(Advocate.is_erased.is_(False), User.is_active_user.is_(True))
        .order_by(Advocate.id)
    ).all()
    asked = set(
        db.session.scalars(select(ReferenceAssignment.advocate_id).where(ReferenceAssignment.request_id == request.id))
    )
    last_tapped = dict(
        db.session.execute(
            select(Ask.advocate_id, func.max(Ask.asked_at))
            .where(Ask.kind == AskKind.REFERENCE_CALL, Ask.cancelled_at.is_(None))
            .group_by(Ask.advocate_id)
        ).all()
    )
    past_use_cases: dict[int, set[str]] = {}
    for advocate_id, use_case in db.session.execute(
        select(ReferenceAssignment.advocate_id, ReferenceRequest.use_case)
        .join(ReferenceRequest, ReferenceRequest.id == ReferenceAssignment.request_id)
        .where(ReferenceAssignment.status.in_([AssignmentStatus.ACCEPTED, AssignmentStatus.COMPLETED]))
    ):
        past_use_cases.setdefault(advocate_id, set()).add(use_case)
    available: list[matching.AdvocateFit] = []
    exclusions: list[matching.Exclusion] = []
    for advocate, name in rows:
        if advocate.id in asked:
            exclusions.append(matching.Exclusion(advocate.id, name, "already_asked", None, None))
            continue
        check = caps.check_ask(advocate.id, AskKind.REFERENCE_CALL, at)
        if not check.allowed:
            exclusions.append(
                matching.Exclusion(advocate.id, name, check.code or "capped", check.reason, check.available_at)
            )
            continue
        preferred = (advocate.preferences or {}).get("use_cases")
        use_cases = {u for u in preferred if isinstance(u, str)} if isinstance(preferred, list) else set()
        available.append(
            matching.AdvocateFit(
                advocate.id,
                name,
                advocate.company,
                advocate.title,
                advocate.industry,
                advocate.company_size,
                advocate.region,
                frozenset(use_cases | past_use_cases.get(advocate.id, set())),
                last_tapped.get(advocate.id),
            )
        )
    profile = matching.RequestFit(request.industry, request.company_size, request.use_case, request.region)
    return Matches(matching.rank(profile, available, at), exclusions)


# --- the ask ------------------------------------------------------------------------------


def assign(request_id: int, advocate_id: int, actor_id: int, at: dt.datetime | None = None) -> ReferenceRequest:
    """Ask this advocate: claims their `reference_call` ask atomically (CapReached → 409, and
    nothing is written), then tells them in-app and by email."""
    at = at or utcnow()
    request = _locked(request_id)
    if request.status is not RequestStatus.OPEN:
        raise InvalidState(f"Only an open request can be assigned; this one is {request.status.value}.")
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased or not advocate.user.is_active_user:
        raise ValidationFailed({"advocate_id": "No such advocate."})
    if assignment_of(request.id, advocate.id) is not None:
        raise InvalidState("This advocate was already asked for this request.")
    assignment = ReferenceAssignment(
        request_id=request.id, advocate_id=advocate.id, assigned_by_id=actor_id, asked_at=at
    )
    db.session.add(assignment)
    db.session.flush()
    caps.claim_ask(advocate.id, AskKind.REFERENCE_CALL, bridge.ASSIGNMENT_SOURCE, assignment.id, at=at)
    _move(request, RequestStatus.OPEN, status=RequestStatus.MATCHED, advocate_id=advocate.id, matched_at=at)
    base = current_app.config.get("VOUCH_BASE_URL", "").rstrip("/")
    text = (
        f"Could you take a {request.format.value} reference call with {request.prospect_company} "
        f"({request.industry}, {request.use_case}) by {request.needed_by:%b %-d}?"
    )
    notify(advocate.user_id, "reference_ask", text, f"/me/references/{request.id}")
    queue_email(
        advocate.user.email,
        f"A reference request: {request.prospect_company}",
        f"Hello {advocate.user.name},\n\n{text}\n\nAccept or decline with one click:\n"
        f"{base}/me/references/{request.id}\n\nThank you!",
        "reference_ask",
        advocate.user_id,
    )
    return request


def respond(request_id: int, advocate_id: int, accept: bool, at: dt.datetime | None = None) -> ReferenceRequest:
    """The asked advocate accepts (sales sees their contact details) or declines (the ask is
    released and the request reopens). Only the currently asked advocate may answer."""
    at = at or utcnow()
    request = _locked(request_id)
    assignment = assignment_of(request.id, advocate_id)
    if assignment is None:
        raise NotFound("Reference request not found.")
    if (
        request.status is not RequestStatus.MATCHED
        or request.advocate_id != advocate_id
        or assignment.status is not AssignmentStatus.ASKED
    ):
        raise InvalidState("This request is no longer waiting for your answer.")
    advocate = db.session.get(Advocate, advocate_id)
    if accept:
        _move(request, RequestStatus.MATCHED, status=RequestStatus.ACCEPTED, accepted_at=at)
        assignment.status = AssignmentStatus.ACCEPTED
        assignment.responded_at = at
        sales = request.requested_by
        notify(
            sales.id,
            "reference_accepted",
            f"{advocate.user.name} ({advocate.company or 'an advocate'}) accepted your reference request for "
            f"{request.prospect_company}. Their contact details are on the request.",
            f"/references/{request.id}",
        )
        queue_email(
            sales.email,
            f"Reference accepted: {request.prospect_company}",
            f"{advocate.user.name} <{advocate.user.email}> accepted your reference request for "
            f"{request.prospect_company}. After the call, please tell us how it went.",
            "reference_accepted",
            sales.id,
        )
        webhooks.emit("reference.accepted", str(request.id), accepted_event(request, advocate))
        schedule_tally_for_external_id(request.opportunity_external_id)
    else:
        _move(request, RequestStatus.MATCHED, status=RequestStatus.OPEN, advocate_id=None, matched_at=None)
        assignment.status = AssignmentStatus.DECLINED
        assignment.responded_at = at
        caps.release_ask(bridge.ASSIGNMENT_SOURCE, assignment.id, at=at)
        if assignment.assigned_by_id:
            notify(
                assignment.assigned_by_id,
                "reference_declined",
                f"{advocate.user.name} declined the reference for {request.prospect_company}; "
                "please choose another candidate.",
                f"/admin/references/{request.id}",
            )
    db.session.flush()
    return request


def accepted_event(request: ReferenceRequest, advocate: Advocate) -> dict:
    return {
        "reference_request_id": request.id,
        "opportunity_external_id": request.opportunity_external_id,
        "prospect_company": request.prospect_company,
        "format": request.format.value,
        "needed_by": request.needed_by.isoformat(),
        "accepted_at": request.accepted_at.isoformat(),
        "advocate": {
            "advocate_id": advocate.id,
            "name": advocate.user.name,
            "email": advocate.user.email,
            "title": advocate.title,
            "company": advocate.company,
        },
    }


@dataclass(frozen=True)
class FeedbackInput:
    rating: int
    notes: str | None
    helped: bool


def parse_feedback(data: Mapping[str, Any]) -> FeedbackInput:
    errors: dict[str, str] = {}
    rating = data.get("rating")
    if isinstance(rating, str) and rating.strip().isdigit():
        rating = int(rating.strip())
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        errors["rating"] = "A whole number from 1 to 5."
    notes = data.get("notes")
    if notes is not None and not isinstance(notes, str):
        errors["notes"] = "Must be text."
    elif isinstance(notes, str) and len(notes.strip()) > 2000:
        errors["notes"] = "At most 2,000 characters."
    helped = data.get("helped")
    if isinstance(helped, str) and helped.strip().lower() in {"true", "false", "yes", "no", "1", "0", "on"}:
        helped = helped.strip().lower() in {"true", "yes", "1", "on"}
    if not isinstance(helped, bool):
        errors["helped"] = "Say whether the call helped (true or false)."
    if errors:
        raise ValidationFailed(errors)
    return FeedbackInput(rating, (notes or "").strip() or None, helped)


def give_feedback(request_id: int, user: User, item: FeedbackInput, at: dt.datetime | None = None) -> ReferenceRequest:
    """The call happened: record the sales user's feedback, approve the advocate's
    `reference_call` completion once (through the challenges service), and thank them."""
    at = at or utcnow()
    request = _locked(request_id)
    if not (user.role in STAFF_ROLES or request.requested_by_id == user.id):
        raise NotFound("Reference request not found.")
    if request.status is not RequestStatus.ACCEPTED:
        raise InvalidState(f"Feedback is for an accepted request; this one is {request.status.value}.")
    _move(
        request,
        RequestStatus.ACCEPTED,
        status=RequestStatus.COMPLETED,
        completed_at=at,
        feedback_rating=item.rating,
        feedback_notes=item.notes,
        feedback_helped=item.helped,
        feedback_by_id=user.id,
    )
    assignment = assignment_of(request.id, request.advocate_id)
    assignment.status = AssignmentStatus.COMPLETED
    advocate = db.session.get(Advocate, request.advocate_id)
    completion_id, note = bridge.complete_reference_call(
        request.id,
        assignment.id,
        advocate.id,
        assignment.asked_at,
        f"Reference call with {request.prospect_company} confirmed by {user.name}"
        f" (rating {item.rating}/5{', it helped' if item.helped else ''}).",
    )
    request.completion_id = completion_id
    request.points_note = note
    award_badge(advocate.id, "first_reference")
    points = (
        db.session.scalar(select(Completion.points_awarded).where(Completion.id == completion_id))
        if completion_id
        else None
    )
    thanks = f"Thank you for the reference call with {request.prospect_company}!"
    if item.helped:
        thanks += " The sales team says it helped."
    if points:
        thanks += f" +{points:,} points."
    notify(advocate.user_id, "reference_thanks", thanks, f"/me/references/{request.id}")
    schedule_tally_for_external_id(request.opportunity_external_id)
    db.session.flush()
    return request


def mark_unfilled(request_id: int, actor_id: int, note: str | None) -> ReferenceRequest:
    """No advocate can take it: close it as unfilled and suggest what sales can use instead."""
    if note is not None and len(note) > 500:
        raise ValidationFailed({"note": "At most 500 characters."})
    request = _locked(request_id)
    if request.status is not RequestStatus.OPEN:
        raise InvalidState(f"Only an open request can be marked unfilled; this one is {request.status.value}.")
    _move(
        request,
        RequestStatus.OPEN,
        status=RequestStatus.UNFILLED,
        unfilled_at=utcnow(),
        unfilled_note=(note or "").strip() or None,
        alternatives=alternatives_for(request),
    )
    notify(
        request.requested_by_id,
        "reference_unfilled",
        f"We could not find an advocate for {request.prospect_company}; see the suggested alternatives.",
        f"/references/{request.id}",
    )
    return request


def alternatives_for(request: ReferenceRequest, limit: int = 5) -> list[dict[str, Any]]:
    """Published case studies and reviews by advocates (same industry first)."""
    same_industry = func.lower(func.coalesce(Advocate.industry, "")) == request.industry.lower()
    found: list[dict[str, Any]] = []
    for kind in ("case_study", "review"):
        rows = db.session.execute(
            select(Challenge.title, Completion.evidence_url, Advocate.company, Advocate.industry)
            .join(Completion, Completion.challenge_id == Challenge.id)
            .join(Advocate, Advocate.id == Completion.advocate_id)
            .where(
                Challenge.type == kind, Completion.status == CompletionStatus.APPROVED, Advocate.is_erased.is_(False)
            )
            .order_by(same_industry.desc(), Completion.decided_at.desc())
            .limit(limit)
        ).all()
        for title, url, company, industry in rows:
            found.append(
                {
                    "kind": kind,
                    "title": title,
                    "url": url if url and url.startswith("http") else None,
                    "company": company,
                    "industry": industry,
                }
            )
        if kind == "case_study" and not rows:
            for (title,) in db.session.execute(
                select(Challenge.title)
                .where(Challenge.type == kind, Challenge.status == ChallengeStatus.PUBLISHED)
                .order_by(Challenge.id.desc())
                .limit(limit)
            ):
                found.append({"kind": kind, "title": title, "url": None, "company": None, "industry": None})
    return found


# --- reading --------------------------------------------------------------------------------


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
