"""Asks and the caps that protect advocates (product.md §5) — the one place they live.

An *ask* is a medium/high-effort completion or a reference call. `check_ask` is a pure
read (the feed, reference matching); `claim_ask` is the atomic write: it takes the
advocate's row lock (SELECT … FOR UPDATE on PostgreSQL; SQLite already serializes
writers with BEGIN IMMEDIATE), re-checks and inserts, so two simultaneous asks can never
both pass a cap. Asks are idempotent on (source_type, source_id).

Windows are rolling: an ask at t blocks its rule until exactly t + window (at that instant
the next ask is allowed). Rules, from the owner's `caps_policy` setting:

- reference calls: `reference_calls_per_30_days`
- medium-effort asks: `medium_asks_per_60_days`
- high-effort asks: `high_asks_per_90_days`
- all asks: `asks_per_365_days`
- the advocate's own `max_asks_per_quarter` (all asks, rolling 90 days)
- the advocate's blackout date ranges (`preferences["blackouts"]`, inclusive UTC dates)
- for reference calls, `available_for_references`

A released ask (`cancelled_at` set: a declined reference, a rejected completion) no longer
counts — the advocate's time was not in the end taken.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import cast, delete, func, insert, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement

from challenges.accounts.marks import mark_advocates
from challenges.models import ASK_TOTAL_SHARDS, Ask, AskDayTotal, AskKind
from hub.db import execute_dml, insert_row_ignore, locked_row, table_of, upsert_add, utcnow
from hub.errors import CapReached, InvalidState, NotFound, ValidationFailed
from hub.extensions import db
from hub.models import Advocate
from hub.settings import get_setting
from hub.timezones import localize

QUARTER_DAYS = 90
LOOKBACK_DAYS = 365


class AskTaker(Protocol):
    """What the caps read of an advocate: an `Advocate` row, or the feed's lighter read of its
    columns (challenges.services.feed.FeedAdvocate)."""

    @property
    def preferences(self) -> dict[str, Any]: ...

    @property
    def available_for_references(self) -> bool: ...

    @property
    def max_asks_per_quarter(self) -> int | None: ...


@dataclass(frozen=True)
class CapCheck:
    """The answer to "may this advocate be asked now?"; `available_at` is when they may
    (None when allowed, or when only a person can lift the block)."""

    allowed: bool
    reason: str | None = None
    code: str | None = None
    available_at: dt.datetime | None = None


@dataclass(frozen=True)
class Rule:
    code: str
    policy_key: str | None
    kinds: frozenset[AskKind]
    window_days: int


RULES = (
    Rule("reference_cap", "reference_calls_per_30_days", frozenset({AskKind.REFERENCE_CALL}), 30),
    Rule("medium_cap", "medium_asks_per_60_days", frozenset({AskKind.MEDIUM}), 60),
    Rule("high_cap", "high_asks_per_90_days", frozenset({AskKind.HIGH}), 90),
    Rule("annual_cap", "asks_per_365_days", frozenset(AskKind), 365),
    Rule("personal_cap", None, frozenset(AskKind), QUARTER_DAYS),
)

POLICY_FIELDS = {
    "reference_calls_per_30_days": "Reference calls per advocate per 30 days",
    "medium_asks_per_60_days": "Medium-effort asks per 60 days",
    "high_asks_per_90_days": "High-effort asks per 90 days",
    "asks_per_365_days": "All asks per rolling 365 days",
}
POLICY_MAX = 100


def day_label(
    value: dt.datetime | dt.date, today: dt.datetime | dt.date | None = None, zone: ZoneInfo | None = None
) -> str:
    """ "Nov 3" (or "Nov 3, 2027" outside the current year); a time is the day it is in the
    reader's own time zone (hub.timezones; `zone` when the caller already looked it up), a date
    is that day."""
    today = today or utcnow()
    if isinstance(value, dt.datetime):
        value = localize(value, zone)
    if isinstance(today, dt.datetime):
        today = localize(today, zone)
    label = f"{value:%b} {value.day}"
    return label if value.year == today.year else f"{label}, {value.year}"


def _active_asks(advocate_id: int, since: dt.datetime) -> list[Ask]:
    return list(
        db.session.scalars(
            select(Ask)
            .where(Ask.advocate_id == advocate_id, Ask.cancelled_at.is_(None), Ask.asked_at > since)
            .order_by(Ask.asked_at)
        )
    )


def _asks_counted_after(advocate_id: int, at: dt.datetime) -> list[Ask]:
    """The advocate's asks made in the 365 days before `at` (or after it) that count at some
    moment after `at`: not released, or released after `at` — oldest first. The active ones are
    `_active_asks(advocate_id, at - 365 days)`, read by the same index range (the release time
    is a filter on the rows it reads either way)."""
    return list(
        db.session.scalars(
            select(Ask)
            .where(
                Ask.advocate_id == advocate_id,
                Ask.asked_at > at - dt.timedelta(days=LOOKBACK_DAYS),
                or_(Ask.cancelled_at.is_(None), Ask.cancelled_at > at),
            )
            .order_by(Ask.asked_at)
        )
    )


def parse_blackouts(raw: object) -> list[tuple[dt.date, dt.date]]:
    """Blackout ranges from preferences; malformed entries are ignored (never crash the feed)."""
    ranges: list[tuple[dt.date, dt.date]] = []
    if not isinstance(raw, list):
        return ranges
    for item in raw:
        try:
            start = dt.date.fromisoformat(item["start"])
            end = dt.date.fromisoformat(item["end"])
        except (TypeError, KeyError, ValueError):
            continue
        if end >= start:
            ranges.append((start, end))
    return sorted(ranges)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _skip_blackouts(t: dt.datetime, blackouts: list[tuple[dt.date, dt.date]]) -> tuple[dt.datetime, tuple | None]:
    """The first instant ≥ t outside every blackout, and the first blackout that moved it."""
    hit = None
    moved = True
    while moved:
        moved = False
        for start, end in blackouts:
            if start <= t.date() <= end:
                t = _midnight(end + dt.timedelta(days=1))
                hit = hit or (start, end)
                moved = True
    return t, hit


@dataclass(frozen=True)
class Break:
    """A break the advocate is on now (one of their blackout ranges, inclusive UTC dates):
    `back_at` is the first instant after it (and after any break that follows on directly)."""

    start: dt.date
    end: dt.date
    back_at: dt.datetime

    def reason(self, at: dt.datetime) -> str:
        """The one sentence every locked challenge and refused submission shows during a break."""
        until, back = day_label(self.end, at), day_label(self.back_at, at)
        return f"You are on a break until {until} — challenges open again on {back}."


def current_break(advocate: AskTaker, at: dt.datetime | None = None) -> Break | None:
    """The break that applies at `at` (default now), or None. The one rule (issue 19): while it
    applies, every challenge the advocate would take on themselves is locked and its submission
    refused, no reference ask is sent, and the hub says so — whatever the challenge's effort."""
    at = at or utcnow()
    back_at, hit = _skip_blackouts(at, parse_blackouts((advocate.preferences or {}).get("blackouts")))
    if hit is None:
        return None
    return Break(hit[0], (back_at - dt.timedelta(days=1)).date(), back_at)


