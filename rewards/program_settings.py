"""The owner's program settings as one document (api.md `GET/PATCH /settings`): tier thresholds and
basis, point value, points expiry, program cost and the trust review threshold — validated
through one model, stored through hub.settings (the existing settings table), audited with
before and after, and applied (tiers recomputed, the expiry policy's start recorded).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel

from hub.audit import record_audit
from hub.contracts import Body, Reply, patch_of
from hub.db import utcnow
from hub.errors import ValidationFailed
from hub.fields import Money, OneOf, WholeNumber, read
from hub.settings import get_setting, save_setting
from rewards import tiers
from rewards.expiry import forget_watches
from rewards.tier_changes import recompute_all_tiers

TIER_BASES = ("lifetime", "rolling_365")
MAX_EXPIRY_DAYS = 3650


class TierThresholds(BaseModel):
    """Silver and Gold from these lifetime (or rolling) points; 1 ≤ silver < gold."""

    silver: Annotated[int, WholeNumber(1, 100_000_000)]
    gold: Annotated[int, WholeNumber(2, 100_000_000)]


class ProgramSettings(Body):
    """Every owner setting of the points economy (product.md §3, §14, §15)."""

    tier_thresholds: TierThresholds
    tier_basis: Annotated[str, OneOf(TIER_BASES)]
    point_value: Money
    points_expiry_days: Annotated[int | None, WholeNumber(1, MAX_EXPIRY_DAYS)] = None
    program_cost: Money
    trust_review_threshold: Annotated[int, WholeNumber(0, 100)]


SettingsPatch = patch_of(ProgramSettings)


class TierThresholdsReply(Reply):
    silver: int
    gold: int


class MoneyReply(Reply):
    amount: str
    currency: str


class SettingsReply(Reply):
    tier_thresholds: TierThresholdsReply
    tier_basis: str
    point_value: MoneyReply
    points_expiry_days: int | None
    points_expiry_since: str | None
    program_cost: MoneyReply
    trust_review_threshold: int


KEYS = tuple(ProgramSettings.model_fields)


def _money(value: dict[str, Any]) -> dict[str, Any]:
    return {"amount": f"{Decimal(str(value.get('amount', '0'))):.2f}", "currency": value.get("currency") or "USD"}


def current_settings() -> dict[str, Any]:
    """The settings as the API writes them (amounts as 2-decimal strings)."""
    return {
        "tier_thresholds": get_setting("tier_thresholds"),
        "tier_basis": get_setting("tier_basis"),
        "point_value": _money(get_setting("point_value")),
        "points_expiry_days": get_setting("points_expiry_days"),
        "points_expiry_since": get_setting("points_expiry_since"),
        "program_cost": _money(get_setting("program_cost")),
        "trust_review_threshold": get_setting("trust_review_threshold"),
    }


def proposed(changes: dict[str, Any]) -> ProgramSettings:
    """The current settings with `changes` (raw JSON-like values of some KEYS) applied, read
    through ProgramSettings. Raises ValidationFailed (field errors named as in the body; a Gold
    threshold not above Silver is an error on `tier_thresholds`)."""
    merged = {k: v for k, v in current_settings().items() if k in KEYS} | changes
    settings = read(ProgramSettings, merged)
    try:
        tiers.validate_thresholds(settings.tier_thresholds.silver, settings.tier_thresholds.gold)
    except ValidationFailed as exc:
        raise ValidationFailed(
            {"tier_thresholds": " ".join(m for messages in exc.fields.values() for m in messages)}
        ) from None
    return settings


def _stored(settings: ProgramSettings) -> dict[str, Any]:
    return {
        "tier_thresholds": settings.tier_thresholds.model_dump(),
        "tier_basis": settings.tier_basis,
        "point_value": {"amount": f"{settings.point_value.amount:.2f}", "currency": settings.point_value.currency},
        "points_expiry_days": settings.points_expiry_days,
        "program_cost": {"amount": f"{settings.program_cost.amount:.2f}", "currency": settings.program_cost.currency},
        "trust_review_threshold": settings.trust_review_threshold,
    }


def expiry_since_for(days: int | None, before_days: int | None, now: dt.datetime) -> str | None:
    """When the expiry policy counts from after a change: switching it on starts it now (earlier
    points are grandfathered), changing N keeps the start, switching it off clears it."""
    if not days:
        return None
    if before_days:
        return get_setting("points_expiry_since") or now.isoformat()
    return now.isoformat()


def apply_settings(changes: dict[str, Any], actor_id: int) -> tuple[dict[str, Any], int]:
    """Validate and save `changes` (some of KEYS), audit before/after of what changed (action
    `settings.update`), and apply them: a tier threshold or basis change recomputes every tier
    (recorded, shown; a tier reached again is not re-congratulated). Returns (the settings,
    tier changes). Raises ValidationFailed and writes nothing on bad input."""
    settings = proposed(changes)
    new = _stored(settings)
    old = {k: v for k, v in current_settings().items() if k in KEYS}
    changed = [k for k in KEYS if new[k] != old[k]]
    if not changed:
        return current_settings(), 0
    before = {k: old[k] for k in changed}
    after = {k: new[k] for k in changed}
    for key in changed:
        save_setting(key, new[key], actor_id)
    if "points_expiry_days" in changed:
        forget_watches()  # every lot's notice and due times move with N
        since = expiry_since_for(new["points_expiry_days"], old["points_expiry_days"], utcnow())
        before["points_expiry_since"], _ = save_setting("points_expiry_since", since, actor_id)
        after["points_expiry_since"] = since
    record_audit(actor_id, "settings.update", "setting", "program", before, after)
    moved = recompute_all_tiers() if {"tier_thresholds", "tier_basis"} & set(changed) else 0
    return current_settings(), moved
