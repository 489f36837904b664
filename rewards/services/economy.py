"""The points economy in figures for the dashboard and the program report: points issued,
redeemed and outstanding, advocates per tier, and the liability (outstanding points × point
value) with the points expiring soon."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select

from hub.extensions import db
from hub.models import Advocate
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
