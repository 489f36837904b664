"""Tier arithmetic: pure functions of points and thresholds."""

from __future__ import annotations

from dataclasses import dataclass

from hub.errors import ValidationFailed
from hub.models import Tier

DEFAULT_THRESHOLDS = {"silver": 1000, "gold": 5000}
TIER_ORDER = (Tier.BRONZE, Tier.SILVER, Tier.GOLD)


def tier_for(points: int, thresholds: dict[str, int] | None = None) -> Tier:
    t = thresholds or DEFAULT_THRESHOLDS
    if points >= t["gold"]:
        return Tier.GOLD
    if points >= t["silver"]:
        return Tier.SILVER
    return Tier.BRONZE


def rank_of(tier: Tier | str) -> int:
    return TIER_ORDER.index(Tier(tier))


@dataclass(frozen=True)
class TierProgress:
    tier: Tier
    next_tier: Tier | None
    points_to_next: int
    floor: int
    ceiling: int | None

    @property
    def percent(self) -> int:
        if self.ceiling is None:
            return 100
        span = self.ceiling - self.floor
        return max(0, min(100, round(100 * (span - self.points_to_next) / span))) if span else 100


def progress(points: int, thresholds: dict[str, int] | None = None) -> TierProgress:
    t = thresholds or DEFAULT_THRESHOLDS
    tier = tier_for(points, t)
    if tier is Tier.BRONZE:
        return TierProgress(tier, Tier.SILVER, t["silver"] - points, 0, t["silver"])
    if tier is Tier.SILVER:
        return TierProgress(tier, Tier.GOLD, t["gold"] - points, t["silver"], t["gold"])
    return TierProgress(tier, None, 0, t["gold"], None)


def validate_thresholds(silver: int, gold: int) -> None:
    """Raises ValidationFailed (`silver`, `gold` field errors) unless 1 ≤ silver < gold."""
    errors: dict[str, str] = {}
    if silver < 1:
        errors["silver"] = "Silver must be at least 1 point."
    if gold <= silver:
        errors["gold"] = "Gold must be more points than Silver."
    if errors:
        raise ValidationFailed(errors)
