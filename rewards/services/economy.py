"""The points economy in figures for the dashboard: points issued, redeemed and outstanding, and
advocates per tier."""

from __future__ import annotations

from sqlalchemy import func, select

from hub.extensions import db
from hub.models import Advocate, Tier
from rewards.models import HOLDING_STATUSES, Redemption


def points_economy() -> dict[str, int]:
    """Points issued (lifetime-counting entries), redeemed (net of refunds), outstanding (balances).

    Read from what the ledger keeps in step in the same transaction — advocates' cached
    lifetime points and balances, and the redemptions still holding their points (each has
    one `redeem` entry, and a `refund` once it no longer holds) — instead of summing millions
    of ledger rows on every dashboard view. The rewards invariant tests check these agree."""
    issued, outstanding = db.session.execute(
        select(func.coalesce(func.sum(Advocate.lifetime_points), 0), func.coalesce(func.sum(Advocate.balance), 0))
    ).one()
    redeemed = db.session.execute(
        select(func.coalesce(func.sum(Redemption.points), 0)).where(Redemption.status.in_(HOLDING_STATUSES))
    ).scalar_one()
    return {"issued": int(issued), "redeemed": int(redeemed), "outstanding": int(outstanding)}


def tier_counts() -> dict[str, int]:
    """Active advocates per tier, every tier present."""
    found = dict(
        db.session.execute(
            select(Advocate.tier, func.count()).where(Advocate.is_erased.is_(False)).group_by(Advocate.tier)
        ).all()
    )
    return {t.value: found.get(t, 0) for t in Tier}
