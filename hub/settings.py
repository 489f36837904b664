"""Program settings: code defaults overlaid by the owner's saved values, read through one accessor."""

from __future__ import annotations

import copy
from typing import Any

from flask import g, has_app_context, has_request_context
from sqlalchemy import select

from hub import stamps
from hub.db import utcnow
from hub.extensions import db
from hub.models import Setting

STAMP = "settings"
stamps.watch(STAMP, "settings")
# The saved rows, per process and version of the settings table (hub.stamps): a request reads
# the stamp (shared with the catalogue's, one query) instead of the table.
_saved = stamps.ProcessCache(STAMP)

DEFAULTS: dict[str, Any] = {
    "tier_thresholds": {"silver": 1000, "gold": 5000},
    "tier_basis": "lifetime",  # or "rolling_365"
    "caps_policy": {
        "reference_calls_per_30_days": 1,
        "medium_asks_per_60_days": 1,
        "high_asks_per_90_days": 1,
        "asks_per_365_days": 4,
    },
    "program_cost": {"amount": "0", "currency": "USD"},
    # product.md §14: the money value of one point, and points expiry (None = off). The policy's
    # start is kept beside it: points credited before it never expire (grandfathered).
    "point_value": {"amount": "0.01", "currency": "USD"},
    "points_expiry_days": None,
    "points_expiry_since": None,
    # product.md §15: below this trust score automatic verifiers send completions to review.
    "trust_review_threshold": 40,
    "consent_text_version": "2026-01",
    # The program terms every advocate accepts (hub.consent); a new text gets a new version.
    "consent_text": (
        "As an advocate you may be asked to write reviews, take reference calls, answer community "
        "questions and more. You choose what you take part in; you can set limits, pause reference "
        "requests, download your data or erase your account at any time from your preferences. "
        "We store your name, email, company details and your program activity to run the program."
    ),
    "program_name": "Vouch Advocates",
}


def get_setting(key: str) -> Any:
    """The effective value of a setting (saved value or default). Cached per request and per
    job, and per process while the settings' version stamp is unchanged (hub.stamps)."""
    cache = _cache()
    if key not in cache:
        saved: dict[str, Any] = _saved.get(_read_saved)
        for name, default in DEFAULTS.items():
            cache.setdefault(name, saved.get(name, default))
        if key not in cache:
            raise KeyError(key)
    return copy.deepcopy(cache[key])


def _read_saved() -> dict[str, Any]:
    # The table holds a dozen rows: read them all at once.
    # Columns, not entities: the values are shared by the process, never the session's objects.
    return dict(db.session.execute(select(Setting.key, Setting.value)).all())


def save_setting(key: str, value: Any, actor_id: int | None) -> tuple[Any, Any]:
    """Persist a setting; returns (before, after) for the audit log. Caller commits."""
    if key not in DEFAULTS:
        raise KeyError(key)
    before = get_setting(key)
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value, updated_by_id=actor_id))
    else:
        row.value = value
        row.updated_by_id = actor_id
        row.updated_at = utcnow()
    db.session.flush()
    _cache()[key] = copy.deepcopy(value)
    return before, value


def _cache() -> dict[str, Any]:
    """Per request, and per job (hub.queue.job_context starts one); elsewhere (CLI, shells)
    every read goes to the database, so a long-lived app context never sees stale values."""
    if has_request_context() and "vouch_settings" not in g:
        g.vouch_settings = {}
    if has_app_context() and "vouch_settings" in g:
        return g.vouch_settings
    return {}
