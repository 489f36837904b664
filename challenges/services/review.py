"""Staff reads: the review queue with what a reviewer needs, and the editor's live preview."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from challenges import caps, verifiers
from challenges.models import (
    Ask,
    Challenge,
    ChallengeStatus,
    Completion,
    CompletionStatus,
    EvidenceFile,
)
from challenges.services.completions import list_completions
from challenges.services.definitions import EDITABLE, ChallengeInput
from challenges.services.evidence_files import files_for
from challenges.services.feed import FeedItem
from hub import trust
from hub.db import utcnow
from hub.extensions import db
from hub.models import Advocate, TrustSignal

# --- staff: review queue and preview -------------------------------------------------------


@dataclass(frozen=True)
class ReviewItem:
    completion: Completion
    challenge: Challenge
    advocate: Advocate
    asks_last_365: int
    burnout: str
    recent_asks: list[Ask]
    excerpt_parts: list[tuple[str, bool]]
    # product.md §15: the advocate's trust score and uncleared signals, next to the evidence
    trust_signals: list[TrustSignal] = field(default_factory=list)
    below_threshold: bool = False
    # the photo or document sent as evidence (issue 19), shown beside the rest
    file: EvidenceFile | None = None


def highlight(text: str | None, marker: str | None) -> list[tuple[str, bool]]:
    """Split `text` into (part, is_marker) pieces so a template can mark the marker safely."""
    if not text:
        return []
    if not marker:
        return [(text, False)]
    parts: list[tuple[str, bool]] = []
    lowered, needle, at = text.casefold(), marker.casefold(), 0
    while (found := lowered.find(needle, at)) >= 0 and len(lowered) == len(text):
        parts += [(text[at:found], False), (text[found : found + len(marker)], True)]
        at = found + len(marker)
    parts.append((text[at:], False))
    return [p for p in parts if p[0]]


def review_queue(
    challenge_id: int | None, challenge_type: str | None, min_age_days: int | None, page: int, per_page: int
) -> tuple[list[ReviewItem], int]:
    """Completions waiting for a person, oldest first, with what the reviewer needs to decide."""
    from sqlalchemy.orm import joinedload

    older_than = utcnow() - dt.timedelta(days=min_age_days) if min_age_days else None
    completions, total = list_completions(
        CompletionStatus.PENDING_REVIEW.value,
        challenge_id,
        None,
        page,
        per_page,
        oldest_first=True,
        challenge_type=challenge_type,
        older_than=older_than,
    )
    ids = [c.id for c in completions]
    loaded = (
        {
            c.id: c
            for c in db.session.scalars(
                select(Completion)
                .where(Completion.id.in_(ids))
                .options(joinedload(Completion.challenge), joinedload(Completion.advocate).joinedload(Advocate.user))
            ).unique()
        }
        if ids
        else {}
    )
    advocate_ids = list({c.advocate_id for c in completions})
    counts = caps.asks_last_365(advocate_ids)
    recent = caps.recent_asks(advocate_ids)
    signals = trust.signals_for(advocate_ids)
    files = files_for(ids)
    limit = trust.threshold()
    items = []
    for c in completions:
        full = loaded[c.id]
        items.append(
            ReviewItem(
                full,
                full.challenge,
                full.advocate,
                counts.get(c.advocate_id, 0),
                caps.burnout_bucket(counts.get(c.advocate_id, 0)),
                recent.get(c.advocate_id, []),
                highlight(full.fetched_excerpt, full.challenge.marker),
                signals.get(c.advocate_id, []),
                full.advocate.trust_score < limit,
                files.get(c.id),
            )
        )
    return items, total


def preview_challenge(inp: ChallengeInput) -> FeedItem:
    """A transient challenge (never saved) shown exactly as an advocate's card would show it."""
    challenge = Challenge(id=0, status=ChallengeStatus.PUBLISHED)
    for name in EDITABLE:
        value = getattr(inp, name)
        setattr(challenge, name, list(value) if isinstance(value, tuple) else value)
    spec = verifiers.TYPES.get(inp.type) or verifiers.TYPES["custom"]
    return FeedItem(challenge, spec, True, None, None, lock_code=None)
