"""Extension points: what the packages above hub add to its pages, API, jobs and demo data.

hub imports no sibling package. Each app carries one `Hooks` at `app.extensions["vouch_hooks"]`;
`create_app` makes it empty and then calls `install(app)` of rewards, challenges and admin
(their `hooks.py`), in that order, to fill it. Everything here is per app: a test that needs
other hooks changes its app's (`monkeypatch.setattr(hooks(app), "digest_sources", [...])`).

- `advocate_fact_sources`: `source(advocate_ids) -> {advocate_id: {fact: value}}`, merged over
  the defaults (no asks, `healthy`, no badges, nothing expiring) for the API's advocate object and the consoles.
- `home_sections`: (order, `section(advocate) -> (template, context) | None`) — the advocate's
  hub page is these sections in order; each template reads its context as `section`.
- `home_reads`: `hub.home_reads.HomeRead`s — the sections' small per-advocate queries, sent
  together in one statement before the sections run (a section reads its rows with
  `hub.home_reads.rows_of`, which runs the query alone anywhere else). hub's own: the unread count.
- `role_homes`: the endpoint each role lands on after login (advocates: `hub.home`).
- `demo_seeders`: `seeder() -> summary`, run in registration order after hub's own accounts.
- `answer_milestone_jobs`: `job(answer_id)` enqueued after a community answer is accepted or
  reaches its 3rd upvote, with the id `answer-<answer_id>-<module>-<name>` (idempotent jobs).
- `digest_sources`: `source(advocate_id, since, limit) -> [{"title", "points", "effort", "url"}]`,
  the challenges an advocate may take now that were published since `since`.
- `group_change_listeners`: `listener(advocate_id)`, called in the transaction that changed
  the advocate's groups (the leaderboards copy scores into the group boards after commit).
- `group_batch_listeners`: `listener(advocate_ids)`, the same for listeners that do one batch of
  work for many advocates at once (a bulk assignment, a group deleted); called with one id for
  a single advocate's change (challenges: the reports' group tallies).
- `periodic_jobs`: `PeriodicJob`s — a job function (a top-level `@job_timeout` function that
  opens its own `job_context()`), its timetable and its CLI twin. `rq cron hub.cron` schedules
  every one of them; a plain crontab runs their `command`s instead (README).
- `active_change_listeners`: `listener(advocate_id, active)`, called in the transaction that
  deactivated or reactivated an advocate's user (the leaderboards drop or restore them).
- `advocate_list_filters`: `apply(query, filters) -> query` over the advocates list's query
  (hub.advocate_lists), for filters on what a package above hub counts (challenges: `burnout`).
- `group_dependents`: `source(group_id) -> [what uses it]`, e.g. "challenge “Review us”": a
  group that something still targets is not deleted (hub.groups).
- `personal_data`: `PersonalData` — each package's share of what Vouch holds about an advocate
  (product.md §12): the export sections it writes, how it erases them, and which foreign keys to
  `advocates`/`users` it answers for (hub.privacy; tests/hub/test_privacy_guard.py fails when a
  table referencing a person is answered for by nobody).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from hub.home_reads import HomeRead, read_together
from hub.models import Advocate, Role
from hub.notifications import UNREAD_NOTIFICATIONS

EXTENSION_KEY = "vouch_hooks"

AdvocateFacts = Callable[[list[int]], dict[int, dict]]
HomeSection = Callable[["Advocate"], "tuple[str, dict] | None"]
DemoSeeder = Callable[[], str]
AnswerMilestoneJob = Callable[[int], object]
DigestSource = Callable[[int, dt.datetime, int], list[dict]]
GroupChangeListener = Callable[[int], None]
GroupBatchListener = Callable[[list[int]], None]


@dataclass(frozen=True)
class PeriodicJob:
    """A job the scheduler enqueues on a timetable: every `interval` seconds, or at the times
    of the crontab expression `cron` (UTC). `command` is the `flask --app wsgi …` command that
    does the same work, for deployments that use a plain crontab."""

    job: Callable[[], object]
    command: str
    interval: int | None = None
    cron: str | None = None

    def __post_init__(self) -> None:
        if (self.interval is None) == (self.cron is None):
            raise ValueError("A periodic job runs either every `interval` seconds or on a `cron` timetable.")


@dataclass(frozen=True)
class PersonalData:
    """One package's share of an advocate's data (product.md §12, GDPR art. 15 and 17).

    `export(advocate) -> {section: value}`: the JSON sections it adds to the export.
    `erase(advocate)`: removes or scrubs its personal data in the erasure's transaction (the
    advocate row is locked; the user and advocate rows are scrubbed by hub afterwards).
    `covers`: the "table.column" foreign keys to advocates.id / users.id whose rows it exports
    and erases. `actor_columns`: foreign keys that only record who did something (a manager's
    decision, a token's creator) — kept, and named so the guard test knows they were thought of.
    `lock_first(advocate_id)`: locks rows that other writers lock *before* the advocate row (an
    approval locks its completion, then the advocate's balance), so erasure takes locks in the
    same order and never deadlocks with them.
    """

    name: str
    export: Callable[[Advocate], dict]
    erase: Callable[[Advocate], None]
    covers: tuple[str, ...]
    actor_columns: tuple[str, ...] = ()
    lock_first: Callable[[int], None] | None = None


DEFAULT_FACTS = {"asks_last_365": 0, "burnout": "healthy", "badges": [], "expiring": []}


@dataclass
class Hooks:
    """One app's extension points (see the module docstring for each one's contract)."""

    advocate_fact_sources: list[AdvocateFacts] = field(default_factory=list)
    home_sections: list[tuple[int, HomeSection]] = field(default_factory=list)
    home_reads: list[HomeRead] = field(default_factory=lambda: [UNREAD_NOTIFICATIONS])
    role_homes: dict[Role, str] = field(default_factory=lambda: {Role.ADVOCATE: "hub.home"})
    demo_seeders: list[DemoSeeder] = field(default_factory=list)
    answer_milestone_jobs: list[AnswerMilestoneJob] = field(default_factory=list)
    digest_sources: list[DigestSource] = field(default_factory=list)
    group_change_listeners: list[GroupChangeListener] = field(default_factory=list)
    group_batch_listeners: list[GroupBatchListener] = field(default_factory=list)
    periodic_jobs: list[PeriodicJob] = field(default_factory=list)
    personal_data: list[PersonalData] = field(default_factory=list)
    active_change_listeners: list[Callable[[int, bool], None]] = field(default_factory=list)
    advocate_list_filters: list[Callable[[Any, dict[str, Any]], Any]] = field(default_factory=list)
    group_dependents: list[Callable[[int], list[str]]] = field(default_factory=list)

    def add_home_section(self, order: int, section: HomeSection) -> None:
        self.home_sections.append((order, section))
        self.home_sections.sort(key=lambda pair: pair[0])

    def advocate_facts(self, advocate_ids: list[int]) -> dict[int, dict]:
        """Every registered fact for each advocate, over the defaults; one call per source."""
        facts: dict[int, dict] = {a: {**DEFAULT_FACTS} for a in advocate_ids}
        for source in self.advocate_fact_sources:
            for advocate_id, extra in source(advocate_ids).items():
                facts.setdefault(advocate_id, {**DEFAULT_FACTS}).update(extra)
        return facts

    def sections_for(self, advocate: Advocate) -> list[tuple[str, dict]]:
        """The advocate's home page sections, in order: (template, context) pairs. The sections'
        registered reads go to the database first, together (one statement)."""
        read_together(self.home_reads, advocate.id, advocate.user_id)
        rendered = []
        for _, section in self.home_sections:
            result = section(advocate)
            if result is not None:
                rendered.append(result)
        return rendered

    def home_endpoint(self, role: Role) -> str:
        return self.role_homes.get(role, "hub.home")

    def run_demo_seeders(self) -> str:
        """Run every demo seeder in order; their summaries joined as ", a, b"."""
        parts = [seeder() for seeder in self.demo_seeders]
        return "".join(f", {p}" for p in parts if p)

    def digest_items(self, advocate_id: int, since: dt.datetime, limit: int) -> list[dict]:
        """Up to `limit` digest items from the sources, in registration order."""
        items: list[dict] = []
        for source in self.digest_sources:
            items.extend(source(advocate_id, since, limit - len(items)))
            if len(items) >= limit:
                break
        return items[:limit]

    def advocate_active_changed(self, advocate_id: int, active: bool) -> None:
        for listener in self.active_change_listeners:
            listener(advocate_id, active)

    def advocate_groups_changed(self, advocate_id: int) -> None:
        self.advocates_groups_changed([advocate_id])

    def advocates_groups_changed(self, advocate_ids: list[int]) -> None:
        """The groups of these advocates changed (in the caller's transaction)."""
        for batch in self.group_batch_listeners:
            batch(list(advocate_ids))
        for listener in self.group_change_listeners:
            for advocate_id in advocate_ids:
                listener(advocate_id)


def init_hooks(app: Flask) -> Hooks:
    """Give the app its own, empty hooks (create_app, before the packages install theirs)."""
    app.extensions[EXTENSION_KEY] = Hooks()
    return app.extensions[EXTENSION_KEY]


def hooks(app: Flask | None = None) -> Hooks:
    """The hooks of `app`, or of the current app."""
    return (app or current_app).extensions[EXTENSION_KEY]
