"""Points rules, one module per concern, re-exported here (`from rewards import services`).

- adjustments: an owner's validated, audited point adjustment;
- redemptions: redeeming a reward all or nothing, and the staff decisions and queue;
- economy: the dashboard's figures (points issued/redeemed/outstanding, advocates per tier).

Ledger writes go through rewards.ledger; tier moves live in rewards.tier_changes (re-exported
here for the consoles and commands). Services flush and never commit.
"""

from __future__ import annotations

from rewards.ledger import home_recent_entries, ledger_page, recent_entries
from rewards.services.adjustments import Adjustment, adjust_points, validate_adjustment
from rewards.services.economy import liability, point_value, points_economy
from rewards.services.redemptions import (
    REDEMPTIONS_URL,
    PriceChanged,
    approve_redemption,
    cancel_redemption,
    decide_redemptions,
    fulfil_redemption,
    get_redemption,
    redeem_reward,
    redemption_counts,
    redemption_export_batches,
    redemptions_page,
    reject_redemption,
)
from rewards.tier_changes import recompute_all_tiers, refresh_tier, tier_basis_points

__all__ = [
    "REDEMPTIONS_URL",
    "Adjustment",
    "PriceChanged",
    "adjust_points",
    "approve_redemption",
    "cancel_redemption",
    "decide_redemptions",
    "fulfil_redemption",
    "get_redemption",
    "home_recent_entries",
    "ledger_page",
    "liability",
    "point_value",
    "points_economy",
    "recent_entries",
    "recompute_all_tiers",
    "redeem_reward",
    "redemption_counts",
    "redemption_export_batches",
    "redemptions_page",
    "refresh_tier",
    "reject_redemption",
    "tier_basis_points",
    "validate_adjustment",
]
