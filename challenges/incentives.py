"""The review incentive log (product.md §15, issue 18): every review incentive offered (a
published review challenge and who could see it) and awarded (advocate, platform, points,
submitted, awarded, the disclosure they were shown) — what legal asks for. Read-only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, func, select

from challenges import review_rules
from challenges.models import Challenge, Completion, CompletionStatus
from hub.extensions import db
from hub.models import Advocate, User


@dataclass(frozen=True)
class Offered:
    challenge_id: int
    title: str
    platform: str
    points: int
    offered_at: dt.datetime
    status: str
    audience: str
    disclosure: str


@dataclass(frozen=True)
class Awarded:
    advocate_id: int
    advocate_name: str
    challenge_id: int
    title: str
    platform: str
    points: int
    submitted_at: dt.datetime
    awarded_at: dt.datetime | None
    disclosure: str


def audience(challenge: Challenge) -> str:
    """Who could see the challenge: every advocate, or its tiers and groups."""
    parts = []
    if challenge.target_tiers:
        parts.append("tiers " + ", ".join(str(t) for t in challenge.target_tiers))
    if challenge.target_groups:
        parts.append("groups " + ", ".join(sorted(g.name for g in challenge.target_groups)))
    return "; ".join(parts) if parts else "all advocates"


def offered() -> list[Offered]:
    """Every review challenge ever published (drafts offered nothing), newest first."""
    challenges = db.session.scalars(
        select(Challenge)
        .where(Challenge.type == "review", Challenge.published_at.is_not(None))
        .order_by(Challenge.published_at.desc(), Challenge.id.desc())
    ).all()
    return [
        Offered(
            challenge_id=c.id,
            title=c.title,
            platform=c.platform or review_rules.DEFAULT_PLATFORM,
            points=c.points,
            offered_at=c.published_at or c.created_at,
            status=str(c.status),
            audience=audience(c),
            disclosure=c.disclosure or "",
        )
        for c in challenges
    ]


def _awarded_query() -> Select[Completion, Challenge, str]:
    return (
        select(Completion, Challenge, User.name)
        .join(Challenge, Challenge.id == Completion.challenge_id)
        .join(Advocate, Advocate.id == Completion.advocate_id)
        .join(User, User.id == Advocate.user_id)
        .where(Challenge.type == "review", Completion.status == CompletionStatus.APPROVED)
    )


def awarded(limit: int | None = None, offset: int = 0) -> tuple[list[Awarded], int]:
    """Approved review completions (newest award first) and how many there are in all."""
    base = _awarded_query()
    total = int(db.session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    query = base.order_by(Completion.decided_at.desc(), Completion.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    rows = [
        Awarded(
            advocate_id=completion.advocate_id,
            advocate_name=name,
            challenge_id=challenge.id,
            title=challenge.title,
            platform=challenge.platform or review_rules.DEFAULT_PLATFORM,
            points=completion.points_awarded or 0,
            submitted_at=completion.submitted_at,
            awarded_at=completion.decided_at,
            # what the advocate was shown (kept at submission); older completions: the challenge's
            disclosure=completion.disclosure_shown or challenge.disclosure or "",
        )
        for completion, challenge, name in db.session.execute(query).all()
    ]
    return rows, total


CSV_HEADER = (
    "kind",
    "advocate_id",
    "advocate_name",
    "challenge_id",
    "challenge_title",
    "platform",
    "points",
    "offered_at",
    "audience",
    "submitted_at",
    "awarded_at",
    "disclosure",
)


def csv_rows() -> list[tuple[object, ...]]:
    """The whole log as CSV rows under CSV_HEADER: offers first, then awards (times ISO 8601 UTC).
    The caller neutralises formulas (text written by staff and advocates)."""

    def iso(value: dt.datetime | None) -> str:
        return value.isoformat().replace("+00:00", "Z") if value else ""

    rows: list[tuple[object, ...]] = [
        (
            "offered",
            "",
            "",
            o.challenge_id,
            o.title,
            o.platform,
            o.points,
            iso(o.offered_at),
            o.audience,
            "",
            "",
            o.disclosure,
        )
        for o in offered()
    ]
    items, _ = awarded()
    rows += [
        (
            "awarded",
            a.advocate_id,
            a.advocate_name,
            a.challenge_id,
            a.title,
            a.platform,
            a.points,
            "",
            "",
            iso(a.submitted_at),
            iso(a.awarded_at),
            a.disclosure,
        )
        for a in items
    ]
    return rows
