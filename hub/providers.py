"""Hooks through which later packages add facts to hub objects without hub importing them.

`challenges` registers how many asks an advocate had in the last 365 days (and the burnout
bucket); until it does, every advocate reads as having no asks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

AdvocateFacts = Callable[[list[int]], dict[int, dict]]
_advocate_fact_providers: list[AdvocateFacts] = []


def register_advocate_facts(provider: AdvocateFacts) -> None:
    if provider not in _advocate_fact_providers:
        _advocate_fact_providers.append(provider)


def advocate_facts(advocate_ids: list[int]) -> dict[int, dict]:
    facts: dict[int, dict] = {a: {"asks_last_365": 0, "burnout": "healthy"} for a in advocate_ids}
    for provider in _advocate_fact_providers:
        for advocate_id, extra in provider(advocate_ids).items():
            facts.setdefault(advocate_id, {}).update(extra)
    return facts


# Sections other packages add to the advocate's home page: each returns
# (template name, context) or None, and is called with the advocate.
HomeSection = Callable[[object], "tuple[str, dict] | None"]
_home_sections: list[tuple[int, HomeSection]] = []


def register_home_section(order: int, section: HomeSection) -> None:
    if all(s is not section for _, s in _home_sections):
        _home_sections.append((order, section))
        _home_sections.sort(key=lambda pair: pair[0])


def home_sections(advocate: object) -> list[tuple[str, dict]]:
    rendered = []
    for _, section in _home_sections:
        result = section(advocate)
        if result is not None:
            rendered.append(result)
    return rendered


# Demo seeders other packages add (challenges, rewards catalog …); each returns a summary.
_demo_seeders: list[Callable[[], str]] = []


def register_demo_seeder(seeder: Callable[[], str]) -> None:
    if seeder not in _demo_seeders:
        _demo_seeders.append(seeder)


def run_demo_seeders() -> str:
    parts = [s() for s in _demo_seeders]
    return "".join(f", {p}" for p in parts if p)


# Durable follow-ups when a community answer reaches a milestone (accepted by the asker or a
# manager, or its 3rd upvote). Each job is a top-level function `job(answer_id: int) -> None`;
# hub.community enqueues every registered job after the milestone's commit with the
# deterministic id `answer-<answer_id>-<module>-<name>`. Jobs run at least once: they must be
# idempotent (challenges completes `community_answer` challenges once per answer).
AnswerMilestoneJob = Callable[[int], None]
_answer_milestone_jobs: list[AnswerMilestoneJob] = []


def register_answer_milestone_job(job: AnswerMilestoneJob) -> None:
    if job not in _answer_milestone_jobs:
        _answer_milestone_jobs.append(job)


def answer_milestone_jobs() -> list[AnswerMilestoneJob]:
    return list(_answer_milestone_jobs)


# The weekly digest asks the challenges package which challenges an advocate may take now,
# through the same eligibility and caps code as the feed: `source(advocate_id, since, limit)`
# returns up to `limit` dicts {"title", "points", "effort", "url"} for challenges published
# since `since` that are open, targeted to the advocate and not locked by a cap.
DigestSource = Callable[[int, "dt.datetime", int], list[dict]]
_digest_sources: list[DigestSource] = []


def register_digest_source(source: DigestSource) -> None:
    if source not in _digest_sources:
        _digest_sources.append(source)


def digest_items(advocate_id: int, since: dt.datetime, limit: int) -> list[dict]:
    items: list[dict] = []
    for source in _digest_sources:
        items.extend(source(advocate_id, since, limit - len(items)))
        if len(items) >= limit:
            break
    return items[:limit]
