"""The benchmark's app: Vouch as production builds it, plus the `flask bench …` commands.

    flask --app bench.app bench seed --advocates 1000      (from the repository root)

The production app (`wsgi`, `hub.app.create_app`) never registers these commands, and
`bench/` is not part of the wheel: it runs from a checkout.
"""

from __future__ import annotations

from flask import Flask

from bench.seed import bench_cli
from hub.app import create_app as create_vouch_app


def create_app(overrides: dict | None = None) -> Flask:
    """Vouch's app with the `bench` command group added."""
    app = create_vouch_app(overrides)
    app.cli.add_command(bench_cli)
    return app
