"""The challenge catalog: validating definitions, the draft → published → closed → archived
lifecycle (conditional UPDATEs, audited), duplicates and per-challenge completion counts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select, update

from challenges import verifiers
from challenges.models import (
    Challenge,
    ChallengeStatus,
    Completion,
    CompletionStatus,
    Effort,
)
from hub.audit import record_audit
from hub.db import utcnow
from hub.errors import (
    InvalidState,
    NotFound,
)
from hub.extensions import db
from hub.models import Group, Tier
from hub.validation import Fields

MAX_POINTS = 100_000
MAX_DESCRIPTION = 20_000
MAX_EVIDENCE_TEXT = 5_000
MAX_URL = 2_000
MAX_REASON = 1_000
MAX_QUESTIONS = 30
MAX_OPTIONS = 10
INT_FIELDS = ("points", "bonus_points", "question_id", "cooldown_days", "max_per_advocate", "max_total")
EDITABLE = (
    "title",
    "type",
    "description",
    "points",
    "bonus_points",
    "question_id",
    "effort",
    "verification",
    "evidence",
    "allowed_domains",
    "marker",
    "cooldown_days",
    "max_per_advocate",
    "max_total",
    "starts_at",
    "ends_at",
    "target_tiers",
    "quiz",
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
    verification = f.choice("verification", list(verifiers.VERIFIERS), default=spec.verification if spec else None)
    evidence = f.str_list(
        "evidence", max_items=3, choices=verifiers.EVIDENCE_KINDS, default=list(spec.evidence) if spec else []
    )
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
        title=title,
        type=ctype,
        description=description or "",
        points=points,
        effort=Effort(effort),
        verification=verification,
        evidence=tuple(evidence),
        bonus_points=bonus,
        question_id=question_id,
        allowed_domains=tuple(dict.fromkeys(clean_domains)),
        marker=marker or None,
        cooldown_days=cooldown,
        max_per_advocate=per_advocate,
        max_total=max_total,
        starts_at=starts_at,
        ends_at=ends_at,
        target_tiers=tuple(tiers),
        target_groups=tuple(groups),
        quiz=quiz,
    )


def challenge_warnings(inp: ChallengeInput) -> list[str]:
    """Gaps that do not block saving or publishing but send every completion to review."""
    warnings = []
    if inp.verification == "url_check" and not inp.allowed_domains:
        warnings.append("Link checks need allowed domains (e.g. g2.com): without them every link goes to review.")
    if inp.verification == "url_check" and not inp.marker:
        warnings.append("Without marker text, link checks cannot approve: every link goes to review.")
    if "answers" in inp.evidence and not inp.quiz:
        warnings.append("Add the questions advocates will answer.")
    return warnings


def _clean_quiz(raw: Any, ctype: str | None, errors: dict[str, str]) -> dict[str, Any] | None:
    if raw is None or raw == "" or raw == {}:
        return None
    graded = ctype == "quiz"
    problem = None
    questions = raw.get("questions") if isinstance(raw, dict) else None
    if not isinstance(questions, list) or not 1 <= len(questions) <= MAX_QUESTIONS:
        problem = f'A quiz is {{"questions": [...]}} with 1 to {MAX_QUESTIONS} questions.'
    clean: list[dict[str, Any]] = []
    for n, q in enumerate(questions or [], start=1):
        if problem:
            break
        prompt = q.get("prompt") if isinstance(q, dict) else None
        options = q.get("options", []) if isinstance(q, dict) else None
        answer = q.get("answer") if isinstance(q, dict) else None
        if not isinstance(prompt, str) or not 0 < len(prompt.strip()) <= 500:
            problem = f"Question {n} needs a prompt of at most 500 characters."
        elif (
            not isinstance(options, list)
            or len(options) > MAX_OPTIONS
            or not all(isinstance(o, str) and 0 < len(o.strip()) <= 200 for o in options)
        ):
            problem = f"Question {n}: up to {MAX_OPTIONS} options of at most 200 characters."
        elif graded and len(options) < 2:
            problem = f"Question {n} needs at least two options."
        elif graded and (isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(options)):
            problem = f"Question {n} needs the number of its right option (0 for the first)."
        else:
            clean.append(
                {
                    "prompt": prompt.strip(),
                    "options": [o.strip() for o in options],
                    "answer": answer if graded else None,
                }
            )
    pass_mark = raw.get("pass_mark") if isinstance(raw, dict) else None
    if (
        not problem
        and pass_mark is not None
        and (isinstance(pass_mark, bool) or not isinstance(pass_mark, int) or not 1 <= pass_mark <= len(clean))
    ):
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
    from hub.accounts import groups_by_name

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
        record_audit(
            actor_id,
            "challenge.update",
            "challenge",
            challenge.id,
            {k: before[k] for k in changed},
            {k: after[k] for k in changed},
        )
    return challenge


def input_from(challenge: Challenge, **changes: Any) -> ChallengeInput:
    """The challenge's current definition as an input (for PATCH-style partial edits)."""
    base = ChallengeInput(
        title=challenge.title,
        type=challenge.type,
        description=challenge.description,
        points=challenge.points,
        effort=challenge.effort,
        verification=challenge.verification,
        evidence=tuple(challenge.evidence or ()),
        bonus_points=challenge.bonus_points,
        question_id=challenge.question_id,
        allowed_domains=tuple(challenge.allowed_domains or ()),
        marker=challenge.marker,
        cooldown_days=challenge.cooldown_days,
        max_per_advocate=challenge.max_per_advocate,
        max_total=challenge.max_total,
        starts_at=challenge.starts_at,
        ends_at=challenge.ends_at,
        target_tiers=tuple(challenge.target_tiers or ()),
        target_groups=tuple(g.name for g in challenge.target_groups),
        quiz=challenge.quiz,
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


def _transition(
    challenge_id: int, allowed_from: tuple[ChallengeStatus, ...], to: ChallengeStatus, actor_id: int | None, stamp: str
) -> Challenge:
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
    record_audit(
        actor_id, f"challenge.{to.value}", "challenge", challenge_id, {"status": before.value}, {"status": to.value}
    )
    return challenge


def publish_challenge(challenge_id: int, actor_id: int | None) -> Challenge:
    """draft or closed → published (re-checks what publishing needs)."""
    challenge = get_challenge(challenge_id)
    clean_challenge(definition_dict(challenge))
    return _transition(
        challenge_id,
        (ChallengeStatus.DRAFT, ChallengeStatus.CLOSED),
        ChallengeStatus.PUBLISHED,
        actor_id,
        "published_at",
    )


def close_challenge(challenge_id: int, actor_id: int | None) -> Challenge:
    """published → closed: no new submissions; undecided completions can still be decided."""
    return _transition(challenge_id, (ChallengeStatus.PUBLISHED,), ChallengeStatus.CLOSED, actor_id, "closed_at")


def archive_challenge(challenge_id: int, actor_id: int | None) -> Challenge:
    """draft, published or closed → archived (hidden from advocates)."""
    return _transition(
        challenge_id,
        (ChallengeStatus.DRAFT, ChallengeStatus.PUBLISHED, ChallengeStatus.CLOSED),
        ChallengeStatus.ARCHIVED,
        actor_id,
        "archived_at",
    )


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
        key = (
            "approved"
            if status == CompletionStatus.APPROVED
            else ("rejected" if status == CompletionStatus.REJECTED else "in_flight")
        )
        stats[cid][key] += n
    return stats


def list_challenges(status: str | None, page: int, per_page: int) -> tuple[list[Challenge], int]:
    query = select(Challenge)
    if status:
        query = query.where(Challenge.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(
        query.order_by(Challenge.created_at.desc(), Challenge.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return list(items), total
