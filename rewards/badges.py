"""The badge catalog and the one function that awards a badge (once)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from hub.db import insert_ignore, utcnow
from hub.extensions import db
from hub.models import Advocate
from hub.notifications import notify


@dataclass(frozen=True)
class Badge:
    code: str
    name: str
    description: str


CATALOG: dict[str, Badge] = {
    b.code: b
    for b in (
        Badge("first_completion", "First step", "Completed a first challenge."),
        Badge("first_review", "Reviewer", "Had a first review approved."),
        Badge("first_reference", "Reference", "Took a first reference call."),
        Badge("completions_5", "Regular", "5 approved completions."),
        Badge("completions_25", "Champion", "25 approved completions."),
        Badge("completions_100", "Legend", "100 approved completions."),
        Badge("tier_silver", "Silver", "Reached Silver status."),
        Badge("tier_gold", "Gold", "Reached Gold status."),
    )
}


def award_badge(advocate_id: int, code: str) -> bool:
    """Award a badge if not held yet (unique key); True when newly awarded. Notifies."""
    from rewards.models import AdvocateBadge

    badge = CATALOG[code]
    added = insert_ignore(
        db.session,
        AdvocateBadge.__table__,
        {"advocate_id": advocate_id, "code": code, "awarded_at": utcnow()},
    )
    if added:
        user_id = db.session.execute(select(Advocate.user_id).where(Advocate.id == advocate_id)).scalar_one()
        notify(user_id, "badge", f"New badge: {badge.name} — {badge.description}", "/me/activity")
    return added


def badges_of(advocate_id: int) -> list[tuple[Badge, object]]:
    from rewards.models import AdvocateBadge

    rows = db.session.execute(
        select(AdvocateBadge.code, AdvocateBadge.awarded_at)
        .where(AdvocateBadge.advocate_id == advocate_id)
        .order_by(AdvocateBadge.awarded_at)
    ).all()
    return [(CATALOG[code], at) for code, at in rows if code in CATALOG]


def badge_codes_for(advocate_ids: list[int]) -> dict[int, list[str]]:
    """Badge codes per advocate for a page of advocates, in one query (oldest first)."""
    from rewards.models import AdvocateBadge

    codes: dict[int, list[str]] = {a: [] for a in advocate_ids}
    if advocate_ids:
        rows = db.session.execute(
            select(AdvocateBadge.advocate_id, AdvocateBadge.code)
            .where(AdvocateBadge.advocate_id.in_(advocate_ids))
            .order_by(AdvocateBadge.awarded_at, AdvocateBadge.id)
        ).all()
        for advocate_id, code in rows:
            if code in CATALOG:
                codes[advocate_id].append(code)
    return codes


def badge_facts(advocate_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    """The advocate-facts hook (hub.hooks): each advocate's badge codes as `badges`."""
    return {a: {"badges": codes} for a, codes in badge_codes_for(advocate_ids).items()}
