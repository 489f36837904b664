"""Wires challenges into the hub: advocate facts (asks, burnout), home feed, demo data,
community answers that complete challenges, and the weekly digest's challenge list."""

from __future__ import annotations


def install() -> None:
    """Register the challenges package's hooks with hub.providers (idempotent)."""
    from challenges import caps, community, jobs
    from challenges.demo import seed_demo_challenges
    from challenges.views import for_you_section
    from hub.providers import (
        register_advocate_facts,
        register_answer_milestone_job,
        register_demo_seeder,
        register_digest_source,
        register_home_section,
    )

    register_advocate_facts(caps.advocate_facts)
    register_home_section(10, for_you_section)
    register_demo_seeder(seed_demo_challenges)
    register_answer_milestone_job(jobs.complete_community_answer)
    register_digest_source(community.digest_items)
