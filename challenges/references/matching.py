"""Ranking reference candidates (pure functions: no database, no clock).

Fit comes first — industry, size band, use case, region, in that order of weight — then, for
a public format (video), public champions before the others (product.md §13), then the days
since the advocate was last tapped for a reference (never, or longest ago, first), then the
advocate id so the order is total. Every point of the score comes with a reason, and so does the
persona preference. A `private_reference` advocate is never proposed for a public format: the
candidates service excludes them with the reason `private_reference`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

FIT_RULES = (
    ("industry", 40, "same industry"),
    ("company_size", 30, "same size band"),
    ("use_case", 20, "same use case"),
    ("region", 10, "same region"),
)

STAFF_REASONS = {
    "references_off": "not taking reference calls",
    "reference_cap": "had a reference call recently",
    "annual_cap": "reached the yearly ask limit",
    "personal_cap": "reached their own ask limit",
    "medium_cap": "had a medium-effort ask recently",
    "high_cap": "had a high-effort ask recently",
    "blackout": "in a blackout period",
    "already_asked": "already asked for this request",
    "private_reference": "a private reference (not for video calls)",
}
# Formats whose call is seen or recorded beyond the prospect (§13's "public formats").
PUBLIC_FORMATS = frozenset({"video"})
PUBLIC_CHAMPION = "public_champion"
PRIVATE_REFERENCE = "private_reference"


def norm(value: str | None) -> str:
    return " ".join((value or "").split()).casefold()


@dataclass(frozen=True)
class RequestFit:
    industry: str | None
    company_size: str | None
    use_case: str | None
    region: str | None
    format: str | None = None

    @property
    def is_public(self) -> bool:
        return self.format in PUBLIC_FORMATS


@dataclass(frozen=True)
class AdvocateFit:
    advocate_id: int
    name: str
    company: str | None
    title: str | None
    industry: str | None
    company_size: str | None
    region: str | None
    use_cases: frozenset[str]
    last_tapped_at: dt.datetime | None
    persona: str | None = None


@dataclass(frozen=True)
class Candidate:
    advocate_id: int
    name: str
    company: str | None
    title: str | None
    score: int
    reasons: tuple[str, ...]
    last_tapped_at: dt.datetime | None
    days_since_tapped: int | None
    preferred: bool = False


@dataclass(frozen=True)
class Exclusion:
    advocate_id: int
    name: str
    code: str
    detail: str | None
    available_at: dt.datetime | None

    @property
    def label(self) -> str:
        return STAFF_REASONS.get(self.code, self.code.replace("_", " "))


def fit(request: RequestFit, advocate: AdvocateFit) -> tuple[int, list[str]]:
    """The fit score (0–100) and its reasons."""
    score, reasons = 0, []
    for attribute, weight, reason in FIT_RULES:
        wanted = norm(getattr(request, attribute))
        if not wanted:
            continue
        if attribute == "use_case":
            matched = wanted in {norm(u) for u in advocate.use_cases}
        else:
            matched = wanted == norm(getattr(advocate, attribute))
        if matched:
            score += weight
            reasons.append(reason)
    return score, reasons


def tapped_reason(last_tapped_at: dt.datetime | None, now: dt.datetime) -> tuple[int | None, str]:
    if last_tapped_at is None:
        return None, "never asked for a reference"
    days = max(0, (now - last_tapped_at).days)
    if days == 0:
        return 0, "last reference today"
    return days, f"last reference {days} day{'s' if days != 1 else ''} ago"


def persona_reason(request: RequestFit, advocate: AdvocateFit) -> str | None:
    """The persona's say in the ranking, as a reason (None when it has none)."""
    if advocate.persona == PUBLIC_CHAMPION:
        return "public champion: preferred for video" if request.is_public else "public champion"
    if advocate.persona == PRIVATE_REFERENCE and not request.is_public:
        return "private reference: suits phone and email calls"
    return None


def rank(request: RequestFit, advocates: Iterable[AdvocateFit], now: dt.datetime) -> list[Candidate]:
    """Best fit first; among equals, for a public format public champions first, then least
    recently tapped first (never tapped before all)."""
    candidates = []
    for advocate in advocates:
        score, reasons = fit(request, advocate)
        days, tapped = tapped_reason(advocate.last_tapped_at, now)
        persona = persona_reason(request, advocate)
        candidates.append(
            Candidate(
                advocate.advocate_id,
                advocate.name,
                advocate.company,
                advocate.title,
                score,
                (*reasons, *([persona] if persona else []), tapped),
                advocate.last_tapped_at,
                days,
                request.is_public and advocate.persona == PUBLIC_CHAMPION,
            )
        )
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(candidates, key=lambda c: (-c.score, not c.preferred, c.last_tapped_at or never, c.advocate_id))


def exclusion_counts(exclusions: Iterable[Exclusion]) -> list[tuple[str, str, int]]:
    """(code, staff label, count), most common first."""
    counts = Counter(e.code for e in exclusions)
    return [
        (code, STAFF_REASONS.get(code, code.replace("_", " ")), n)
        for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
