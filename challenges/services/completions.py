"""Completions: submitting, verifying and deciding.

Invariants held here (reliability.md I2, I6, I7, I10):
- one undecided completion per (challenge, advocate): the advocate row lock serializes a
  person's submissions and a partial unique index backs it up;
- `max_per_advocate`, cooldown and `max_total` (approved + in-flight, under the challenge
  row lock) are checked after the locks, so parallel submissions cannot overshoot;
- caps go through challenges.caps.claim_ask in the same transaction;
- approval is a conditional UPDATE on the status (one winner) and awards the points
  offered at submission through rewards.ledger, idempotent on ("completion", id).
Services flush and never commit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, lazyload

from challenges import caps, verifiers
from challenges.caps import day_label
from challenges.models import (
    COUNTING,
    UNDECIDED,
    Challenge,
    Completion,
    CompletionStatus,
)
from challenges.services.catalog import MAX_EVIDENCE_TEXT, MAX_REASON, MAX_URL
from challenges.services.feed import MyRecord, is_open, limit_block, visible_challenge
from hub.audit import record_audit
from hub.db import locked_row, utcnow
from hub.errors import (
    AlreadySubmitted,
    ChallengeClosed,
    InvalidState,
    LimitReached,
    NotFound,
    ValidationFailed,
)
from hub.extensions import db
from hub.models import Advocate
from hub.notifications import notify
from hub.queue import enqueue_after_commit
from hub.signals import completion_approved
from hub.validation import Fields
from rewards.badges import award_badge
from rewards.ledger import post_entry
from rewards.models import EntryKind

# --- submitting ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceInput:
    evidence_url: str | None = None
    evidence_text: str | None = None
    answers: list[Any] | None = None


def clean_evidence(challenge: Challenge, data: Mapping[str, Any]) -> EvidenceInput:
    """Validate what the advocate sent against what the challenge asks for. A link is
    required when asked for (link checks need it); where a text is asked for, a link alone
    also does ("tell us what you did, or link to it")."""
    f = Fields(data)
    required = set(challenge.evidence or [])
    text_or_link = "text" in required and "url" not in required and bool(data.get("evidence_url"))
    url = f.str("evidence_url", required="url" in required, max_length=MAX_URL)
    text = f.str("evidence_text", required="text" in required and not text_or_link, max_length=MAX_EVIDENCE_TEXT)
    if url is not None and not re.match(r"^https?://[^\s/$.?#][^\s]*$", url, re.I):
        f.errors.setdefault("evidence_url", "A link starting with http:// or https://.")
    answers = None
    if "answers" in required:
        answers = _clean_answers(challenge, data.get("answers"), f.errors)
    f.done()
    return EvidenceInput(url, text, answers)


def _clean_answers(challenge: Challenge, raw: Any, errors: dict[str, str]) -> list[Any] | None:
    questions = (challenge.quiz or {}).get("questions") or []
    if not isinstance(raw, list) or len(raw) != len(questions):
        errors.setdefault("answers", f"Answer all {len(questions)} questions.")
        return None
    clean: list[Any] = []
    for n, (q, a) in enumerate(zip(questions, raw, strict=True), start=1):
        options = q.get("options") or []
        if options:
            if isinstance(a, str) and a.strip().isdigit() and len(a.strip()) < 4:
                a = int(a.strip())
            if isinstance(a, bool) or not isinstance(a, int) or not 0 <= a < len(options):
                errors.setdefault("answers", f"Question {n}: pick one of the options.")
                return None
            clean.append(a)
        else:
            if not isinstance(a, str) or not 0 < len(a.strip()) <= 1000:
                errors.setdefault("answers", f"Question {n}: write an answer (at most 1,000 characters).")
                return None
            clean.append(a.strip())
    return clean


def submit_completion(
    challenge_id: int,
    advocate_id: int,
    data: Mapping[str, Any] | EvidenceInput,
    at: dt.datetime | None = None,
    source_key: str | None = None,
    system: bool = False,
    count_as_ask: bool = True,
    ask_handed_over: bool = False,
) -> Completion:
    """Create a completion if every rule allows it, else raise (and write nothing).

    404 unknown/draft/archived/untargeted; 409 challenge_closed, already_submitted,
    limit_reached (per advocate, cooldown with available_at, max_total), cap_reached.
    `system` completions (community, CRM, reference flows) skip the self-service check;
    `count_as_ask=False` is for a flow that already recorded the ask itself (a reference
    request's assignment is the ask, so its completion must not count a second one).
    """
    at = at or utcnow()
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        raise NotFound("Advocate not found.")
    challenge = visible_challenge(challenge_id, advocate)
    spec = verifiers.TYPES.get(challenge.type)
    if not system and spec is not None and not spec.self_service:
        raise InvalidState(f"This challenge completes itself. {spec.how_to}")
    if not is_open(challenge, at):
        raise ChallengeClosed("This challenge is not open for submissions.")
    evidence = data if isinstance(data, EvidenceInput) else clean_evidence(challenge, data)
    if source_key is not None:
        existing = db.session.scalar(
            select(Completion).where(Completion.challenge_id == challenge_id, Completion.source_key == source_key)
        )
        if existing is not None:
            return existing
    locked_row(Advocate, advocate_id)
    _check_limits(challenge, advocate_id, at)
    completion = Completion(
        challenge_id=challenge.id,
        advocate_id=advocate_id,
        status=CompletionStatus.SUBMITTED,
        evidence_url=evidence.evidence_url,
        evidence_text=evidence.evidence_text,
        answers=evidence.answers,
        points_offered=challenge.points,
        submitted_at=at,
        source_key=source_key,
    )
    try:
        with db.session.begin_nested():
            db.session.add(completion)
            db.session.flush()
    except IntegrityError:
        raise AlreadySubmitted("You have already sent this in; it is being checked.") from None
    kind = verifiers.ask_kind_for(challenge.type, challenge.effort)
    if kind is not None and count_as_ask:
        caps.claim_ask(advocate_id, kind, "completion", completion.id, at=at, handed_over=ask_handed_over)
    db.session.execute(
        update(Advocate)
        .where(Advocate.id == advocate_id)
        .values(last_activity_at=at)
        .execution_options(synchronize_session=False)
    )
    verifier = verifiers.VERIFIERS.get(challenge.verification)
    if verifier is not None and not verifier.in_job:
        completion.status = CompletionStatus.PENDING_REVIEW
        completion.verification_note = "Waiting for a manager to review."
        db.session.flush()
    elif not system:
        schedule_verification(completion.id)
    return completion


def _check_limits(challenge: Challenge, advocate_id: int, at: dt.datetime) -> None:
    """Refuse a submission the challenge's limits do not allow (feed.limit_block decides; the
    places are counted under the challenge's row lock, so two last places cannot both go)."""
    mine = list(
        db.session.scalars(
            select(Completion)
            .where(
                Completion.challenge_id == challenge.id,
                Completion.advocate_id == advocate_id,
                Completion.status.in_(COUNTING),
            )
            .order_by(Completion.submitted_at.desc(), Completion.id.desc())
        )
    )
    taken = 0
    if challenge.max_total is not None:
        locked_row(Challenge, challenge.id)
        taken = db.session.scalar(
            select(func.count())
            .select_from(Completion)
            .where(Completion.challenge_id == challenge.id, Completion.status.in_(COUNTING))
        )
    block = limit_block(challenge, MyRecord.of(mine), taken, at)
    if block is None:
        return
    if block.rule == "in_flight":
        raise AlreadySubmitted("You have already sent this in; it is being checked.")
    if block.rule == "per_advocate":
        raise LimitReached("You have completed this challenge as many times as it allows.")
    if block.rule == "cooldown":
        raise LimitReached(
            f"You did this on {day_label(block.last, at)} — again from {day_label(block.again, at)}.",
            available_at=block.again,
        )
    raise LimitReached("All places for this challenge have been taken.")


def schedule_verification(completion_id: int, job_id: str | None = None) -> None:
    """Enqueue the verification job after commit, with a deterministic id."""
    from challenges.jobs import verify_completion

    enqueue_after_commit(
        verify_completion, completion_id, job_id=job_id or f"verify-completion-{completion_id}", timeout=60
    )


# --- verifying -----------------------------------------------------------------------------


def start_verification(completion_id: int) -> verifiers.Evidence | None:
    """submitted/verifying → verifying (counting the attempt); None when already decided."""
    moved = db.session.execute(
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
    completion = _fresh(completion_id, with_challenge=True)
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


def send_to_review(completion_id: int, note: str | None, excerpt: str | None = None) -> bool:
    """submitted/verifying → pending_review with a note for staff. False if already moved on."""
    return (
        db.session.execute(
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


def _fresh(completion_id: int, with_challenge: bool = False) -> Completion | None:
    """The completion as the database has it now (one SELECT; with its challenge joined)."""
    options = [joinedload(Completion.challenge).lazyload(Challenge.target_groups)] if with_challenge else []
    return db.session.get(Completion, completion_id, options=options, populate_existing=True)


def apply_verdict(completion_id: int, verdict: verifiers.Verdict) -> str:
    """Act on a verifier's verdict once; a completion already decided is left alone."""
    completion = _fresh(completion_id)
    if completion is None:
        return "missing"
    if completion.status not in (CompletionStatus.SUBMITTED, CompletionStatus.VERIFYING):
        return "already_decided"
    try:
        if verdict.decision == "approve":
            found = {"verification_note": (verdict.note or "")[:1000] or None}
            if verdict.excerpt:
                found["fetched_excerpt"] = verdict.excerpt[:4000]
            approve_completion(completion_id, None, auto=True, **found)
            return "approved"
        if verdict.decision == "reject":
            reject_completion(completion_id, None, verdict.note or "The answers were not right.")
            return "rejected"
    except InvalidState:  # a person decided it while the verifier ran: theirs stands
        return "already_decided"
    return "pending_review" if send_to_review(completion_id, verdict.note, verdict.excerpt) else "already_decided"


# --- deciding ------------------------------------------------------------------------------

BADGE_STEPS = {5: "completions_5", 25: "completions_25", 100: "completions_100"}


def _decide(completion_id: int, to: CompletionStatus, actor_id: int | None, **values: Any) -> Completion:
    """The conditional UPDATE that decides a completion once; returns the updated row (its
    challenge loaded in the same round trip)."""
    now = utcnow()
    decided = db.session.scalars(
        update(Completion)
        .where(Completion.id == completion_id, Completion.status.in_(UNDECIDED))
        .values(status=to, decided_at=now, decided_by_id=actor_id, **values)
        .returning(Completion)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).first()
    if decided is not None:
        return decided
    completion = _fresh(completion_id)
    if completion is None:
        raise NotFound("Completion not found.")
    raise InvalidState(f"This completion was already decided ({completion.status.value}).")


def approve_completion(completion_id: int, actor_id: int | None, auto: bool = False, **found: Any) -> Completion:
    """Approve once (conditional UPDATE; a second approval gets 409 invalid_state) and award
    the points offered at submission through the ledger, idempotent on ("completion", id).
    `found` carries what an automatic verifier saw (verification_note, fetched_excerpt)."""
    completion = _decide(
        completion_id,
        CompletionStatus.APPROVED,
        actor_id,
        points_awarded=Completion.points_offered,
        is_auto_approved=auto,
        **found,
    )
    challenge = db.session.get(Challenge, completion.challenge_id, options=[lazyload(Challenge.target_groups)])
    advocate = db.session.get(Advocate, completion.advocate_id)
    if completion.points_offered:
        post_entry(
            completion.advocate_id,
            completion.points_offered,
            EntryKind.EARN,
            "completion",
            completion.id,
            f"{challenge.title} approved",
            created_by_id=actor_id,
        )
    approved_count = _award_badges(completion, challenge)
    completion_approved.send(
        "challenges", advocate_id=completion.advocate_id, completion_id=completion.id, approved_count=approved_count
    )  # hub.email.mailings: thank-you at 5 / 25 / 100
    notify(
        advocate.user_id,
        "completion_approved",
        f"+{completion.points_offered:,} points — “{challenge.title}” was approved. Thank you!",
        f"/challenges/{challenge.id}",
    )
    if actor_id is not None:
        record_audit(
            actor_id,
            "completion.approve",
            "completion",
            completion.id,
            {"status": "undecided"},
            {"status": "approved", "points": completion.points_offered},
        )
    return completion


def _award_badges(completion: Completion, challenge: Challenge) -> int:
    """Badges for this approval; returns the advocate's number of approved completions."""
    approved = db.session.scalar(
        select(func.count())
        .select_from(Completion)
        .where(Completion.advocate_id == completion.advocate_id, Completion.status == CompletionStatus.APPROVED)
    )
    if approved >= 1:
        award_badge(completion.advocate_id, "first_completion")
    if challenge.type == "review":
        award_badge(completion.advocate_id, "first_review")
    if challenge.type == "reference_call":
        award_badge(completion.advocate_id, "first_reference")
    for step, code in BADGE_STEPS.items():
        if approved >= step:
            award_badge(completion.advocate_id, code)
    return approved


def reject_completion(completion_id: int, actor_id: int | None, reason: str) -> Completion:
    """Reject once with a reason the advocate sees; the ask it held stops counting, so a
    rejected attempt never blocks the advocate's next one."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": "Say why, so the advocate knows what to fix."})
    if len(reason) > MAX_REASON:
        raise ValidationFailed({"reason": f"At most {MAX_REASON:,} characters."})
    completion = _decide(completion_id, CompletionStatus.REJECTED, actor_id, reason=reason)
    caps.release_ask("completion", completion.id)
    advocate = db.session.get(Advocate, completion.advocate_id)
    notify(
        advocate.user_id,
        "completion_rejected",
        f"“{completion.challenge.title}” was not approved: {reason}",
        f"/challenges/{completion.challenge_id}",
    )
    if actor_id is not None:
        record_audit(
            actor_id,
            "completion.reject",
            "completion",
            completion.id,
            {"status": "undecided"},
            {"status": "rejected", "reason": reason},
        )
    return completion


@dataclass(frozen=True)
class BulkResult:
    done: list[int]
    skipped: list[int]


def decide_many(completion_ids: list[int], actor_id: int, approve: bool, reason: str | None = None) -> BulkResult:
    """Approve or reject several completions; each in its own savepoint, already-decided
    ones are skipped (and reported) rather than failing the batch."""
    if not approve and not (reason or "").strip():
        raise ValidationFailed({"reason": "Say why, so the advocates know what to fix."})
    done, skipped = [], []
    for cid in dict.fromkeys(completion_ids):
        try:
            with db.session.begin_nested():
                if approve:
                    approve_completion(cid, actor_id)
                else:
                    reject_completion(cid, actor_id, reason or "")
            done.append(cid)
        except (InvalidState, NotFound):
            skipped.append(cid)
    return BulkResult(done, skipped)


def auto_complete(
    challenge_id: int,
    advocate_id: int,
    source_key: str,
    evidence: EvidenceInput,
    at: dt.datetime | None = None,
    count_as_ask: bool = True,
    ask_handed_over: bool = False,
) -> Completion:
    """For the community/CRM/reference flows: create and approve a completion once per
    `source_key`, within the challenge's caps, limits and dates (raises like submit).
    Reference flows pass count_as_ask=False (the assignment stays the ask) or
    ask_handed_over=True (the caller released the assignment's ask for this completion's)."""
    completion = submit_completion(
        challenge_id,
        advocate_id,
        evidence,
        at=at,
        source_key=source_key,
        system=True,
        count_as_ask=count_as_ask,
        ask_handed_over=ask_handed_over,
    )
    if completion.status in UNDECIDED:
        completion = approve_completion(completion.id, None, auto=True)
    return completion


# --- reading completions -------------------------------------------------------------------


def completion_for(completion_id: int, advocate_id: int | None) -> Completion:
    """A completion for staff (advocate_id None) or for its own advocate; else 404."""
    completion = db.session.get(Completion, completion_id)
    if completion is None or (advocate_id is not None and completion.advocate_id != advocate_id):
        raise NotFound("Completion not found.")
    return completion


def list_completions(
    status: str | None,
    challenge_id: int | None,
    advocate_id: int | None,
    page: int,
    per_page: int,
    oldest_first: bool = False,
    challenge_type: str | None = None,
    older_than: dt.datetime | None = None,
) -> tuple[list[Completion], int]:
    query = select(Completion)
    if status:
        query = query.where(Completion.status == status)
    if challenge_id:
        query = query.where(Completion.challenge_id == challenge_id)
    if advocate_id:
        query = query.where(Completion.advocate_id == advocate_id)
    if challenge_type:
        query = query.join(Challenge, Challenge.id == Completion.challenge_id).where(Challenge.type == challenge_type)
    if older_than:
        query = query.where(Completion.submitted_at <= older_than)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    order = (
        (Completion.submitted_at.asc(), Completion.id.asc())
        if oldest_first
        else (Completion.submitted_at.desc(), Completion.id.desc())
    )
    items = db.session.scalars(query.order_by(*order).limit(per_page).offset((page - 1) * per_page)).all()
    return list(items), total


def stuck_completions(older_than: dt.datetime, limit: int = 500) -> list[Completion]:
    """Completions still submitted/verifying since before `older_than` (lost or killed jobs)."""
    return list(
        db.session.scalars(
            select(Completion)
            .where(
                Completion.status.in_((CompletionStatus.SUBMITTED, CompletionStatus.VERIFYING)),
                func.coalesce(Completion.verifying_started_at, Completion.submitted_at) <= older_than,
            )
            .order_by(Completion.submitted_at)
            .limit(limit)
        )
    )
