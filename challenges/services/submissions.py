"""Submitting a completion: the evidence checked against the challenge's type, then the limits,
places and caps decided under the locks, and the verification queued after commit.

Invariants held here (reliability.md I2, I6, I7, I10):
- one undecided completion per (challenge, advocate): the advocate row lock serializes a
  person's submissions and a partial unique index backs it up;
- `max_per_advocate`, cooldown and `max_total` (approved + in-flight, under the challenge
  row lock) are checked after the locks, so parallel submissions cannot overshoot;
- caps go through challenges.caps.claim_ask in the same transaction.
Services flush and never commit."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import WithJsonSchema
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from challenges import caps, review_rules, trust, verifiers
from challenges.caps import day_label
from challenges.models import (
    COUNTING,
    Challenge,
    Completion,
    CompletionStatus,
)
from challenges.services.definitions import MAX_EVIDENCE_TEXT, MAX_OPTIONS, MAX_QUESTIONS, MAX_URL
from challenges.services.feed import MyRecord, is_open, limit_block, retry_wait_reason, visible_challenge
from hub.contracts import Body
from hub.db import locked_row, utcnow
from hub.errors import (
    AlreadySubmitted,
    CapReached,
    ChallengeClosed,
    InvalidState,
    LimitReached,
    NotFound,
    ValidationFailed,
)
from hub.extensions import db
from hub.fields import REQUIRED, MultiLine, OneLine, read, read_value
from hub.models import Advocate, Role
from hub.queue import enqueue_after_commit


@dataclass(frozen=True)
class EvidenceInput:
    evidence_url: str | None = None
    evidence_text: str | None = None
    answers: list[Any] | None = None


MAX_ANSWER = 1000
Answer = Annotated[str, MultiLine(MAX_ANSWER, missing="Write an answer.")]


class EvidenceBody(Body):
    """What an advocate sends with a completion; which parts are required depends on the
    challenge (clean_evidence). `answers`: per question, an option's position or a text."""

    evidence_url: Annotated[str | None, OneLine(MAX_URL)] = None
    evidence_text: Annotated[str | None, MultiLine(MAX_EVIDENCE_TEXT)] = None
    answers: Annotated[
        list[Any] | None,
        WithJsonSchema(
            {
                "type": "array",
                "maxItems": MAX_QUESTIONS,
                "items": {
                    "anyOf": [
                        {"type": "integer", "minimum": 0, "maximum": MAX_OPTIONS - 1},
                        {"type": "string", "maxLength": MAX_ANSWER, "pattern": MultiLine.PATTERN},
                    ]
                },
            }
        ),
    ] = None


def clean_evidence(challenge: Challenge, data: Mapping[str, Any] | EvidenceBody) -> EvidenceInput:
    """Check what the advocate sent (read through EvidenceBody when a mapping) against what the
    challenge asks for. A link is required when asked for (link checks need it); where a text is
    asked for, a link alone also does ("tell us what you did, or link to it")."""
    body = data if isinstance(data, EvidenceBody) else read(EvidenceBody, data)
    required = set(challenge.evidence or [])
    errors: dict[str, str] = {}
    url, text = body.evidence_url, body.evidence_text
    if url is None and "url" in required:
        errors["evidence_url"] = REQUIRED
    link_will_do = "url" not in required and url is not None
    if text is None and "text" in required and not link_will_do:
        errors["evidence_text"] = REQUIRED
    if url is not None and not re.match(r"^https?://[^\s/$.?#][^\s]*$", url, re.I):
        errors["evidence_url"] = "A link starting with http:// or https://."
    elif url is not None and challenge.type == "review":
        # A review on the wrong site is refused here, before anything is stored (issue 19).
        sites = review_rules.sites_for(challenge.platform, challenge.allowed_domains or ())
        wrong = review_rules.wrong_site(url, sites)
        if wrong is not None:
            errors["evidence_url"] = wrong
    answers = _clean_answers(challenge, body.answers, errors) if "answers" in required else None
    if errors:
        raise ValidationFailed(errors)
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
            try:  # a free-text answer is text like any other field (no control characters)
                clean.append(read_value(Answer, a, "answers"))
            except ValidationFailed as exc:
                errors.setdefault("answers", f"Question {n}: {exc.fields['answers'][0]}")
                return None
    return clean


