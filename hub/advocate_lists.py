"""Which advocates a staff list shows: search, tier, group, persona, last active, burnout and trust —
one query for the API (`GET /advocates`), the advocates console and its bulk group assignment, so
the list a manager filtered is exactly the set an action on "all shown" reaches (issue 20, ux.md
"Advocates")."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Select, or_, select

from hub.hooks import hooks
from hub.models import Advocate, Persona, Tier, User, advocate_groups
from hub.search import contains_text


class LastActive(enum.StrEnum):
    """Last activity windows: active within 7, 30 or 90 days, or not in the last 90 (or never)."""

    WEEK = "7d"
    MONTH = "30d"
    QUARTER = "90d"
    DORMANT = "over_90d"

    @property
    def label(self) -> str:
        return {
            "7d": "In the last 7 days",
            "30d": "In the last 30 days",
            "90d": "In the last 90 days",
            "over_90d": "Not in 90 days",
        }[self.value]


class Burnout(enum.StrEnum):
    """Burnout buckets of asks in the last 365 days (product.md §5): 0–4, 5–6, 7–10, more."""

    HEALTHY = "healthy"
    ACCEPTABLE = "acceptable"
    AT_RISK = "at_risk"
    BURNING = "burning"

    @property
    def label(self) -> str:
        return {"healthy": "Healthy (0–4 asks)", "acceptable": "Acceptable (5–6)", "at_risk": "At risk (7–10)"}.get(
            self.value, "Burning (11+)"
        )


def advocates_query(
    *,
    q: str | None = None,
    tier: Tier | None = None,
    group_id: int | None = None,
    persona: Persona | None = None,
    last_active: LastActive | None = None,
    burnout: Burnout | None = None,
    trust_below: int | None = None,
    now: dt.datetime,
) -> Select[Advocate]:
    """Advocates (erased ones left out) matching every filter given; None means any. `burnout` is
    applied by the packages that count asks (`hub.hooks.advocate_list_filters`)."""
    query = select(Advocate).join(User, User.id == Advocate.user_id).where(Advocate.is_erased.is_(False))
    if q:
        query = query.where(contains_text(q, User.name, User.email, Advocate.company))
    if tier:
        query = query.where(Advocate.tier == tier)
    if group_id:
        query = query.where(
            Advocate.id.in_(select(advocate_groups.c.advocate_id).where(advocate_groups.c.group_id == group_id))
        )
    if persona:
        query = query.where(Advocate.persona == persona)
    if trust_below is not None:
        query = query.where(Advocate.trust_score < trust_below)
    if last_active is LastActive.DORMANT:
        cutoff = now - dt.timedelta(days=90)
        query = query.where(or_(Advocate.last_activity_at.is_(None), Advocate.last_activity_at <= cutoff))
    elif last_active is not None:
        days = int(last_active.value.removesuffix("d"))
        query = query.where(Advocate.last_activity_at > now - dt.timedelta(days=days))
    filters: dict[str, Any] = {"burnout": burnout, "now": now}
    for apply in hooks().advocate_list_filters:
        query = apply(query, filters)
    return query
