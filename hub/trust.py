"""Trust score and signals (product.md §15, issue 18): what staff see before points are paid.

Each signal is a row (hub.models.TrustSignal) with its evidence, its date and a weight; the
score is 100 minus the weights of the advocate's uncleared signals, floored at 0. Signals are
recorded by jobs after the event that feeds them (a login here; submissions, referrals and
upvotes in challenges.trust), each run looks only at the rows the event touches through an
index, and a repeated run records nothing twice (unique (advocate, kind, source_key)).

The score gates automatic approval and redemptions below the owner's `trust_review_threshold`
(hub.settings, default 40): challenges.services.verification and rewards.services.redemptions.
Services flush and never commit; the job entry points commit through hub.queue.job_context.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from sqlalchemy import func, select, update

from hub.db import execute_dml, insert_ignore, table_of, utcnow
from hub.errors import InvalidState, NotFound
from hub.extensions import db
from hub.models import Advocate, Role, TrustSignal, User, UserSession
from hub.queue import enqueue_after_commit, job_context, job_timeout
from hub.settings import get_setting

FULL_TRUST = 100


@dataclass(frozen=True)
class SignalKind:
    key: str
    label: str
    weight: int  # points off the score of 100 while the signal is not cleared


# Weights: a duplicate evidence URL or an upvote ring alone puts an advocate below the default
# threshold of 40 only together with one more signal; two shared-IP days or a burst plus short
# answers do too. They are the product's judgement, in one place.
KINDS: dict[str, SignalKind] = {
    k.key: k
    for k in (
        SignalKind("duplicate_url", "Evidence link already used by another advocate", 40),
        SignalKind("shared_ip", "Logged in from the same public address as advocates of other accounts", 25),
        SignalKind("burst", "Burst of submissions far above their own rate", 20),
        SignalKind("short_answer", "Very short answer", 5),
        SignalKind("repeated_answer", "Answer repeats another advocate's answer", 20),
        SignalKind("upvote_ring", "Upvote ring: mostly upvotes one person who mostly upvotes them", 30),
        SignalKind("flagged_referral", "Referral flagged", 30),
    )
}

SHARED_IP_WINDOW = dt.timedelta(days=1)
MAX_EVIDENCE = 1000


def score_of(weights: list[int] | tuple[int, ...]) -> int:
    """100 minus the sum of the uncleared signals' weights, never below 0."""
    return max(0, FULL_TRUST - sum(weights))


def record_signal(advocate_id: int, kind: str, source_key: str, evidence: str, at: dt.datetime | None = None) -> bool:
    """Store one signal (idempotent on advocate, kind and source_key). True when it is new.
    Raises KeyError for an unknown kind. The caller recomputes the score (recompute_score)."""
    spec = KINDS[kind]
    return insert_ignore(
        db.session,
        table_of(TrustSignal),
        {
            "advocate_id": advocate_id,
            "kind": kind,
            "weight": spec.weight,
            "evidence": evidence[:MAX_EVIDENCE],
            "source_key": source_key[:160],
            "detected_at": at or utcnow(),
        },
    )


def recompute_score(advocate_id: int) -> int:
    """Write the advocate's score from their uncleared signals (one indexed sum) and return it."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(TrustSignal.weight), 0)).where(
            TrustSignal.advocate_id == advocate_id, TrustSignal.cleared_at.is_(None)
        )
    )
    score = score_of([int(total or 0)])
    db.session.execute(
        update(Advocate)
        .where(Advocate.id == advocate_id, Advocate.trust_score != score)
        .values(trust_score=score)
        .execution_options(synchronize_session=False)
    )
    return score


def recompute_scores(advocate_ids: list[int]) -> dict[int, int]:
    """`recompute_score` for several advocates: their stored scores and uncleared signals' sums
    read in one grouped statement, and a score written only where it changed (one conditional
    UPDATE each; most batches change none). Returns each advocate's score."""
    if not advocate_ids:
        return {}
    rows = db.session.execute(
        select(Advocate.id, Advocate.trust_score, func.coalesce(func.sum(TrustSignal.weight), 0))
        .outerjoin(TrustSignal, (TrustSignal.advocate_id == Advocate.id) & TrustSignal.cleared_at.is_(None))
        .where(Advocate.id.in_(sorted(set(advocate_ids))))
        .group_by(Advocate.id, Advocate.trust_score)
        .order_by(Advocate.id)
    ).all()
    scores: dict[int, int] = {}
    for advocate_id, stored, total in rows:
        score = scores[advocate_id] = score_of([int(total or 0)])
        if stored != score:
            db.session.execute(
                update(Advocate)
                .where(Advocate.id == advocate_id, Advocate.trust_score != score)
                .values(trust_score=score)
                .execution_options(synchronize_session=False)
            )
    return scores