def submit_completion(
    challenge_id: int,
    advocate_id: int,
    data: Mapping[str, Any] | EvidenceBody | EvidenceInput,
    at: dt.datetime | None = None,
    source_key: str | None = None,
    system: bool = False,
    count_as_ask: bool = True,
    ask_handed_over: bool = False,
    open_at: dt.datetime | None = None,
) -> Completion:
    """Create a completion if every rule allows it, else raise (and write nothing).

    404 unknown/draft/archived/untargeted; 409 challenge_closed, already_submitted,
    limit_reached (per advocate, cooldown with available_at, max_total), cap_reached.
    `system` completions (community, CRM, reference flows) skip the self-service check;
    `count_as_ask=False` is for a flow that already recorded the ask itself (a reference
    request's assignment is the ask, so its completion must not count a second one).
    `open_at` is the instant the challenge must have been open (default `at`): a referral's
    completion, made when the CRM names the referral, counts if the challenge was open when
    the advocate referred, while its caps are those at `at`.
    """
    at = at or utcnow()
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        raise NotFound("Advocate not found.")
    challenge = visible_challenge(challenge_id, advocate)
    spec = verifiers.TYPES.get(challenge.type)
    if not system and spec is not None and not spec.self_service:
        raise InvalidState(f"This challenge completes itself. {spec.how_to}")
    if not is_open(challenge, open_at or at):
        raise ChallengeClosed("This challenge is not open for submissions.")
    if challenge.type == "review" and advocate.user.role is not Role.ADVOCATE:
        # 16 CFR 465 and the review sites: insiders' reviews are not incentivized (product.md §15).
        raise InvalidState("Staff (owners, managers, sales) cannot earn review incentives.")
    evidence = data if isinstance(data, EvidenceInput) else clean_evidence(challenge, data)
    if source_key is not None:
        existing = db.session.scalar(
            select(Completion).where(Completion.challenge_id == challenge_id, Completion.source_key == source_key)
        )
        if existing is not None:
            return existing
    locked_row(Advocate, advocate_id)
    _check_limits(challenge, advocate_id, at)
    if not system:
        on_break = caps.current_break(advocate, at)
        if on_break is not None:
            raise CapReached(on_break.reason(at), available_at=on_break.back_at)
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
        text_digest=trust.text_digest(evidence.evidence_text, evidence.answers),
        disclosure_shown=challenge.disclosure if challenge.type == "review" else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(completion)
            db.session.flush()
    except IntegrityError:
        raise AlreadySubmitted("You have already sent this in; it is being checked.") from None
    hold = trust.claim_evidence_url(completion)
    if hold is not None:
        # Only when there is one: assigning None to the never-set attribute would still cost
        # an UPDATE of the new row on every submission.
        completion.hold_reason = hold
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
    if not system:
        trust.after_submission(completion.id)
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
                Completion.status.in_((*COUNTING, CompletionStatus.REJECTED)),
            )
            .order_by(Completion.submitted_at.desc(), Completion.id.desc())
        )
    )
    taken = 0
    if challenge.max_total is not None:
        locked_row(Challenge, challenge.id)
        taken = db.session.execute(
            select(func.count())
            .select_from(Completion)
            .where(Completion.challenge_id == challenge.id, Completion.status.in_(COUNTING))
        ).scalar_one()
    block = limit_block(challenge, MyRecord.of(mine), taken, at)
    if block is None:
        return
    if block.rule == "in_flight":
        raise AlreadySubmitted("You have already sent this in; it is being checked.")
    if block.rule == "per_advocate":
        raise LimitReached("You have completed this challenge as many times as it allows.")
    if block.rule == "cooldown" and block.last is not None and block.again is not None:
        raise LimitReached(
            f"You did this on {day_label(block.last, at)} — again from {day_label(block.again, at)}.",
            available_at=block.again,
        )
    if block.rule == "retry_wait" and block.again is not None:
        raise LimitReached(retry_wait_reason(challenge, block.again, at), available_at=block.again)
    raise LimitReached("All places for this challenge have been taken.")


def schedule_verification(completion_id: int, job_id: str | None = None) -> None:
    """Enqueue the verification job after commit, with a deterministic id."""
    from challenges.jobs import verify_completion

    enqueue_after_commit(
        verify_completion, completion_id, job_id=job_id or f"verify-completion-{completion_id}", timeout=60
    )
