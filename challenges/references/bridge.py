"""Where references and referrals meet challenges: completions go through challenges.services.

- A referral is a completion of an open `referral` challenge (a medium-effort ask, so the
  caps apply): created pending when the referral is made, approved — awarding its points
  once — when the CRM says the lead became an opportunity.
- A reference call's ask is claimed when a manager assigns the advocate (source
  ("reference_assignment", id)). When the sales rep confirms the call, that ask is handed
  over to the advocate's `reference_call` completion, created and approved through the
  challenges service at the time of the ask, so the caps count the call exactly once.
Refusals by the challenge rules (closed, limit, cap) mean "no points", never a failed
referral or reference: they are returned as a reason, and the savepoint is rolled back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from challenges import caps
from challenges.models import Challenge, ChallengeStatus
from hub.db import utcnow
from hub.errors import InvalidState, VouchError
from hub.extensions import db
from hub.models import Advocate

ASSIGNMENT_SOURCE = "reference_assignment"


@dataclass(frozen=True)
class Offer:
    challenge_id: int
    title: str
    points: int
    bonus_points: int


def open_challenges(challenge_type: str, advocate: Advocate, at: dt.datetime | None = None) -> list[Challenge]:
    """Published, in-date challenges of this type targeted to the advocate, oldest first."""
    from challenges import services as challenge_services

    at = at or utcnow()
    rows = db.session.scalars(
        select(Challenge)
        .where(Challenge.type == challenge_type, Challenge.status == ChallengeStatus.PUBLISHED)
        .order_by(Challenge.id)
    ).all()
    return [c for c in rows if challenge_services.is_open(c, at) and challenge_services.is_targeted(c, advocate)]


def open_referral_challenge(advocate_id: int) -> Offer | None:
    advocate = db.session.get(Advocate, advocate_id)
    found = open_challenges("referral", advocate) if advocate is not None else []
    if not found:
        return None
    challenge = found[0]
    return Offer(challenge.id, challenge.title, challenge.points, challenge.bonus_points or 0)


def start_referral_completion(
    offer: Offer, advocate_id: int, referral_id: int, summary: str
) -> tuple[int | None, str | None]:
    """The referral's pending completion (claims a medium ask), or the reason there is none."""
    from challenges import services as challenge_services

    try:
        with db.session.begin_nested():
            completion = challenge_services.submit_completion(
                offer.challenge_id,
                advocate_id,
                challenge_services.EvidenceInput(evidence_text=summary[:5000]),
                source_key=f"referral-{referral_id}",
                system=True,
            )
    except VouchError as exc:
        return None, exc.message
    return completion.id, None


def approve_completion_once(completion_id: int) -> bool:
    """Approve (awarding the points offered) unless it was already decided."""
    from challenges import services as challenge_services

    try:
        with db.session.begin_nested():
            challenge_services.approve_completion(completion_id, None, auto=True)
    except InvalidState:
        return False
    return True


def complete_reference_call(
    request_id: int, assignment_id: int, advocate_id: int, asked_at: dt.datetime, summary: str
) -> tuple[int | None, str | None]:
    """Create and approve the advocate's `reference_call` completion once per request."""
    from challenges import services as challenge_services

    advocate = db.session.get(Advocate, advocate_id)
    found = open_challenges("reference_call", advocate, asked_at)
    if not found:
        return None, "No reference call challenge was open to this advocate when they were asked."
    try:
        with db.session.begin_nested():
            released = caps.release_ask(ASSIGNMENT_SOURCE, assignment_id)
            completion = challenge_services.auto_complete(
                found[0].id,
                advocate_id,
                f"reference-request-{request_id}",
                challenge_services.EvidenceInput(evidence_text=summary[:5000]),
                at=asked_at,
                ask_handed_over=released,
            )
    except VouchError as exc:
        return None, exc.message
    return completion.id, None
