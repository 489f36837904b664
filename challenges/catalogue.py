"""The published catalogue, compiled once per version into plain data (issue 22).

Every feed read needs every published challenge: its dates, targeting, limits and the fields a
card or the API shows. Loading them as ORM objects on each request cost thousands of attribute
reads; here they are read once (two queries, on the caller's transaction) into frozen `Entry`
objects and kept by the process until the catalogue's version stamp moves. The stamp
(hub.stamps, "catalogue") is replaced by any INSERT, UPDATE or DELETE on `challenges` or
`challenge_groups` in the writing transaction, so publish, close, archive, edit, a change of
target groups and a group's deletion (its rows in `challenge_groups` cascade — only while no
challenge targets it, hub.groups) all make every process recompile on its next read.

API (for the feed, the submit path and anything else that reads published challenges):

- `published() -> tuple[Entry, ...]`: every published challenge, by id (open or not: callers
  check `Entry.is_open(at)`);
- `get(challenge_id) -> Entry | None`: one published challenge, or None (draft, closed,
  archived or unknown: read those from the database);
- `segment(tier, group_ids, at) -> Segment`: the published challenges open at `at` and targeted
  to every advocate of that tier and group set, in the feed's fixed order, with what the feed
  asks the database about them (ids, ids with a total limit, ask kinds) — kept per catalogue
  version and (tier, targeted groups) for as long as no challenge of it opens or closes;
- `Entry`: the challenge's columns under their model names (so templates and
  `challenges.api.challenge_reply` take an `Entry` where they take a `Challenge`), plus
  `target_group_ids`, `spec` (its `verifiers.ChallengeType`, None for an unknown type), `ask_kind`, `time_estimate` and
  `description_html` computed once.

Entries are shared by every request of the process: never modify one (the `quiz` dict included).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from challenges import verifiers
from challenges.models import AskKind, Challenge, ChallengeStatus, Effort, challenge_groups
from hub import stamps
from hub.extensions import db
from hub.markup import render_markdown
from hub.models import Group

STAMP = "catalogue"
stamps.watch(STAMP, "challenges", "challenge_groups")


@dataclass(frozen=True, slots=True)
class GroupRef:
    """A target group of a published challenge: its id and name."""

    id: int
    name: str


@dataclass(frozen=True, slots=True, eq=False)
class Entry:
    """One published challenge as plain, read-only data (see the module docstring). Entries
    compare and hash by identity: each catalogue version has its own, so a cache keyed by an
    entry (the API's validated reply) is never served for another version."""

    id: int
    title: str
    type: str
    description: str
    points: int
    bonus_points: int
    question_id: int | None
    effort: Effort
    verification: str
    evidence: tuple[str, ...]
    allowed_domains: tuple[str, ...]
    marker: str | None
    quiz: dict[str, Any] | None
    cooldown_days: int
    max_per_advocate: int
    retry_limit: int
    retry_wait_hours: int
    max_total: int | None
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    target_tiers: tuple[str, ...]
    target_groups: tuple[GroupRef, ...]
    platform: str | None
    disclosure: str | None
    banner: str | None
    file_kinds: tuple[str, ...]
    status: ChallengeStatus
    created_at: dt.datetime
    updated_at: dt.datetime
    published_at: dt.datetime | None
    closed_at: dt.datetime | None
    archived_at: dt.datetime | None
    # computed once per version
    target_group_ids: frozenset[int]
    spec: verifiers.ChallengeType | None
    ask_kind: AskKind | None
    time_estimate: str
    description_html: str

    def is_open(self, at: dt.datetime) -> bool:
        """Published (always, here) and within its dates at `at`."""
        return (self.starts_at is None or self.starts_at <= at) and (self.ends_at is None or at < self.ends_at)


_FAR = dt.datetime.max.replace(tzinfo=dt.UTC)


def feed_order(entry: Entry) -> tuple[dt.datetime, int, int]:
    """The feed's order among challenges equally available (product.md: soonest ending first,
    then most points, then oldest): the tail of the feed's sort key, fixed per entry."""
    return (entry.ends_at or _FAR, -entry.points, entry.id)


@dataclass(frozen=True, slots=True)
class Segment:
    """What every advocate of one tier and one set of (targeted) groups sees of one catalogue
    version while `since <= at < until` (None: unbounded): `entries`, the published challenges
    open and targeted to them in `feed_order`; their `ids`; `limited_ids`, those with a total
    limit (max_total, whose places the feed reads); `ask_kinds`, the ask kinds among them
    (whose caps the feed checks)."""

    entries: tuple[Entry, ...]
    ids: tuple[int, ...]
    limited_ids: tuple[int, ...]
    ask_kinds: frozenset[AskKind]
    since: dt.datetime | None
    until: dt.datetime | None

    def holds_at(self, at: dt.datetime) -> bool:
        """Whether the same challenges are open at `at` as when the segment was built."""
        return (self.since is None or self.since <= at) and (self.until is None or at < self.until)


# Segments kept per catalogue version: enough for every (tier, group set) a program has in
# practice; past it the map starts again (a rebuild is one pass over the entries).
MAX_SEGMENTS = 1024


@dataclass(frozen=True)
class Catalogue:
    """The published challenges of one version: `entries` by id, and an index; `group_ids`, the
    groups some entry targets (the only ones that tell advocates apart); `segments`, built on
    demand for this version (see `segment`); `ids` and `limited_ids`, the ids of every entry and
    of those with a total limit, and `ids_array`, `limited_array`, the same written once as
    PostgreSQL array literals ("{1,2,3}": the feed sends each as one text parameter, where
    psycopg would dump a list of ~300 ints item by item on every request, issue 22)."""

    entries: tuple[Entry, ...]
    by_id: dict[int, Entry]
    group_ids: frozenset[int] = frozenset()
    segments: dict[tuple[str, frozenset[int]], Segment] = field(default_factory=dict)
    ids: tuple[int, ...] = ()
    limited_ids: tuple[int, ...] = ()
    ids_array: str = "{}"
    limited_array: str = "{}"


_COLUMNS = [
    "id",
    "title",
    "type",
    "description",
    "points",
    "bonus_points",
    "question_id",
    "effort",
    "verification",
    "evidence",
    "allowed_domains",
    "marker",
    "quiz",
    "cooldown_days",
    "max_per_advocate",
    "retry_limit",
    "retry_wait_hours",
    "max_total",
    "starts_at",
    "ends_at",
    "target_tiers",
    "platform",
    "disclosure",
    "banner",
    "file_kinds",
    "status",
    "created_at",
    "updated_at",
    "published_at",
    "closed_at",
    "archived_at",
]

_cache = stamps.ProcessCache(STAMP)


def _compile() -> Catalogue:
    """Read the published challenges and their target groups (two queries) into entries."""
    table = Challenge.__table__
    published = table.c.status == ChallengeStatus.PUBLISHED
    rows = db.session.execute(select(*(table.c[name] for name in _COLUMNS)).where(published).order_by(table.c.id))
    groups: dict[int, list[GroupRef]] = {}
    for challenge_id, group_id, name in db.session.execute(
        select(challenge_groups.c.challenge_id, Group.id, Group.name)
        .join(Group, Group.id == challenge_groups.c.group_id)
        .join(table, table.c.id == challenge_groups.c.challenge_id)
        .where(published)
        .order_by(challenge_groups.c.challenge_id, Group.name)
    ):
        groups.setdefault(challenge_id, []).append(GroupRef(group_id, name))
    entries = []
    for row in rows:
        values = dict(row._mapping)
        targets = tuple(groups.get(values["id"], ()))
        spec = verifiers.TYPES.get(values["type"])
        values |= {
            "evidence": tuple(values["evidence"] or ()),
            "allowed_domains": tuple(values["allowed_domains"] or ()),
            "target_tiers": tuple(values["target_tiers"] or ()),
            "file_kinds": tuple(values["file_kinds"] or ()),
            "description": values["description"] or "",
            "target_groups": targets,
            "target_group_ids": frozenset(g.id for g in targets),
            "spec": spec,
            "ask_kind": verifiers.ask_kind_for(values["type"], values["effort"]),
            "time_estimate": verifiers.EFFORT_TIME[values["effort"]],
            "description_html": render_markdown(values["description"]),
        }
        entries.append(Entry(**values))
    ordered = tuple(entries)
    ids = tuple(e.id for e in ordered)
    limited = tuple(e.id for e in ordered if e.max_total is not None)
    return Catalogue(
        ordered,
        {e.id: e for e in ordered},
        frozenset(g for e in ordered for g in e.target_group_ids),
        ids=ids,
        limited_ids=limited,
        ids_array=_array_literal(ids),
        limited_array=_array_literal(limited),
    )


def _array_literal(ids: tuple[int, ...]) -> str:
    return "{" + ",".join(map(str, ids)) + "}"


def current() -> Catalogue:
    """The catalogue of the version this transaction sees (compiled at most once per version
    and process; the stamp is read before the rows, hub.stamps)."""
    catalogue: Catalogue = _cache.get(_compile)
    return catalogue


def kept() -> tuple[int, Catalogue] | None:
    """The catalogue this process compiled last and the stamp token it was compiled under, with
    no query (None: none compiled). Current only if the caller reads that token as the stamp in
    the same snapshot as its rows (challenges.services.feed.read_state)."""
    found: tuple[int, Catalogue] | None = _cache.kept()
    return found


def published() -> tuple[Entry, ...]:
    """Every published challenge, ordered by id (see the module docstring)."""
    return current().entries


def get(challenge_id: int) -> Entry | None:
    """The published challenge `challenge_id`, or None when it is not published."""
    return current().by_id.get(challenge_id)


def segment(tier: str, group_ids: set[int] | frozenset[int], at: dt.datetime) -> Segment:
    """The segment of advocates of `tier` (a Tier value) in `group_ids` at `at`, for the
    catalogue version this transaction sees: the same challenges, in the same order, as
    filtering `published()` by `is_open(at)` and the targeting rule (challenges.services.feed
    .is_targeted) and sorting by `feed_order`. Built at most once per version, (tier, targeted
    groups) and span of time in which no challenge of theirs opens or closes."""
    catalogue = current()
    key = (tier, frozenset(group_ids) & catalogue.group_ids)
    found = catalogue.segments.get(key)
    if found is not None and found.holds_at(at):
        return found
    built = _segment(catalogue, *key, at)
    if len(catalogue.segments) >= MAX_SEGMENTS:
        catalogue.segments.clear()
    catalogue.segments[key] = built
    return built


def _segment(catalogue: Catalogue, tier: str, group_ids: frozenset[int], at: dt.datetime) -> Segment:
    targeted = [
        e
        for e in catalogue.entries
        if (not e.target_tiers or tier in e.target_tiers)
        and (not e.target_group_ids or not e.target_group_ids.isdisjoint(group_ids))
    ]
    # The open set changes only at a start or an end: it holds from the latest of them at or
    # before `at` until the earliest after it.
    moments = [m for e in targeted for m in (e.starts_at, e.ends_at) if m is not None]
    since = max((m for m in moments if m <= at), default=None)
    until = min((m for m in moments if m > at), default=None)
    entries = tuple(sorted((e for e in targeted if e.is_open(at)), key=feed_order))
    return Segment(
        entries,
        tuple(e.id for e in entries),
        tuple(e.id for e in entries if e.max_total is not None),
        frozenset(e.ask_kind for e in entries if e.ask_kind is not None),
        since,
        until,
    )


def forget() -> None:
    """Drop this process's compiled catalogues (tests; the stamp makes it unnecessary otherwise)."""
    _cache.clear()
