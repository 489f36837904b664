"""Wires references into the hub: the advocate home card and the report section."""

from __future__ import annotations


def install() -> None:
    """Register the references hooks with hub.providers (idempotent)."""
    from challenges.references import reports  # noqa: F401  (registers its program report section)
    from challenges.references.views import home_section
    from hub.providers import register_home_section

    register_home_section(30, home_section)
