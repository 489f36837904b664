"""Targeting and the advocate's feed: which challenges they see, and for each whether they can
take it now — and if not, why and from when (limits, cooldowns, places, caps)."""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, load_only, scoped_session

from challenges import caps, verifiers
from challenges.caps import day_label
from challenges.models import (
    COUNTING,
    IN_FLIGHT,
    AskKind,
    Challenge,
    ChallengeStatus,
    Completion,
    CompletionStatus,
    challenge_groups,
)
from hub.db import utcnow, write_intent
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


def open_challenges(challenge_type: str, advocate: Advocate, at: dt.datetime | None = None) -> list[Challenge]:
    """Published, in-date challenges of this type targeted to the advocate, oldest first (the
    challenges a referral or a reference call can complete)."""
    at = at or utcnow()
    rows = db.session.scalars(
        select(Challenge)
        .where(Challenge.type == challenge_type, Challenge.status == ChallengeStatus.PUBLISHED)
        .order_by(Challenge.id)
    ).all()
    return [c for c in rows if is_open(c, at) and is_targeted(c, advocate)]


def visible_challenge(challenge_id: int, advocate: Advocate) -> Challenge:
    """A challenge as an advocate may see it: published or closed, and targeted to them."""
    challenge = db.session.get(Challenge, challenge_id)
    if (
        challenge is None
        or challenge.status not in (ChallengeStatus.PUBLISHED, ChallengeStatus.CLOSED)
        or not is_targeted(challenge, advocate)
    ):
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
    # After a rejection: the tries left in this round and when a used-up round opens again.
    tries: RetryRound | None = None

    @property
    def time_estimate(self) -> str:
        return verifiers.EFFORT_TIME[self.challenge.effort]


