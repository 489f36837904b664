"""The points economy in figures for the dashboard and the program report: points issued,
redeemed and outstanding, advocates per tier, and the liability (outstanding points × point
value) with the points expiring soon."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select

from hub.extensions import db
from hub.models import Advocate, Tier
from hub.settings import get_setting
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


CENT = Decimal("0.01")


def point_value() -> tuple[Decimal, str]:
    """The owner's money value of one point (product.md §14) and its currency."""
    setting = get_setting("point_value") or {}
    return Decimal(str(setting.get("amount", "0"))), str(setting.get("currency") or "USD")


def liability(outstanding: int | None = None, value: tuple[Decimal, str] | None = None) -> dict[str, Any]:
    """Liability = outstanding points × point value (product.md §14): {"amount": Decimal rounded
    to cents, "currency"}. `outstanding` defaults to the sum of balances; `value` to the setting."""
    if outstanding is None:
        outstanding = points_economy()["outstanding"]
    amount, currency = value or point_value()
    return {"amount": (Decimal(outstanding) * amount).quantize(CENT, ROUND_HALF_UP), "currency": currency}


def liability_figures() -> dict[str, Any]:
    """What the dashboard and the program report show beside the points: the liability and the
    points that expire in the next 30 days (0 while expiry is off)."""
    from rewards.expiry import expiring_total

    return {"liability": liability(), "expiring_30d": expiring_total(30)}
