"""Moving advocates between tiers: the basis points under the owner's setting, the stored tier
with its change record, the tier badges and the notification.

Called by the ledger when an entry raises lifetime points (never demoting) or a correction lowers
them (which may demote), and by the recomputation after the owner changes thresholds or basis
(which may demote). A rise to a tier first reached congratulates (in-app and email) and badges;
a drop, or a tier reached again, is recorded and shown in-app without a congratulation. Below the
ledger: it reads entries, never writes them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    Subquery,
    and_,
    bindparam,
    case,
    cast,
    column,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
    values,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute

from hub import tier_totals
from hub.db import execute_dml, utcnow
from hub.extensions import db
from hub.models import Advocate, Tier, TierDayTotal, User
from hub.notifications import notify
from hub.settings import get_setting
from rewards import tiers
from rewards.badges import award_badge
from rewards.models import LedgerEntry, TierChange, lifetime_expression


def tier_basis_points(advocate_id: int, lifetime_points: int | None = None) -> int:
    """Points that decide the tier under the owner's basis (lifetime or rolling 365 days)."""
    if get_setting("tier_basis") == "rolling_365":
        since = utcnow() - dt.timedelta(days=365)
        return db.session.execute(
            select(lifetime_expression()).where(LedgerEntry.advocate_id == advocate_id, LedgerEntry.created_at >= since)
        ).scalar_one()
    if lifetime_points is None:
        lifetime_points = db.session.execute(
            select(Advocate.lifetime_points).where(Advocate.id == advocate_id)
        ).scalar_one()
    return lifetime_points


