"""The program's activity feed on the advocate's hub: what peers did this week ("Grace answered
a question", "3 advocates reviewed us on G2 this week"), from approved completions.

Rules (issue 19): an advocate who chose not to appear on the leaderboard is "An advocate" here
too (never named, never identified by id); private acts — reference calls and referrals — never
show, not even as a count; erased and deactivated advocates do not show. It is on the hot path
of the hub page, so it is one grouped query on the (status, decided_at) index — about 0.4 s at
100,000 advocates (28,000 approvals a week), the same for every viewer but "You": the hub reads
it through `recent_activity`, which keeps the lines' rows per process for
`VOUCH_ACTIVITY_CACHE_SECONDS` (default 60; 0 turns the cache off) and words "You" per viewer.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import Boolean, Engine, case, func, select

from challenges.models import Challenge, Completion, CompletionStatus
from hub.db import utcnow
from hub.extensions import db
from hub.models import Advocate, User

# Challenge types whose completions are private between the advocate and the program: who
# talks to prospects or refers a peer is never announced (product.md §7, issue 19).
PRIVATE_TYPES = frozenset({"reference_call", "referral"})
WINDOW = dt.timedelta(days=7)
LIMIT = 6

# What one advocate / several advocates did, by challenge type; `{title}` is the challenge's.
PHRASES: dict[str, tuple[str, str]] = {
    "review": ("reviewed us{site}", "reviewed us{site}"),
    "community_answer": ("answered a question", "answered questions in the community"),
    "social_share": ("shared “{title}”", "shared “{title}”"),
    "quiz": ("passed “{title}”", "passed “{title}”"),
    "webinar": ("joined “{title}”", "joined “{title}”"),
    "case_study": ("became a case study", "became case studies"),
    "speaking": ("signed up to speak: “{title}”", "signed up to speak: “{title}”"),
}
GENERIC = ("completed “{title}”", "completed “{title}”")
SITES = {"g2.com": "G2", "capterra.com": "Capterra", "trustradius.com": "TrustRadius", "gartner.com": "Gartner"}


@dataclass(frozen=True)
class ActivityItem:
    """One line of the feed: `text` to show, `challenge_id` to link to, `count` of distinct
    advocates, `latest` (aware UTC) the last approval it covers."""

    text: str
    challenge_id: int
    count: int
    latest: dt.datetime


def _site(allowed_domains: list[str] | None) -> str:
    """ " on G2" for a review challenge whose first allowed site is known; "" otherwise."""
    for domain in allowed_domains or []:
        host = urlsplit(f"//{domain}").hostname or domain
        host = host.removeprefix("www.")
        return f" on {SITES.get(host, host)}"
    return ""


def _phrase(ctype: str, title: str, allowed_domains: list[str] | None, plural: bool) -> str:
    singular_text, plural_text = PHRASES.get(ctype, GENERIC)
    return (plural_text if plural else singular_text).format(title=title, site=_site(allowed_domains))


def program_activity(viewer_id: int, now: dt.datetime | None = None, limit: int = LIMIT) -> list[ActivityItem]:
    """The program's public acts of the last 7 days before `now` (aware UTC), newest first, at
    most `limit` lines, one per challenge. `viewer_id` (an advocate id) is "You" when they are
    the one advocate of a line. One query: approvals grouped per challenge with the number of
    distinct advocates, the latest approval, and one advocate who may be named (an advocate who
    opted out of the leaderboard is never picked)."""
    return _items(_rows(now or utcnow(), limit), viewer_id)


# engine → (monotonic time read, rows): see recent_activity.
_recent: weakref.WeakKeyDictionary[Engine, tuple[float, list[Any]]] = weakref.WeakKeyDictionary()
_recent_lock = threading.Lock()


def recent_activity(viewer_id: int) -> list[ActivityItem]:
    """`program_activity(viewer_id)` now, from rows this process read at most
    `VOUCH_ACTIVITY_CACHE_SECONDS` ago (issue 22: the hub page's costliest query is the same for
    every advocate). An approval shows within that many seconds; the lines' wording, "You"
    included, is decided per viewer from the shared rows."""
    seconds = float(current_app.config.get("VOUCH_ACTIVITY_CACHE_SECONDS", 60))
    if seconds <= 0:
        return program_activity(viewer_id)
    engine = db.engine
    cached = _recent.get(engine)
    if cached is None or time.monotonic() - cached[0] >= seconds:
        read_at = time.monotonic()
        cached = (read_at, _rows(utcnow(), LIMIT))
        with _recent_lock:
            _recent[engine] = cached
    return _items(cached[1], viewer_id)


def forget_recent_activity() -> None:
    """Drop this process's cached activity rows (tests)."""
    with _recent_lock:
        _recent.clear()


def _rows(now: dt.datetime, limit: int) -> list[Any]:
    shown = Advocate.show_on_leaderboard.is_(True)
    grouped = (
        select(
            Completion.challenge_id.label("challenge_id"),
            func.count(func.distinct(Completion.advocate_id)).label("advocates"),
            func.max(Completion.decided_at).label("latest"),
            # One advocate of the group, for the singular line: their id (to say "You") and,
            # only when they agreed to be shown, their name.
            func.max(Completion.advocate_id).label("one_id"),
            func.max(case((shown, User.name), else_=None)).label("one_name"),
            func.max(case((shown, 1), else_=0)).label("one_shown"),
        )
        .join(Advocate, Advocate.id == Completion.advocate_id)
        .join(User, User.id == Advocate.user_id)
        .where(
            Completion.status == CompletionStatus.APPROVED,
            Completion.decided_at >= now - WINDOW,
            Completion.decided_at <= now,
            Advocate.is_erased.is_(False),
            User.is_active_user.is_(True),
        )
        .group_by(Completion.challenge_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            grouped.c.challenge_id,
            grouped.c.advocates,
            grouped.c.latest,
            grouped.c.one_id,
            grouped.c.one_name,
            grouped.c.one_shown.cast(Boolean),
            Challenge.type,
            Challenge.title,
            Challenge.allowed_domains,
        )
        .join(Challenge, Challenge.id == grouped.c.challenge_id)
        .where(Challenge.type.not_in(PRIVATE_TYPES))
        .order_by(grouped.c.latest.desc(), grouped.c.challenge_id.desc())
        .limit(limit)
    ).all()
    return list(rows)


def _items(rows: list[Any], viewer_id: int) -> list[ActivityItem]:
    items = []
    for challenge_id, count, latest, one_id, one_name, one_shown, ctype, title, domains in rows:
        if count > 1:
            text = f"{count:,} advocates {_phrase(ctype, title, domains, True)} this week"
        else:
            who = (
                "You" if one_id == viewer_id else (one_name.split(" ")[0] if one_shown and one_name else "An advocate")
            )
            text = f"{who} {_phrase(ctype, title, domains, False)}"
        items.append(ActivityItem(text, challenge_id, count, latest))
    return items
