"""What an approval's celebration shows (issue 19): the points it awarded, the tier bar before
and after, a tier reached and the badges it unveiled. Read-only; computed when the approval is
shown to the advocate (the status chip turning approved in front of them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from hub.extensions import db
from hub.models import Advocate, Tier
from hub.settings import get_setting
from rewards import tiers
from rewards.badges import CATALOG, Badge
from rewards.models import AdvocateBadge
from rewards.tier_changes import tier_basis_points


@dataclass(frozen=True)
class Celebration:
    """`points` (int) awarded; the tier progress `before` and `after` them (percent of the bar,
    points to the next tier); `reached`, the tier this approval lifted the advocate into (None
    when it did not); `badges`, those awarded at or after the approval, in award order."""

    points: int
    before: tiers.TierProgress
    after: tiers.TierProgress
    reached: Tier | None
    badges: list[Badge]


def celebration_for(advocate_id: int, points: int, decided_at: dt.datetime) -> Celebration:
    """The celebration of an approval of `points` decided at `decided_at` (aware UTC) for the
    advocate. The bar's "before" is the tier basis less these points (an `earn` entry counts
    under both bases); badges are those awarded since the decision (award_badge runs in the
    approval's transaction, after the decision's timestamp)."""
    lifetime = db.session.execute(select(Advocate.lifetime_points).where(Advocate.id == advocate_id)).scalar_one()
    basis = tier_basis_points(advocate_id, lifetime)
    thresholds = get_setting("tier_thresholds")
    before = tiers.progress(max(0, basis - points), thresholds)
    after = tiers.progress(basis, thresholds)
    codes = db.session.scalars(
        select(AdvocateBadge.code)
        .where(AdvocateBadge.advocate_id == advocate_id, AdvocateBadge.awarded_at >= decided_at)
        .order_by(AdvocateBadge.awarded_at, AdvocateBadge.id)
    ).all()
    reached = after.tier if after.tier is not before.tier else None
    return Celebration(points, before, after, reached, [CATALOG[c] for c in codes if c in CATALOG])
