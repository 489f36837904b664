"""What-if (product.md §14, api.md `POST /simulations`): the effect of proposed settings — tier
thresholds and basis, point value, expiry — and of extra lifetime points per advocate (a
challenge's proposed points, computed by the challenges package), before anything is saved.

It reads through the functions that apply the change — `rewards.tier_changes.stale_tiers`
(what `recompute_all_tiers` applies), `rewards.tiers.tier_for`, `rewards.services.economy.
liability`, `rewards.expiry` — on pure inputs, and writes nothing and sends nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import Integer, any_, bindparam, cast, select
from sqlalchemy.dialects.postgresql import ARRAY

from hub.contracts import Body, Reply
from hub.db import utcnow
from hub.extensions import db
from hub.fields import ListOf, RowId, WholeNumber
from hub.models import Advocate, Tier, User
from rewards import tiers
from rewards.expiry import Policy, current_policy, expiring_totals
from rewards.program_settings import KEYS, SettingsPatch, _stored, expiry_since_for, proposed
from rewards.services.economy import liability, points_economy, tier_counts
from rewards.tier_changes import stale_tiers, tier_basis_points


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


def _expiring(policy: Policy) -> tuple[int, int]:
    in_30, in_90 = expiring_totals((30, 90), policy)
    return in_30, in_90


def simulate(changes: dict[str, Any], extra_points: dict[int, int] | None = None) -> dict[str, Any]:
    """Now and then for `changes` (raw values of some settings KEYS, validated as PATCH
    /settings would) and `extra_points` (advocate id → lifetime and balance points added, e.g.
    from a challenge's proposed points). Raises ValidationFailed on bad settings."""
    from rewards.services.economy import point_value

    extra_points = {a: p for a, p in (extra_points or {}).items() if p}
    settings = _stored(proposed({k: v for k, v in changes.items() if k in KEYS}))
    now_policy = current_policy()
    since = expiry_since_for(settings["points_expiry_days"], now_policy.days, utcnow())
    then_policy = Policy(settings["points_expiry_days"], dt.datetime.fromisoformat(since) if since else None)
    outstanding = points_economy()["outstanding"]
    by_tier = tier_counts()
    thresholds, basis = settings["tier_thresholds"], settings["tier_basis"]
    moves = {a: (before, after) for a, before, after in stale_tiers(thresholds, basis) if a not in extra_points}
    for advocate_id, points in extra_points.items():
        stored = db.session.scalar(select(Advocate.tier).where(Advocate.id == advocate_id, ~Advocate.is_erased))
        if stored is None:
            continue
        target = tiers.tier_for(tier_basis_points(advocate_id) + points, thresholds)
        if target != stored:
            moves[advocate_id] = (Tier(stored), target)
    then_tiers = dict(by_tier)
    for before, after in moves.values():
        then_tiers[before.value] -= 1
        then_tiers[after.value] += 1
    value = settings["point_value"]
    then_value = (Decimal(value["amount"]), value["currency"])
    expiring_now = _expiring(now_policy)
    expiring_then = expiring_now if then_policy == now_policy else _expiring(then_policy)
    return {
        "now": _state(by_tier, outstanding, point_value(), expiring_now),
        "then": _state(then_tiers, outstanding + sum(extra_points.values()), then_value, expiring_then),
        "tier_moves": _moves(moves),
    }


def _moves(moves: dict[int, tuple[Tier, Tier]]) -> dict[str, list[dict[str, Any]]]:
    names: dict[int, str] = {}
    if moves:
        ids = list(moves)
        # A threshold change can move tens of thousands: on PostgreSQL their ids go as one array
        # parameter (an IN list of that many is a statement the driver parses for seconds).
        wanted = (
            Advocate.id == any_(cast(bindparam("ids", ids, type_=ARRAY(Integer)), ARRAY(Integer)))
            if db.session.get_bind().dialect.name == "postgresql"
            else Advocate.id.in_(ids)
        )
        names = dict(
            db.session.execute(
                select(Advocate.id, User.name).join(User, User.id == Advocate.user_id).where(wanted)
            ).all()
        )
    result: dict[str, list[dict[str, Any]]] = {"up": [], "down": []}
    for advocate_id, (before, after) in sorted(moves.items()):
        direction = "up" if tiers.rank_of(after) > tiers.rank_of(before) else "down"
        result[direction].append(
            {"advocate_id": advocate_id, "name": names.get(advocate_id, ""), "from_tier": before, "to_tier": after}
        )
    return result
