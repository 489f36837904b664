"""Owner adjustments: a validated number of points with a memo, posted as one audited `adjust` entry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hub.audit import record_audit
from hub.errors import NotFound, ValidationFailed
from hub.extensions import db
from hub.models import Advocate
from hub.notifications import notify
from rewards.ledger import MAX_DELTA, post_entry
from rewards.models import EntryKind, LedgerEntry


@dataclass(frozen=True)
class Adjustment:
    """A checked adjustment: a non-zero whole number of points and the reason shown to the advocate."""

    points: int
    memo: str


def validate_adjustment(raw_points: object, raw_memo: object) -> Adjustment:
    """The points and memo of an owner's adjustment, checked (form or API alike).

    Raises ValidationFailed with `points` / `memo` field errors: points must be a whole,
    non-zero number within ±MAX_DELTA; the memo 1–255 characters after trimming."""
    errors: dict[str, str] = {}
    points = raw_points
    if isinstance(points, bool) or not isinstance(points, int):
        errors["points"] = "Must be a whole number of points."
    elif points == 0:
        errors["points"] = "Must not be zero."
    elif abs(points) > MAX_DELTA:
        errors["points"] = f"Must be between -{MAX_DELTA:,} and {MAX_DELTA:,}."
    memo = raw_memo.strip() if isinstance(raw_memo, str) else ""
    if not memo:
        errors["memo"] = "Say why (it is shown to the advocate and in the audit log)."
    elif len(memo) > 255:
        errors["memo"] = "At most 255 characters."
    if errors:
        raise ValidationFailed(errors)
    return Adjustment(points, memo)


def adjust_points(advocate_id: int, points: int, memo: str, actor_id: int) -> LedgerEntry:
    """An owner's manual adjustment: one `adjust` entry, audited; never below a zero balance."""
    if points == 0:
        raise ValidationFailed({"points": "Must not be zero."})
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        raise NotFound("Advocate not found.")
    before = {"balance": advocate.balance, "lifetime_points": advocate.lifetime_points}
    posted = post_entry(
        advocate_id,
        points,
        kind=EntryKind.ADJUST,
        source_type="adjustment",
        source_id=uuid.uuid4().hex,
        memo=memo,
        created_by_id=actor_id,
    )
    record_audit(
        actor_id,
        "points.adjust",
        "advocate",
        advocate_id,
        before,
        {"balance": posted.balance, "lifetime_points": posted.lifetime_points, "delta": points, "memo": memo},
    )
    sign = "+" if points > 0 else "−"
    notify(advocate.user_id, "points", f"{sign}{abs(points)} points: {memo}", "/me/activity")
    return posted.entry
