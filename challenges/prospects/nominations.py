"""Nominations (product.md §13): sales, managers and owners nominate a customer contact; a
manager approves (→ the normal invitation) or declines with a reason; the nominator is told
either way and sees the status. A nomination of an existing user, or of an email with an open
nomination, is refused — the second by a partial unique index, so two at once cannot both pass."""

from __future__ import annotations

from typing import Annotated

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from challenges.prospects.models import Nomination, NominationStatus
from hub import invitations
from hub.accounts import AdvocateProfile
from hub.audit import record_audit
from hub.contracts import Body
from hub.db import execute_dml, locked_row, utcnow
from hub.errors import InvalidState, NotFound
from hub.extensions import db
from hub.fields import Email, MultiLine, OneLine, PersonName, read
from hub.models import STAFF_ROLES, Role, User
from hub.notifications import notify

NOMINATORS = frozenset({Role.SALES, Role.MANAGER, Role.OWNER})


class NominationBody(Body):
    email: Email
    name: PersonName
    company: Annotated[str, OneLine(160)]
    title: Annotated[str | None, OneLine(120)] = None
    reason: Annotated[str, MultiLine(2000)]


class DeclineBody(Body):
    reason: Annotated[str, MultiLine(2000)]


def nominate(data: NominationBody, nominator: User) -> Nomination:
    """File a nomination; InvalidState when the email has an account or an open nomination."""
    if db.session.scalar(select(User.id).where(User.email == data.email)) is not None:
        raise InvalidState("This person already has an account in the program.")
    row = Nomination(
        email=data.email,
        name=data.name,
        company=data.company,
        title=data.title,
        reason=data.reason,
        nominated_by_id=nominator.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        raise InvalidState("This person has already been nominated and is waiting for a decision.") from None
    for manager_id in db.session.scalars(
        select(User.id).where(User.role.in_(list(STAFF_ROLES)), User.is_active_user.is_(True), User.id != nominator.id)
    ):
        notify(
            manager_id,
            "nomination",
            f"{nominator.name} nominated {data.name} ({data.company}) as an advocate.",
            "/admin/nominations",
            email=False,
        )
    record_audit(nominator.id, "nomination.create", "nomination", row.id, None, {"email": data.email})
    return row


def visible_to(user: User):
    """The nominations `user` may see: staff all, sales their own."""
    query = select(Nomination)
    if user.role not in STAFF_ROLES:
        query = query.where(Nomination.nominated_by_id == user.id)
    return query


def _decide(nomination_id: int, actor: User, status: NominationStatus, reason: str | None) -> Nomination:
    row = locked_row(Nomination, nomination_id)
    if row is None:
        raise NotFound("Nomination not found.")
    moved = execute_dml(
        update(Nomination)
        .where(Nomination.id == row.id, Nomination.status == NominationStatus.NOMINATED)
        .values(status=status, decided_by_id=actor.id, decided_at=utcnow(), decline_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise InvalidState(f"This nomination was already decided ({row.status.value}).")
    db.session.refresh(row)
    return row


def approve(nomination_id: int, actor: User) -> Nomination:
    """Approve → the contact gets the normal invitation; the nominator is told."""
    row = _decide(nomination_id, actor, NominationStatus.INVITED, None)
    profile = read(AdvocateProfile, {"email": row.email, "name": row.name, "company": row.company, "title": row.title})
    if invitations.invite(profile, actor.id) is None:
        raise InvalidState("This person already has an account in the program.")
    notify(
        row.nominated_by_id,
        "nomination_approved",
        f"Your nomination of {row.name} ({row.company}) was approved: they have been invited.",
        "/nominations",
    )
    record_audit(actor.id, "nomination.approve", "nomination", row.id)
    return row


def decline(nomination_id: int, actor: User, reason: str) -> Nomination:
    """Decline with a reason the nominator is told."""
    reason = read(DeclineBody, {"reason": reason}).reason
    row = _decide(nomination_id, actor, NominationStatus.DECLINED, reason)
    notify(
        row.nominated_by_id,
        "nomination_declined",
        f"Your nomination of {row.name} ({row.company}) was declined: {reason}"[:500],
        "/nominations",
    )
    record_audit(actor.id, "nomination.decline", "nomination", row.id, None, {"reason": reason})
    return row
