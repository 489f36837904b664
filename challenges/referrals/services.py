"""Referrals: an advocate refers a peer; the CRM later says whether the lead became a deal.

Abuse never pays: a referral of oneself, of an existing user (or pending invitee), or of an
email already referred — compared by `values.email_key`, so case and `+tags` do not matter —
earns nothing and is flagged for staff. "Already referred" is decided by a unique index on the
first referral's key, so two simultaneous referrals of the same person cannot both count.

Caps and breaks: the referral form is locked in advance, with the reason and date, while a cap
or a break stops the advocate taking the referral challenge (the feed's rule; a submission then is refused 409
`cap_reached`). A referral whose ask could not be taken when it was made is decided when the
CRM names it, against the caps at that time (issue 12 item 7).

Points: when a `referral` challenge is open to the advocate, the referral is a completion of it;
its `points` are awarded when a CRM opportunity names the referral (that completion is approved,
so the entry is the completion's: ("completion", id), kind earn) and its `bonus_points` when that deal is won
(("referral_won", id), kind bonus) — each once, however often the CRM repeats the event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, Field
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from challenges import services as challenge_services
from challenges import trust
from challenges.crm import webhooks
from challenges.crm.models import Opportunity
from challenges.models import Completion, CompletionStatus
from challenges.referrals.models import FlagReason, Referral, ReferralStatus
from challenges.services.verification import held_for_review, send_to_review
from challenges.values import email_key
from hub.contracts import Body
from hub.db import locked_row, utcnow
from hub.errors import CapReached, InvalidState, NotFound, VouchError
from hub.extensions import db
from hub.fields import Email, Flag, MultiLine, OneLine, PersonName, invalid, read
from hub.models import Advocate, Invite, User
from hub.notifications import notify
from hub.search import ESCAPE, like_escape
from hub.signals import completion_approved
from rewards.ledger import post_entry
from rewards.models import EntryKind


@dataclass(frozen=True)
class Offer:
    """The open `referral` challenge a new referral would complete, at its current points, and
    whether the advocate may take it now — the feed's rule (`challenges.services.feed_item`):
    `lock_code` `cap_reached` or `on_break` locks the form (a referral would be an ask, and a
    break pauses every challenge the advocate takes on: issue 19's one break rule), another lock
    (a limit of the challenge) means a referral earns no points; `locked_reason` says why and
    until when (`available_at`)."""

    challenge_id: int
    title: str
    points: int
    bonus_points: int
    lock_code: str | None = None
    locked_reason: str | None = None
    available_at: dt.datetime | None = None

    @property
    def form_locked(self) -> bool:
        return self.lock_code in ("cap_reached", "on_break")


def open_referral_challenge(advocate_id: int) -> Offer | None:
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None:
        return None
    found = challenge_services.open_challenges("referral", advocate)
    if not found:
        return None
    challenge = found[0]
    item = challenge_services.feed_item(challenge, advocate)
    return Offer(
        challenge.id,
        challenge.title,
        challenge.points,
        challenge.bonus_points or 0,
        item.lock_code,
        item.locked_reason,
        item.available_at,
    )


def start_referral_completion(
    offer: Offer,
    advocate_id: int,
    referral_id: int,
    summary: str,
    *,
    at: dt.datetime | None = None,
    open_at: dt.datetime | None = None,
    final: bool = False,
) -> tuple[int | None, str | None]:
    """The referral's pending completion (a medium-effort ask, so the caps apply), or the reason
    there is none (closed, limit: no points, never a failed referral). A cap reached at
    submission decides nothing (None, None) unless `final`: the award is decided when the CRM
    names the referral, against the caps at that time (issue 12 item 7)."""
    try:
        with db.session.begin_nested():
            completion = challenge_services.submit_completion(
                offer.challenge_id,
                advocate_id,
                challenge_services.EvidenceInput(evidence_text=summary[:5000]),
                at=at,
                source_key=f"referral-{referral_id}",
                system=True,
                open_at=open_at,
            )
    except CapReached as exc:
        return None, exc.message if final else None
    except VouchError as exc:
        return None, exc.message
    return completion.id, None


def approve_completion_once(completion_id: int) -> bool:
    """Approve (awarding the points offered) unless it was already decided — or, while the
    advocate's trust score is below the owner's threshold, send it to the review queue with the
    reason, as every automatic approval (product.md §15). True when approved now."""
    completion = db.session.get(Completion, completion_id)
    if completion is not None and completion.status in (CompletionStatus.SUBMITTED, CompletionStatus.VERIFYING):
        hold = held_for_review(completion)
        if hold is not None:
            send_to_review(completion_id, hold)
            return False
    try:
        with db.session.begin_nested():
            challenge_services.approve_completion(completion_id, None, auto=True)
    except InvalidState:
        return False
    return True


FLAG_TEXT = {
    FlagReason.SELF_REFERRAL: "Referred their own email address",
    FlagReason.EXISTING_USER: "An existing user or pending invitee",
    FlagReason.ALREADY_REFERRED: "Already referred (same email, ignoring case and +tags)",
}


def _agreed(consent: bool) -> bool:
    if not consent:
        raise invalid("Confirm that this person agreed to be contacted.")
    return consent


class ReferralInput(Body):
    """A peer an advocate refers (form or API): they must have agreed to be contacted."""

    name: PersonName
    email: Email
    company: Annotated[str, OneLine(160)]
    title: Annotated[str | None, OneLine(120)] = None
    notes: Annotated[str | None, MultiLine(2000)] = None
    consent: Annotated[bool, Flag(), AfterValidator(_agreed)] = Field(False, validate_default=True)


def parse_referral(data: Mapping[str, Any] | ReferralInput) -> ReferralInput:
    """A referral from the form or the API, read through ReferralInput."""
    return data if isinstance(data, ReferralInput) else read(ReferralInput, data)


def _is_existing_person(key: str) -> bool:
    local, _, domain = key.rpartition("@")
    pattern = f"{like_escape(local)}+%@{like_escape(domain)}"
    user = db.session.scalar(
        select(User.id).where(or_(User.email == key, User.email.like(pattern, escape=ESCAPE))).limit(1)
    )
    if user is not None:
        return True
    return (
        db.session.scalar(
            select(Invite.id)
            .where(
                or_(Invite.email == key, Invite.email.like(pattern, escape=ESCAPE)),
                Invite.used_at.is_(None),
                Invite.expires_at > utcnow(),
            )
            .limit(1)
        )
        is not None
    )


def submit_referral(advocate_id: int, item: ReferralInput) -> Referral:
    """Record a referral; flag abuse; otherwise make it a completion of an open referral
    challenge (points later, from the CRM) and tell the CRM by webhook."""
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        raise NotFound("Advocate not found.")
    offer = open_referral_challenge(advocate.id)
    if offer is not None and offer.form_locked:
        raise CapReached(
            f"Referrals are locked for you: {offer.locked_reason}",
            available_at=offer.available_at,
            reason_code="cap_reached",
        )
    key = email_key(item.email)
    flag: FlagReason | None = None
    if key == email_key(advocate.user.email):
        flag = FlagReason.SELF_REFERRAL
    elif _is_existing_person(key):
        flag = FlagReason.EXISTING_USER
    fields = {
        "advocate_id": advocate.id,
        "name": item.name,
        "email": item.email,
        "email_key": key,
        "company": item.company,
        "title": item.title,
        "notes": item.notes,
        "consent": item.consent,
    }
    referral: Referral | None = None
    if flag is None:
        try:
            with db.session.begin_nested():
                referral = Referral(**fields, claimed_email_key=key)
                db.session.add(referral)
                db.session.flush()
        except IntegrityError:
            referral = None
            flag = FlagReason.ALREADY_REFERRED
    if flag is not None:
        referral = Referral(**fields, status=ReferralStatus.FLAGGED, flag_reason=flag)
        db.session.add(referral)
        db.session.flush()
        trust.flagged_referral(referral.id, advocate.id, str(flag).replace("_", " "))
        return referral
    assert referral is not None, "not flagged: the claim above was written"

    if offer is None:
        referral.no_points_reason = "No referral challenge is open to you right now."
    else:
        referral.challenge_id = offer.challenge_id
        referral.points = offer.points
        referral.bonus_points = offer.bonus_points
        referral.completion_id, referral.no_points_reason = start_referral_completion(
            offer, advocate.id, referral.id, _summary(referral)
        )
    db.session.flush()
    webhooks.emit("referral.created", str(referral.id), referral_event(referral))
    return referral


def referral_event(referral: Referral) -> dict:
    return {
        "referral_id": referral.id,
        "name": referral.name,
        "email": referral.email,
        "company": referral.company,
        "title": referral.title,
        "notes": referral.notes,
        "consent": referral.consent,
        "referred_by": {
            "advocate_id": referral.advocate_id,
            "name": referral.advocate.user.name,
            "company": referral.advocate.company,
        },
        "created_at": referral.created_at.isoformat(),
    }


def award_for_opportunity(referral_id: int, opportunity: Opportunity) -> None:
    """The lead became an opportunity: approve the referral's completion (its points, once);
    the deal was won: the bonus, once (ledger key ("referral_won", id), kind bonus), only if
    the completion was approved. Repeated CRM events change nothing."""
    referral = locked_row(Referral, referral_id)
    if referral is None or referral.is_flagged:
        return
    now = utcnow()
    db.session.execute(
        update(Referral)
        .where(Referral.id == referral.id, Referral.status == ReferralStatus.SUBMITTED)
        .values(status=ReferralStatus.OPPORTUNITY, opportunity_at=now)
        .execution_options(synchronize_session=False)
    )
    if opportunity.is_won:
        db.session.execute(
            update(Referral)
            .where(Referral.id == referral.id, Referral.status != ReferralStatus.WON)
            .values(status=ReferralStatus.WON, won_at=func.coalesce(Referral.won_at, now))
            .execution_options(synchronize_session=False)
        )
    if referral.completion_id is None and referral.challenge_id is not None and referral.no_points_reason is None:
        _decide_award(referral, now)
    if referral.completion_id is not None:
        approve_completion_once(referral.completion_id)
        approved = (
            db.session.scalar(select(Completion.status).where(Completion.id == referral.completion_id))
            == CompletionStatus.APPROVED
        )
        if opportunity.is_won and approved:
            _pay_won_bonus(referral)
    db.session.expire(referral)


def _pay_won_bonus(referral: Referral) -> None:
    """The bonus for the referral's won deal (`bonus_points`, kind bonus), once: the ledger key
    ("referral_won", id) makes a repeat post nothing, and only the first post notifies. The caller
    has checked that the deal is won and the referral's completion approved."""
    if referral.bonus_points <= 0:
        return
    posted = post_entry(
        referral.advocate_id,
        referral.bonus_points,
        kind=EntryKind.BONUS,
        source_type="referral_won",
        source_id=referral.id,
        memo=f"Your referral of {referral.name} closed won",
    )
    if posted.is_new:
        notify(
            referral.advocate.user_id,
            "referral",
            f"The deal from your referral of {referral.name} was won: +{referral.bonus_points:,} "
            "bonus points. Thank you!",
            "/referrals",
        )


def _on_completion_approved(
    _sender: object, *, completion_id: int, challenge_type: str | None = None, **_: Any
) -> None:
    """A referral's completion approved after its deal was won — held for review while the
    advocate's trust score was low (product.md §15), then approved by a manager: the bonus is paid
    in the approving transaction, not at the CRM's next event for that deal (which may never come).
    Status and flag are read as columns, so an earlier bulk UPDATE in this transaction counts."""
    if challenge_type != "referral":
        return
    row = db.session.execute(
        select(Referral.id, Referral.status, Referral.flag_reason).where(Referral.completion_id == completion_id)
    ).first()
    if row is None or row.flag_reason is not None or row.status != ReferralStatus.WON:
        return
    _pay_won_bonus(db.session.get_one(Referral, row.id))


completion_approved.connect(_on_completion_approved, weak=False)


def _summary(referral: Referral) -> str:
    return f"Referred {referral.name} ({referral.company}, {referral.email})"


def _decide_award(referral: Referral, now: dt.datetime) -> None:
    """A referral whose ask was not taken when it was made (a cap reached in between): take it
    now, against the caps at this time, for a challenge that was open when the advocate
    referred, at the points they were shown; or record (and tell them) why it earns nothing."""
    assert referral.challenge_id is not None, "called only for a referral with its challenge"
    offer = Offer(referral.challenge_id, "", referral.points or 0, referral.bonus_points or 0)
    completion_id, reason = start_referral_completion(
        offer, referral.advocate_id, referral.id, _summary(referral), at=now, open_at=referral.created_at, final=True
    )
    referral.completion_id, referral.no_points_reason = completion_id, reason
    if completion_id is not None and referral.points is not None:
        db.session.get_one(Completion, completion_id).points_offered = referral.points
    elif reason is not None:
        notify(
            referral.advocate.user_id,
            "referral",
            f"Your referral of {referral.name} became an opportunity but earns no points: {reason}",
            "/referrals",
        )
    db.session.flush()


def dismiss_flag(referral_id: int, actor_id: int) -> Referral:
    """Staff have looked at a flagged referral (it still earns nothing)."""
    from hub.audit import record_audit

    referral = db.session.get(Referral, referral_id)
    if referral is None:
        raise NotFound("Referral not found.")
    if referral.is_flagged and referral.flag_reviewed_at is None:
        referral.flag_reviewed_at = utcnow()
        record_audit(
            actor_id, "referral.flag_reviewed", "referral", referral.id, None, {"flag": str(referral.flag_reason)}
        )
    return referral


def advocate_message(referral: Referral) -> str:
    """What the advocate is told about a flagged referral (never whether someone else is a user)."""
    if referral.flag_reason is FlagReason.SELF_REFERRAL:
        return "You cannot refer yourself; this referral earns no points."
    return "This person is already known to the program, so this referral earns no points."


def list_referrals(
    advocate_id: int | None, flagged: bool | None, page: int, per_page: int
) -> tuple[list[Referral], int]:
    query = select(Referral)
    if advocate_id is not None:
        query = query.where(Referral.advocate_id == advocate_id)
    if flagged is True:
        query = query.where(Referral.flag_reason.is_not(None))
    elif flagged is False:
        query = query.where(Referral.flag_reason.is_(None))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = db.session.scalars(
        query.order_by(Referral.created_at.desc(), Referral.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return list(rows), total
