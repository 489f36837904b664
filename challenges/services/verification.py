"""Verifying a completion: the job's snapshot of the evidence (taken in its own short
transaction), and the verifier's verdict applied exactly once — approve, send to review,
reject, or retry later. Services flush and never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.orm import joinedload

from challenges import verifiers
from challenges.models import (
    Challenge,
    Completion,
    CompletionStatus,
)
from challenges.services.completions import fresh_completion
from challenges.services.decisions import approve_completion, approve_many, reject_completion
from hub import trust as hub_trust
from hub.db import any_of, deferred_sums, execute_dml, utcnow
from hub.errors import (
    InvalidState,
)
from hub.extensions import db


def start_verification(completion_id: int) -> verifiers.Evidence | None:
    """submitted/verifying → verifying (counting the attempt); None when already decided."""
    moved = execute_dml(
        update(Completion)
        .where(
            Completion.id == completion_id,
            Completion.status.in_((CompletionStatus.SUBMITTED, CompletionStatus.VERIFYING)),
        )
        .values(
            status=CompletionStatus.VERIFYING,
            verifying_started_at=utcnow(),
            verification_attempts=Completion.verification_attempts + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        return None
    completion = fresh_completion(completion_id, with_challenge=True)
    assert completion is not None, "the row the UPDATE just moved"
    return _evidence(completion)


def _evidence(completion: Completion) -> verifiers.Evidence:
    """What the verifier needs of a completion (its challenge loaded), as plain data."""
    challenge = completion.challenge
    return verifiers.Evidence(
        completion_id=completion.id,
        challenge_type=challenge.type,
        evidence_url=completion.evidence_url,
        evidence_text=completion.evidence_text,
        answers=completion.answers,
        allowed_domains=tuple(challenge.allowed_domains or ()),
        marker=challenge.marker,
        quiz=challenge.quiz,
        attempt=completion.verification_attempts,
        allow_hosts=tuple(current_app.config.get("VOUCH_VERIFY_ALLOW_HOSTS") or ()),
        extra={"verification": challenge.verification},
    )


# How long a batch's claim on a completion holds (the batch job's time limit): its own job run
# again meanwhile leaves it to the batch; after this, the job may take it over.
CLAIM_LEASE = dt.timedelta(seconds=120)


def claim_for_verification(completion_id: int, limit: int) -> list[verifiers.Evidence]:
    """Claim a batch for verification in one statement: this completion (submitted, or verifying
    with an expired claim — a killed batch's) and up to `limit - 1` other submitted completions
    whose verifier may run in a batch (`verifiers.batched_verifiers`), oldest first. Rows another
    worker holds are skipped (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite serialises writers), so
    two workers never claim the same completion. Each moves to verifying with its attempt
    counted, like `start_verification`. Returns their evidence ordered by (advocate, completion):
    the order `apply_verdicts` takes the advocates' row locks in, so two batches never deadlock.
    Empty when nothing is left to verify (the others' batches took them). Caller commits."""
    now = utcnow()
    own = Completion.id == completion_id
    mine = and_(
        own,
        or_(
            Completion.status == CompletionStatus.SUBMITTED,
            and_(Completion.status == CompletionStatus.VERIFYING, Completion.verifying_started_at < now - CLAIM_LEASE),
        ),
    )
    batchable = select(Challenge.id).where(Challenge.verification.in_(verifiers.batched_verifiers()))
    others = and_(Completion.status == CompletionStatus.SUBMITTED, Completion.challenge_id.in_(batchable))
    claimable = (
        select(Completion.id)
        .where(or_(mine, others))
        .order_by(case((own, 0), else_=1), Completion.id)
        .limit(max(1, limit))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claimed = list(
        db.session.scalars(
            update(Completion)
            .where(Completion.id.in_(claimable))
            .values(
                status=CompletionStatus.VERIFYING,
                verifying_started_at=now,
                verification_attempts=Completion.verification_attempts + 1,
            )
            .returning(Completion.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not claimed:
        return []
    completions = db.session.scalars(
        select(Completion)
        .where(any_of(Completion.id, claimed))
        .options(joinedload(Completion.challenge).lazyload(Challenge.target_groups))
        .order_by(Completion.advocate_id, Completion.id)
        .execution_options(populate_existing=True)
    ).all()
    return [_evidence(completion) for completion in completions]


def apply_verdicts(verdicts: list[tuple[int, verifiers.Verdict]]) -> dict[int, str]:
    """Act on a batch's verdicts — (completion id, verdict) each, in the claim's (advocate,
    completion) order — in the caller's one transaction, each exactly once like `apply_verdict`.
    Returns each completion's outcome. An unexpected error leaves the whole batch to the
    caller's rollback (the job then applies them one transaction each).

    The batch is read in one statement — completions (fresh: a person may have decided one
    meanwhile; the decision's conditional UPDATE is what settles it), their challenges and
    advocates, whose trust scores say which approvals a person must make instead — and the
    session keeps those rows for the approvals that follow (no read of each again). The approvals
    no person must make are decided together, set-based (`decisions.approve_many`); a rejection
    or a hold for review goes one by one, first."""
    ids = [completion_id for completion_id, _ in verdicts]
    if not ids:
        return {}
    read = db.session.scalars(
        select(Completion)
        .where(any_of(Completion.id, ids))
        .options(
            joinedload(Completion.challenge).lazyload(Challenge.target_groups),
            joinedload(Completion.advocate),
        )
        .execution_options(populate_existing=True)
    ).all()
    completions = {completion.id: completion for completion in read}
    # Held here: the identity map is weak, and each decision's UPDATE … RETURNING refreshes its
    # completion (dropping the references), while the approval reads the advocate and challenge.
    held = [(completion.advocate, completion.challenge) for completion in read]

    def hold_of(completion: Completion) -> str | None:
        if completion.hold_reason:
            return completion.hold_reason
        score = completion.advocate.trust_score
        return _trust_hold(int(score) if hub_trust.score_is_below(score) else None)

    outcomes: dict[int, str] = {}
    approvals: dict[int, dict[str, Any]] = {}
    with deferred_sums():  # the shared day totals: one write each, at the end of the batch
        for completion_id, verdict in verdicts:
            completion = completions.get(completion_id)
            if completion is None:
                outcomes[completion_id] = "missing"
            elif (
                verdict.decision == "approve"
                and completion.status in (CompletionStatus.SUBMITTED, CompletionStatus.VERIFYING)
                and hold_of(completion) is None
            ):
                approvals[completion_id] = _found(verdict)  # approved together below
            else:
                outcomes[completion_id] = _apply(completion, verdict, hold_of)
        approved = set(approve_many(approvals))
    del held
    for completion_id in approvals:  # one decided meanwhile (by a person) stays theirs
        outcomes[completion_id] = "approved" if completion_id in approved else "already_decided"
    return {completion_id: outcomes[completion_id] for completion_id, _ in verdicts}


def _found(verdict: verifiers.Verdict) -> dict[str, Any]:
    """What an approving verifier saw, as `approve_completion` stores it (`found`)."""
    found: dict[str, Any] = {"verification_note": (verdict.note or "")[:1000] or None}
    if verdict.excerpt:
        found["fetched_excerpt"] = verdict.excerpt[:4000]
    return found


def send_to_review(completion_id: int, note: str | None, excerpt: str | None = None) -> bool:
    """submitted/verifying → pending_review with a note for staff. False if already moved on."""
    return (
        execute_dml(
            update(Completion)
            .where(
                Completion.id == completion_id,
                Completion.status.in_((CompletionStatus.SUBMITTED, CompletionStatus.VERIFYING)),
            )
            .values(
                status=CompletionStatus.PENDING_REVIEW,
                verification_note=(note or "")[:1000] or None,
                fetched_excerpt=excerpt[:4000] if excerpt else None,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def held_for_review(completion: Completion) -> str | None:
    """Why a person must decide this completion although its verifier would approve it: a
    duplicate evidence URL (always), or the advocate's trust score below the owner's
    trust_review_threshold (product.md §15). None when the verifier may approve."""
    if completion.hold_reason:
        return completion.hold_reason
    score = hub_trust.below_threshold(completion.advocate_id)
    return _trust_hold(score)


def _trust_hold(score: int | None) -> str | None:
    """The review note for a trust score below the threshold (`score` None: not below)."""
    if score is None:
        return None
    return f"Trust score {score} is below the review threshold of {hub_trust.threshold()}."


def apply_verdict(completion_id: int, verdict: verifiers.Verdict) -> str:
    """Act on a verifier's verdict once; a completion already decided is left alone."""
    completion = fresh_completion(completion_id)
    if completion is None:
        return "missing"
    return _apply(completion, verdict, held_for_review)


def _apply(completion: Completion, verdict: verifiers.Verdict, hold_of: Callable[[Completion], str | None]) -> str:
    """`apply_verdict` on a completion read in this transaction; `hold_of` says why a person must
    decide it instead (`held_for_review`, or the batch's reading of it)."""
    completion_id = completion.id
    if completion.status not in (CompletionStatus.SUBMITTED, CompletionStatus.VERIFYING):
        return "already_decided"
    if verdict.decision == "approve":
        hold = hold_of(completion)
        if hold is not None:
            note = f"{hold} The check said: {verdict.note}" if verdict.note else hold
            return "pending_review" if send_to_review(completion_id, note, verdict.excerpt) else "already_decided"
    try:
        if verdict.decision == "approve":
            approve_completion(completion_id, None, auto=True, **_found(verdict))
            return "approved"
        if verdict.decision == "reject":
            reject_completion(completion_id, None, verdict.note or "The answers were not right.")
            return "rejected"
    except InvalidState:  # a person decided it while the verifier ran: theirs stands
        return "already_decided"
    return "pending_review" if send_to_review(completion_id, verdict.note, verdict.excerpt) else "already_decided"
