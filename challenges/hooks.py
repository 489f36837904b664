"""Wires challenges into the hub: advocate facts (asks, burnout), home feed, demo data."""

from __future__ import annotations


def install() -> None:
    """Register the challenges package's hooks with hub.providers (idempotent)."""
    from challenges import caps
    from hub.providers import register_advocate_facts

    register_advocate_facts(caps.advocate_facts)