def refresh_tier(
    advocate_id: int,
    lifetime_points: int | None = None,
    allow_demotion: bool = False,
    at: dt.datetime | None = None,
    stored: Tier | str | None = None,
) -> Tier:
    """Set the stored tier to tier_for(basis points); records, badges and notifies a change,
    dated `at` (the moment of the entry that moved it; default now). `stored`: the tier as the
    caller just read it under the advocate's row lock (the ledger's UPDATE … RETURNING), so it is
    not read again; the change is still a conditional UPDATE on it.

    Spending never demotes (it does not lower lifetime points). Only a recomputation after
    the owner changes thresholds or the rolling window moves may pass allow_demotion.
    """
    points = tier_basis_points(advocate_id, lifetime_points)
    target = tiers.tier_for(points, get_setting("tier_thresholds"))
    if stored is None:
        stored = db.session.execute(select(Advocate.tier).where(Advocate.id == advocate_id)).scalar_one()
    current = Tier(stored)
    if target == current or (tiers.rank_of(target) < tiers.rank_of(current) and not allow_demotion):
        return current
    now = at or utcnow()
    changed = execute_dml(
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
    user_id, joined_at, erased = db.session.execute(
        select(Advocate.user_id, Advocate.joined_at, Advocate.is_erased).where(Advocate.id == advocate_id)
    ).one()
    if not erased:
        # Read after the UPDATE took the row's lock: an erasure (which locks it too) has either
        # taken this history out already or will find this change when it does.
        tier_totals.count_tier_change(advocate_id, joined_at, now, current, target)
    name = target.value.title()
    if tiers.rank_of(target) > tiers.rank_of(current):
        # A tier's badge is awarded once (unique key), so it says whether this is the first time:
        # a tier reached again after a drop is shown in-app, without a second congratulation.
        first_time = [
            award_badge(advocate_id, f"tier_{reached.value}", at=now)
            for reached in tiers.TIER_ORDER[tiers.rank_of(current) + 1 : tiers.rank_of(target) + 1]
        ]
        if first_time[-1]:
            notify(user_id, "tier", f"You reached {name} status!", "/")
        else:
            notify(user_id, "tier_change", f"Your status is {name} again.", "/", email=False)
    else:
        notify(user_id, "tier_change", f"Your status is now {name}.", "/", email=False)
    db.session.flush()
    return target


def tier_targets(thresholds: dict[str, int], basis: str, extra_points: dict[int, int] | None = None) -> Subquery:
    """SQL subquery (advocate_id, user_id, tier, target) of every active advocate: the stored tier and the
    tier their basis points (lifetime, or the rolling 365 days' lifetime-counting sum), plus
    `extra_points` (advocate id → points added, e.g. a challenge's proposed points), give under
    `thresholds` — `rewards.tiers.tier_for` as a `CASE`, the one rule that `stale_tiers` (what
    `recompute_all_tiers` applies) and the what-if (`tier_transitions`, `tier_movers`) read."""
    points: ColumnElement[int] | InstrumentedAttribute[int]
    if basis == "rolling_365":
        rolling = (
            select(LedgerEntry.advocate_id, lifetime_expression().label("points"))
            .where(LedgerEntry.created_at >= utcnow() - dt.timedelta(days=365))
            .group_by(LedgerEntry.advocate_id)
            .subquery()
        )
        points = func.coalesce(rolling.c.points, 0)
        source = select(Advocate.id.label("advocate_id"), Advocate.user_id, Advocate.tier).outerjoin(
            rolling, rolling.c.advocate_id == Advocate.id
        )
    else:
        points = Advocate.lifetime_points
        source = select(Advocate.id.label("advocate_id"), Advocate.user_id, Advocate.tier)
    if extra_points:
        extra = _extra_points_table(extra_points)
        source = source.outerjoin(extra, extra.c.advocate_id == Advocate.id)
        points = points + func.coalesce(extra.c.points, 0)
    target = case(
        (points >= thresholds["gold"], Tier.GOLD.value),
        (points >= thresholds["silver"], Tier.SILVER.value),
        else_=Tier.BRONZE.value,
    )
    return source.add_columns(target.label("target")).where(Advocate.is_erased.is_(False)).subquery("tier_targets")


def _extra_points_table(extra_points: dict[int, int]) -> FromClause:
    """SQL rows (advocate_id, points) of `extra_points`. PostgreSQL: unnest of two array
    parameters (a statement of thousands of parameters is parsed by the driver for seconds);
    SQLite: a common table expression of VALUES with the integers inlined (its limit on bound
    parameters; it takes no column names on a VALUES in FROM)."""
    ids, added = list(extra_points), [int(p) for p in extra_points.values()]
    if db.session.get_bind().dialect.name == "postgresql":
        arrays = [
            cast(bindparam(f"extra_{n}", v, type_=ARRAY(Integer)), ARRAY(Integer)) for n, v in enumerate((ids, added))
        ]
        return func.unnest(*arrays).table_valued("advocate_id", "points").render_derived(name="extra_points")
    return (
        values(column("advocate_id", Integer), column("points", Integer), name="extra_points", literal_binds=True)
        .data(list(zip(ids, added, strict=True)))
        .cte("extra_points")
    )


def stale_tiers(thresholds: dict[str, int], basis: str) -> list[tuple[int, Tier, Tier]]:
    """(advocate id, stored tier, tier under `thresholds` and `basis`) for every active advocate
    whose tier would change, in one set-based query (`tier_targets`) — what
    `recompute_all_tiers` applies."""
    t = tier_targets(thresholds, basis)
    rows = db.session.execute(
        select(t.c.advocate_id, t.c.tier, t.c.target).where(t.c.tier != t.c.target).order_by(t.c.advocate_id)
    ).all()
    return [(a, Tier(current), Tier(to)) for a, current, to in rows]


def tier_transitions(
    thresholds: dict[str, int], basis: str, extra_points: dict[int, int] | None = None
) -> dict[tuple[Tier, Tier], int]:
    """(stored tier, tier under `thresholds`, `basis` and `extra_points`) → active advocates, in
    one grouped pass over `tier_targets`: the advocates per tier now and then of a what-if
    without a Python walk over every advocate."""
    t = tier_targets(thresholds, basis, extra_points)
    rows = db.session.execute(select(t.c.tier, t.c.target, func.count()).group_by(t.c.tier, t.c.target)).all()
    return {(Tier(now), Tier(then)): int(n) for now, then, n in rows}


def tier_movers(
    thresholds: dict[str, int], basis: str, extra_points: dict[int, int] | None = None
) -> list[tuple[int, str, Tier, Tier]]:
    """(advocate id, name, stored tier, tier then) of every active advocate whose tier
    `thresholds`, `basis` and `extra_points` would change (`tier_targets`, the names joined in
    the same query), by advocate id."""
    t = tier_targets(thresholds, basis, extra_points)
    rows = db.session.execute(
        select(t.c.advocate_id, User.name, t.c.tier, t.c.target)
        .join(User, User.id == t.c.user_id)
        .where(t.c.tier != t.c.target)
        .order_by(t.c.advocate_id)
    ).all()
    tier_of = {t.value: t for t in Tier} | {t: t for t in Tier}
    return [(a, name or "", tier_of[now], tier_of[then]) for a, name, now, then in rows]


def recompute_all_tiers() -> int:
    """Recompute every advocate's tier (after thresholds or basis change). Returns changes.

    One set-based query (`stale_tiers`) finds the advocates whose stored tier differs from what
    their basis points now give; only those go through `refresh_tier` (record, badge, notify).
    A program of 100,000 advocates where a handful change costs one query, not 100,000."""
    changes = 0
    for advocate_id, before, _ in stale_tiers(get_setting("tier_thresholds"), get_setting("tier_basis")):
        if refresh_tier(advocate_id, allow_demotion=True) != before:
            changes += 1
    return changes


def rebuild_tier_day_totals() -> None:
    """Recompute `TierDayTotal` from the advocates not erased and their tier history in one
    INSERT … SELECT (`hub.tier_totals.history_changes` in SQL; the migration that added the table
    ran the same statement): for each advocate, +1 on the joining day in the tier left by their
    first change on a later day (or the stored tier), and for each such change −1 the tier it
    left, +1 the tier the next change left (or the stored tier) — one row per (day, tier), in
    shard 0 (the kept rows of a day sum to it over their shards). The caller commits."""
    session = db.session
    postgres = session.get_bind().dialect.name == "postgresql"

    def day_of(column: InstrumentedAttribute[dt.datetime]) -> ColumnElement[dt.date]:
        if postgres:
            return cast(func.timezone("UTC", column), TierDayTotal.day.type)
        return func.date(column)

    counted = Advocate.is_erased.is_(False)
    later = (
        select(
            TierChange.advocate_id,
            day_of(TierChange.changed_at).label("day"),
            TierChange.from_tier.label("left"),
            func.coalesce(
                func.lead(TierChange.from_tier).over(
                    partition_by=TierChange.advocate_id, order_by=(TierChange.changed_at, TierChange.id)
                ),
                Advocate.tier,
            ).label("next"),
            func.row_number()
            .over(partition_by=TierChange.advocate_id, order_by=(TierChange.changed_at, TierChange.id))
            .label("nth"),
        )
        .join(Advocate, Advocate.id == TierChange.advocate_id)
        .where(counted, day_of(TierChange.changed_at) > day_of(Advocate.joined_at))
        .subquery("later")
    )
    joins = (
        select(
            day_of(Advocate.joined_at).label("day"),
            func.coalesce(later.c.left, Advocate.tier).label("tier"),
            literal(1).label("n"),
        )
        .outerjoin(later, and_(later.c.advocate_id == Advocate.id, later.c.nth == 1))
        .where(counted)
    )
    left = select(later.c.day, later.c.left, literal(-1))
    reached = select(later.c.day, later.c.next, literal(1))
    moves = union_all(joins, left, reached).subquery("moves")
    # One writer: every row in shard 0, as `hub.tier_totals.fold_shards` leaves the days past.
    grouped = (
        select(moves.c.day, moves.c.tier, literal(0), func.sum(moves.c.n))
        .group_by(moves.c.day, moves.c.tier)
        .having(func.sum(moves.c.n) != 0)
    )
    session.execute(delete(TierDayTotal))
    session.execute(insert(TierDayTotal).from_select(["day", "tier", "shard", "advocates"], grouped))
