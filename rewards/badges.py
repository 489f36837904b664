"""The badge catalog and the one function that awards a badge (once)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, select

from hub.db import insert_ignore, insert_ignore_many, table_of, utcnow
from hub.extensions import db
from hub.home_reads import HomeRead, rows_of
from hub.models import Advocate
from hub.notifications import notify


@dataclass(frozen=True)
class Badge:
    """A badge of the catalog. `how` tells an advocate who has not earned it what to do;
    `completions` is the number of approved completions it takes, when that is the rule (the
    catalogue shows "3 of 5"). Its icon is the symbol `badge-<code>` of static/img/badges.svg."""

    code: str
    name: str
    description: str
    how: str
    completions: int | None = None


CATALOG: dict[str, Badge] = {
    b.code: b
    for b in (
        Badge("first_completion", "First step", "Completed a first challenge.", "Have any challenge approved.", 1),
        Badge("first_review", "Reviewer", "Had a first review approved.", "Have a review challenge approved."),
        Badge(
            "first_reference",
            "Reference",
            "Took a first reference call.",
            "Take a reference call with a prospect (say yes to a reference ask).",
        ),
        Badge("completions_5", "Regular", "5 approved completions.", "Have 5 challenges approved.", 5),
        Badge("completions_25", "Champion", "25 approved completions.", "Have 25 challenges approved.", 25),
        Badge("completions_100", "Legend", "100 approved completions.", "Have 100 challenges approved.", 100),
        Badge("tier_silver", "Silver", "Reached Silver status.", "Earn enough points to reach Silver status."),
        Badge("tier_gold", "Gold", "Reached Gold status.", "Earn enough points to reach Gold status."),
    )
}


@dataclass(frozen=True)
class CatalogueEntry:
    """One badge of an advocate's catalogue: earned (with the aware UTC time it was awarded) or
    still to earn (with `progress`, e.g. "3 of 5", when the rule is a count)."""

    badge: Badge
    awarded_at: dt.datetime | None
    progress: str | None = None


def award_badge(advocate_id: int, code: str, at: dt.datetime | None = None) -> bool:
    """Award a badge if not held yet (unique key); True when newly awarded. Notifies.
    `at` is when it was earned (default now): a backdated act (an import, the demo history)
    dates its badge when the act happened, not when the row was written."""
    from rewards.models import AdvocateBadge

    badge = CATALOG[code]
    added = insert_ignore(
        db.session,
        AdvocateBadge.__table__,
        {"advocate_id": advocate_id, "code": code, "awarded_at": at or utcnow()},
    )
    if added:
        user_id = db.session.execute(select(Advocate.user_id).where(Advocate.id == advocate_id)).scalar_one()
        ((_, kind, text, url),) = badge_notes(user_id, [badge])
        notify(user_id, kind, text, url)
    return added


def award_badges(advocate_id: int, codes: list[str], at: dt.datetime | None = None) -> list[Badge]:
    """Award several badges at once (one INSERT … ON CONFLICT DO NOTHING; the unique key keeps
    each once); returns the badges newly awarded, in `codes` order. Unlike award_badge it tells
    nobody: the caller notifies the advocate (with its own notifications, in one insert).
    `at` as for award_badge."""
    from rewards.models import AdvocateBadge

    if not codes:
        return []
    when = at or utcnow()
    rows = [{"advocate_id": advocate_id, "code": code, "awarded_at": when} for code in codes]
    added = {row.code for row in insert_ignore_many(db.session, table_of(AdvocateBadge), rows, ["code"])}
    return [CATALOG[code] for code in codes if code in added]


def award_badges_many(codes: dict[int, list[str]], at: dt.datetime | None = None) -> dict[int, list[Badge]]:
    """`award_badges` for several advocates in one INSERT … ON CONFLICT DO NOTHING ({advocate id:
    codes}); returns each advocate's badges newly awarded, in their `codes` order (advocates with
    none left out). Tells nobody, as award_badges."""
    from rewards.models import AdvocateBadge

    when = at or utcnow()
    rows = [
        {"advocate_id": advocate_id, "code": code, "awarded_at": when}
        for advocate_id in sorted(codes)
        for code in dict.fromkeys(codes[advocate_id])
    ]
    added = {
        (row.advocate_id, row.code)
        for row in insert_ignore_many(db.session, table_of(AdvocateBadge), rows, ["advocate_id", "code"])
    }
    awarded: dict[int, list[Badge]] = {}
    for advocate_id, wanted in codes.items():
        new = [CATALOG[code] for code in dict.fromkeys(wanted) if (advocate_id, code) in added]
        if new:
            awarded[advocate_id] = new
    return awarded


def badge_notes(user_id: int, badges: list[Badge]) -> list[tuple[int, str, str, str | None]]:
    """The in-app notifications of newly awarded badges, as hub.notifications.notify_many takes
    them — the text award_badge writes."""
    return [(user_id, "badge", f"New badge: {b.name} — {b.description}", "/me/activity") for b in badges]


def _badges_statement() -> Select[*tuple[Any, ...]]:
    from rewards.models import AdvocateBadge

    return (
        select(AdvocateBadge.code, AdvocateBadge.awarded_at)
        .where(AdvocateBadge.advocate_id == bindparam("advocate_id"))
        .order_by(AdvocateBadge.awarded_at)
    )


def _approved_statement() -> Select[*tuple[Any, ...]]:
    from rewards.models import EntryKind, LedgerEntry

    return (
        select(func.count())
        .select_from(LedgerEntry)
        .where(
            LedgerEntry.advocate_id == bindparam("advocate_id"),
            LedgerEntry.kind == EntryKind.EARN,
            LedgerEntry.source_type == "completion",
        )
    )


# The badges card's two queries, read with the hub page's other cards in one statement
# (hub.home_reads; registered by rewards.hooks).
EARNED_BADGES = HomeRead("earned_badges", _badges_statement)
APPROVED_COMPLETIONS = HomeRead("approved_completions", _approved_statement)


def badges_of(advocate_id: int) -> list[tuple[Badge, dt.datetime]]:
    """The advocate's earned badges with when each was awarded (aware UTC), oldest first."""
    rows = rows_of(EARNED_BADGES, advocate_id=advocate_id)
    # Read together as JSON, the rows come back in no promised order: sort as the query does.
    return [(CATALOG[code], at) for code, at in sorted(rows, key=lambda row: row[1]) if code in CATALOG]


def approved_completions(advocate_id: int) -> int:
    """How many of the advocate's completions were approved, read from the ledger: each approval
    posts one `earn` entry at ("completion", id) (challenges.services.decisions), and rewards does
    not import challenges."""
    ((count,),) = rows_of(APPROVED_COMPLETIONS, advocate_id=advocate_id)
    return int(count or 0)


def badge_catalogue(advocate_id: int) -> list[CatalogueEntry]:
    """Every badge of the catalog for one advocate: the earned ones first (oldest first, with
    their dates), then the ones still to earn in catalog order, each with how to earn it and,
    for a count, the progress toward it."""
    earned = badges_of(advocate_id)
    approved = approved_completions(advocate_id) if len(earned) < len(CATALOG) else 0
    held = {badge.code for badge, _ in earned}
    entries = [CatalogueEntry(badge, at) for badge, at in earned]
    for badge in CATALOG.values():
        if badge.code in held:
            continue
        progress = None
        if badge.completions and badge.completions > 1:
            progress = f"{min(approved, badge.completions):,} of {badge.completions:,}"
        entries.append(CatalogueEntry(badge, None, progress))
    return entries


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
