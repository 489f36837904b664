"""The ask of an advocate for a reference request, and what follows it.

Lifecycle: open → matched (a manager assigned an advocate; their `reference_call` ask is
claimed atomically, 409 cap_reached otherwise) → accepted (the sales user now sees the
advocate's contact details) → completed (the sales user's feedback; the advocate's
`reference_call` completion is approved once). A decline releases the ask and reopens the
request; a request nobody can take is marked unfilled with alternatives. Every transition is
a conditional UPDATE on the request row (locked on PostgreSQL), so two clicks cannot both win.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from flask import current_app
from sqlalchemy import select, update

from challenges import caps
from challenges import services as challenge_services
from challenges.crm import webhooks
from challenges.crm.opportunities import schedule_tally_for_external_id
from challenges.models import AskKind, Completion
from challenges.references.matching import PUBLIC_FORMATS
from challenges.references.models import (
    WITHDRAWABLE,
    AssignmentStatus,
    ReferenceAssignment,
    ReferenceRequest,
    RequestStatus,
)
from challenges.references.services.candidates import alternatives_for
from challenges.references.services.requests import assignment_of, request_for
from hub.audit import record_audit
from hub.contracts import Body
from hub.db import execute_dml, locked_row, utcnow
from hub.email.sending import queue_email
from hub.errors import InvalidState, NotFound, ValidationFailed, VouchError
from hub.extensions import db
from hub.fields import Flag, MultiLine, WholeNumber, read, read_value
from hub.models import STAFF_ROLES, Advocate, Persona, Role, User
from hub.notifications import notify
from rewards.badges import award_badge

# The source of the `reference_call` ask a manager's assignment claims (challenges.caps).
ASSIGNMENT_SOURCE = "reference_assignment"


def _locked(request_id: int) -> ReferenceRequest:
    request = locked_row(ReferenceRequest, request_id)
    if request is None:
        raise NotFound("Reference request not found.")
    return request


def _move(request: ReferenceRequest, from_status: RequestStatus, **values: Any) -> None:
    moved = execute_dml(
        update(ReferenceRequest)
        .where(ReferenceRequest.id == request.id, ReferenceRequest.status == from_status)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        raise InvalidState(f"This request is {request.status.value}, not {from_status.value}.")
    db.session.refresh(request)


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
    if request.format.value in PUBLIC_FORMATS and advocate.persona is Persona.PRIVATE_REFERENCE:
        raise InvalidState("This advocate is a private reference: not for a video call (product.md §13).")
    assignment = ReferenceAssignment(
        request_id=request.id, advocate_id=advocate.id, assigned_by_id=actor_id, asked_at=at
    )
    db.session.add(assignment)
    db.session.flush()
    caps.claim_ask(advocate.id, AskKind.REFERENCE_CALL, ASSIGNMENT_SOURCE, assignment.id, at=at)
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
    advocate = db.session.get_one(Advocate, advocate_id)
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
        caps.release_ask(ASSIGNMENT_SOURCE, assignment.id, at=at)
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
        "accepted_at": request.accepted_at.isoformat() if request.accepted_at else None,
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


class FeedbackBody(Body):
    """After the call: a rating from 1 to 5, notes, and whether it helped the deal."""

    rating: Annotated[int, WholeNumber(1, 5)]
    notes: Annotated[str | None, MultiLine(2000)] = None
    helped: Annotated[bool, Flag()]


def parse_feedback(data: Mapping[str, Any] | FeedbackBody) -> FeedbackInput:
    """Feedback from the form or the API, read through FeedbackBody."""
    body = data if isinstance(data, FeedbackBody) else read(FeedbackBody, data)
    return FeedbackInput(body.rating, body.notes, body.helped)


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
    assert request.advocate_id is not None, "an accepted request has its advocate"
    assignment = assignment_of(request.id, request.advocate_id)
    assert assignment is not None, "and the assignment that asked them"
    assignment.status = AssignmentStatus.COMPLETED
    advocate = db.session.get_one(Advocate, request.advocate_id)
    completion_id, note = complete_reference_call(
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


UnfilledNote = Annotated[str | None, MultiLine(500)]


class UnfilledBody(Body):
    """A note for the sales rep on why no advocate could take it."""

    note: UnfilledNote = None


def mark_unfilled(request_id: int, actor_id: int, note: str | None) -> ReferenceRequest:
    """No advocate can take it: close it as unfilled and suggest what sales can use instead."""
    note = read_value(UnfilledNote, note, "note")
    request = _locked(request_id)
    if request.status is not RequestStatus.OPEN:
        raise InvalidState(f"Only an open request can be marked unfilled; this one is {request.status.value}.")
    _move(
        request,
        RequestStatus.OPEN,
        status=RequestStatus.UNFILLED,
        unfilled_at=utcnow(),
        unfilled_note=note,
        alternatives=alternatives_for(request),
    )
    notify(
        request.requested_by_id,
        "reference_unfilled",
        f"We could not find an advocate for {request.prospect_company}; see the suggested alternatives.",
        f"/references/{request.id}",
    )
    return request


def complete_reference_call(
    request_id: int, assignment_id: int, advocate_id: int, asked_at: dt.datetime, summary: str
) -> tuple[int | None, str | None]:
    """Create and approve the advocate's `reference_call` completion once per request, through
    the challenges service at the time of the ask: the ask claimed at assignment is handed over
    to the completion, so the caps count the call exactly once. A refusal by the challenge rules
    (none open, limit, cap) means no points — returned as the reason, its savepoint rolled back."""
    advocate = db.session.get_one(Advocate, advocate_id)
    found = challenge_services.open_challenges("reference_call", advocate, asked_at)
    if not found:
        return None, "No reference call challenge was open to this advocate when they were asked."
    try:
        with db.session.begin_nested():
            # Released as of its own ask time: the completion's ask, dated then, takes its place
            # from that moment, so a report of any moment counts the call once (released now,
            # the two asks would both count for every moment between the ask and the call).
            released = caps.release_ask(ASSIGNMENT_SOURCE, assignment_id, at=asked_at)
            completion = challenge_services.auto_complete(
                found[0].id,
                advocate_id,
                f"reference-request-{request_id}",
                challenge_services.EvidenceInput(evidence_text=summary[:5000]),
                at=asked_at,
                ask_handed_over=released,
                decided_by_person=True,
            )
    except VouchError as exc:
        return None, exc.message
    return completion.id, None


def withdraw(request_id: int, user: User, at: dt.datetime | None = None) -> ReferenceRequest:
    """The sales user who filed the request, or staff, withdraw it while nobody has agreed yet
    (open, or an advocate asked and not yet answered) → `cancelled`, shown as "Withdrawn".

    An asked advocate's ask is released (it no longer counts in their caps), and they are told
    there is nothing left to do; the manager who asked them is told too. Audited. Raises
    NotFound (404) for a request the user may not see — another rep's request stays private —
    and InvalidState (409 invalid_state) once it was accepted, completed, unfilled or withdrawn:
    the conditional UPDATE on the status makes a second click, or a race with the advocate's
    answer, lose cleanly."""
    at = at or utcnow()
    if user.role is Role.ADVOCATE:
        raise NotFound("Reference request not found.")
    request_for(user, request_id)
    request = _locked(request_id)
    if request.status not in WITHDRAWABLE:
        raise InvalidState(
            f"Only a request nobody has agreed to yet can be withdrawn; this one is {request.status.label.lower()}."
        )
    before = request.status
    asked = (
        assignment_of(request.id, request.advocate_id)
        if before is RequestStatus.MATCHED and request.advocate_id is not None
        else None
    )
    _move(request, before, status=RequestStatus.CANCELLED)
    if asked is not None and asked.status is AssignmentStatus.ASKED:
        caps.release_ask(ASSIGNMENT_SOURCE, asked.id, at=at)
        advocate = asked.advocate
        notify(
            advocate.user_id,
            "reference_withdrawn",
            f"The sales team withdrew the reference request for {request.prospect_company}: "
            "there is nothing more to do, and it does not count as an ask.",
            f"/me/references/{request.id}",
        )
        if asked.assigned_by_id:
            notify(
                asked.assigned_by_id,
                "reference_withdrawn",
                f"{user.name} withdrew the reference request for {request.prospect_company}; "
                f"{advocate.user.name}'s ask was released.",
                f"/admin/references/{request.id}",
            )
    record_audit(
        user.id,
        "reference_request.withdraw",
        "reference_request",
        request.id,
        before={"status": before.value},
        after={"status": RequestStatus.CANCELLED.value},
    )
    db.session.flush()
    return request
