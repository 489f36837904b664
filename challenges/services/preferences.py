"""The advocate's own preferences: liked activities, reference availability, a personal cap
stricter than the program's, and blackout date ranges."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from challenges import caps, verifiers
from hub.db import utcnow
from hub.errors import (
    NotFound,
    ValidationFailed,
)
from hub.extensions import db
from hub.models import Advocate

# --- the advocate's own preferences --------------------------------------------------------

MAX_BLACKOUTS = 20


@dataclass(frozen=True)
class PreferencesInput:
    activity_types: tuple[str, ...]
    available_for_references: bool
    max_asks_per_quarter: int | None
    show_on_leaderboard: bool


def save_preferences(advocate_id: int, inp: PreferencesInput) -> Advocate:
    """Save the advocate's own preferences. Their cap may only be stricter than the program's
    yearly limit (a larger number would never bind, so it is refused as misleading)."""
    from hub.settings import get_setting

    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None:
        raise NotFound("Advocate not found.")
    yearly = get_setting("caps_policy").get("asks_per_365_days")
    if inp.max_asks_per_quarter is not None and isinstance(yearly, int) and inp.max_asks_per_quarter > yearly:
        raise ValidationFailed(
            {"max_asks_per_quarter": f"The program already limits asks to {yearly} a year; choose {yearly} or fewer."}
        )
    unknown = [t for t in inp.activity_types if t not in verifiers.TYPES]
    if unknown:
        raise ValidationFailed({"activity_types": "Pick from the listed activities."})
    advocate.available_for_references = inp.available_for_references
    advocate.max_asks_per_quarter = inp.max_asks_per_quarter
    advocate.show_on_leaderboard = inp.show_on_leaderboard
    advocate.preferences = dict(advocate.preferences or {}) | {"activity_types": list(inp.activity_types)}
    db.session.flush()
    return advocate


def add_blackout(advocate_id: int, start: dt.date, end: dt.date, today: dt.date | None = None) -> list[dict[str, str]]:
    """Add an inclusive date range in which the advocate gets no asks."""
    today = today or utcnow().date()
    if end < start:
        raise ValidationFailed({"end": "The last day must be on or after the first."})
    if end < today:
        raise ValidationFailed({"end": "That range is already over."})
    if (end - start).days > 366:
        raise ValidationFailed({"end": "At most a year at a time."})
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None:
        raise NotFound("Advocate not found.")
    current = [b for b in caps.parse_blackouts((advocate.preferences or {}).get("blackouts")) if b[1] >= today]
    if len(current) >= MAX_BLACKOUTS:
        raise ValidationFailed({"start": f"At most {MAX_BLACKOUTS} ranges; remove one first."})
    ranges = sorted({*current, (start, end)})
    stored = [{"start": s.isoformat(), "end": e.isoformat()} for s, e in ranges]
    advocate.preferences = dict(advocate.preferences or {}) | {"blackouts": stored}
    db.session.flush()
    return stored


def remove_blackout(advocate_id: int, start: dt.date, end: dt.date) -> list[dict[str, str]]:
    """Remove one blackout range (no error if it is not there)."""
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None:
        raise NotFound("Advocate not found.")
    ranges = [b for b in caps.parse_blackouts((advocate.preferences or {}).get("blackouts")) if b != (start, end)]
    stored = [{"start": s.isoformat(), "end": e.isoformat()} for s, e in ranges]
    advocate.preferences = dict(advocate.preferences or {}) | {"blackouts": stored}
    db.session.flush()
    return stored