def threshold() -> int:
    """The owner's trust_review_threshold (0–100): below it, nothing is approved automatically."""
    return int(get_setting("trust_review_threshold"))


def score_is_below(score: int | None) -> bool:
    """Whether a trust score read with the advocate's row is below the owner's threshold. A full
    score (100, no uncleared signal: most advocates) never is — the threshold is at most 100 —
    so the settings are not read for it."""
    return score is not None and score < 100 and score < threshold()


def below_threshold(advocate_id: int) -> int | None:
    """The advocate's score when it is below the threshold (they need a person's review), else None."""
    score = db.session.scalar(select(Advocate.trust_score).where(Advocate.id == advocate_id))
    # The threshold is at most FULL_TRUST, so a full score is never below it: most advocates
    # (no uncleared signal) skip the settings read, on a redemption its only one.
    if score is None or score >= FULL_TRUST or score >= threshold():
        return None
    return int(score)


def signals_of(advocate_id: int, include_cleared: bool = True) -> list[TrustSignal]:
    """The advocate's signals, newest first (uncleared before cleared)."""
    query = select(TrustSignal).where(TrustSignal.advocate_id == advocate_id)
    if not include_cleared:
        query = query.where(TrustSignal.cleared_at.is_(None))
    return list(db.session.scalars(query.order_by(TrustSignal.cleared_at.is_not(None), TrustSignal.detected_at.desc())))


def signals_for(advocate_ids: list[int]) -> dict[int, list[TrustSignal]]:
    """Uncleared signals of several advocates (the review queue), newest first."""
    found: dict[int, list[TrustSignal]] = {a: [] for a in advocate_ids}
    if not advocate_ids:
        return found
    for signal in db.session.scalars(
        select(TrustSignal)
        .where(TrustSignal.advocate_id.in_(advocate_ids), TrustSignal.cleared_at.is_(None))
        .order_by(TrustSignal.detected_at.desc())
    ):
        found[signal.advocate_id].append(signal)
    return found


