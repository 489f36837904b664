"""Points services: tiers, owner adjustments, ledger reads."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update

from hub.audit import record_audit
from hub.db import utcnow
from hub.errors import NotFound, ValidationFailed
from hub.extensions import db
from hub.models import Advocate, Tier
from hub.notifications import notify
from hub.settings import get_setting
from rewards import tiers
from rewards.badges import award_badge
from rewards.ledger import MAX_DELTA, lifetime_expression, post_entry
from rewards.models import EntryKind, LedgerEntry, TierChange


def tier_basis_points(advocate_id: int, lifetime_points: int | None = None) -> int:
    """Points that decide the tier under the owner's basis (lifetime or rolling 365 days)."""
    if get_setting("tier_basis") == "rolling_365":
        since = utcnow() - dt.timedelta(days=365)
        return db.session.scalar(
            select(lifetime_expression()).where(
                LedgerEntry.advocate_id == advocate_id, LedgerEntry.created_at >= since
            )
        )
    if lifetime_points is None:
        lifetime_points = db.session.scalar(
            select(Advocate.lifetime_points).where(Advocate.id == advocate_id)
        )
    return lifetime_points


def refresh_tier(advocate_id: int, lifetime_points: int | None = None, allow_demotion: bool = False) -> Tier:
    """Set the stored tier to tier_for(basis points); records, badges and notifies a change.

    Spending never demotes (it does not lower lifetime points). Only a recomputation after
    the owner changes thresholds or the rolling window moves may pass allow_demotion.
    """
    points = tier_basis_points(advocate_id, lifetime_points)
    target = tiers.tier_for(points, get_setting("tier_thresholds"))
    current = Tier(db.session.scalar(select(Advocate.tier).where(Advocate.id == advocate_id)))
    if target == current or (tiers.rank_of(target) < tiers.rank_of(current) and not allow_demotion):
        return current
    now = utcnow()
    changed = db.session.execute(
        update(Advocate)
        .where(Advocate.id == advocate_id, Advocate.tier == current)
        .values(tier=target, tier_changed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        return current
    obj = db.session.identity_map.get(db.session.identity_key(Advocate, advocate_id))
    if obj is not None:
        db.session.expire(obj, ["tier", "tier_changed_at"])
    db.session.add(TierChange(advocate_id=advocate_id, from_tier=current, to_tier=target, changed_at=now))
    if tiers.rank_of(target) > tiers.rank_of(current):
        user_id = db.session.scalar(select(Advocate.user_id).where(Advocate.id == advocate_id))
        notify(user_id, "tier", f"You reached {target.value.title()} status!", "/")
        for reached in tiers.TIER_ORDER[tiers.rank_of(current) + 1 : tiers.rank_of(target) + 1]:
            award_badge(advocate_id, f"tier_{reached.value}")
    db.session.flush()
    return target


def recompute_all_tiers() -> int:
    """Recompute every advocate's tier (after thresholds or basis change). Returns changes."""
    changes = 0
    for advocate_id in list(db.session.scalars(select(Advocate.id).where(Advocate.is_erased.is_(False)))):
        before = db.session.scalar(select(Advocate.tier).where(Advocate.id == advocate_id))
        if refresh_tier(advocate_id, allow_demotion=True) != before:
            changes += 1
    return changes


@dataclass(frozen=True)
class Adjustment:
    advocate_id: int
    points: int
    memo: str


def validate_adjustment(raw_points, raw_memo) -> Adjustment | dict[str, str]:
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
    return errors or Adjustment(0, points, memo)


def adjust_points(advocate_id: int, points: int, memo: str, actor_id: int) -> LedgerEntry:
    """An owner's manual adjustment: one `adjust` entry, audited; never below a zero balance."""
    if points == 0:
        raise ValidationFailed({"points": "Must not be zero."})
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        raise NotFound("Advocate not found.")
    before = {"balance": advocate.balance, "lifetime_points": advocate.lifetime_points}
    posted = post_entry(
        advocate_id, points, EntryKind.ADJUST, "adjustment", uuid.uuid4().hex, memo, created_by_id=actor_id
    )
    record_audit(
        actor_id, "points.adjust", "advocate", advocate_id, before,
        {"balance": posted.balance, "lifetime_points": posted.lifetime_points, "delta": points, "memo": memo},
    )
    sign = "+" if points > 0 else "−"
    notify(advocate.user_id, "points", f"{sign}{abs(points)} points: {memo}", "/me/activity")
    return posted.entry


def ledger_page(advocate_id: int, page: int, per_page: int) -> tuple[list[LedgerEntry], int]:
    total = db.session.scalar(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.advocate_id == advocate_id)
    )
    items = db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.advocate_id == advocate_id)
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(items), total
