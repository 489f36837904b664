"""Deciding a completion, by a reviewer, a verifier or another flow (a referral, a reference
call): approval is a conditional UPDATE on the status (one winner) and awards the points
offered at submission through rewards.ledger, idempotent on ("completion", id), with the
milestone badges; rejection says why. Services flush and never commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import lazyload

from challenges import caps
from challenges.accounts.marks import mark_advocates
from challenges.catalogue import Entry
from challenges.models import (
    UNDECIDED,
    Challenge,
    Completion,
    CompletionStatus,
)
from challenges.services.act_tallies import count_approved_act
from challenges.services.completion_tallies import count_ask, count_decision
from challenges.services.completions import fresh_completion
from challenges.services.definitions import MAX_REASON
from challenges.services.submissions import EvidenceInput, submit_completion
from hub.audit import record_audit
from hub.bulk import BulkOutcome, run_each
from hub.db import any_of, utcnow
from hub.email.mailings import thanks_known
from hub.errors import (
    InvalidState,
    NotFound,
    ValidationFailed,
)
from hub.extensions import db
from hub.models import Advocate
from hub.notifications import notify, notify_many
from hub.signals import completion_approved
from rewards.badges import Badge, award_badges, award_badges_many, badge_notes
from rewards.ledger import Credit, post_credits, post_entry
from rewards.models import EntryKind

BADGE_STEPS = {5: "completions_5", 25: "completions_25", 100: "completions_100"}


def _decide(
    completion_id: int, to: CompletionStatus, actor_id: int | None, at: dt.datetime | None = None, **values: Any
) -> Completion:
    """The conditional UPDATE that decides a completion once (at `at`, default now); returns the
    updated row (its challenge loaded in the same round trip)."""
    now = at or utcnow()
    decided = db.session.scalars(
        update(Completion)
        .where(Completion.id == completion_id, Completion.status.in_(UNDECIDED))
        .values(status=to, decided_at=now, decided_by_id=actor_id, **values)
        .returning(Completion)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).first()
    if decided is not None:
        mark_advocates([decided.advocate_id])  # an approval is the account's last act
        return decided
    completion = fresh_completion(completion_id)
    if completion is None:
        raise NotFound("Completion not found.")
    raise InvalidState(f"This completion was already decided ({completion.status.value}).")


def approve_completion(
    completion_id: int, actor_id: int | None, auto: bool = False, at: dt.datetime | None = None, **found: Any
) -> Completion:
    """Approve once (conditional UPDATE; a second approval gets 409 invalid_state) and award
    the points offered at submission through the ledger, idempotent on ("completion", id), and
    count the act for the reports (challenges.services.act_tallies) in the same transaction.
    `found` carries what an automatic verifier saw (verification_note, fetched_excerpt).

    `at` (aware UTC) records an approval that happened in the past (the demo's history, an
    import): the decision, its ledger entry and the badges it earned are dated then, and nobody
    is notified or thanked — the advocate was told when it happened."""
    completion = _decide(
        completion_id,
        CompletionStatus.APPROVED,
        actor_id,
        at,
        points_awarded=Completion.points_offered,
        is_auto_approved=auto,
        **found,
    )
    challenge = db.session.get_one(Challenge, completion.challenge_id, options=[lazyload(Challenge.target_groups)])
    approval_effects(completion, challenge, actor_id, at)
    return completion


def approval_effects(
    completion: Completion, challenge: Challenge | Entry, actor_id: int | None, at: dt.datetime | None = None
) -> None:
    """What an approval does once the completion is approved (by `_decide`, or inserted approved
    by a submission graded in the request): the act and the per-challenge tallies counted for the
    reports, the points through the ledger (idempotent on ("completion", id)), the milestone
    badges, and — for an approval happening now (`at` None) — the thank-you signal and the
    advocate's notification, and the audit line when a person decided. The caller's
    transaction; nothing is committed."""
    advocate = db.session.get_one(Advocate, completion.advocate_id)
    assert completion.decided_at is not None, "an approved completion has its decision time"
    count_approved_act(completion.advocate_id, challenge.type, completion.decided_at, challenge.platform)
    count_decision(completion)
    if completion.points_offered:
        post_entry(
            completion.advocate_id,
            completion.points_offered,
            kind=EntryKind.EARN,
            source_type="completion",
            source_id=completion.id,
            memo=f"{challenge.title} approved",
            created_by_id=actor_id,
            at=completion.decided_at,  # the entry is dated with the decision it records
        )
    approved_count, badges = _award_badges(completion, challenge, at)
    if at is None:
        completion_approved.send(
            "challenges",
            advocate_id=completion.advocate_id,
            completion_id=completion.id,
            approved_count=approved_count,
            challenge_type=challenge.type,
        )  # hub.email.mailings: thank-you at 5 / 25 / 100; challenges.referrals: a won deal's bonus
        # The badges' notes, then the approval's: one insert, and their emails by one job.
        approved = (
            advocate.user_id,
            "completion_approved",
            f"+{completion.points_offered:,} points — “{challenge.title}” was approved. Thank you!",
            f"/challenges/{challenge.id}",
        )
        notify_many([*badge_notes(advocate.user_id, badges), approved])
    elif badges:
        notify_many(badge_notes(advocate.user_id, badges))
    if actor_id is not None:
        record_audit(
            actor_id,
            "completion.approve",
            "completion",
            completion.id,
            {"status": "undecided"},
            {"status": "approved", "points": completion.points_offered},
        )


def approve_many(found: dict[int, dict[str, Any]]) -> list[int]:
    """Approve a verification batch's completions automatically ({completion id: what the verifier
    saw — verification_note, fetched_excerpt — as `approve_completion`'s `found`}), set-based, with
    the effects `approve_completion(id, None, auto=True, **found)` has for each: one conditional
    UPDATE … RETURNING decides them all (only those still undecided: a person's decision meanwhile
    stands), the acts and tallies counted, the points posted through `rewards.ledger.post_credits`
    (idempotent on ("completion", id); tiers refreshed entry by entry), the badges from one grouped
    count of the advocates' approved completions and one insert (each approval's count as it would
    be one by one: the batch's approvals of an advocate in id order), `completion_approved` sent
    per approval (the thank-you at milestones, a won deal's bonus), and every notification in one
    insert. The caller's transaction, normally inside `hub.db.deferred_sums`; the completions'
    challenges and advocates are best already in the session (`apply_verdicts` holds them).
    Returns the ids approved here, in (advocate, id) order."""
    if not found:
        return []
    now = utcnow()
    notes = {cid: values.get("verification_note") for cid, values in found.items()}
    excerpts = {cid: values["fetched_excerpt"] for cid, values in found.items() if values.get("fetched_excerpt")}
    written: dict[str, Any] = {
        "status": CompletionStatus.APPROVED,
        "decided_at": now,
        "decided_by_id": None,
        "points_awarded": Completion.points_offered,
        "is_auto_approved": True,
        "verification_note": (
            case({cid: note for cid, note in notes.items() if note is not None}, value=Completion.id, else_=None)
            if any(note is not None for note in notes.values())
            else None
        ),
    }
    if excerpts:
        written["fetched_excerpt"] = case(excerpts, value=Completion.id, else_=Completion.fetched_excerpt)
    decided = sorted(
        db.session.scalars(
            update(Completion)
            .where(any_of(Completion.id, sorted(found)), Completion.status.in_(UNDECIDED))
            .values(**written)
            .returning(Completion)
            .execution_options(synchronize_session=False, populate_existing=True)
        ).all(),
        key=lambda completion: (completion.advocate_id, completion.id),
    )
    if not decided:
        return []
    mark_advocates({completion.advocate_id for completion in decided})  # an approval is the account's last act
    challenges = {
        completion.id: db.session.get_one(
            Challenge, completion.challenge_id, options=[lazyload(Challenge.target_groups)]
        )
        for completion in decided
    }
    for completion in decided:
        challenge = challenges[completion.id]
        count_approved_act(completion.advocate_id, challenge.type, now, challenge.platform)
        count_decision(completion)
    post_credits(
        [
            Credit(
                completion.advocate_id,
                completion.points_offered,
                "completion",
                completion.id,
                f"{challenges[completion.id].title} approved",
            )
            for completion in decided
            if completion.points_offered
        ],
        kind=EntryKind.EARN,
        at=now,
    )
    counts = _approved_counts(decided)
    wanted: dict[int, list[str]] = {}
    for completion in decided:
        wanted.setdefault(completion.advocate_id, []).extend(
            _badge_codes(counts[completion.id], challenges[completion.id].type)
        )
    awarded = award_badges_many(wanted)
    handed: set[tuple[int, str]] = set()
    notes_out: list[tuple[int, str, str, str | None]] = []
    highest: dict[int, int] = {}
    for completion in decided:
        highest[completion.advocate_id] = max(highest.get(completion.advocate_id, 0), counts[completion.id])
    with thanks_known(highest):  # the milestone thank-yous already written: one read for the batch
        for completion in decided:
            _announce(completion, challenges[completion.id], counts[completion.id], awarded, handed, notes_out)
    notify_many(notes_out)
    return [completion.id for completion in decided]


def _announce(
    completion: Completion,
    challenge: Challenge | Entry,
    approved_count: int,
    awarded: dict[int, list[Badge]],
    handed: set[tuple[int, str]],
    notes_out: list[tuple[int, str, str, str | None]],
) -> None:
    """One approval of `approve_many`: `completion_approved` sent with the advocate's count, and
    its notifications (the badges it earned first among the advocate's approvals of the batch,
    then the approval's own) added to `notes_out`."""
    advocate = db.session.get_one(Advocate, completion.advocate_id)
    codes = set(_badge_codes(approved_count, challenge.type))
    # A badge goes with the first of the advocate's approvals that earns it, as one by one.
    badges = [
        badge
        for badge in awarded.get(completion.advocate_id, [])
        if badge.code in codes and (completion.advocate_id, badge.code) not in handed
    ]
    handed.update((completion.advocate_id, badge.code) for badge in badges)
    completion_approved.send(
        "challenges",
        advocate_id=completion.advocate_id,
        completion_id=completion.id,
        approved_count=approved_count,
        challenge_type=challenge.type,
    )
    notes_out += [
        *badge_notes(advocate.user_id, badges),
        (
            advocate.user_id,
            "completion_approved",
            f"+{completion.points_offered:,} points — “{challenge.title}” was approved. Thank you!",
            f"/challenges/{challenge.id}",
        ),
    ]


def _approved_counts(decided: list[Completion]) -> dict[int, int]:
    """Each just-approved completion's advocate's number of approved completions as it would be
    counted right after that approval one by one: one grouped count per advocate (the batch's
    approvals included), less the batch's approvals of theirs that come after it (id order)."""
    advocate_ids = sorted({completion.advocate_id for completion in decided})
    totals = dict(
        db.session.execute(
            select(Completion.advocate_id, func.count())
            .where(any_of(Completion.advocate_id, advocate_ids), Completion.status == CompletionStatus.APPROVED)
            .group_by(Completion.advocate_id)
        ).all()
    )
    mine: dict[int, list[int]] = {}
    for completion in sorted(decided, key=lambda c: c.id):
        mine.setdefault(completion.advocate_id, []).append(completion.id)
    counts: dict[int, int] = {}
    for advocate_id, ids in mine.items():
        for position, completion_id in enumerate(ids, start=1):
            counts[completion_id] = int(totals.get(advocate_id, 0)) - len(ids) + position
    return counts


def _badge_codes(approved: int, challenge_type: str) -> list[str]:
    """The badge codes an approval earns: its advocate's approved count (first step, 5/25/100)
    and its challenge's type (first review, first reference)."""
    codes = ["first_completion"] if approved >= 1 else []
    if challenge_type == "review":
        codes.append("first_review")
    if challenge_type == "reference_call":
        codes.append("first_reference")
    return codes + [code for step, code in BADGE_STEPS.items() if approved >= step]


def _award_badges(
    completion: Completion, challenge: Challenge | Entry, at: dt.datetime | None = None
) -> tuple[int, list[Badge]]:
    """Badges for this approval (dated `at`, default now), in one insert: (the advocate's number of
    approved completions, the badges newly awarded)."""
    approved = db.session.execute(
        select(func.count())
        .select_from(Completion)
        .where(Completion.advocate_id == completion.advocate_id, Completion.status == CompletionStatus.APPROVED)
    ).scalar_one()
    return approved, award_badges(completion.advocate_id, _badge_codes(approved, challenge.type), at=at)


def reject_completion(completion_id: int, actor_id: int | None, reason: str) -> Completion:
    """Reject once with a reason the advocate sees; the ask it held stops counting, so a
    rejected attempt never blocks the advocate's next one."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": "Say why, so the advocate knows what to fix."})
    if len(reason) > MAX_REASON:
        raise ValidationFailed({"reason": f"At most {MAX_REASON:,} characters."})
    completion = _decide(completion_id, CompletionStatus.REJECTED, actor_id, reason=reason)
    advocate = db.session.get_one(Advocate, completion.advocate_id)
    rejection_effects(completion, completion.challenge, advocate, actor_id, reason)
    return completion


def rejection_effects(
    completion: Completion, challenge: Challenge | Entry, advocate: Advocate, actor_id: int | None, reason: str
) -> None:
    """What a rejection does once the completion is rejected (by `_decide`, or inserted rejected
    by a submission graded in the request): the ask it held stops counting, the advocate is told
    why, and the audit line when a person decided. The caller's transaction."""
    count_decision(completion)
    if caps.release_ask("completion", completion.id):
        count_ask(completion.challenge_id, completion.advocate_id, completion.submitted_at, -1)
    notify(
        advocate.user_id,
        "completion_rejected",
        f"“{challenge.title}” was not approved: {reason}",
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


def decide_many(completion_ids: list[int], actor_id: int, approve: bool, reason: str | None = None) -> BulkOutcome:
    """Approve or reject several completions with one reason, each through approve_completion
    or reject_completion in its own savepoint: one already decided (or gone) is reported in
    BulkOutcome.failed with its reason and the others are done. A missing reject reason refuses
    the whole batch (ValidationFailed) before anything is written."""
    if not approve and not (reason or "").strip():
        raise ValidationFailed({"reason": "Say why, so the advocates know what to fix."})
    if not completion_ids:
        raise ValidationFailed({"ids": "Select at least one completion."})

    def act(completion_id: int) -> Completion:
        if approve:
            return approve_completion(completion_id, actor_id)
        return reject_completion(completion_id, actor_id, reason or "")

    return run_each(completion_ids, act)


def auto_complete(
    challenge_id: int,
    advocate_id: int,
    source_key: str,
    evidence: EvidenceInput,
    at: dt.datetime | None = None,
    count_as_ask: bool = True,
    ask_handed_over: bool = False,
    decided_by_person: bool = False,
) -> Completion:
    """For the community/CRM/reference flows: create and approve a completion once per
    `source_key`, within the challenge's caps, limits and dates (raises like submit).
    Reference flows pass count_as_ask=False (the assignment stays the ask) or
    ask_handed_over=True (the caller released the assignment's ask for this completion's).

    An approval no person made (an accepted or upvoted community answer) is held for review,
    with the reason, like any automatic verifier's, while the advocate's trust score is below the
    owner's threshold (product.md §15); `decided_by_person` (a sales rep's feedback on a
    reference call) approves as the person decided."""
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
    # verification imports this module (its verdicts approve here), hence the import in place.
    from challenges.services.verification import held_for_review, send_to_review

    if completion.status in UNDECIDED:
        hold = None if decided_by_person else held_for_review(completion)
        if hold is not None:
            send_to_review(completion.id, hold)
            db.session.refresh(completion)
        else:
            completion = approve_completion(completion.id, None, auto=True)
    return completion
