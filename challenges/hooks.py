"""Wires challenges into the hub: advocate facts (asks, burnout), home feed, demo data."""

from __future__ import annotations


def install() -> None:
    """Register the challenges package's hooks with hub.providers (idempotent)."""
    from challenges import caps
    from challenges.demo import seed_demo_challenges
    from challenges.views import for_you_section
    from hub.providers import register_advocate_facts, register_demo_seeder, register_home_section

    register_advocate_facts(caps.advocate_facts)
    register_home_section(10, for_you_section)
    register_demo_seeder(seed_demo_challenges)
