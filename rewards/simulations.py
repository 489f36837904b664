"""What-if (product.md §14, api.md `POST /simulations`): the effect of proposed settings — tier
thresholds and basis, point value, expiry — and of extra lifetime points per advocate (a
challenge's proposed points, computed by the challenges package), before anything is saved.

It reads through the functions that apply the change — `rewards.tier_changes.tier_targets`
(the query of `stale_tiers`, which `recompute_all_tiers` applies; `rewards.tiers.tier_for` as
SQL), `rewards.services.economy.liability`, `rewards.expiry` — on pure inputs, and writes
nothing and sends nothing.
"""

from __future__ import annotations

import datetime as dt
import gc
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import func, select

from hub.contracts import Body, Reply
from hub.db import utcnow
from hub.extensions import db
from hub.fields import ListOf, RowId, WholeNumber
from hub.models import Advocate, Tier
from rewards import tiers
from rewards.expiry import Policy, current_policy, expiring_totals
from rewards.program_settings import KEYS, SettingsPatch, _stored, expiry_since_for, proposed
from rewards.services.economy import liability
from rewards.tier_changes import tier_movers, tier_transitions


class ChallengePoints(Body):
    challenge_id: RowId
    points: Annotated[int, WholeNumber(1, 1_000_000)]


class SimulationBody(SettingsPatch):  # type: ignore[misc, valid-type]
    """Any subset of the settings, plus proposed points for challenges."""

    challenge_points: Annotated[tuple[ChallengePoints, ...], ListOf(ChallengePoints, max_items=50)] = ()


class LiabilityFigure(Reply):
    amount: str
    currency: str


class EconomyState(Reply):
    advocates_by_tier: dict[str, int]
    liability: LiabilityFigure
    outstanding: int
    expiring_30d: int
    expiring_90d: int


class TierMove(Reply):
    advocate_id: int
    name: str
    from_tier: Tier
    to_tier: Tier


class TierMoves(Reply):
    up: list[TierMove]
    down: list[TierMove]


class SimulationReply(Reply):
    now: EconomyState
    then: EconomyState
    tier_moves: TierMoves


def _state(
    by_tier: dict[str, int], outstanding: int, value: tuple[Any, ...], expiring: tuple[int, int]
) -> dict[str, Any]:
    figure = liability(outstanding, value)
    return {
        "advocates_by_tier": by_tier,
        "liability": {"amount": f"{figure['amount']:.2f}", "currency": figure["currency"]},
        "outstanding": outstanding,
        "expiring_30d": expiring[0],
        "expiring_90d": expiring[1],
    }


def _expiring(now_policy: Policy, then_policy: Policy) -> tuple[tuple[int, int], tuple[int, int]]:
    """Points expiring within 30 and 90 days under the policy now and the proposed one
    (`rewards.expiry.expiring_totals`). A change of N keeps the policy's start
    (`expiry_since_for`), and a horizon of d days under N' days is the cutoff now + d − N',
    which under N days is the horizon d + N − N': so both are summed in one pass over the lots."""
    if then_policy == now_policy:
        now = expiring_totals((30, 90), now_policy)
        return (now[0], now[1]), (now[0], now[1])
    if now_policy.is_on and then_policy.is_on and now_policy.since == then_policy.since:
        shift = (now_policy.days or 0) - (then_policy.days or 0)
        both = expiring_totals((30, 90, 30 + shift, 90 + shift), now_policy)
        return (both[0], both[1]), (both[2], both[3])
    now, then = expiring_totals((30, 90), now_policy), expiring_totals((30, 90), then_policy)
    return (now[0], now[1]), (then[0], then[1])


def simulate(changes: dict[str, Any], extra_points: dict[int, int] | None = None) -> dict[str, Any]:
    """Now and then for `changes` (raw values of some settings KEYS, validated as PATCH
    /settings would) and `extra_points` (advocate id → lifetime and balance points added, e.g.
    from a challenge's proposed points). Raises ValidationFailed on bad settings.

    Set-based reads: the advocates per tier now and then are one grouped pass over
    `rewards.tier_changes.tier_targets` (the query `recompute_all_tiers` applies), the movers
    with their names one more; the garbage collector is paused while the movers' lists are
    built (tens of thousands of small objects, none of them cyclic, whose allocations trigger
    collections: 20 ms more for 21,115 movers, and 0.35 s when one was a full collection)."""
    from rewards.services.economy import point_value

    extra_points = {a: p for a, p in (extra_points or {}).items() if p}
    settings = _stored(proposed({k: v for k, v in changes.items() if k in KEYS}))
    now_policy = current_policy()
    since = expiry_since_for(settings["points_expiry_days"], now_policy.days, utcnow())
    then_policy = Policy(settings["points_expiry_days"], dt.datetime.fromisoformat(since) if since else None)
    outstanding = _outstanding()
    thresholds, basis = settings["tier_thresholds"], settings["tier_basis"]
    by_tier = {t.value: 0 for t in Tier}
    then_tiers = dict(by_tier)
    for (now_tier, then_tier), count in tier_transitions(thresholds, basis, extra_points).items():
        by_tier[now_tier.value] += count
        then_tiers[then_tier.value] += count
    paused = gc.isenabled()
    gc.disable()
    try:
        moves = _moves(tier_movers(thresholds, basis, extra_points))
    finally:
        if paused:
            gc.enable()
    value = settings["point_value"]
    then_value = (Decimal(value["amount"]), value["currency"])
    expiring_now, expiring_then = _expiring(now_policy, then_policy)
    return {
        "now": _state(by_tier, outstanding, point_value(), expiring_now),
        "then": _state(then_tiers, outstanding + sum(extra_points.values()), then_value, expiring_then),
        "tier_moves": moves,
    }


def _outstanding() -> int:
    """Points outstanding: the sum of the balances the ledger keeps (what
    `rewards.services.economy.points_economy` reports as `outstanding`)."""
    return int(db.session.execute(select(func.coalesce(func.sum(Advocate.balance), 0))).scalar_one())


def _moves(movers: list[tuple[int, str, Tier, Tier]]) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = {"up": [], "down": []}
    up, down = result["up"].append, result["down"].append
    rank = {t: tiers.rank_of(t) for t in Tier}
    for advocate_id, name, before, after in movers:
        (up if rank[after] > rank[before] else down)(
            {"advocate_id": advocate_id, "name": name, "from_tier": before, "to_tier": after}
        )
    return result