def _limit_for(rule: Rule, policy: dict, advocate: AskTaker) -> int | None:
    if rule.policy_key is None:
        return advocate.max_asks_per_quarter
    value = policy.get(rule.policy_key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _rule_reason(
    rule: Rule, limit: int, relevant: Sequence[Ask | AskAt], released: dt.datetime, at: dt.datetime
) -> str:
    if limit == 0:
        return {
            "reference_cap": "The program is not booking reference calls right now.",
            "medium_cap": "The program is not asking for medium-effort activities right now.",
            "high_cap": "The program is not asking for high-effort activities right now.",
            "annual_cap": "The program is not sending asks right now.",
            "personal_cap": "You paused all asks in your preferences.",
        }[rule.code]
    last = relevant[-1].asked_at
    nxt = day_label(released, at)
    if rule.code == "reference_cap" and limit == 1:
        return f"You took a reference call on {day_label(last, at)} — next one from {nxt}"
    if rule.code == "reference_cap":
        return f"You took {limit} reference calls in the last 30 days — next one from {nxt}"
    if rule.code in ("medium_cap", "high_cap"):
        effort = "medium" if rule.code == "medium_cap" else "high"
        if limit == 1:
            return f"You took on a {effort}-effort challenge on {day_label(last, at)} — next one from {nxt}"
        return f"You took on {limit} {effort}-effort challenges recently — next one from {nxt}"
    if rule.code == "annual_cap":
        return f"You have helped {limit} times in the last 12 months — next ask from {nxt}"
    return f"Your own limit is {limit} ask{'s' if limit != 1 else ''} per quarter — next one from {nxt}"


def check_ask(advocate_id: int, kind: AskKind | str, at: dt.datetime | None = None) -> CapCheck:
    """May `advocate_id` take an ask of `kind` at `at` (default now)? A pure read."""
    kind = AskKind(kind)
    return check_asks(advocate_id, [kind], at)[kind]


def check_asks(
    advocate_id: int, kinds: Iterable[AskKind | str], at: dt.datetime | None = None
) -> dict[AskKind, CapCheck]:
    """`check_ask` for several kinds at once (the feed): one read of the advocate's asks."""
    at = at or utcnow()
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None:
        raise NotFound("Advocate not found.")
    wanted = [AskKind(k) for k in kinds]
    if not wanted:
        return {}
    return check_asks_of(advocate, wanted, at, _active_asks(advocate_id, at - dt.timedelta(days=LOOKBACK_DAYS)))


@dataclass(frozen=True, slots=True)
class AskAt:
    """What the caps read of one active ask: its kind and when it was made (UTC)."""

    kind: AskKind
    asked_at: dt.datetime


def check_asks_of(
    advocate: AskTaker, kinds: Iterable[AskKind], at: dt.datetime, asks: Sequence[Ask | AskAt]
) -> dict[AskKind, CapCheck]:
    """`check_asks` from the advocate's active asks already read: those not released
    (`cancelled_at` unset) made in the LOOKBACK_DAYS before `at`, oldest first (the feed reads
    them in the statement that reads its other rows, issue 22)."""
    policy = get_setting("caps_policy")
    return {kind: _evaluate(advocate, kind, at, policy, asks) for kind in kinds}


def window_ends(asks: Iterable[Ask | AskAt], at: dt.datetime) -> list[dt.datetime]:
    """The moments after `at` at which one of `asks` leaves a rule's rolling window (or the
    lookback): the only moments, besides midnights, at which `check_asks_of` over the same asks
    can answer differently (the feed keeps an answer until the first of them, issue 22)."""
    spans = {dt.timedelta(days=d) for d in (*(rule.window_days for rule in RULES), LOOKBACK_DAYS)}
    return [a.asked_at + span for a in asks for span in spans if a.asked_at + span > at]


def _evaluate(
    advocate: AskTaker, kind: AskKind, at: dt.datetime, policy: dict, asks: Sequence[Ask | AskAt]
) -> CapCheck:
    if kind is AskKind.REFERENCE_CALL and not advocate.available_for_references:
        return CapCheck(False, "You are not taking reference calls (see your preferences).", "references_off")
    blocks: list[tuple[dt.datetime | None, str, str]] = []
    for rule in RULES:
        if kind not in rule.kinds:
            continue
        limit = _limit_for(rule, policy, advocate)
        if limit is None:
            continue
        since = at - dt.timedelta(days=rule.window_days)
        relevant = [a for a in asks if a.kind in rule.kinds and a.asked_at > since]
        if len(relevant) < limit:
            continue
        released = (
            None if limit == 0 else relevant[len(relevant) - limit].asked_at + dt.timedelta(days=rule.window_days)
        )
        blocks.append((released, rule.code, _rule_reason(rule, limit, relevant, released or at, at)))
    blackouts = parse_blackouts((advocate.preferences or {}).get("blackouts"))
    if any(released is None for released, _, _ in blocks):
        _, code, reason = next(b for b in blocks if b[0] is None)
        return CapCheck(False, reason, code, None)
    if blocks:
        released, code, reason = max(((r, c, m) for r, c, m in blocks if r is not None), key=lambda b: b[0])
        available, _ = _skip_blackouts(released, blackouts)
        if available != released:
            reason = f"{reason.rsplit(' — ', 1)[0]} — next one from {day_label(available, at)}"
        return CapCheck(False, reason, code, available)
    available, hit = _skip_blackouts(at, blackouts)
    if hit is not None:
        start, end = hit
        reason = (
            f"You marked {day_label(start, at)} – {day_label(end, at)} as unavailable"
            f" — next one from {day_label(available, at)}"
        )
        return CapCheck(False, reason, "blackout", available)
    return CapCheck(True)


def _lock_advocate(advocate_id: int) -> Advocate:
    advocate = locked_row(Advocate, advocate_id)
    if advocate is None:
        raise NotFound("Advocate not found.")
    return advocate


def _ask_for(source_type: str, source_id: str) -> Ask | None:
    return db.session.scalar(select(Ask).where(Ask.source_type == source_type, Ask.source_id == source_id))


def claim_ask(
    advocate_id: int,
    kind: AskKind | str,
    source_type: str,
    source_id: str | int,
    at: dt.datetime | None = None,
    handed_over: bool = False,
) -> Ask:
    """Record an ask atomically, or raise CapReached (with `available_at`).

    Idempotent on (source_type, source_id): claiming the same source again returns the
    existing ask without re-checking. `handed_over` is for an ask that already passed the
    caps under another source and was released in this transaction (a reference assignment
    becoming its call's completion, dated when the advocate was asked): it is recorded
    without a second check, which would count asks the advocate took after that date. The
    caller commits.
    """
    kind = AskKind(kind)
    source_id = str(source_id)
    at = at or utcnow()
    existing = _ask_for(source_type, source_id)
    if existing is not None:
        return existing
    advocate = _lock_advocate(advocate_id)
    existing = _ask_for(source_type, source_id)
    if existing is not None:
        return existing
    # The cap check's read also gives the asks counted after `at` (see `_watch_for_burnout`).
    counted: list[Ask] | None = None
    if handed_over:
        check = CapCheck(True)
    else:
        policy = get_setting("caps_policy")
        counted = _asks_counted_after(advocate_id, at)
        active = [a for a in counted if a.cancelled_at is None]
        check = _evaluate(advocate, kind, at, policy, active)
    if not check.allowed:
        raise CapReached(
            check.reason or "A cap protecting this advocate has been reached.",
            available_at=check.available_at,
            reason_code=check.code,
        )
    # INSERT … ON CONFLICT DO NOTHING on the source's unique key (no SAVEPOINT pair).
    ask = insert_row_ignore(
        db.session,
        Ask,
        {"advocate_id": advocate_id, "kind": kind, "source_type": source_type, "source_id": source_id, "asked_at": at},
    )
    if ask is None:
        existing = _ask_for(source_type, source_id)
        if existing is None:  # the conflicting ask was deleted meanwhile: nothing sensible to return
            raise InvalidState("The ask could not be recorded; try again.")
        return existing
    mark_advocates([advocate_id])  # an ask changes reference readiness (the flush events' mark)
    _add_to_ask_totals({_ask_day_key(advocate_id, at): 1})
    _watch_for_burnout(advocate, at, None if counted is None else len(counted) + 1)
    return ask


# An advocate with this many asks counted at some moment leaves "healthy" (burnout_bucket).
WATCHED_ASKS = 5


def _watch_for_burnout(advocate: Advocate, at: dt.datetime, counted: int | None) -> None:
    """Set `advocate.burnout_watch` (hub.models) when the ask just claimed at `at` may make the
    burnout report count them one by one: `counted` — the asks of the cap check's read that
    count at some moment after `at`, with this one — reaches WATCHED_ASKS, or the ask is dated
    before they joined. Under the advocate's row lock, which the claim holds.

    No statement while the advocate is watched already or stays below the mark (the ordinary
    claim); one UPDATE the first time. The asks any moment T in (at, at + 365 days) counts —
    made in (T − 365 days, T), not released before T — are, of those claimed before this one
    (the row lock orders an advocate's claims), all among `counted`, whose read takes the asks
    made after `at` − 365 days and not released by `at`: so whatever moment first counts
    WATCHED_ASKS asks, the last of its asks to be claimed finds them and sets the watch.
    A handed-over claim skips the cap check's read, so the count is the UPDATE's own condition
    (one statement, only on that path)."""
    if advocate.burnout_watch:
        return
    watch = update(Advocate).where(Advocate.id == advocate.id).values(burnout_watch=True)
    if counted is None:
        since = at - dt.timedelta(days=LOOKBACK_DAYS)
        found = (
            select(func.count())
            .select_from(Ask)
            .where(
                Ask.advocate_id == advocate.id,
                Ask.asked_at > since,
                or_(Ask.cancelled_at.is_(None), Ask.cancelled_at > at),
            )
            .scalar_subquery()
        )
        watch = watch.where(or_(found >= WATCHED_ASKS, Advocate.joined_at > at))
    elif counted < WATCHED_ASKS and at >= advocate.joined_at:
        return
    if execute_dml(watch.execution_options(synchronize_session=False)).rowcount:
        set_committed_value(advocate, "burnout_watch", True)


def release_ask(source_type: str, source_id: str | int, at: dt.datetime | None = None) -> bool:
    """Stop counting an ask (declined reference, rejected completion). True if it was active."""
    active = (Ask.source_type == source_type, Ask.source_id == str(source_id), Ask.cancelled_at.is_(None))
    # the advocate's reference readiness may change: their account's summary is recomputed
    mark_advocates(db.session.scalars(select(Ask.advocate_id).where(*active)))
    released = db.session.execute(
        update(Ask)
        .where(*active)
        .values(cancelled_at=at or utcnow())
        .returning(Ask.advocate_id, Ask.asked_at)
        .execution_options(synchronize_session=False)
    ).all()
    taken_off: dict[tuple[dt.date, int], int] = {}
    for advocate_id, asked_at in released:
        key = _ask_day_key(advocate_id, asked_at)
        taken_off[key] = taken_off.get(key, 0) - 1
    _add_to_ask_totals(taken_off)
    return len(released) == 1


def _ask_day_key(advocate_id: int, asked_at: dt.datetime) -> tuple[dt.date, int]:
    """The AskDayTotal row an ask counts in: its UTC day and the advocate's shard."""
    return asked_at.astimezone(dt.UTC).date(), advocate_id % ASK_TOTAL_SHARDS


def _add_to_ask_totals(changes: dict[tuple[dt.date, int], int]) -> None:
    """Add each change to its (day, shard) row of AskDayTotal, in key order (two transactions
    never wait on each other's rows in a cycle); one upsert per row."""
    for (day, shard), amount in sorted(changes.items()):
        if amount:
            upsert_add(db.session, table_of(AskDayTotal), {"day": day, "shard": shard}, "asks", amount)


def rebuild_ask_day_totals() -> None:
    """Recount AskDayTotal from the asks in one grouped INSERT … SELECT (`flask challenges
    rebuild-act-totals`, the bench seeder; the migration that added the table ran the same
    statement), and the advocates' burnout watch (`rebuild_burnout_watch`). The caller commits."""
    session = db.session
    day: ColumnElement[dt.date] = (
        cast(func.timezone("UTC", Ask.asked_at), AskDayTotal.day.type)
        if session.get_bind().dialect.name == "postgresql"
        else func.date(Ask.asked_at)
    )
    shard = Ask.advocate_id % ASK_TOTAL_SHARDS
    grouped = select(day, shard, func.count()).where(Ask.cancelled_at.is_(None)).group_by(day, shard)
    session.execute(delete(AskDayTotal))
    session.execute(insert(AskDayTotal).from_select(["day", "shard", "asks"], grouped))
    rebuild_burnout_watch()


def watched_by_their_asks(asks: Iterable[tuple[dt.datetime, dt.datetime | None]]) -> bool:
    """Whether some moment counts WATCHED_ASKS or more of these asks (`(asked_at, cancelled_at)`,
    one advocate's): a moment's count only rises just after an ask is made, so the moments just
    after each ask's time are the ones to look at — the asks made in the 365 days up to it, not
    released by it."""
    ordered = sorted(asks, key=lambda a: a[0])
    lookback = dt.timedelta(days=LOOKBACK_DAYS)
    for asked_at, _ in ordered:
        counted = sum(
            1
            for other_at, released in ordered
            if asked_at - lookback < other_at <= asked_at and (released is None or released > asked_at)
        )
        if counted >= WATCHED_ASKS:
            return True
    return False


def rebuild_burnout_watch() -> None:
    """Set `Advocate.burnout_watch` from the asks and the advocates alone, as the claims keep it
    (`_watch_for_burnout`) and an erasure sets it: on for the advocates with WATCHED_ASKS asks
    counted at some moment (`watched_by_their_asks`, read only for those with that many asks at
    all), an ask dated before they joined, or erased; off for everyone else. The caller commits.
    The migration that added the watch filled it the same way."""
    session = db.session
    many = select(Ask.advocate_id).group_by(Ask.advocate_id).having(func.count() >= WATCHED_ASKS)
    asks: dict[int, list[tuple[dt.datetime, dt.datetime | None]]] = {}
    for advocate_id, asked_at, released in session.execute(
        select(Ask.advocate_id, Ask.asked_at, Ask.cancelled_at).where(Ask.advocate_id.in_(many))
    ):
        asks.setdefault(advocate_id, []).append((asked_at, released))
    watched = {advocate_id for advocate_id, theirs in asks.items() if watched_by_their_asks(theirs)}
    watched.update(
        session.scalars(
            select(Ask.advocate_id)
            .join(Advocate, Advocate.id == Ask.advocate_id)
            .where(Ask.asked_at < Advocate.joined_at)
        )
    )
    watched.update(session.scalars(select(Advocate.id).where(Advocate.is_erased.is_(True))))
    session.execute(
        update(Advocate)
        .where(Advocate.burnout_watch.is_(True))
        .values(burnout_watch=False)
        .execution_options(synchronize_session=False)
    )
    ids = sorted(watched)
    for start in range(0, len(ids), 5000):
        session.execute(
            update(Advocate)
            .where(Advocate.id.in_(ids[start : start + 5000]))
            .values(burnout_watch=True)
            .execution_options(synchronize_session=False)
        )


def asks_last_365(advocate_ids: list[int], at: dt.datetime | None = None) -> dict[int, int]:
    """Active asks per advocate in the 365 days before `at` (one query)."""
    if not advocate_ids:
        return {}
    since = (at or utcnow()) - dt.timedelta(days=LOOKBACK_DAYS)
    rows = db.session.execute(
        select(Ask.advocate_id, func.count())
        .where(Ask.advocate_id.in_(advocate_ids), Ask.cancelled_at.is_(None), Ask.asked_at > since)
        .group_by(Ask.advocate_id)
    ).all()
    counts = {advocate_id: 0 for advocate_id in advocate_ids}
    counts.update({advocate_id: n for advocate_id, n in rows})
    return counts


def reference_ready(advocates: Iterable[Advocate], at: dt.datetime | None = None) -> set[int]:
    """The ids of these advocates who could take a reference call at `at` (product.md §13's
    *reference-ready*: `available_for_references` on, not capped, not in a blackout) — the same
    rules as `check_ask`, with every advocate's asks read in one query. Whether an advocate is
    active (not erased, user not deactivated) is the caller's filter."""
    at = at or utcnow()
    advocates = list(advocates)
    candidates = [a for a in advocates if a.available_for_references]
    if not candidates:
        return set()
    policy = get_setting("caps_policy")
    asks: dict[int, list[Ask]] = {a.id: [] for a in candidates}
    ids = list(asks)
    for start in range(0, len(ids), 5000):
        for ask in db.session.scalars(
            select(Ask)
            .where(
                Ask.advocate_id.in_(ids[start : start + 5000]),
                Ask.cancelled_at.is_(None),
                Ask.asked_at > at - dt.timedelta(days=LOOKBACK_DAYS),
            )
            .order_by(Ask.asked_at)
        ):
            asks[ask.advocate_id].append(ask)
    return {a.id for a in candidates if _evaluate(a, AskKind.REFERENCE_CALL, at, policy, asks[a.id]).allowed}


def burnout_bucket(n: int) -> str:
    """0–4 healthy, 5–6 acceptable, 7–10 at risk, more than 10 burning."""
    if n <= 4:
        return "healthy"
    if n <= 6:
        return "acceptable"
    if n <= 10:
        return "at_risk"
    return "burning"


def advocate_facts(advocate_ids: list[int]) -> dict[int, dict]:
    """The advocate-facts hook (hub.hooks): asks in the last 365 days and the burnout bucket."""
    return {a: {"asks_last_365": n, "burnout": burnout_bucket(n)} for a, n in asks_last_365(advocate_ids).items()}


def recent_asks(advocate_ids: list[int], limit: int = 5) -> dict[int, list[Ask]]:
    """Each advocate's latest active asks within a year, newest first (one query)."""
    if not advocate_ids:
        return {}
    since = utcnow() - dt.timedelta(days=LOOKBACK_DAYS)
    found: dict[int, list[Ask]] = {a: [] for a in advocate_ids}
    for ask in db.session.scalars(
        select(Ask)
        .where(Ask.advocate_id.in_(advocate_ids), Ask.cancelled_at.is_(None), Ask.asked_at > since)
        .order_by(Ask.asked_at.desc())
    ):
        if len(found[ask.advocate_id]) < limit:
            found[ask.advocate_id].append(ask)
    return found


def validate_policy(raw: dict) -> dict[str, int]:
    """Check an owner's caps policy: whole numbers 0–100 for every rule. Returns the clean
    policy; raises ValidationFailed with a field error per bad rule."""
    errors: dict[str, str] = {}
    clean: dict[str, int] = {}
    for key in POLICY_FIELDS:
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            errors[key] = "Must be a whole number."
        elif not 0 <= value <= POLICY_MAX:
            errors[key] = f"Must be between 0 and {POLICY_MAX}."
        else:
            clean[key] = value
    if errors:
        raise ValidationFailed(errors)
    return clean


def save_policy(policy: dict[str, int], actor_id: int | None) -> dict[str, int]:
    """Store the owner's caps policy (validated) and audit the change. Caller commits."""
    from hub.audit import record_audit
    from hub.settings import save_setting

    checked = validate_policy(policy)
    before, after = save_setting("caps_policy", checked, actor_id)
    record_audit(actor_id, "settings.caps_policy", "setting", "caps_policy", before, after)
    return after


# Asks in the last 365 days that each burnout bucket spans (burnout_bucket), inclusive.
BURNOUT_ASKS = {"healthy": (0, 4), "acceptable": (5, 6), "at_risk": (7, 10), "burning": (11, None)}


def filter_by_burnout(query: Any, filters: dict[str, Any]) -> Any:
    """The advocates-list filter hook (hub.advocate_lists): keep the advocates whose active asks in
    the 365 days before `filters["now"]` fall in `filters["burnout"]`'s bucket — the same count as
    `asks_last_365`, grouped once in SQL, an advocate without asks counting 0."""
    bucket = filters.get("burnout")
    if not bucket:
        return query
    low, high = BURNOUT_ASKS[str(bucket)]
    since = filters["now"] - dt.timedelta(days=LOOKBACK_DAYS)
    counts = (
        select(Ask.advocate_id, func.count().label("asks"))
        .where(Ask.cancelled_at.is_(None), Ask.asked_at > since)
        .group_by(Ask.advocate_id)
        .subquery()
    )
    asks = func.coalesce(counts.c.asks, 0)
    query = query.outerjoin(counts, counts.c.advocate_id == Advocate.id).where(asks >= low)
    return query if high is None else query.where(asks <= high)
