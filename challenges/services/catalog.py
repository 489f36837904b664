"""The challenge catalog: creating and editing challenges from checked definitions
(challenges.services.definitions), the draft → published → closed → archived lifecycle
(conditional UPDATEs, audited), duplicates, listing and per-challenge completion counts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import func, select, update

from challenges.models import (
    Challenge,
    ChallengeStatus,
    Completion,
    CompletionStatus,
)
from challenges.services.definitions import EDITABLE, ChallengeInput, clean_challenge
from hub.audit import record_audit
from hub.db import execute_dml, utcnow
from hub.errors import (
    InvalidState,
    NotFound,
)
from hub.extensions import db


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
        retry_limit=challenge.retry_limit,
        retry_wait_hours=challenge.retry_wait_hours,
        max_total=challenge.max_total,
        starts_at=challenge.starts_at,
        ends_at=challenge.ends_at,
        target_tiers=tuple(challenge.target_tiers or ()),
        target_groups=tuple(g.name for g in challenge.target_groups),
        quiz=challenge.quiz,
        platform=challenge.platform,
        disclosure=challenge.disclosure,
        banner=challenge.banner,
        file_kinds=tuple(challenge.file_kinds or ()),
    )
    return replace(base, **changes)


def definition_dict(challenge: Challenge) -> dict[str, Any]:
    """The challenge's definition in clean_challenge's input shape (PATCH merges onto it)."""
    inp = input_from(challenge)
    data = {k: getattr(inp, k) for k in ChallengeInput.__dataclass_fields__}
    for key in ("evidence", "allowed_domains", "target_tiers", "target_groups", "file_kinds"):
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
    moved = execute_dml(
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
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    items = db.session.scalars(
        query.order_by(Challenge.created_at.desc(), Challenge.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return list(items), total
