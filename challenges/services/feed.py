"""Targeting and the advocate's feed: which challenges they see, and for each whether they can
take it now — and if not, why and from when (limits, cooldowns, places, caps)."""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from flask import has_request_context
from sqlalchemy import (
    ARRAY,
    CompoundSelect,
    DateTime,
    Engine,
    Integer,
    String,
    Text,
    any_,
    bindparam,
    cast,
    func,
    inspect,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.sql import case
from sqlalchemy.sql.elements import ColumnElement

from challenges import caps, catalogue, verifiers
from challenges.caps import day_label
from challenges.catalogue import Entry
from challenges.models import (
    COUNTING,
    IN_FLIGHT,
    Ask,
    AskKind,
    Challenge,
    ChallengePlaces,
    ChallengeStatus,
    Completion,
    CompletionStatus,
)
from challenges.services import places
from hub import stamps
from hub.db import UTCDateTime, utcnow
from hub.errors import (
    NotFound,
)
from hub.extensions import db
from hub.models import Advocate, CacheStamp, Tier, advocate_groups
from hub.settings import get_setting
from hub.timezones import viewer_zone

# --- targeting and the feed ----------------------------------------------------------------


def is_targeted(
    challenge: Challenge | Entry, advocate: Advocate, advocate_group_ids: set[int] | frozenset[int] | None = None
) -> bool:
    """All tiers/groups when the lists are empty; otherwise the advocate's tier and one group."""
    if challenge.target_tiers and advocate.tier.value not in challenge.target_tiers:
        return False
    if challenge.target_groups:
        group_ids = advocate_group_ids if advocate_group_ids is not None else {g.id for g in advocate.groups}
        return any(g.id in group_ids for g in challenge.target_groups)
    return True


def is_open(challenge: Challenge | Entry, at: dt.datetime) -> bool:
    return (
        challenge.status is ChallengeStatus.PUBLISHED
        and (challenge.starts_at is None or challenge.starts_at <= at)
        and (challenge.ends_at is None or at < challenge.ends_at)
    )


def open_challenges(challenge_type: str, advocate: Advocate, at: dt.datetime | None = None) -> list[Challenge]:
    """Published, in-date challenges of this type targeted to the advocate, oldest first (the
    challenges a referral or a reference call can complete)."""
    at = at or utcnow()
    rows = db.session.scalars(
        select(Challenge)
        .where(Challenge.type == challenge_type, Challenge.status == ChallengeStatus.PUBLISHED)
        .order_by(Challenge.id)
    ).all()
    return [c for c in rows if is_open(c, at) and is_targeted(c, advocate)]


def visible_challenge(challenge_id: int, advocate: Advocate) -> Challenge:
    """A challenge as an advocate may see it: published or closed, and targeted to them."""
    challenge = db.session.get(Challenge, challenge_id)
    if (
        challenge is None
        or challenge.status not in (ChallengeStatus.PUBLISHED, ChallengeStatus.CLOSED)
        or not is_targeted(challenge, advocate)
    ):
        raise NotFound("Challenge not found.")
    return challenge


@dataclass(frozen=True, slots=True)
class LatestCompletion:
    """What the feed shows of an advocate's latest completion of a challenge (the columns the
    card's status chip and the API's `my_status` read, under Completion's names)."""

    id: int
    status: CompletionStatus
    points_offered: int
    points_awarded: int | None
    reason: str | None
    submitted_at: dt.datetime


@dataclass(frozen=True, eq=False)
class FeedItem:
    """One challenge of an advocate's feed: `challenge` is a catalogue Entry in the feed and
    the Challenge itself on its own page (feed_item); the same attribute names either way.
    Items compare and hash by identity: a kept feed's items are shared by the requests that
    read it again (`feed_for`), and the API keeps each one's JSON by identity."""

    challenge: Challenge | Entry
    type: verifiers.ChallengeType
    available: bool
    locked_reason: str | None
    available_at: dt.datetime | None
    latest: Completion | LatestCompletion | None = None
    times_done: int = 0
    lock_code: str | None = None
    history: list[Completion] = field(default_factory=list)
    # After a rejection: the tries left in this round and when a used-up round opens again.
    tries: RetryRound | None = None

    @property
    def time_estimate(self) -> str:
        return verifiers.EFFORT_TIME[self.challenge.effort]


def _history(challenge_ids: list[int], advocate_id: int) -> dict[int, list[Completion]]:
    found: dict[int, list[Completion]] = {cid: [] for cid in challenge_ids}
    if challenge_ids:
        for c in db.session.scalars(
            select(Completion)
            .where(Completion.advocate_id == advocate_id, Completion.challenge_id.in_(challenge_ids))
            .order_by(Completion.submitted_at.desc(), Completion.id.desc())
        ):
            found[c.challenge_id].append(c)
    return found


def _taken(challenges: Sequence[Challenge | Entry]) -> dict[int, int]:
    """Places taken, for the challenges that have a total limit (the only ones that need it)."""
    return places.places_taken([c.id for c in challenges if c.max_total is not None])


@dataclass(frozen=True)
class MyRecord:
    """What the rules need of one advocate's completions of one challenge. `tries` rejected
    tries were submitted since the last counting completion (an approval, or a try in flight,
    starts the tries afresh), the last of them decided at `last_try_at`."""

    counting: int = 0
    approved: int = 0
    in_flight: bool = False
    last_counting_at: dt.datetime | None = None
    latest: Completion | LatestCompletion | None = None
    tries: int = 0
    last_try_at: dt.datetime | None = None

    @classmethod
    def of(cls, history: list[Completion]) -> MyRecord:
        """From the full history, newest first (a challenge's own page shows it all)."""
        counting = [c.submitted_at for c in history if c.status in COUNTING]
        last = max(counting, default=None)
        rejected = [(c.submitted_at, rejected_at(c)) for c in history if c.status is CompletionStatus.REJECTED]
        tries = tries_since(rejected, last)
        return cls(
            len(counting),
            sum(1 for c in history if c.status is CompletionStatus.APPROVED),
            any(c.status in IN_FLIGHT for c in history),
            last,
            history[0] if history else None,
            len(tries),
            tries[-1] if tries else None,
        )


def tries_since(
    rejected: list[tuple[dt.datetime, dt.datetime]], last_counting: dt.datetime | None
) -> tuple[dt.datetime, ...]:
    """The decision times, oldest first, of the rejected tries (submitted_at, decided_at)
    submitted after the last counting completion."""
    return tuple(sorted(d for s, d in rejected if last_counting is None or s > last_counting))


def rejected_at(completion: Completion) -> dt.datetime:
    """When a rejected try counts from: its decision (its submission when none was recorded)."""
    return completion.decided_at or completion.submitted_at


@dataclass(frozen=True)
class RetryRound:
    """Where an advocate stands with a challenge's tries: `used` rejected tries in the current
    round (of `limit`), and `wait_until` when the round is used up and its wait not yet over."""

    used: int
    limit: int
    wait_until: dt.datetime | None

    @property
    def left(self) -> int:
        return self.limit - self.used


def retry_round(challenge: Challenge | Entry, rejected: Sequence[dt.datetime], at: dt.datetime) -> RetryRound:
    """The retry rule (issue 19): `retry_limit` rejected tries, then no try until
    `retry_wait_hours` after the last of them; then a fresh round of `retry_limit` tries.
    `rejected` are the decision times of the advocate's rejected tries, oldest first."""
    used = 0
    ends: dt.datetime | None = None
    for decided in rejected:
        used += 1
        if used >= challenge.retry_limit:
            ends = decided + dt.timedelta(hours=challenge.retry_wait_hours)
            used = 0
    waiting = ends if used == 0 and ends is not None and at < ends else None
    return RetryRound(used, challenge.retry_limit, waiting)


def retry_round_of(
    challenge: Challenge | Entry, tries: int, last_try_at: dt.datetime | None, at: dt.datetime
) -> RetryRound:
    """`retry_round` from the number of rejected tries and the last one's decision time alone:
    a round ends at every `retry_limit`-th try, so the tries used in the current round are
    `tries mod retry_limit`, and a wait applies only when that is 0 — after the last try, which
    then closed a round (the grouped feed query gives only these two figures)."""
    used = tries % challenge.retry_limit
    ends = last_try_at + dt.timedelta(hours=challenge.retry_wait_hours) if tries and last_try_at else None
    waiting = ends if used == 0 and ends is not None and at < ends else None
    return RetryRound(used, challenge.retry_limit, waiting)


# The feed's one statement (`_state_statement`): the advocate's row and group ids, their grouped
# records, the places taken of the limited challenges and their active asks, as rows of one
# layout told apart by their first column — one round trip instead of four (issue 22).
# Columns: 0 tag; 1 challenge id (R, P) / group id (G); 2 counting (R) / places taken (P) /
# available for references, 0 or 1 (V) / a cache stamp's token (S); 3 approved (R) / max asks
# per quarter (V); 4 in flight; 5 last counting submission (R) / asked at (A); 6 latest
# completion's id; 7 its status (R) / the ask's kind (A) / the tier (V); 8 points offered;
# 9 points awarded; 10 reason (R) / preferences as JSON text (V) / a stamp's name (S);
# 11 submitted at; 12 tries since the last counting one; 13 the last try's decision time.
# Types are read raw (plain String/DateTime/Integer: no enum, JSON or UTC conversion per row);
# `_utc` and the enums convert what a computed feed keeps, when it is computed.
ADVOCATE, GROUP, RECORD, PLACES, ASK, STAMPS = "v", "g", "r", "p", "a", "s"
StateRow = tuple[Any, ...]
_WHEN = DateTime(timezone=True)
_LAYOUT: tuple[Any, ...] = (
    String,
    Integer,
    Integer,
    Integer,
    Integer,
    _WHEN,
    Integer,
    String,
    Integer,
    Integer,
    String,
    _WHEN,
    Integer,
    _WHEN,
)
_LABELS: tuple[str, ...] = ("tag", "key", "n", "n2", "n3", "moment", "latest_id", "word", "offered", "awarded")
_LABELS += ("text", "submitted", "tries", "last_try")


@dataclass(frozen=True, slots=True)
class AdvocateState:
    """What the feed reads per request of one advocate: `advocate`, their row (None when there is
    no such advocate), `groups`, `records`, `places` and `asks`, exactly as the statement
    returned them (ordered; compared as they are to decide whether a kept feed still holds,
    `_Kept`)."""

    advocate: StateRow | None
    groups: tuple[StateRow, ...]
    records: tuple[StateRow, ...]
    places: tuple[StateRow, ...]
    asks: tuple[StateRow, ...]

    @property
    def group_ids(self) -> frozenset[int]:
        """The ids of the advocate's groups."""
        return frozenset(row[1] for row in self.groups)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """A raw timestamp as an aware UTC datetime (SQLite gives naive UTC, psycopg the session's zone)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    """`_utc` of a timestamp that is never NULL."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def read_state(advocate_id: int, at: dt.datetime) -> AdvocateState:
    """The advocate's own rows the feed needs at `at`: their row and group ids, their
    completions of the published challenges grouped per challenge, the places taken of the
    published limited challenges (trigger-kept counters, challenges.services.places) and their
    asks not released made in the caps' lookback before `at` (challenges.caps), oldest first.

    One statement when the request has not read the cache stamps yet and the process holds a
    compiled catalogue: the stamps are read in the same statement (one snapshot), handed to the
    request (hub.stamps.prime) and the rows kept only if the catalogue's stamp is the token the
    catalogue was compiled under; otherwise (or when the stamps were read already) after the
    catalogue's stamp (hub.stamps: stamp before source), as before (issue 22)."""
    if has_request_context() and not stamps.primed():
        kept = catalogue.kept()
        if kept is not None:
            token, published = kept
            found = _read(advocate_id, at, published, with_stamps=True)
            read_stamps = {row[10]: row[2] for row in found[STAMPS]}
            stamps.prime(read_stamps)
            if read_stamps.get(catalogue.STAMP) == token:
                return _state_of(found)
    return _state_of(_read(advocate_id, at, catalogue.current(), with_stamps=False))


def _read(
    advocate_id: int, at: dt.datetime, published: catalogue.Catalogue, with_stamps: bool
) -> dict[str, list[StateRow]]:
    """`_state_statement`'s rows by tag, for the ids of `published`."""
    dialect = db.engine.dialect.name
    postgres = dialect == "postgresql"
    # On the session's connection, not through Session.execute: a Core statement whose rows are
    # read raw needs none of the ORM's execution context (~0.1 ms of app CPU per feed, issue 22).
    rows = (
        db.session.connection()
        .execute(
            _state_statement(dialect, with_stamps),
            {
                "advocate_id": advocate_id,
                "challenge_ids": published.ids_array if postgres else list(published.ids),
                "limited_ids": published.limited_array if postgres else list(published.limited_ids),
                "asks_since": at - dt.timedelta(days=caps.LOOKBACK_DAYS),
            },
        )
        .all()
    )
    found: dict[str, list[StateRow]] = {ADVOCATE: [], GROUP: [], RECORD: [], PLACES: [], ASK: [], STAMPS: []}
    for row in rows:
        found[row[0]].append(tuple(row))
    return found


def _state_of(found: dict[str, list[StateRow]]) -> AdvocateState:
    person = found[ADVOCATE]
    return AdvocateState(
        person[0] if person else None,
        tuple(found[GROUP]),
        tuple(found[RECORD]),
        tuple(found[PLACES]),
        tuple(found[ASK]),
    )


def _id_list(dialect: str, column: Any, name: str) -> ColumnElement[bool]:
    """`column` in the id list parameter `name` (`read_state`): `= ANY(CAST(:name AS INTEGER[]))`
    on PostgreSQL — one text parameter and the same generic plan for any number of ids — an
    expanding IN elsewhere."""
    found: ColumnElement[bool] = (
        column == any_(cast(bindparam(name, type_=Text), ARRAY(Integer)))
        if dialect == "postgresql"
        else column.in_(bindparam(name, expanding=True))
    )
    return found


def _laid_out(tag: str, columns: dict[int, Any], first: bool = False) -> list[Any]:
    """A part of `_state_statement` in its layout: `columns` by position, NULL elsewhere. The
    `first` part names every column and gives its raw type (PostgreSQL takes a later part's
    NULLs as the first's types); the others stay short — psycopg keeps the parsed form of a
    statement of at most 4 KB only, and this one runs on every feed request."""
    picked: list[Any] = [literal_column(f"'{tag}'", String)]
    for i, kind in enumerate(_LAYOUT[1:], start=1):
        if i in columns:
            picked.append(type_coerce(columns[i], kind))
        else:
            picked.append(cast(null(), kind) if first else null())
    return [value.label(_LABELS[i]) for i, value in enumerate(picked)] if first else picked


def _constant(value: Any) -> Any:
    """`value` written into the statement (an enum's value: no parameter to send each time)."""
    return literal_column(f"'{value.value}'" if isinstance(value, enum.Enum) else str(value))


@functools.cache
def _state_statement(dialect: str, with_stamps: bool = False) -> CompoundSelect[Any]:
    """`read_state`'s statement for `dialect`, with parameters `advocate_id`, `challenge_ids`,
    `limited_ids` and `asks_since` (built once per dialect: building it took more CPU than
    running it, issue 22); `with_stamps` adds every cache stamp (hub.stamps) as a row (name in
    column 10, token in column 2). The records part is a window over the advocate's
    completions of the published challenges (read from the (advocate_id, challenge_id) index): per challenge the
    latest completion (n = 1) and the last counting submission, grouped to one row per
    challenge."""
    counting = Completion.status.in_([_constant(s) for s in COUNTING])
    # One window for both functions — its frame the whole partition, which row_number ignores
    # and the max needs — so PostgreSQL makes one windowing pass over the sorted rows, not two.
    window: dict[str, Any] = {
        "partition_by": Completion.challenge_id,
        "order_by": (Completion.submitted_at.desc(), Completion.id.desc()),
        "rows": (None, None),
    }
    ranked = (
        select(
            Completion.challenge_id,
            Completion.id,
            Completion.status,
            Completion.points_offered,
            Completion.points_awarded,
            Completion.reason,
            Completion.submitted_at,
            func.coalesce(Completion.decided_at, Completion.submitted_at).label("tried_at"),
            func.row_number().over(**window).label("n"),
            func.max(case((counting, Completion.submitted_at))).over(**window).label("last_counting"),
        )
        .where(
            Completion.advocate_id == bindparam("advocate_id"),
            _id_list(dialect, Completion.challenge_id, "challenge_ids"),
        )
        .subquery("h")
    )
    c = ranked.c
    latest = c.n == _constant(1)
    rejected = _constant(CompletionStatus.REJECTED)
    is_try = (c.status == rejected) & (c.last_counting.is_(None) | (c.submitted_at > c.last_counting))
    records = select(
        *_laid_out(
            RECORD,
            {
                1: c.challenge_id,
                2: func.count().filter(c.status.in_([_constant(s) for s in COUNTING])),
                3: func.count().filter(c.status == _constant(CompletionStatus.APPROVED)),
                4: func.count().filter(c.status.in_([_constant(s) for s in IN_FLIGHT])),
                5: func.max(c.last_counting),
                6: func.max(case((latest, c.id))),
                7: func.max(case((latest, c.status))),
                8: func.max(case((latest, c.points_offered))),
                9: func.max(case((latest, c.points_awarded))),
                10: func.max(case((latest, c.reason))),
                11: func.max(case((latest, c.submitted_at))),
                12: func.count().filter(is_try),
                13: func.max(case((is_try, c.tried_at))),
            },
            first=True,
        )
    ).group_by(c.challenge_id)
    person = select(
        *_laid_out(
            ADVOCATE,
            {
                2: cast(Advocate.available_for_references, Integer),
                3: Advocate.max_asks_per_quarter,
                7: Advocate.tier,
                10: cast(Advocate.preferences, Text),
            },
        )
    ).where(Advocate.id == bindparam("advocate_id"))
    groups = select(*_laid_out(GROUP, {1: advocate_groups.c.group_id})).where(
        advocate_groups.c.advocate_id == bindparam("advocate_id")
    )
    places_taken = (
        select(*_laid_out(PLACES, {1: ChallengePlaces.challenge_id, 2: func.sum(ChallengePlaces.taken)}))
        .where(_id_list(dialect, ChallengePlaces.challenge_id, "limited_ids"))
        .group_by(ChallengePlaces.challenge_id)
    )
    asks = select(*_laid_out(ASK, {5: Ask.asked_at, 7: Ask.kind})).where(
        Ask.advocate_id == bindparam("advocate_id"),
        Ask.cancelled_at.is_(None),
        Ask.asked_at > bindparam("asks_since", type_=UTCDateTime()),
    )
    parts = [records, person, groups, places_taken, asks]
    if with_stamps:
        parts.append(select(*_laid_out(STAMPS, {2: CacheStamp.token, 10: CacheStamp.name})))
    every = union_all(*parts)
    ordered = every.selected_columns
    return every.order_by(ordered.tag, ordered.key, ordered.moment, ordered.word)


def _records_of(state: AdvocateState) -> dict[int, MyRecord]:
    """Per challenge, the advocate's record from the state's grouped rows."""
    return {
        cid: MyRecord(
            n_counting,
            n_approved,
            n_flight > 0,
            _utc(last),
            LatestCompletion(latest_id, CompletionStatus(status), offered, awarded, reason, _aware(submitted)),
            tries,
            _utc(last_try),
        )
        for (
            _,
            cid,
            n_counting,
            n_approved,
            n_flight,
            last,
            latest_id,
            status,
            offered,
            awarded,
            reason,
            submitted,
            tries,
            last_try,
        ) in state.records
    }


@dataclass(frozen=True)
class LimitBlock:
    """Which of a challenge's own limits stops the advocate: `in_flight` (one is being
    checked), `per_advocate`, `cooldown` (from `last` until `again`), `retry_wait` (tries used up
    until `again`) or `places` (max_total)."""

    rule: str
    last: dt.datetime | None = None
    again: dt.datetime | None = None


def limit_block(challenge: Challenge | Entry, mine: MyRecord, taken: int, at: dt.datetime) -> LimitBlock | None:
    """The challenge's limits for this advocate at `at` — the one rule behind both the feed's
    lock and the refusal of a submission (each words it for its place)."""
    if mine.in_flight:
        return LimitBlock("in_flight")
    if mine.counting >= challenge.max_per_advocate:
        return LimitBlock("per_advocate")
    if mine.counting and challenge.cooldown_days and mine.last_counting_at is not None:
        again = mine.last_counting_at + dt.timedelta(days=challenge.cooldown_days)
        if at < again:
            return LimitBlock("cooldown", mine.last_counting_at, again)
    if mine.tries:
        tries = retry_round_of(challenge, mine.tries, mine.last_try_at, at)
        if tries.wait_until is not None:
            return LimitBlock("retry_wait", mine.last_try_at, tries.wait_until)
    if challenge.max_total is not None and taken >= challenge.max_total:
        return LimitBlock("places")
    return None


def moment_label(value: dt.datetime, at: dt.datetime) -> str:
    """ "Nov 3 at 14:05 UTC" — a day and a time, for waits measured in hours."""
    return f"{day_label(value, at)} at {value:%H:%M} UTC"


def retry_wait_reason(challenge: Challenge | Entry, again: dt.datetime, at: dt.datetime) -> str:
    """The advocate-facing reason for a used-up round of tries."""
    tries = "try" if challenge.retry_limit == 1 else f"{challenge.retry_limit} tries"
    return f"You have used your {tries} — you can try again from {moment_label(again, at)}."


def _lock_for(
    challenge: Challenge | Entry,
    mine: MyRecord,
    taken: int,
    cap_checks: dict[AskKind, caps.CapCheck],
    at: dt.datetime,
    on_break: caps.Break | None = None,
    zone: ZoneInfo | None = None,
) -> tuple[str | None, str | None, dt.datetime | None]:
    """(code, reason, available_at) when the advocate cannot take the challenge now. A break
    (caps.current_break) locks every challenge the advocate takes on themselves and the reference
    calls they would be asked for, after the challenge's own limits (which say more: "being checked", "completed")."""
    spec = challenge.spec if isinstance(challenge, Entry) else verifiers.TYPES.get(challenge.type)
    block = limit_block(challenge, mine, taken, at)
    if block is not None:
        if block.rule == "in_flight":
            return "already_submitted", "You have sent this in — it is being checked.", None
        if block.rule == "per_advocate":
            return "limit_reached", "You have completed this challenge — thank you!", None
        if block.rule == "cooldown" and block.last is not None and block.again is not None:
            return (
                "limit_reached",
                f"You did this on {day_label(block.last, at, zone)} — again from {day_label(block.again, at, zone)}",
                block.again,
            )
        if block.rule == "retry_wait" and block.again is not None:
            return "limit_reached", retry_wait_reason(challenge, block.again, at), block.again
        return "limit_reached", "All places for this challenge have been taken.", None
    # A reference call is not taken on but asked for; a break promises no such ask is sent, so its
    # card says so too. A community answer stays open: one given in the community still counts.
    if on_break is not None and spec is not None and (spec.self_service or spec.started_by_advocate or spec.ask_kind):
        return "on_break", on_break.reason(at), on_break.back_at
    kind = (
        challenge.ask_kind if isinstance(challenge, Entry) else verifiers.ask_kind_for(challenge.type, challenge.effort)
    )
    if kind is not None and spec is not None and (spec.self_service or spec.started_by_advocate):
        check = cap_checks.get(kind)
        if check is not None and not check.allowed:
            return "cap_reached", check.reason, check.available_at
    return None, None, None


def group_ids_of(advocate: Advocate | FeedAdvocate) -> set[int] | frozenset[int]:
    """The ids of the advocate's groups: from `advocate.groups` when loaded, else read as bare
    ids (the feed needs no Group rows)."""
    if isinstance(advocate, FeedAdvocate):
        return advocate.group_ids
    if "groups" not in inspect(advocate).unloaded:
        return {g.id for g in advocate.groups}
    return set(
        db.session.scalars(select(advocate_groups.c.group_id).where(advocate_groups.c.advocate_id == advocate.id))
    )


@dataclass(frozen=True, slots=True)
class _Kept:
    """An advocate's computed feed, kept by the process (`feed_for`): valid for the same
    `segment` (same catalogue version, tier, targeted groups and open challenges), the same
    `inputs` (the state rows read, the advocate's preferences and ask settings, the caps
    policy, the viewer's zone) and a moment in `[since, until)`."""

    segment: catalogue.Segment
    inputs: tuple[Any, ...]
    since: dt.datetime
    until: dt.datetime
    items: tuple[FeedItem, ...]


# Kept feeds per engine, by advocate id, least recently used first. A kept feed is a few tens
# of kilobytes (the busiest bench advocate's: ~140 state rows and ~250 items); 512 bound a
# process's share to ~10-20 MB.
MAX_KEPT = 512
_kept: weakref.WeakKeyDictionary[Engine, OrderedDict[int, _Kept]] = weakref.WeakKeyDictionary()
_kept_lock = threading.Lock()
_QUARTER_HOUR = dt.timedelta(minutes=15)


def _next_quarter_hour(at: dt.datetime) -> dt.datetime:
    """The first quarter-hour boundary after `at` (UTC). Every time zone's midnight today falls
    on one (offsets are whole quarter hours), so no day — UTC dates of blackouts and breaks,
    the year in a day label in the viewer's zone — changes between `at` and it."""
    utc = at.astimezone(dt.UTC)
    return utc.replace(minute=utc.minute // 15 * 15, second=0, microsecond=0) + _QUARTER_HOUR


def _inputs(advocate: Advocate | FeedAdvocate, state: AdvocateState, zone: ZoneInfo, policy: Any) -> tuple[Any, ...]:
    """Everything besides the segment and the moment that the computed feed depends on, as
    immutable values (the JSON ones written out, so a later change to the dicts read cannot
    reach a kept copy). Of the places, only which limited challenges are full: the rules read
    nothing else of them (`limit_block`), so a place taken that fills nothing keeps the feed."""
    by_id = catalogue.current().by_id
    full = frozenset(
        row[1]
        for row in state.places
        if (entry := by_id.get(row[1])) is not None and entry.max_total is not None and row[2] >= entry.max_total
    )
    return (
        state.advocate,
        state.groups,
        state.records,
        state.asks,
        full,
        json.dumps(advocate.preferences or {}, sort_keys=True, default=str),
        advocate.available_for_references,
        advocate.max_asks_per_quarter,
        json.dumps(policy, sort_keys=True, default=str),
        zone.key,
    )


def feed_for(advocate: Advocate | FeedAdvocate, at: dt.datetime | None = None) -> list[FeedItem]:
    """Published, in-date challenges targeted to the advocate, each with whether they can
    take it now and, if not, why and from when. Two statements: the stamps (read once per
    request, for the catalogue compiled per version) and the advocate's own rows — groups,
    records, places, asks — in one (`read_state`); the challenges are the catalogue's segment of
    the advocate's tier and groups.

    The items are computed from those rows, the advocate's preferences, the caps policy, the
    viewer's zone and `at` alone; the process keeps the last result per advocate and returns it
    again while all of these are equal and `at` is before the first moment at which the same
    rows could answer otherwise (`_compute`) — so a change by any writer, in any process, is
    seen at the next read, because what is compared is what was read (issue 22). The list is
    the caller's; its items are shared (frozen)."""
    at = at or utcnow()
    return _feed(advocate, read_state(advocate.id, at), at)


def _feed(advocate: Advocate | FeedAdvocate, state: AdvocateState, at: dt.datetime) -> list[FeedItem]:
    """`feed_for` from the rows read (`state`): kept, or computed and kept."""
    segment = catalogue.segment(advocate.tier.value, state.group_ids, at)
    zone = viewer_zone()  # once, not per locked challenge's reason
    inputs = _inputs(advocate, state, zone, get_setting("caps_policy") if segment.ask_kinds else None)
    engine = db.engine
    with _kept_lock:
        mine = _kept.setdefault(engine, OrderedDict())
        kept = mine.get(advocate.id)
        if kept is not None:
            mine.move_to_end(advocate.id)
    if kept is not None and kept.segment is segment and kept.since <= at < kept.until and kept.inputs == inputs:
        return list(kept.items)
    items, until = _compute(advocate, segment, state, at, zone)
    fresh = _Kept(segment, inputs, at, until, tuple(items))
    with _kept_lock:
        mine[advocate.id] = fresh
        mine.move_to_end(advocate.id)
        while len(mine) > MAX_KEPT:
            mine.popitem(last=False)
    return items


def forget_kept() -> None:
    """Drop every feed this process keeps (tests; what is read decides otherwise)."""
    with _kept_lock:
        _kept.clear()


def _compute(
    advocate: Advocate | FeedAdvocate, segment: catalogue.Segment, state: AdvocateState, at: dt.datetime, zone: ZoneInfo
) -> tuple[list[FeedItem], dt.datetime]:
    """The feed's items from the rows read, and the first moment after `at` at which the same
    rows could give other items: the next quarter hour (days and years of labels, breaks and
    blackouts), the segment's next opening or closing, and every moment at which a wait the
    rules compute ends — a cooldown, a used-up round of tries, an ask leaving a cap's window.
    Between `at` and that moment every comparison of the rules with `at` answers the same."""
    records = _records_of(state)
    taken = {row[1]: row[2] for row in state.places}
    asks = [caps.AskAt(AskKind(row[7]), _aware(row[5])) for row in state.asks]
    cap_checks = caps.check_asks_of(advocate, segment.ask_kinds, at, asks) if segment.ask_kinds else {}
    liked = set((advocate.preferences or {}).get("activity_types") or [])
    on_break = caps.current_break(advocate, at)
    ends = [_next_quarter_hour(at), *caps.window_ends(asks, at)]
    if segment.until is not None:
        ends.append(segment.until)
    items = []
    for challenge in segment.entries:
        mine = records.get(challenge.id) or MyRecord()
        code, reason, available_at = _lock_for(
            challenge, mine, taken.get(challenge.id, 0), cap_checks, at, on_break, zone
        )
        if mine.counting and challenge.cooldown_days and mine.last_counting_at is not None:
            ends.append(mine.last_counting_at + dt.timedelta(days=challenge.cooldown_days))
        if mine.tries and mine.last_try_at is not None:
            ends.append(mine.last_try_at + dt.timedelta(hours=challenge.retry_wait_hours))
        if available_at is not None:
            ends.append(available_at)
        items.append(
            FeedItem(
                challenge=challenge,
                type=challenge.spec or verifiers.TYPES["custom"],
                available=code is None,
                locked_reason=reason,
                available_at=available_at,
                latest=mine.latest,
                times_done=mine.approved,
                lock_code=code,
                tries=retry_round_of(challenge, mine.tries, mine.last_try_at, at) if mine.tries else None,
            )
        )
    # The segment is already in catalogue.feed_order, the key's tail; a stable sort on the head
    # gives the order of the whole key.
    items.sort(
        key=lambda i: (
            not i.available,
            i.lock_code == "limit_reached" and i.available_at is None,
            i.challenge.type not in liked,
        )
    )
    return items, min(end for end in ends if end > at)


@dataclass(frozen=True, slots=True)
class FeedAdvocate:
    """The advocate's columns the feed reads, under Advocate's names (the API's feed loads no ORM
    Advocate: `feed_of`); `group_ids`, the ids of their groups."""

    id: int
    tier: Tier
    preferences: dict[str, Any]
    available_for_references: bool
    max_asks_per_quarter: int | None
    group_ids: frozenset[int]


def feed_of(advocate_id: int) -> list[FeedItem]:
    """`feed_for` the advocate `advocate_id` now (the API's feed, whose caller is known by id):
    the advocate's columns come with their other rows (`read_state`), no ORM object. Raises
    NotFound when the advocate does not exist (erased while their token was kept)."""
    at = utcnow()
    state = read_state(advocate_id, at)
    row = state.advocate
    if row is None:
        raise NotFound("Advocate not found.")
    preferences = json.loads(row[10]) if row[10] else None
    person = FeedAdvocate(advocate_id, Tier(row[7]), preferences or {}, bool(row[2]), row[3], state.group_ids)
    return _feed(person, state, at)


def feed_item(challenge: Challenge, advocate: Advocate, at: dt.datetime | None = None) -> FeedItem:
    """One challenge as the feed would show it to this advocate (for its own page)."""
    at = at or utcnow()
    mine = _history([challenge.id], advocate.id)[challenge.id]
    kind = verifiers.ask_kind_for(challenge.type, challenge.effort)
    cap_checks = {kind: caps.check_ask(advocate.id, kind, at)} if kind else {}
    record = MyRecord.of(mine)
    taken = _taken([challenge]).get(challenge.id, 0)
    code, reason, available_at = _lock_for(challenge, record, taken, cap_checks, at, caps.current_break(advocate, at))
    if code is None and not is_open(challenge, at):
        code, reason = "challenge_closed", "This challenge is closed."
    return FeedItem(
        challenge,
        verifiers.TYPES.get(challenge.type) or verifiers.TYPES["custom"],
        code is None,
        reason,
        available_at,
        mine[0] if mine else None,
        sum(1 for c in mine if c.status is CompletionStatus.APPROVED),
        code,
        mine,
        retry_round_of(challenge, record.tries, record.last_try_at, at) if record.tries else None,
    )
