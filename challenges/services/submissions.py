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
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, cast

from flask import has_request_context
from pydantic import WithJsonSchema
from sqlalchemy import bindparam, func, select, update

from challenges import caps, catalogue, review_rules, trust, verifiers
from challenges.caps import day_label
from challenges.catalogue import Entry
from challenges.models import (
    COUNTING,
    Challenge,
    Completion,
    CompletionStatus,
)
from challenges.services import completion_tallies, evidence_files
from challenges.services.definitions import MAX_EVIDENCE_TEXT, MAX_OPTIONS, MAX_QUESTIONS, MAX_URL
from challenges.services.evidence_files import SentFile
from challenges.services.feed import MyRecord, is_open, is_targeted, limit_block, retry_wait_reason, visible_challenge
from hub import stamps
from hub import trust as hub_trust
from hub.contracts import Body, UploadForm
from hub.db import _dialect_orm_insert, locked_row, utcnow
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
from hub.home_reads import json_rows, loads
from hub.models import Advocate, Role
from hub.queue import enqueue_after_commit
from hub.uploads import CheckedFile


@dataclass(frozen=True)
class EvidenceInput:
    evidence_url: str | None = None
    evidence_text: str | None = None
    answers: list[Any] | None = None
    file: CheckedFile | None = None


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


class EvidenceUpload(UploadForm):
    """EvidenceBody sent as multipart/form-data, with the file in `evidence_file` (one; PNG,
    JPEG, WebP, GIF or PDF as the challenge takes, checked by content). `answers`, where a
    challenge asks for them, is the JSON array as text."""

    evidence_url: Annotated[str | None, OneLine(MAX_URL)] = None
    evidence_text: Annotated[str | None, MultiLine(MAX_EVIDENCE_TEXT)] = None
    answers: Annotated[str | None, MultiLine(MAX_QUESTIONS * (MAX_ANSWER + 8))] = None
    evidence_file: Annotated[Any, WithJsonSchema({"type": "string", "format": "binary"})] = None

    def as_body(self) -> EvidenceBody:
        """The text fields as the JSON body (422 on `answers` when it is not a JSON array)."""
        answers = None
        if self.answers is not None:
            try:
                answers = json.loads(self.answers)
            except (ValueError, RecursionError):
                answers = None
            if not isinstance(answers, list):
                raise ValidationFailed({"answers": 'A JSON array, one answer per question: [0, "text"].'})
        data = {"evidence_url": self.evidence_url, "evidence_text": self.evidence_text, "answers": answers}
        return read(EvidenceBody, data)


def clean_evidence(
    challenge: Challenge | Entry, data: Mapping[str, Any] | EvidenceBody, files: Sequence[SentFile] = ()
) -> EvidenceInput:
    """Check what the advocate sent (read through EvidenceBody when a mapping, and the uploaded
    `files`) against what the challenge asks for. A link is required when asked for (link checks
    need it); where a text is asked for, a link alone also does ("tell us what you did, or link
    to it"); where a file is asked for, exactly one, checked by its content (evidence_files)."""
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
    file = None
    try:
        file = evidence_files.clean_file(challenge, list(files))
    except ValidationFailed as exc:
        errors.update({name: messages[0] for name, messages in exc.fields.items()})
    if errors:
        raise ValidationFailed(errors)
    return EvidenceInput(url, text, answers, file)