def clear_signal(signal_id: int, actor_id: int, reason: str, advocate_id: int | None = None) -> TrustSignal:
    """Staff clear a signal with a reason (audited); the score is recomputed in the same
    transaction. NotFound for an unknown signal (or one of another advocate); InvalidState when
    it is already cleared (a conditional UPDATE, so two clears cannot both count)."""
    from hub.audit import record_audit

    signal = db.session.get(TrustSignal, signal_id)
    if signal is None or (advocate_id is not None and signal.advocate_id != advocate_id):
        raise NotFound("Trust signal not found.")
    moved = execute_dml(
        update(TrustSignal)
        .where(TrustSignal.id == signal_id, TrustSignal.cleared_at.is_(None))
        .values(cleared_at=utcnow(), cleared_by_id=actor_id, cleared_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        raise InvalidState("This signal was already cleared.")
    db.session.refresh(signal)
    recompute_score(signal.advocate_id)
    record_audit(
        actor_id,
        "trust_signal.clear",
        "advocate",
        signal.advocate_id,
        {"signal": signal.id, "kind": signal.kind},
        {"reason": reason},
    )
    return signal


def is_public_address(ip: str | None) -> bool:
    """Whether a login address can be shared evidence: loopback, private, link-local and other
    reserved ranges never count (colleagues share an office network; tests run on 127.0.0.1)."""
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    return address.is_global


def after_login(ip: str | None, at: dt.datetime) -> None:
    """Queue the shared-IP check for a new login once it commits (hub.accounts.start_session).
    Only a public address is worth a job; the session id (a secret) never leaves the database."""
    if not is_public_address(ip):
        return
    enqueue_after_commit(trust_after_login, ip, at.isoformat(), job_id=f"trust-login-{ip}-{at:%Y%m%dT%H%M%S%f}")


def detect_shared_ip(ip: str | None, at: dt.datetime) -> list[int]:
    """Signal every advocate who logged in from the public address `ip` within a day of `at`
    together with an advocate of a *different* account (product.md §15). Advocates of one
    account, or without an account, on one address are colleagues, not a ring. Returns the
    advocates whose signals are new. One indexed look-up: user_sessions (ip, created_at)."""
    if not is_public_address(ip):
        return []
    rows = db.session.execute(
        select(Advocate.id, Advocate.account_id)
        .join(User, User.id == Advocate.user_id)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.ip == ip,
            UserSession.created_at >= at - SHARED_IP_WINDOW,
            UserSession.created_at <= at + SHARED_IP_WINDOW,
            User.role == Role.ADVOCATE,
            Advocate.is_erased.is_(False),
        )
        .distinct()
    ).all()
    accounts = {account for _, account in rows if account is not None}
    if len(accounts) < 2:
        return []
    day = at.date().isoformat()
    evidence = f"{len(rows)} advocates of {len(accounts)} accounts logged in from {ip} within a day of {day}."
    key = f"{ip}|{day}"
    new = [aid for aid, account in rows if account is not None and record_signal(aid, "shared_ip", key, evidence)]
    for aid in new:
        recompute_score(aid)
    return new


@job_timeout(30)
def trust_after_login(ip: str, at: str) -> None:
    """Job: the shared-IP signal for one login (idempotent: signals are keyed by address and day)."""
    with job_context():
        detect_shared_ip(ip, dt.datetime.fromisoformat(at))


RING_MIN_VOTES = 3
RING_SHARE = 0.5


def after_upvote(voter_id: int, author_id: int, answer_id: int) -> None:
    """Queue the upvote-ring check for one upvote once it commits (hub.community.services)."""
    enqueue_after_commit(trust_after_upvote, voter_id, author_id, job_id=f"trust-upvote-{answer_id}-{voter_id}")


def _votes(voter_id: int, author_id: int | None = None) -> int:
    from hub.community.models import Answer, AnswerVote

    query = select(func.count()).select_from(AnswerVote).where(AnswerVote.user_id == voter_id)
    if author_id is not None:
        query = query.join(Answer, Answer.id == AnswerVote.answer_id).where(Answer.author_id == author_id)
    return int(db.session.scalar(query) or 0)


def detect_upvote_ring(voter_id: int, author_id: int) -> list[int]:
    """Signal both people of a pair who mostly upvote each other: each gave the other at least
    RING_MIN_VOTES upvotes, and those are at least half of all the upvotes each gave. Four
    indexed counts (answer_votes by user). Returns the advocates whose signals are new."""
    ab, ba = _votes(voter_id, author_id), _votes(author_id, voter_id)
    if ab < RING_MIN_VOTES or ba < RING_MIN_VOTES:
        return []
    a_total, b_total = _votes(voter_id), _votes(author_id)
    if ab < RING_SHARE * a_total or ba < RING_SHARE * b_total:
        return []
    low, high = sorted((voter_id, author_id))
    advocates = dict(
        db.session.execute(
            select(Advocate.user_id, Advocate.id).where(Advocate.user_id.in_((voter_id, author_id)))
        ).all()
    )
    new = []
    for user_id, other_id, given, total in ((voter_id, author_id, ab, a_total), (author_id, voter_id, ba, b_total)):
        advocate_id = advocates.get(user_id)
        if advocate_id is None:
            continue
        evidence = f"{given} of their {total} upvotes went to user #{other_id}, who upvoted them back."
        if record_signal(advocate_id, "upvote_ring", f"users:{low}-{high}", evidence):
            recompute_score(advocate_id)
            new.append(advocate_id)
    return new


@job_timeout(30)
def trust_after_upvote(voter_id: int, author_id: int) -> None:
    """Job: the upvote-ring signal for one pair (idempotent: keyed by the pair)."""
    with job_context():
        detect_upvote_ring(voter_id, author_id)
