"""Challenge rules: the catalog, the advocate's feed, submitting, verifying and deciding.

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
from dataclasses import dataclass, field, replace
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from challenges import caps, verifiers
from challenges.caps import day_label
from challenges.models import (
    COUNTING,
    IN_FLIGHT,
    UNDECIDED,
    Challenge,
    ChallengeStatus,
    Completion,
    CompletionStatus,
    Effort,
)
from hub.audit import record_audit
from hub.db import utcnow
from hub.errors import (
    AlreadySubmitted,
    ChallengeClosed,
    InvalidState,
    LimitReached,
    NotFound,
    ValidationFailed,
)
from hub.extensions import db
from hub.models import Advocate, Group, Tier
from hub.notifications import notify
from hub.queue import enqueue_after_commit
from hub.validation import Fields
from rewards.badges import award_badge
from rewards.ledger import post_entry
from rewards.models import EntryKind

MAX_POINTS = 100_000
MAX_DESCRIPTION = 20_000
MAX_EVIDENCE_TEXT = 5_000
MAX_URL = 2_000
MAX_REASON = 1_000
MAX_QUESTIONS = 30
MAX_OPTIONS = 10
INT_FIELDS = ("points", "bonus_points", "question_id", "cooldown_days", "max_per_advocate", "max_total")
EDITABLE = (
    "title", "type", "description", "points", "bonus_points", "question_id", "effort", "verification",
    "evidence", "allowed_domains", "marker", "cooldown_days", "max_per_advocate", "max_total",
    "starts_at", "ends_at", "target_tiers", "quiz",
)
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


# --- the catalog ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChallengeInput:
    """A validated challenge definition (from the API's JSON or the admin form)."""

    title: str
    type: str
    description: str
    points: int
    effort: Effort
    verification: str
    evidence: tuple[str, ...]
    bonus_points: int = 0
    question_id: int | None = None
    allowed_domains: tuple[str, ...] = ()
    marker: str | None = None
    cooldown_days: int = 0
    max_per_advocate: int = 1
    max_total: int | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    target_tiers: tuple[str, ...] = ()
    target_groups: tuple[str, ...] = ()
    quiz: dict[str, Any] | None = None


def clean_challenge(data: Mapping[str, Any], strict_empty: bool = True) -> ChallengeInput:
    """Validate a challenge definition; raises ValidationFailed with every field error.

    Unknown keys (status, id, created_by …) are ignored. With `strict_empty` (JSON) an
    empty string for a number is an error rather than "not given".
    """
    f = Fields(data)
    if strict_empty:
        for name in INT_FIELDS:
            if data.get(name) == "":
                f.errors[name] = "Must be a whole number."
    title = f.str("title", required=True, max_length=160)
    ctype = f.choice("type", list(verifiers.TYPES), required=True)
    spec = verifiers.TYPES.get(ctype) if ctype else None
    description = f.str("description", max_length=MAX_DESCRIPTION, default="", strip=False)
    points = f.int("points", required=True, minimum=1, maximum=MAX_POINTS)
    bonus = f.int("bonus_points", minimum=0, maximum=MAX_POINTS, default=0)
    question_id = f.int("question_id", minimum=1)
    effort = f.choice("effort", [e.value for e in Effort], default=spec.effort.value if spec else None)
    verification = f.choice("verification", list(verifiers.VERIFIERS),
                            default=spec.verification if spec else None)
    evidence = f.str_list("evidence", max_items=3, choices=verifiers.EVIDENCE_KINDS,
                          default=list(spec.evidence) if spec else [])
    domains = f.str_list("allowed_domains", max_items=20, max_length=253, default=[])
    marker = f.str("marker", max_length=200)
    cooldown = f.int("cooldown_days", minimum=0, maximum=3650, default=0)
    per_advocate = f.int("max_per_advocate", minimum=1, maximum=1000, default=1)
    max_total = f.int("max_total", minimum=1, maximum=1_000_000)
    starts_at = f.datetime("starts_at")
    ends_at = f.datetime("ends_at")
    tiers = f.str_list("target_tiers", max_items=3, choices=[t.value for t in Tier], default=[])
    groups = f.str_list("target_groups", max_items=50, max_length=80, default=[])
    quiz = _clean_quiz(data.get("quiz"), ctype, f.errors)
    clean_domains = []
    for domain in domains or []:
        d = domain.lower().strip().rstrip(".")
        d = re.sub(r"^https?://", "", d).split("/")[0]
        if not _DOMAIN.match(d):
            f.errors.setdefault("allowed_domains", f"“{domain}” is not a domain name like g2.com.")
        clean_domains.append(d)
    if verification == "url_check" and not clean_domains:
        f.errors.setdefault("allowed_domains", "Link checks need at least one allowed domain (e.g. g2.com).")
    if evidence is not None and "answers" in evidence and not quiz and "quiz" not in f.errors:
        f.errors.setdefault("quiz", "Add the questions advocates will answer.")
    if starts_at and ends_at and ends_at <= starts_at:
        f.errors.setdefault("ends_at", "The end must be after the start.")
    if groups:
        known = {g.lower(): g for g in db.session.scalars(select(Group.name))}
        unknown = [g for g in groups if g.lower() not in known]
        if unknown:
            f.errors.setdefault("target_groups", f"Unknown group: {', '.join(unknown)}.")
        groups = [known.get(g.lower(), g) for g in groups]
    f.done()
    return ChallengeInput(
        title=title, type=ctype, description=description or "", points=points, effort=Effort(effort),
        verification=verification, evidence=tuple(evidence), bonus_points=bonus, question_id=question_id,
        allowed_domains=tuple(dict.fromkeys(clean_domains)), marker=marker or None, cooldown_days=cooldown,
        max_per_advocate=per_advocate, max_total=max_total, starts_at=starts_at, ends_at=ends_at,
        target_tiers=tuple(tiers), target_groups=tuple(groups), quiz=quiz,
    )


def _clean_quiz(raw: Any, ctype: str | None, errors: dict[str, str]) -> dict[str, Any] | None:
    if raw is None or raw == "" or raw == {}:
        return None
    graded = ctype == "quiz"
    problem = None
    questions = raw.get("questions") if isinstance(raw, dict) else None
    if not isinstance(questions, list) or not 1 <= len(questions) <= MAX_QUESTIONS:
        problem = f"A quiz is {{\"questions\": [...]}} with 1 to {MAX_QUESTIONS} questions."
    clean: list[dict[str, Any]] = []
    for n, q in enumerate(questions or [], start=1):
        if problem:
            break
        prompt = q.get("prompt") if isinstance(q, dict) else None
        options = q.get("options", []) if isinstance(q, dict) else None
        answer = q.get("answer") if isinstance(q, dict) else None
        if not isinstance(prompt, str) or not 0 < len(prompt.strip()) <= 500:
            problem = f"Question {n} needs a prompt of at most 500 characters."
        elif not isinstance(options, list) or len(options) > MAX_OPTIONS or not all(
                isinstance(o, str) and 0 < len(o.strip()) <= 200 for o in options):
            problem = f"Question {n}: up to {MAX_OPTIONS} options of at most 200 characters."
        elif graded and len(options) < 2:
            problem = f"Question {n} needs at least two options."
        elif graded and (isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(options)):
            problem = f"Question {n} needs the number of its right option (0 for the first)."
        else:
            clean.append({"prompt": prompt.strip(), "options": [o.strip() for o in options],
                          "answer": answer if graded else None})
    pass_mark = raw.get("pass_mark") if isinstance(raw, dict) else None
    if not problem and pass_mark is not None and (
            isinstance(pass_mark, bool) or not isinstance(pass_mark, int) or not 1 <= pass_mark <= len(clean)):
        problem = f"The pass mark is a whole number from 1 to {len(clean)}."
    if problem:
        errors.setdefault("quiz", problem)
        return None
    return {"questions": clean, "pass_mark": pass_mark if graded else None}


def _snapshot(challenge: Challenge) -> dict[str, Any]:
    data = {k: getattr(challenge, k) for k in EDITABLE}
    data["effort"] = str(challenge.effort)
    data["starts_at"] = challenge.starts_at.isoformat() if challenge.starts_at else None
    data["ends_at"] = challenge.ends_at.isoformat() if challenge.ends_at else None
    data["target_groups"] = sorted(g.name for g in challenge.target_groups)
    data["status"] = str(challenge.status)
    return data


def _apply(challenge: Challenge, inp: ChallengeInput) -> None:
    for name in EDITABLE:
        value = getattr(inp, name)
        setattr(challenge, name, list(value) if isinstance(value, tuple) else value)
    from hub.services import groups_by_name

    challenge.target_groups = groups_by_name(list(inp.target_groups), create=False)


def get_challenge(challenge_id: int) -> Challenge:
    challenge = db.session.get(Challenge, challenge_id)
    if challenge is None:
        raise NotFound("Challenge not found.")
    return challenge


def create_challenge(inp: ChallengeInput, actor_id: int | None) -> Challenge:
    """Create a draft challenge (audited)."""
    challenge = Challenge(status=ChallengeStatus.DRAFT, created_by_id=actor_id)
    _apply(challenge, inp)
    db.session.add(challenge)
    db.session.flush()
    record_audit(actor_id, "challenge.create", "challenge", challenge.id, None, _snapshot(challenge))
    return challenge


def update_challenge(challenge_id: int, inp: ChallengeInput, actor_id: int | None) -> Challenge:
    """Edit a challenge (not once archived). Completions keep the points they were offered."""
    challenge = get_challenge(challenge_id)
    if challenge.status is ChallengeStatus.ARCHIVED:
        raise InvalidState("An archived challenge cannot be edited; duplicate it instead.")
    before = _snapshot(challenge)
    _apply(challenge, inp)
    challenge.updated_at = utcnow()
    db.session.flush()
    after = _snapshot(challenge)
    changed = {k for k in after if before.get(k) != after.get(k)}
    if changed:
        record_audit(actor_id, "challenge.update", "challenge", challenge.id,
                     {k: before[k] for k in changed}, {k: after[k] for k in changed})
    return challenge


def input_from(challenge: Challenge, **changes: Any) -> ChallengeInput:
    """The challenge's current definition as an input (for PATCH-style partial edits)."""
    base = ChallengeInput(
        title=challenge.title, type=challenge.type, description=challenge.description, points=challenge.points,
        effort=challenge.effort, verification=challenge.verification, evidence=tuple(challenge.evidence or ()),
        bonus_points=challenge.bonus_points, question_id=challenge.question_id,
        allowed_domains=tuple(challenge.allowed_domains or ()), marker=challenge.marker,
        cooldown_days=challenge.cooldown_days, max_per_advocate=challenge.max_per_advocate,
        max_total=challenge.max_total, starts_at=challenge.starts_at, ends_at=challenge.ends_at,
        target_tiers=tuple(challenge.target_tiers or ()),
        target_groups=tuple(g.name for g in challenge.target_groups), quiz=challenge.quiz,
    )
    return replace(base, **changes)


def definition_dict(challenge: Challenge) -> dict[str, Any]:
    """The challenge's definition in clean_challenge's input shape (PATCH merges onto it)."""
    inp = input_from(challenge)
    data = {k: getattr(inp, k) for k in ChallengeInput.__dataclass_fields__}
    for key in ("evidence", "allowed_domains", "target_tiers", "target_groups"):
        data[key] = list(data[key])
    data["effort"] = str(inp.effort)
    data["starts_at"] = inp.starts_at.isoformat() if inp.starts_at else None
    data["ends_at"] = inp.ends_at.isoformat() if inp.ends_at else None
    return data


def _transition(challenge_id: int, allowed_from: tuple[ChallengeStatus, ...], to: ChallengeStatus,
                actor_id: int | None, stamp: str) -> Challenge:
    challenge = get_challenge(challenge_id)
    before = challenge.status
    moved = db.session.execute(
        update(Challenge)
        .where(Challenge.id == challenge_id, Challenge.status.in_(allowed_from))
        .values(status=to, updated_at=utcnow(), **{stamp: utcnow()})
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        raise InvalidState(f"A {before.value} challenge cannot be {to.value}.")
    db.session.refresh(challenge)
    record_audit(actor_id, f"challenge.{to.value}", "challenge", challenge_id,
                 {"status": before.value}, {"status": to.value})
    return challenge


def publish_challenge(challenge_id: int, actor_id: int | None) -> Challenge:
    """draft or closed → published (re-checks what publishing needs)."""
    challenge = get_challenge(challenge_id)
    clean_challenge(definition_dict(challenge))
    return _transition(challenge_id, (ChallengeStatus.DRAFT, ChallengeStatus.CLOSED), ChallengeStatus.PUBLISHED,
                       actor_id, "published_at")


def close_challenge(challenge_id: int, actor_id: int | None) -> Challenge:
    """published → closed: no new submissions; undecided completions can still be decided."""
    return _transition(challenge_id, (ChallengeStatus.PUBLISHED,), ChallengeStatus.CLOSED, actor_id, "closed_at")


def archive_challenge(challenge_id: int, actor_id: int | None) -> Challenge:
    """draft, published or closed → archived (hidden from advocates)."""
    return _transition(challenge_id, (ChallengeStatus.DRAFT, ChallengeStatus.PUBLISHED, ChallengeStatus.CLOSED),
                       ChallengeStatus.ARCHIVED, actor_id, "archived_at")


def duplicate_challenge(challenge_id: int, actor_id: int | None) -> Challenge:
    """A new draft with the same definition."""
    source = get_challenge(challenge_id)
    title = f"Copy of {source.title}"[:160]
    return create_challenge(input_from(source, title=title), actor_id)


def completion_stats(challenge_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per challenge: approved, in-flight and rejected completion counts (one query)."""
    stats = {cid: {"approved": 0, "in_flight": 0, "rejected": 0} for cid in challenge_ids}
    if not challenge_ids:
        return stats
    rows = db.session.execute(
        select(Completion.challenge_id, Completion.status, func.count())
        .where(Completion.challenge_id.in_(challenge_ids))
        .group_by(Completion.challenge_id, Completion.status)
    ).all()
    for cid, status, n in rows:
        key = "approved" if status == CompletionStatus.APPROVED else (
            "rejected" if status == CompletionStatus.REJECTED else "in_flight")
        stats[cid][key] += n
    return stats


def list_challenges(status: str | None, page: int, per_page: int) -> tuple[list[Challenge], int]:
    query = select(Challenge)
    if status:
        query = query.where(Challenge.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(query.order_by(Challenge.created_at.desc(), Challenge.id.desc())
                               .limit(per_page).offset((page - 1) * per_page)).all()
    return list(items), total


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


def _taken(challenge_ids: list[int]) -> dict[int, int]:
    if not challenge_ids:
        return {}
    return dict(db.session.execute(
        select(Completion.challenge_id, func.count())
        .where(Completion.challenge_id.in_(challenge_ids), Completion.status.in_(COUNTING))
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
    taken = _taken(ids)
    kinds = {verifiers.ask_kind_for(c.type, c.effort) for c in targeted} - {None}
    cap_checks = {kind: caps.check_ask(advocate.id, kind, at) for kind in kinds}
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
    code, reason, available_at = _lock_for(challenge, mine, _taken([challenge.id]).get(challenge.id, 0),
                                           cap_checks, at)
    if code is None and not is_open(challenge, at):
        code, reason = "challenge_closed", "This challenge is closed."
    return FeedItem(challenge, verifiers.TYPES.get(challenge.type) or verifiers.TYPES["custom"], code is None,
                    reason, available_at, mine[0] if mine else None,
                    sum(1 for c in mine if c.status is CompletionStatus.APPROVED), code, mine)


# --- submitting ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceInput:
    evidence_url: str | None = None
    evidence_text: str | None = None
    answers: list[Any] | None = None


def clean_evidence(challenge: Challenge, data: Mapping[str, Any]) -> EvidenceInput:
    """Validate what the advocate sent against what the challenge asks for."""
    f = Fields(data)
    required = set(challenge.evidence or [])
    url = f.str("evidence_url", required="url" in required, max_length=MAX_URL)
    text = f.str("evidence_text", required="text" in required, max_length=MAX_EVIDENCE_TEXT)
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


def _lock_row(model, row_id: int) -> None:
    db.session.execute(select(model.id).where(model.id == row_id).with_for_update()).first()


def submit_completion(
    challenge_id: int,
    advocate_id: int,
    data: Mapping[str, Any] | EvidenceInput,
    at: dt.datetime | None = None,
    source_key: str | None = None,
    system: bool = False,
) -> Completion:
    """Create a completion if every rule allows it, else raise (and write nothing).

    404 unknown/draft/archived/untargeted; 409 challenge_closed, already_submitted,
    limit_reached (per advocate, cooldown with available_at, max_total), cap_reached.
    `system` completions (community, CRM, reference flows) skip the self-service check.
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
        existing = db.session.scalar(select(Completion).where(
            Completion.challenge_id == challenge_id, Completion.source_key == source_key))
        if existing is not None:
            return existing
    _lock_row(Advocate, advocate_id)
    _check_limits(challenge, advocate_id, at)
    completion = Completion(
        challenge_id=challenge.id, advocate_id=advocate_id, status=CompletionStatus.SUBMITTED,
        evidence_url=evidence.evidence_url, evidence_text=evidence.evidence_text, answers=evidence.answers,
        points_offered=challenge.points, submitted_at=at, source_key=source_key,
    )
    try:
        with db.session.begin_nested():
            db.session.add(completion)
            db.session.flush()
    except IntegrityError:
        raise AlreadySubmitted("You have already sent this in; it is being checked.") from None
    kind = verifiers.ask_kind_for(challenge.type, challenge.effort)
    if kind is not None:
        caps.claim_ask(advocate_id, kind, "completion", completion.id, at=at)
    db.session.execute(update(Advocate).where(Advocate.id == advocate_id).values(last_activity_at=at)
                       .execution_options(synchronize_session=False))
    verifier = verifiers.VERIFIERS.get(challenge.verification)
    if verifier is not None and not verifier.in_job:
        completion.status = CompletionStatus.PENDING_REVIEW
        completion.verification_note = "Waiting for a manager to review."
        db.session.flush()
    elif not system:
        schedule_verification(completion.id)
    return completion


def _check_limits(challenge: Challenge, advocate_id: int, at: dt.datetime) -> None:
    mine = list(db.session.scalars(
        select(Completion).where(Completion.challenge_id == challenge.id, Completion.advocate_id == advocate_id,
                                 Completion.status.in_(COUNTING))
    ))
    if any(c.status in IN_FLIGHT for c in mine):
        raise AlreadySubmitted("You have already sent this in; it is being checked.")
    if len(mine) >= challenge.max_per_advocate:
        raise LimitReached("You have completed this challenge as many times as it allows.")
    if mine and challenge.cooldown_days:
        last = max(c.submitted_at for c in mine)
        again = last + dt.timedelta(days=challenge.cooldown_days)
        if at < again:
            raise LimitReached(f"You did this on {day_label(last, at)} — again from {day_label(again, at)}.",
                               available_at=again)
    if challenge.max_total is not None:
        _lock_row(Challenge, challenge.id)
        taken = db.session.scalar(select(func.count()).select_from(Completion).where(
            Completion.challenge_id == challenge.id, Completion.status.in_(COUNTING)))
        if taken >= challenge.max_total:
            raise LimitReached("All places for this challenge have been taken.")


def schedule_verification(completion_id: int, job_id: str | None = None) -> None:
    """Enqueue the verification job after commit, with a deterministic id."""
    from challenges.jobs import verify_completion

    enqueue_after_commit(verify_completion, completion_id, job_id=job_id or f"verify-completion-{completion_id}",
                         timeout=60)


# --- verifying -----------------------------------------------------------------------------


def start_verification(completion_id: int) -> verifiers.Evidence | None:
    """submitted/verifying → verifying (counting the attempt); None when already decided."""
    moved = db.session.execute(
        update(Completion)
        .where(Completion.id == completion_id, Completion.status.in_(
            (CompletionStatus.SUBMITTED, CompletionStatus.VERIFYING)))
        .values(status=CompletionStatus.VERIFYING, verifying_started_at=utcnow(),
                verification_attempts=Completion.verification_attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        return None
    completion = db.session.get(Completion, completion_id)
    db.session.refresh(completion)
    challenge = completion.challenge
    return verifiers.Evidence(
        completion_id=completion.id, challenge_type=challenge.type, evidence_url=completion.evidence_url,
        evidence_text=completion.evidence_text, answers=completion.answers,
        allowed_domains=tuple(challenge.allowed_domains or ()), marker=challenge.marker, quiz=challenge.quiz,
        attempt=completion.verification_attempts,
        allow_hosts=tuple(current_app.config.get("VOUCH_VERIFY_ALLOW_HOSTS") or ()),
        extra={"verification": challenge.verification},
    )


def send_to_review(completion_id: int, note: str | None, excerpt: str | None = None) -> bool:
    """submitted/verifying → pending_review with a note for staff. False if already moved on."""
    return db.session.execute(
        update(Completion)
        .where(Completion.id == completion_id, Completion.status.in_(
            (CompletionStatus.SUBMITTED, CompletionStatus.VERIFYING)))
        .values(status=CompletionStatus.PENDING_REVIEW, verification_note=(note or "")[:1000] or None,
                fetched_excerpt=excerpt[:4000] if excerpt else None)
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def apply_verdict(completion_id: int, verdict: verifiers.Verdict) -> str:
    """Act on a verifier's verdict once; a completion already decided is left alone."""
    completion = db.session.get(Completion, completion_id)
    if completion is None:
        return "missing"
    db.session.refresh(completion)
    if completion.status not in (CompletionStatus.SUBMITTED, CompletionStatus.VERIFYING):
        return "already_decided"
    try:
        if verdict.decision == "approve":
            if verdict.excerpt:
                completion.fetched_excerpt = verdict.excerpt[:4000]
            completion.verification_note = (verdict.note or "")[:1000] or None
            db.session.flush()
            approve_completion(completion_id, None, auto=True)
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
    now = utcnow()
    row = db.session.execute(
        update(Completion)
        .where(Completion.id == completion_id, Completion.status.in_(UNDECIDED))
        .values(status=to, decided_at=now, decided_by_id=actor_id, **values)
        .returning(Completion.id)
        .execution_options(synchronize_session=False)
    ).first()
    completion = db.session.get(Completion, completion_id)
    if completion is None:
        raise NotFound("Completion not found.")
    db.session.refresh(completion)
    if row is None:
        raise InvalidState(f"This completion was already decided ({completion.status.value}).")
    return completion


def approve_completion(completion_id: int, actor_id: int | None, auto: bool = False) -> Completion:
    """Approve once (conditional UPDATE; a second approval gets 409 invalid_state) and award
    the points offered at submission through the ledger, idempotent on ("completion", id)."""
    completion = _decide(completion_id, CompletionStatus.APPROVED, actor_id,
                         points_awarded=Completion.points_offered, is_auto_approved=auto)
    challenge = completion.challenge
    advocate = db.session.get(Advocate, completion.advocate_id)
    if completion.points_offered:
        post_entry(completion.advocate_id, completion.points_offered, EntryKind.EARN, "completion", completion.id,
                   f"{challenge.title} approved", created_by_id=actor_id)
    _award_badges(completion, challenge)
    notify(advocate.user_id, "completion_approved",
           f"+{completion.points_offered:,} points — “{challenge.title}” was approved. Thank you!",
           f"/challenges/{challenge.id}")
    if actor_id is not None:
        record_audit(actor_id, "completion.approve", "completion", completion.id, {"status": "undecided"},
                     {"status": "approved", "points": completion.points_offered})
    return completion


def _award_badges(completion: Completion, challenge: Challenge) -> None:
    approved = db.session.scalar(select(func.count()).select_from(Completion).where(
        Completion.advocate_id == completion.advocate_id, Completion.status == CompletionStatus.APPROVED))
    if approved >= 1:
        award_badge(completion.advocate_id, "first_completion")
    if challenge.type == "review":
        award_badge(completion.advocate_id, "first_review")
    if challenge.type == "reference_call":
        award_badge(completion.advocate_id, "first_reference")
    for step, code in BADGE_STEPS.items():
        if approved >= step:
            award_badge(completion.advocate_id, code)


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
    notify(advocate.user_id, "completion_rejected",
           f"“{completion.challenge.title}” was not approved: {reason}", f"/challenges/{completion.challenge_id}")
    if actor_id is not None:
        record_audit(actor_id, "completion.reject", "completion", completion.id, {"status": "undecided"},
                     {"status": "rejected", "reason": reason})
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


def auto_complete(challenge_id: int, advocate_id: int, source_key: str, evidence: EvidenceInput,
                  at: dt.datetime | None = None) -> Completion:
    """For the community/CRM/reference flows: create and approve a completion once per
    `source_key`, within the challenge's caps, limits and dates (raises like submit)."""
    completion = submit_completion(challenge_id, advocate_id, evidence, at=at, source_key=source_key, system=True)
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


def list_completions(status: str | None, challenge_id: int | None, advocate_id: int | None,
                     page: int, per_page: int, oldest_first: bool = False,
                     challenge_type: str | None = None, older_than: dt.datetime | None = None,
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
    order = (Completion.submitted_at.asc(), Completion.id.asc()) if oldest_first else (
        Completion.submitted_at.desc(), Completion.id.desc())
    items = db.session.scalars(query.order_by(*order).limit(per_page).offset((page - 1) * per_page)).all()
    return list(items), total


def stuck_completions(older_than: dt.datetime, limit: int = 500) -> list[Completion]:
    """Completions still submitted/verifying since before `older_than` (lost or killed jobs)."""
    return list(db.session.scalars(
        select(Completion).where(
            Completion.status.in_((CompletionStatus.SUBMITTED, CompletionStatus.VERIFYING)),
            func.coalesce(Completion.verifying_started_at, Completion.submitted_at) <= older_than,
        ).order_by(Completion.submitted_at).limit(limit)
    ))



# --- the advocate's own preferences --------------------------------------------------------

MAX_BLACKOUTS = 20


@dataclass(frozen=True)
class PreferencesInput:
    activity_types: tuple[str, ...]
    available_for_references: bool
    max_asks_per_quarter: int | None
    show_on_leaderboard: bool


def save_preferences(advocate_id: int, inp: PreferencesInput) -> Advocate:
    """Save the advocate's own preferences. Their cap may only be stricter than the program's
    yearly limit (a larger number would never bind, so it is refused as misleading)."""
    from hub.settings import get_setting

    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None:
        raise NotFound("Advocate not found.")
    yearly = get_setting("caps_policy").get("asks_per_365_days")
    if inp.max_asks_per_quarter is not None and isinstance(yearly, int) and inp.max_asks_per_quarter > yearly:
        raise ValidationFailed({"max_asks_per_quarter":
                                f"The program already limits asks to {yearly} a year; choose {yearly} or fewer."})
    unknown = [t for t in inp.activity_types if t not in verifiers.TYPES]
    if unknown:
        raise ValidationFailed({"activity_types": "Pick from the listed activities."})
    advocate.available_for_references = inp.available_for_references
    advocate.max_asks_per_quarter = inp.max_asks_per_quarter
    advocate.show_on_leaderboard = inp.show_on_leaderboard
    advocate.preferences = dict(advocate.preferences or {}) | {"activity_types": list(inp.activity_types)}
    db.session.flush()
    return advocate


def add_blackout(advocate_id: int, start: dt.date, end: dt.date, today: dt.date | None = None) -> list[dict]:
    """Add an inclusive date range in which the advocate gets no asks."""
    today = today or utcnow().date()
    if end < start:
        raise ValidationFailed({"end": "The last day must be on or after the first."})
    if end < today:
        raise ValidationFailed({"end": "That range is already over."})
    if (end - start).days > 366:
        raise ValidationFailed({"end": "At most a year at a time."})
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None:
        raise NotFound("Advocate not found.")
    current = [b for b in caps.parse_blackouts((advocate.preferences or {}).get("blackouts")) if b[1] >= today]
    if len(current) >= MAX_BLACKOUTS:
        raise ValidationFailed({"start": f"At most {MAX_BLACKOUTS} ranges; remove one first."})
    ranges = sorted({*current, (start, end)})
    stored = [{"start": s.isoformat(), "end": e.isoformat()} for s, e in ranges]
    advocate.preferences = dict(advocate.preferences or {}) | {"blackouts": stored}
    db.session.flush()
    return stored


def remove_blackout(advocate_id: int, start: dt.date, end: dt.date) -> list[dict]:
    """Remove one blackout range (no error if it is not there)."""
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None:
        raise NotFound("Advocate not found.")
    ranges = [b for b in caps.parse_blackouts((advocate.preferences or {}).get("blackouts")) if b != (start, end)]
    stored = [{"start": s.isoformat(), "end": e.isoformat()} for s, e in ranges]
    advocate.preferences = dict(advocate.preferences or {}) | {"blackouts": stored}
    db.session.flush()
    return stored


# --- staff: review queue and preview -------------------------------------------------------


@dataclass(frozen=True)
class ReviewItem:
    completion: Completion
    challenge: Challenge
    advocate: Advocate
    asks_last_365: int
    burnout: str
    recent_asks: list
    excerpt_parts: list[tuple[str, bool]]


def highlight(text: str | None, marker: str | None) -> list[tuple[str, bool]]:
    """Split `text` into (part, is_marker) pieces so a template can mark the marker safely."""
    if not text:
        return []
    if not marker:
        return [(text, False)]
    parts: list[tuple[str, bool]] = []
    lowered, needle, at = text.casefold(), marker.casefold(), 0
    while (found := lowered.find(needle, at)) >= 0 and len(lowered) == len(text):
        parts += [(text[at:found], False), (text[found:found + len(marker)], True)]
        at = found + len(marker)
    parts.append((text[at:], False))
    return [p for p in parts if p[0]]


def review_queue(challenge_id: int | None, challenge_type: str | None, min_age_days: int | None,
                 page: int, per_page: int) -> tuple[list[ReviewItem], int]:
    """Completions waiting for a person, oldest first, with what the reviewer needs to decide."""
    from sqlalchemy.orm import joinedload

    older_than = utcnow() - dt.timedelta(days=min_age_days) if min_age_days else None
    completions, total = list_completions(CompletionStatus.PENDING_REVIEW.value, challenge_id, None, page, per_page,
                                          oldest_first=True, challenge_type=challenge_type, older_than=older_than)
    ids = [c.id for c in completions]
    loaded = {c.id: c for c in db.session.scalars(
        select(Completion).where(Completion.id.in_(ids)).options(
            joinedload(Completion.challenge), joinedload(Completion.advocate).joinedload(Advocate.user))
    ).unique()} if ids else {}
    advocate_ids = list({c.advocate_id for c in completions})
    counts = caps.asks_last_365(advocate_ids)
    recent = caps.recent_asks(advocate_ids)
    items = []
    for c in completions:
        full = loaded[c.id]
        items.append(ReviewItem(full, full.challenge, full.advocate, counts.get(c.advocate_id, 0),
                                caps.burnout_bucket(counts.get(c.advocate_id, 0)), recent.get(c.advocate_id, []),
                                highlight(full.fetched_excerpt, full.challenge.marker)))
    return items, total


def preview_challenge(inp: ChallengeInput) -> FeedItem:
    """A transient challenge (never saved) shown exactly as an advocate's card would show it."""
    challenge = Challenge(id=0, status=ChallengeStatus.PUBLISHED)
    for name in EDITABLE:
        value = getattr(inp, name)
        setattr(challenge, name, list(value) if isinstance(value, tuple) else value)
    spec = verifiers.TYPES.get(inp.type) or verifiers.TYPES["custom"]
    return FeedItem(challenge, spec, True, None, None)
