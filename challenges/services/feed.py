"""Targeting and the advocate's feed: which challenges they see, and for each whether they can
take it now — and if not, why and from when (limits, cooldowns, places, caps)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select

from challenges import caps, verifiers
from challenges.caps import day_label
from challenges.models import (
    COUNTING,
    IN_FLIGHT,
    Challenge,
    ChallengeStatus,
    Completion,
    CompletionStatus,
)
from hub.db import utcnow
from hub.errors import (
    NotFound,
)
from hub.extensions import db
from hub.models import Advocate

# --- targeting and the feed ----------------------------------------------------------------


def is_targeted(challenge: Challenge, advocate: Advocate, advocate_group_ids: set[int] | None = None) -> bool:
    """All tiers/groups when the lists are empty; otherwise the advocate's tier and one group."""
    if challenge.target_tiers and advocate.tier.value not in challenge.target_tiers:
        return False
    if challenge.target_groups:
        group_ids = advocate_group_ids if advocate_group_ids is not None else {g.id for g in advocate.groups}
        return any(g.id in group_ids for g in challenge.target_groups)
    return True


def is_open(challenge: Challenge, at: dt.datetime) -> bool:
    return (
        challenge.status is ChallengeStatus.PUBLISHED
        and (challenge.starts_at is None or challenge.starts_at <= at)
        and (challenge.ends_at is None or at < challenge.ends_at)
    )


def visible_challenge(challenge_id: int, advocate: Advocate) -> Challenge:
    """A challenge as an advocate may see it: published or closed, and targeted to them."""
    challenge = db.session.get(Challenge, challenge_id)
    if (challenge is None or challenge.status not in (ChallengeStatus.PUBLISHED, ChallengeStatus.CLOSED)
            or not is_targeted(challenge, advocate)):
        raise NotFound("Challenge not found.")
    return challenge


@dataclass(frozen=True)
class FeedItem:
    challenge: Challenge
    type: verifiers.ChallengeType
    available: bool
    locked_reason: str | None
    available_at: dt.datetime | None
    latest: Completion | None = None
    times_done: int = 0
    lock_code: str | None = None
    history: list[Completion] = field(default_factory=list)

    @property
    def time_estimate(self) -> str:
        return verifiers.EFFORT_TIME[self.challenge.effort]


def _history(challenge_ids: list[int], advocate_id: int) -> dict[int, list[Completion]]:
    found: dict[int, list[Completion]] = {cid: [] for cid in challenge_ids}
    if challenge_ids:
        for c in db.session.scalars(
            select(Completion).where(Completion.advocate_id == advocate_id, Completion.challenge_id.in_(challenge_ids))
            .order_by(Completion.submitted_at.desc(), Completion.id.desc())
        ):
            found[c.challenge_id].append(c)
    return found


def _taken(challenges: list[Challenge]) -> dict[int, int]:
    """Places taken, for the challenges that have a total limit (the only ones that need it):
    counting every completion of every challenge on each feed read would scan them all."""
    limited = [c.id for c in challenges if c.max_total is not None]
    if not limited:
        return {}
    return dict(db.session.execute(
        select(Completion.challenge_id, func.count())
        .where(Completion.challenge_id.in_(limited), Completion.status.in_(COUNTING))
        .group_by(Completion.challenge_id)
    ).all())


def _lock_for(challenge: Challenge, history: list[Completion], taken: int, cap_checks: dict,
              at: dt.datetime) -> tuple[str | None, str | None, dt.datetime | None]:
    """(code, reason, available_at) when the advocate cannot take the challenge now."""
    spec = verifiers.TYPES.get(challenge.type)
    counting = [c for c in history if c.status in COUNTING]
    if any(c.status in IN_FLIGHT for c in history):
        return "already_submitted", "You have sent this in — it is being checked.", None
    if len(counting) >= challenge.max_per_advocate:
        return "limit_reached", "You have completed this challenge — thank you!", None
    if counting and challenge.cooldown_days:
        last = max(c.submitted_at for c in counting)
        again = last + dt.timedelta(days=challenge.cooldown_days)
        if at < again:
            return ("limit_reached", f"You did this on {day_label(last, at)} — again from {day_label(again, at)}",
                    again)
    if challenge.max_total is not None and taken >= challenge.max_total:
        return "limit_reached", "All places for this challenge have been taken.", None
    kind = verifiers.ask_kind_for(challenge.type, challenge.effort)
    if kind is not None and spec is not None and spec.self_service:
        check = cap_checks.get(kind)
        if check is not None and not check.allowed:
            return "cap_reached", check.reason, check.available_at
    return None, None, None


def feed_for(advocate: Advocate, at: dt.datetime | None = None) -> list[FeedItem]:
    """Published, in-date challenges targeted to the advocate, each with whether they can
    take it now and, if not, why and from when. A fixed number of queries."""
    at = at or utcnow()
    candidates = db.session.scalars(
        select(Challenge).where(
            Challenge.status == ChallengeStatus.PUBLISHED,
            or_(Challenge.starts_at.is_(None), Challenge.starts_at <= at),
            or_(Challenge.ends_at.is_(None), Challenge.ends_at > at),
        )
    ).all()
    group_ids = {g.id for g in advocate.groups}
    targeted = [c for c in candidates if is_targeted(c, advocate, group_ids)]
    ids = [c.id for c in targeted]
    history = _history(ids, advocate.id)
    taken = _taken(targeted)
    kinds = {verifiers.ask_kind_for(c.type, c.effort) for c in targeted} - {None}
    cap_checks = caps.check_asks(advocate.id, kinds, at)
    liked = set((advocate.preferences or {}).get("activity_types") or [])
    items = []
    for challenge in targeted:
        mine = history[challenge.id]
        code, reason, available_at = _lock_for(challenge, mine, taken.get(challenge.id, 0), cap_checks, at)
        items.append(FeedItem(
            challenge=challenge, type=verifiers.TYPES.get(challenge.type) or verifiers.TYPES["custom"],
            available=code is None, locked_reason=reason, available_at=available_at,
            latest=mine[0] if mine else None,
            times_done=sum(1 for c in mine if c.status is CompletionStatus.APPROVED),
            lock_code=code, history=mine,
        ))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    items.sort(key=lambda i: (not i.available, i.lock_code == "limit_reached" and i.available_at is None,
                              i.challenge.type not in liked, i.challenge.ends_at or far, -i.challenge.points,
                              i.challenge.id))
    return items


def feed_item(challenge: Challenge, advocate: Advocate, at: dt.datetime | None = None) -> FeedItem:
    """One challenge as the feed would show it to this advocate (for its own page)."""
    at = at or utcnow()
    mine = _history([challenge.id], advocate.id)[challenge.id]
    kind = verifiers.ask_kind_for(challenge.type, challenge.effort)
    cap_checks = {kind: caps.check_ask(advocate.id, kind, at)} if kind else {}
    code, reason, available_at = _lock_for(challenge, mine, _taken([challenge]).get(challenge.id, 0),
                                           cap_checks, at)
    if code is None and not is_open(challenge, at):
        code, reason = "challenge_closed", "This challenge is closed."
    return FeedItem(challenge, verifiers.TYPES.get(challenge.type) or verifiers.TYPES["custom"], code is None,
                    reason, available_at, mine[0] if mine else None,
                    sum(1 for c in mine if c.status is CompletionStatus.APPROVED), code, mine)