def _clean_answers(challenge: Challenge | Entry, raw: Any, errors: dict[str, str]) -> list[Any] | None:
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
    files: Sequence[SentFile] = (),
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
    `files`: what was uploaded (evidence_files.SentFile); a challenge with "file" evidence needs
    exactly one (422 on `evidence_file` otherwise). Its bytes reach their place only if this
    transaction commits.
    """
    at = at or utcnow()
    # The advocate's row lock is the first read: it serializes this person's submissions (the
    # limits below are decided under it) and loads the row in the same statement.
    advocate = _locked_advocate(advocate_id)
    if advocate is None or advocate.is_erased:
        raise NotFound("Advocate not found.")
    challenge = submittable_challenge(challenge_id, advocate)
    spec = verifiers.TYPES.get(challenge.type)
    if not system and spec is not None and not spec.self_service:
        raise InvalidState(f"This challenge completes itself. {spec.how_to}")
    if not is_open(challenge, open_at or at):
        raise ChallengeClosed("This challenge is not open for submissions.")
    if challenge.type == "review" and advocate.user.role is not Role.ADVOCATE:
        # 16 CFR 465 and the review sites: insiders' reviews are not incentivized (product.md §15).
        raise InvalidState("Staff (owners, managers, sales) cannot earn review incentives.")
    evidence = data if isinstance(data, EvidenceInput) else clean_evidence(challenge, data, files)
    if source_key is not None:
        existing = db.session.scalar(
            select(Completion).where(Completion.challenge_id == challenge_id, Completion.source_key == source_key)
        )
        if existing is not None:
            return existing
    _check_limits(challenge, advocate_id, at)
    if not system:
        on_break = caps.current_break(advocate, at)
        if on_break is not None:
            raise CapReached(on_break.reason(at), available_at=on_break.back_at)
    verifier = verifiers.VERIFIERS.get(challenge.verification)
    graded = _grade_now(challenge, advocate, evidence, at) if not system and verifier is not None else None
    values: dict[str, Any] = {
        "challenge_id": challenge.id,
        "advocate_id": advocate_id,
        "status": CompletionStatus.SUBMITTED,
        "evidence_url": evidence.evidence_url,
        "evidence_text": evidence.evidence_text,
        "answers": evidence.answers,
        "points_offered": challenge.points,
        "submitted_at": at,
        "source_key": source_key,
        "text_digest": trust.text_digest(evidence.evidence_text, evidence.answers),
        "disclosure_shown": challenge.disclosure if challenge.type == "review" else None,
    }
    if verifier is not None and not verifier.in_job:
        values |= {"status": CompletionStatus.PENDING_REVIEW, "verification_note": "Waiting for a manager to review."}
    elif graded is not None:
        values |= graded
    # One INSERT … ON CONFLICT DO NOTHING: a second open completion of this challenge by this
    # advocate (the partial unique index), or a repeated source key, writes nothing.
    completion = _insert_completion(values)
    if completion is None:
        raise AlreadySubmitted("You have already sent this in; it is being checked.")
    completion_tallies.count_submission(challenge.id, advocate_id, at)
    hold = trust.claim_evidence_url(completion)
    if hold is not None:
        # Only when there is one: assigning None to the never-set attribute would still cost
        # an UPDATE of the new row on every submission.
        completion.hold_reason = hold
    if evidence.file is not None:
        evidence_files.attach(completion, evidence.file)
    kind = verifiers.ask_kind_for(challenge.type, challenge.effort)
    if kind is not None and count_as_ask:
        caps.claim_ask(advocate_id, kind, "completion", completion.id, at=at, handed_over=ask_handed_over)
        completion_tallies.count_ask(challenge.id, advocate_id, at, 1)
    if system:
        # A flow's own completion (a job already): the advocate's last activity in this transaction.
        db.session.execute(
            update(Advocate)
            .where(Advocate.id == advocate_id)
            .values(last_activity_at=at)
            .execution_options(synchronize_session=False)
        )
    elif graded is not None:
        _decided_now(completion, challenge, advocate)
    elif completion.status is CompletionStatus.SUBMITTED:
        schedule_verification(completion.id)
    if not system:
        # The signals, and the advocate's last activity (trust.detect_submission_signals), after commit.
        trust.after_submission(completion.id)
    return completion


def submittable_challenge(challenge_id: int, advocate: Advocate) -> Challenge | Entry:
    """The challenge `challenge_id` as a submission by `advocate` reads it: a published one from
    the compiled catalogue (challenges.catalogue: no query while its version holds), any other
    from its row (closed: the caller refuses it as closed; draft, archived or unknown: 404).
    NotFound as well when it does not target the advocate (feed.visible_challenge's rule)."""
    entry = catalogue.get(challenge_id)
    if entry is None:
        return visible_challenge(challenge_id, advocate)
    if not is_targeted(entry, advocate):
        raise NotFound("Challenge not found.")
    return entry


def _grade_now(
    challenge: Challenge | Entry, advocate: Advocate, evidence: EvidenceInput, at: dt.datetime
) -> dict[str, Any] | None:
    """A completion whose verifier needs nothing but the answers (quizzes, surveys: `in_request`)
    is decided at submission, as the verification job would have decided it: the columns to
    insert it with (approved, rejected, or pending review with the verifier's note), or None
    when the job must verify it. A link goes to the job (its claim may hold it for review).
    Trust gating applies (product.md §15): an approval of an advocate below the owner's
    threshold goes to the review queue with the reason."""
    verifier = verifiers.VERIFIERS.get(challenge.verification)
    if verifier is None or not verifier.in_request or evidence.evidence_url is not None:
        return None
    verdict = verifier.check(
        verifiers.Evidence(
            completion_id=0,  # not inserted yet: in-request verifiers read only the answers
            challenge_type=challenge.type,
            evidence_url=None,
            evidence_text=evidence.evidence_text,
            answers=evidence.answers,
            allowed_domains=tuple(challenge.allowed_domains or ()),
            marker=challenge.marker,
            quiz=challenge.quiz,
            attempt=1,
            extra={"verification": challenge.verification},
        )
    )
    note = (verdict.note or "")[:1000] or None
    graded: dict[str, Any] = {"verification_attempts": 1, "verifying_started_at": at}
    if verdict.decision == "approve":
        if hub_trust.score_is_below(advocate.trust_score):
            hold = f"Trust score {advocate.trust_score} is below the review threshold of {hub_trust.threshold()}."
            return graded | {
                "status": CompletionStatus.PENDING_REVIEW,
                "verification_note": f"{hold} The check said: {verdict.note}" if verdict.note else hold,
            }
        return graded | {
            "status": CompletionStatus.APPROVED,
            "decided_at": at,
            "points_awarded": challenge.points,
            "is_auto_approved": True,
            "verification_note": note,
        }
    if verdict.decision == "reject":
        return graded | {
            "status": CompletionStatus.REJECTED,
            "decided_at": at,
            "reason": verdict.note or "The answers were not right.",
        }
    return graded | {"status": CompletionStatus.PENDING_REVIEW, "verification_note": note}


def _decided_now(completion: Completion, challenge: Challenge | Entry, advocate: Advocate) -> None:
    """The effects of a decision made at submission, as approve_completion / reject_completion
    have them for the verifier's decision; the account summary follows in the after-submission
    job (challenges.trust.trust_after_submission), as it followed the verification job before.
    (decisions imports this module, hence the import in place.)"""
    from challenges.services.decisions import approval_effects, rejection_effects

    if completion.status is CompletionStatus.APPROVED:
        approval_effects(completion, challenge, None)
    elif completion.status is CompletionStatus.REJECTED:
        rejection_effects(completion, challenge, advocate, None, completion.reason or "")


# A submission's statements of one shape built once per process (building the construct cost
# about as much client CPU as running it; issue 22), run with bound values: the advocate's
# tries of the challenge, and the completion's INSERT per dialect and set of columns given.
_BUILT: dict[tuple[str, ...], Any] = {}


def _tries() -> Any:
    """SELECT the status, submitted_at and decided_at of an advocate's (`:advocate_id`) counting
    and rejected completions of a challenge (`:challenge_id`), newest first: the columns
    MyRecord.of reads (not whole Completion objects)."""
    found = _BUILT.get(("tries",))
    if found is None:
        found = _BUILT[("tries",)] = (
            select(Completion.status, Completion.submitted_at, Completion.decided_at)
            .where(
                Completion.challenge_id == bindparam("challenge_id"),
                Completion.advocate_id == bindparam("advocate_id"),
                Completion.status.in_((*COUNTING, CompletionStatus.REJECTED)),
            )
            .order_by(Completion.submitted_at.desc(), Completion.id.desc())
        )
    return found


def _locked_advocate(advocate_id: int) -> Advocate | None:
    """The advocate's row as the database has it now, locked FOR NO KEY UPDATE for the
    transaction (hub.db.locked_row's lock, on the advocate only), or None. In a request, the
    same statement reads every cache stamp (hub.stamps) and hands them to the request
    (`stamps.prime`), so the catalogue's stamp costs no query of its own (issue 22: one statement
    fewer per submission); elsewhere (jobs, commands) stamps are read where they are used.
    Built once per process, dialect and kind."""
    dialect = db.session.get_bind().dialect.name
    in_request = has_request_context()
    key = ("lock-advocate", dialect, "request" if in_request else "elsewhere")
    stmt = _BUILT.get(key)
    if stmt is None:
        columns: list[Any] = [Advocate]
        if in_request:
            columns.append(json_rows(stamps.all_stamps(), dialect).label("stamps"))
        stmt = _BUILT[key] = (
            select(*columns)
            .where(Advocate.id == bindparam("advocate_id"))
            .with_for_update(of=Advocate, key_share=True)
            .execution_options(populate_existing=True)
        )
    row = db.session.execute(stmt, {"advocate_id": advocate_id}).first()
    if row is None:
        return None
    if in_request:
        stamps.prime({name: token for name, token in loads(row[1])})
    return cast("Advocate", row[0])


def _insert_completion(values: dict[str, Any]) -> Completion | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the completion (hub.db.insert_row_ignore's
    statement, built once per set of columns): the new Completion, persistent in the session, or
    None when a unique key (an open completion of the challenge by the advocate, the source
    key) already holds one. Columns not in `values` get their defaults, as before."""
    dialect = db.session.get_bind().dialect.name
    key = ("insert", dialect, *sorted(values))
    stmt = _BUILT.get(key)
    if stmt is None:
        stmt = _BUILT[key] = (
            _dialect_orm_insert(db.session, Completion)
            .values({name: bindparam(name) for name in sorted(values)})
            .on_conflict_do_nothing()
            .returning(Completion)
            # the values are bound parameters, not rows to bulk-insert: one ORM INSERT … RETURNING
            .execution_options(dml_strategy="orm")
        )
    return cast("Completion | None", db.session.scalars(stmt, values).first())


def _check_limits(challenge: Challenge | Entry, advocate_id: int, at: dt.datetime) -> None:
    """Refuse a submission the challenge's limits do not allow (feed.limit_block decides; the
    places are counted under the challenge's row lock, so two last places cannot both go)."""
    tries = db.session.execute(_tries(), {"challenge_id": challenge.id, "advocate_id": advocate_id}).all()
    taken = 0
    if challenge.max_total is not None:
        locked_row(Challenge, challenge.id)
        taken = db.session.execute(
            select(func.count())
            .select_from(Completion)
            .where(Completion.challenge_id == challenge.id, Completion.status.in_(COUNTING))
        ).scalar_one()
    # MyRecord.of reads a history's status, submitted_at and decided_at (rejected_at): rows of
    # those three columns stand in for the Completions (their `latest` is read by the feed only).
    block = limit_block(challenge, MyRecord.of(cast("list[Completion]", tries)), taken, at)
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
    """Enqueue the verification job after commit, with a deterministic id. Without `job_id` the
    completion is new (this transaction's), so no job can hold its id yet, and the job is the
    batch one (`verify_pending`: it also verifies other submitted completions); with one (the
    sweep's, a retry's) it is `verify_completion`, which takes the completion over whatever
    claim a killed batch left on it."""
    from challenges.jobs import verify_completion, verify_pending

    enqueue_after_commit(
        verify_completion if job_id else verify_pending,
        completion_id,
        job_id=job_id or f"verify-completion-{completion_id}",
        unique=job_id is not None,
    )
