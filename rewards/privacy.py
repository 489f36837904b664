"""rewards' share of an advocate's data (hub.privacy, product.md §12): the ledger, tier history,
badges, leaderboard scores and redemptions — exported whole; on erasure the ledger keeps its
amounts (memos blanked), shipping addresses and notes go, and the advocate leaves every board."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from hub import tier_totals
from hub.extensions import db
from hub.hooks import PersonalData
from hub.models import Advocate
from hub.privacy import rows
from rewards import leaderboard
from rewards.ledger import scrub_memos
from rewards.models import (
    AdvocateBadge,
    ExpiryNotice,
    LeaderboardScore,
    LedgerEntry,
    Redemption,
    Reward,
    TierChange,
)


def export_rewards(advocate: Advocate) -> dict[str, Any]:
    aid = advocate.id
    return {
        "ledger": rows(
            select(
                LedgerEntry.id,
                LedgerEntry.delta,
                LedgerEntry.kind,
                LedgerEntry.source_type,
                LedgerEntry.source_id,
                LedgerEntry.memo,
                LedgerEntry.created_at,
            )
            .where(LedgerEntry.advocate_id == aid)
            .order_by(LedgerEntry.created_at, LedgerEntry.id)
        ),
        "tier_history": rows(
            select(TierChange.from_tier, TierChange.to_tier, TierChange.changed_at)
            .where(TierChange.advocate_id == aid)
            .order_by(TierChange.changed_at, TierChange.id)
        ),
        "badges": rows(
            select(AdvocateBadge.code, AdvocateBadge.awarded_at)
            .where(AdvocateBadge.advocate_id == aid)
            .order_by(AdvocateBadge.awarded_at)
        ),
        "leaderboard_scores": rows(
            select(LeaderboardScore.period_key, LeaderboardScore.points).where(LeaderboardScore.advocate_id == aid)
        ),
        "redemptions": rows(
            select(
                Redemption.id,
                Redemption.reward_id,
                Reward.name.label("reward_name"),
                Redemption.points,
                Redemption.status,
                Redemption.note,
                Redemption.shipping_address,
                Redemption.reason,
                Redemption.fulfil_note,
                Redemption.created_at,
                Redemption.decided_at,
                Redemption.fulfilled_at,
                Redemption.cancelled_at,
            )
            .join(Reward, Reward.id == Redemption.reward_id)
            .where(Redemption.advocate_id == aid)
            .order_by(Redemption.id)
        ),
    }


def erase_rewards(advocate: Advocate) -> None:
    """Memos blanked (amounts stay), shipping and fulfilment notes removed, off every board and
    out of the tier totals (hub.tier_totals). Tier history and badges stay: without a name they
    say nothing about a person."""
    scrub_memos(advocate.id)
    db.session.execute(
        update(Redemption)
        .where(Redemption.advocate_id == advocate.id)
        .values(note=None, fulfil_note=None, client_key=None, shipping_address=None)
        .execution_options(synchronize_session=False)
    )
    leaderboard.remove_advocate(advocate.id)
    # Counted at no moment any more: their joining and tier changes leave the tier totals.
    history = db.session.execute(
        select(TierChange.changed_at, TierChange.from_tier)
        .where(TierChange.advocate_id == advocate.id)
        .order_by(TierChange.changed_at, TierChange.id)
    ).all()
    tier_totals.uncount(advocate.id, advocate.joined_at, advocate.tier, [(at, left) for at, left in history])
    # The expiry notices' record (each was also a notification, exported and erased with them).
    db.session.execute(delete(ExpiryNotice).where(ExpiryNotice.advocate_id == advocate.id))


REWARDS_PERSONAL_DATA = PersonalData(
    name="rewards",
    export=export_rewards,
    erase=erase_rewards,
    covers=(
        "ledger_entries.advocate_id",
        "tier_changes.advocate_id",
        "advocate_badges.advocate_id",
        "leaderboard_scores.advocate_id",
        "redemptions.advocate_id",
        "expiry_notices.advocate_id",
    ),
    actor_columns=(
        "ledger_entries.created_by_id",
        "rewards.created_by_id",
        "redemptions.decided_by_id",
        "redemptions.fulfilled_by_id",
    ),
)