def _history(challenge_ids: list[int], advocate_id: int) -> dict[int, list[Completion]]:
    found: dict[int, list[Completion]] = {cid: [] for cid in challenge_ids}
    if challenge_ids:
        for c in db.session.scalars(
            select(Completion)
            .where(Completion.advocate_id == advocate_id, Completion.challenge_id.in_(challenge_ids))
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
    return dict(
        db.session.execute(
            select(Completion.challenge_id, func.count())
            .where(Completion.challenge_id.in_(limited), Completion.status.in_(COUNTING))
            .group_by(Completion.challenge_id)
        ).all()
    )


@dataclass(frozen=True)
class MyRecord:
    """What the rules need of one advocate's completions of one challenge."""

    counting: int = 0
    approved: int = 0
    in_flight: bool = False
    last_counting_at: dt.datetime | None = None
    latest: Completion | None = None
    # When each rejected try since the last counting completion was decided, oldest first: an
    # approval (or a try in flight) starts the tries afresh.
    rejected: tuple[dt.datetime, ...] = ()

    @classmethod
    def of(cls, history: list[Completion]) -> MyRecord:
        """From the full history, newest first (a challenge's own page shows it all)."""
        counting = [c.submitted_at for c in history if c.status in COUNTING]
        last = max(counting, default=None)
        rejected = [(c.submitted_at, rejected_at(c)) for c in history if c.status is CompletionStatus.REJECTED]
        return cls(
            len(counting),
            sum(1 for c in history if c.status is CompletionStatus.APPROVED),
            any(c.status in IN_FLIGHT for c in history),
            last,
            history[0] if history else None,
            tries_since(rejected, last),
        )


def tries_since(
    rejected: list[tuple[dt.datetime, dt.datetime]], last_counting: dt.datetime | None
) -> tuple[dt.datetime, ...]:
    """The decision times, oldest first, of the rejected tries (submitted_at, decided_at)
    submitted after the last counting completion."""
    return tuple(sorted(d for s, d in rejected if last_counting is None or s > last_counting))


def rejected_at(completion: Completion) -> dt.datetime:
    """When a rejected try counts from: its decision (its submission when none was recorded)."""
    return completion.decided_at or completion.submitted_at


@dataclass(frozen=True)
class RetryRound:
    """Where an advocate stands with a challenge's tries: `used` rejected tries in the current
    round (of `limit`), and `wait_until` when the round is used up and its wait not yet over."""

    used: int
    limit: int
    wait_until: dt.datetime | None

    @property
    def left(self) -> int:
        return self.limit - self.used


def retry_round(challenge: Challenge, rejected: tuple[dt.datetime, ...], at: dt.datetime) -> RetryRound:
    """The retry rule (issue 19): `retry_limit` rejected tries, then no try until
    `retry_wait_hours` after the last of them; then a fresh round of `retry_limit` tries.
    `rejected` are the decision times of the advocate's rejected tries, oldest first."""
    used = 0
    ends: dt.datetime | None = None
    for decided in rejected:
        used += 1
        if used >= challenge.retry_limit:
            ends = decided + dt.timedelta(hours=challenge.retry_wait_hours)
            used = 0
    waiting = ends if used == 0 and ends is not None and at < ends else None
    return RetryRound(used, challenge.retry_limit, waiting)


def _records(challenge_ids: list[int], advocate_id: int) -> dict[int, MyRecord]:
    """Per challenge, the advocate's completion counts and latest completion, in two queries
    whose cost does not grow with a long history (only the latest rows are loaded)."""
    if not challenge_ids:
        return {}
    counting = Completion.status.in_(COUNTING)
    mine = (Completion.advocate_id == advocate_id, Completion.challenge_id.in_(challenge_ids))
    sums = db.session.execute(
        select(
            Completion.challenge_id,
            func.count().filter(counting),
            func.count().filter(Completion.status == CompletionStatus.APPROVED),
            func.count().filter(Completion.status.in_(IN_FLIGHT)),
            func.max(Completion.submitted_at).filter(counting),
        )
        .where(*mine)
        .group_by(Completion.challenge_id)
    ).all()
    if not sums:
        return {}
    ranked = (
        select(
            Completion.id,
            func.row_number()
            .over(partition_by=Completion.challenge_id, order_by=(Completion.submitted_at.desc(), Completion.id.desc()))
            .label("n"),
        )
        .where(*mine)
        .subquery()
    )
    latest = {
        c.challenge_id: c
        for c in db.session.scalars(
            select(Completion)
            .join(ranked, ranked.c.id == Completion.id)
            .where(ranked.c.n == 1)
            .options(
                load_only(
                    Completion.id,
                    Completion.challenge_id,
                    Completion.status,
                    Completion.points_offered,
                    Completion.points_awarded,
                    Completion.reason,
                    Completion.submitted_at,
                )
            )
        )
    }
    rejected: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for cid, decided, submitted in db.session.execute(
        select(Completion.challenge_id, Completion.decided_at, Completion.submitted_at).where(
            *mine, Completion.status == CompletionStatus.REJECTED
        )
    ):
        rejected.setdefault(cid, []).append((submitted, decided or submitted))
    return {
        cid: MyRecord(
            n_counting, n_approved, n_flight > 0, last, latest.get(cid), tries_since(rejected.get(cid, []), last)
        )
        for cid, n_counting, n_approved, n_flight, last in sums
    }


@dataclass(frozen=True)
class LimitBlock:
    """Which of a challenge's own limits stops the advocate: `in_flight` (one is being
    checked), `per_advocate`, `cooldown` (from `last` until `again`), `retry_wait` (tries used up
    until `again`) or `places` (max_total)."""

    rule: str
    last: dt.datetime | None = None
    again: dt.datetime | None = None


def limit_block(challenge: Challenge, mine: MyRecord, taken: int, at: dt.datetime) -> LimitBlock | None:
    """The challenge's limits for this advocate at `at` — the one rule behind both the feed's
    lock and the refusal of a submission (each words it for its place)."""
    if mine.in_flight:
        return LimitBlock("in_flight")
    if mine.counting >= challenge.max_per_advocate:
        return LimitBlock("per_advocate")
    if mine.counting and challenge.cooldown_days and mine.last_counting_at is not None:
        again = mine.last_counting_at + dt.timedelta(days=challenge.cooldown_days)
        if at < again:
            return LimitBlock("cooldown", mine.last_counting_at, again)
    if mine.rejected:
        tries = retry_round(challenge, mine.rejected, at)
        if tries.wait_until is not None:
            return LimitBlock("retry_wait", mine.rejected[-1], tries.wait_until)
    if challenge.max_total is not None and taken >= challenge.max_total:
        return LimitBlock("places")
    return None


def moment_label(value: dt.datetime, at: dt.datetime) -> str:
    """ "Nov 3 at 14:05 UTC" — a day and a time, for waits measured in hours."""
    return f"{day_label(value, at)} at {value:%H:%M} UTC"


def retry_wait_reason(challenge: Challenge, again: dt.datetime, at: dt.datetime) -> str:
    """The advocate-facing reason for a used-up round of tries."""
    tries = "try" if challenge.retry_limit == 1 else f"{challenge.retry_limit} tries"
    return f"You have used your {tries} — you can try again from {moment_label(again, at)}."


def _lock_for(
    challenge: Challenge,
    mine: MyRecord,
    taken: int,
    cap_checks: dict[AskKind, caps.CapCheck],
    at: dt.datetime,
    on_break: caps.Break | None = None,
) -> tuple[str | None, str | None, dt.datetime | None]:
    """(code, reason, available_at) when the advocate cannot take the challenge now. A break
    (caps.current_break) locks every challenge the advocate takes on themselves, after the
    challenge's own limits (which say more: "being checked", "completed")."""
    spec = verifiers.TYPES.get(challenge.type)
    block = limit_block(challenge, mine, taken, at)
    if block is not None:
        if block.rule == "in_flight":
            return "already_submitted", "You have sent this in — it is being checked.", None
        if block.rule == "per_advocate":
            return "limit_reached", "You have completed this challenge — thank you!", None
        if block.rule == "cooldown" and block.last is not None and block.again is not None:
            return (
                "limit_reached",
                f"You did this on {day_label(block.last, at)} — again from {day_label(block.again, at)}",
                block.again,
            )
        if block.rule == "retry_wait" and block.again is not None:
            return "limit_reached", retry_wait_reason(challenge, block.again, at), block.again
        return "limit_reached", "All places for this challenge have been taken.", None
    if on_break is not None and spec is not None and (spec.self_service or spec.started_by_advocate):
        return "on_break", on_break.reason(at), on_break.back_at
    kind = verifiers.ask_kind_for(challenge.type, challenge.effort)
    if kind is not None and spec is not None and (spec.self_service or spec.started_by_advocate):
        check = cap_checks.get(kind)
        if check is not None and not check.allowed:
            return "cap_reached", check.reason, check.available_at
    return None, None, None


# engine → (stamp, published challenges): see published_challenges.
_published: weakref.WeakKeyDictionary[Engine, tuple[tuple[Any, ...], list[Challenge]]] = weakref.WeakKeyDictionary()
_published_lock = threading.Lock()


def _published_stamp(session: Session | scoped_session[Any]) -> tuple[Any, ...]:
    return tuple(
        session.execute(
            select(
                func.count(),
                func.max(Challenge.updated_at),
                select(func.count()).select_from(challenge_groups).scalar_subquery(),
            ).where(Challenge.status == ChallengeStatus.PUBLISHED)
        ).one()
    )


def published_challenges() -> list[Challenge]:
    """Every published challenge, as read-only objects shared by this process's requests.

    Loading a few hundred challenges (JSON columns, dates, target groups) is most of a feed
    read, and they change only when staff edit them. One cheap query reads a stamp that any
    change moves — publish/close/archive or edit (each bumps `updated_at`; the count covers a
    challenge leaving the published set) or a challenge's target groups — and the list is
    reloaded only then. The objects come from their own session and are detached: never part
    of a request's unit of work, their target groups loaded. That session reads the stamp
    *before* the rows, so a change committed in between can only make the next read reload."""
    key = db.engine
    cached = _published.get(key)
    if cached is not None and cached[0] == _published_stamp(db.session):
        return cached[1]
    reading = write_intent.set(False)  # a plain read: on SQLite, no second writer lock
    try:
        with Session(db.engine, expire_on_commit=False) as session:
            stamp = _published_stamp(session)
            rows = list(
                session.scalars(
                    select(Challenge).where(Challenge.status == ChallengeStatus.PUBLISHED).order_by(Challenge.id)
                )
            )
            session.expunge_all()
    finally:
        write_intent.reset(reading)
    with _published_lock:
        _published[key] = (stamp, rows)
    return rows


def feed_for(advocate: Advocate, at: dt.datetime | None = None) -> list[FeedItem]:
    """Published, in-date challenges targeted to the advocate, each with whether they can
    take it now and, if not, why and from when. A fixed number of queries."""
    at = at or utcnow()
    candidates = [c for c in published_challenges() if is_open(c, at)]
    group_ids = {g.id for g in advocate.groups}
    targeted = [c for c in candidates if is_targeted(c, advocate, group_ids)]
    ids = [c.id for c in targeted]
    records = _records(ids, advocate.id)
    taken = _taken(targeted)
    kinds = {kind for c in targeted if (kind := verifiers.ask_kind_for(c.type, c.effort)) is not None}
    cap_checks = caps.check_asks(advocate.id, kinds, at)
    liked = set((advocate.preferences or {}).get("activity_types") or [])
    on_break = caps.current_break(advocate, at)
    items = []
    for challenge in targeted:
        mine = records.get(challenge.id) or MyRecord()
        code, reason, available_at = _lock_for(challenge, mine, taken.get(challenge.id, 0), cap_checks, at, on_break)
        items.append(
            FeedItem(
                challenge=challenge,
                type=verifiers.TYPES.get(challenge.type) or verifiers.TYPES["custom"],
                available=code is None,
                locked_reason=reason,
                available_at=available_at,
                latest=mine.latest,
                times_done=mine.approved,
                lock_code=code,
                tries=retry_round(challenge, mine.rejected, at) if mine.rejected else None,
            )
        )
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    items.sort(
        key=lambda i: (
            not i.available,
            i.lock_code == "limit_reached" and i.available_at is None,
            i.challenge.type not in liked,
            i.challenge.ends_at or far,
            -i.challenge.points,
            i.challenge.id,
        )
    )
    return items


def feed_item(challenge: Challenge, advocate: Advocate, at: dt.datetime | None = None) -> FeedItem:
    """One challenge as the feed would show it to this advocate (for its own page)."""
    at = at or utcnow()
    mine = _history([challenge.id], advocate.id)[challenge.id]
    kind = verifiers.ask_kind_for(challenge.type, challenge.effort)
    cap_checks = {kind: caps.check_ask(advocate.id, kind, at)} if kind else {}
    record = MyRecord.of(mine)
    taken = _taken([challenge]).get(challenge.id, 0)
    code, reason, available_at = _lock_for(challenge, record, taken, cap_checks, at, caps.current_break(advocate, at))
    if code is None and not is_open(challenge, at):
        code, reason = "challenge_closed", "This challenge is closed."
    return FeedItem(
        challenge,
        verifiers.TYPES.get(challenge.type) or verifiers.TYPES["custom"],
        code is None,
        reason,
        available_at,
        mine[0] if mine else None,
        sum(1 for c in mine if c.status is CompletionStatus.APPROVED),
        code,
        mine,
        retry_round(challenge, record.rejected, at) if record.rejected else None,
    )
