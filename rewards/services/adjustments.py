"""Owner adjustments: a validated number of points with a memo, posted as one audited `adjust` entry."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import AfterValidator

from hub.audit import record_audit
from hub.contracts import Body
from hub.errors import NotFound, ValidationFailed
from hub.extensions import db
from hub.fields import Flag, OneLine, WholeNumber, invalid, read
from hub.models import Advocate
from hub.notifications import notify
from rewards.ledger import MAX_DELTA, post_entry
from rewards.models import CORRECTION_SOURCE, EntryKind, LedgerEntry


def _not_zero(points: int) -> int:
    if points == 0:
        raise invalid("Must not be zero.")
    return points


class Adjustment(Body):
    """An owner's adjustment (form or API alike): a non-zero whole number of points within
    ±MAX_DELTA (a JSON number: "100" in quotes is refused, as the ledger takes no guesses), and
    the reason shown to the advocate and in the audit log. `lifetime: true` with negative points
    is a correction (product.md §14): it lowers lifetime points too, so the tier and the
    leaderboards follow; it is refused with positive points."""

    points: Annotated[int, WholeNumber(-MAX_DELTA, MAX_DELTA, from_text=False), AfterValidator(_not_zero)]
    memo: Annotated[str, OneLine(255, missing="Say why (it is shown to the advocate and in the audit log).")]
    lifetime: Annotated[bool, Flag()] = False


def validate_adjustment(raw_points: object, raw_memo: object, raw_lifetime: object = False) -> Adjustment:
    """The points, memo and correction flag of an owner's adjustment, read through Adjustment.
    Raises ValidationFailed with `points` / `memo` / `lifetime` field errors."""
    return read(Adjustment, {"points": raw_points, "memo": raw_memo, "lifetime": raw_lifetime})


def adjust_points(advocate_id: int, points: int, memo: str, actor_id: int, *, lifetime: bool = False) -> LedgerEntry:
    """An owner's manual adjustment: one `adjust` entry, audited; never below a zero balance.

    With `lifetime=True` (negative points only) it is a correction: lifetime points drop by the
    same amount (never below zero), the tier is recomputed and may drop (recorded, shown without
    a congratulation), the leaderboards follow. Raises ValidationFailed (`points`, `lifetime`),
    NotFound, InsufficientPoints (the balance or lifetime points would go below zero)."""
    if points == 0:
        raise ValidationFailed({"points": "Must not be zero."})
    if lifetime and points > 0:
        raise ValidationFailed({"lifetime": "Only a negative adjustment can lower lifetime points."})
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        raise NotFound("Advocate not found.")
    before = {"balance": advocate.balance, "lifetime_points": advocate.lifetime_points, "tier": str(advocate.tier)}
    posted = post_entry(
        advocate_id,
        points,
        kind=EntryKind.ADJUST,
        source_type=CORRECTION_SOURCE if lifetime else "adjustment",
        source_id=uuid.uuid4().hex,
        memo=memo,
        created_by_id=actor_id,
    )
    db.session.refresh(advocate, ["tier"])
    record_audit(
        actor_id,
        "points.adjust",
        "advocate",
        advocate_id,
        before,
        {
            "balance": posted.balance,
            "lifetime_points": posted.lifetime_points,
            "tier": str(advocate.tier),
            "delta": points,
            "memo": memo,
            "lifetime": lifetime,
        },
    )
    sign = "+" if points > 0 else "−"
    notify(advocate.user_id, "points", f"{sign}{abs(points)} points: {memo}", "/me/activity")
    assert posted.entry is not None, "a fresh source id is never a repeat"
    return posted.entry
