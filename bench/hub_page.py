"""The advocate's hub page (`GET /`) measured in process, with a CPU-clock profile (issue 22).

    .venv/bin/python -m bench.hub_page                         (from the repository root)
    .venv/bin/python -m bench.hub_page --rounds 60 --profile busiest --top 40

Uses `DATABASE_URL` (a copy of the bench database; never the master `vouch_bench`) and
`REDIS_URL`, the same people as bench/feed.py (the seeded advocate with the most completions,
"busiest", and a new advocate with none, "new"), logged in through the login form. Each round
calls `GET /` for both, interleaved, and records per request the app process's CPU time
(`time.process_time()`: PostgreSQL's and Redis's own CPU are not in it), wall time, SQL
statements, database round trips (statements + BEGIN/COMMIT/ROLLBACK + pool pings) and Redis
round trips (SQLAlchemy and redis-py counters of bench/feed.py), and prints medians with the
load average.

`--profile NAME` (busiest or new) runs cProfile with the process CPU clock
(`time.process_time`) over `--profile-calls` warm calls and prints the `--top` functions by
cumulative and by own time: wall time on a loaded machine would charge other processes' turns
to whatever was running. `--label` names the run in the closing JSON line (before/after).
Nothing is asserted.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import click

from bench.feed import PASSWORD, actors, install_counters, measure, summary_row


@click.command()
@click.option("--rounds", default=40, show_default=True, help="Measured calls per advocate.")
@click.option("--warmup", default=5, show_default=True, help="Unmeasured calls per advocate first.")
@click.option("--profile", "profile_name", default=None, help="busiest or new: a CPU-clock cProfile.")
@click.option("--profile-calls", default=100, show_default=True)
@click.option("--top", default=30, show_default=True, help="Functions listed per profile ordering.")
@click.option("--label", default="", help="A name for this run in the JSON line (e.g. before/after).")
def main(rounds: int, warmup: int, profile_name: str | None, profile_calls: int, top: int, label: str) -> None:
    import logging

    from hub.app import create_app
    from hub.extensions import db

    url = os.environ["DATABASE_URL"]
    if url.rstrip("/").endswith("/vouch_bench"):
        raise click.ClickException("use a copy of the bench database, not the master vouch_bench")
    app = create_app(
        {
            "DATABASE_URL": url,
            "REDIS_URL": os.environ.get("REDIS_URL"),
            "SECRET_KEY": "feed-bench-secret-key-not-for-production-use-0123456789",
            "VOUCH_ENV": "production",
            "WTF_CSRF_ENABLED": False,
        }
    )
    logging.getLogger("vouch.request").setLevel(logging.WARNING)
    people = actors(app)
    with app.app_context():
        counters = install_counters(db.engine)
    https = {"X-Forwarded-Proto": "https"}
    calls: dict[str, Callable[[], Any]] = {}
    for name, person in people.items():
        browser = app.test_client()
        browser.post("/login", data={"email": person["email"], "password": PASSWORD}, base_url="https://localhost")
        calls[name] = partial(browser.get, "/", base_url="https://localhost", headers=https)
    for name, call in calls.items():
        for _ in range(warmup):
            response = call()
            if response.status_code != 200:
                raise click.ClickException(f"{name}: HTTP {response.status_code} {response.data[:200]!r}")
    if profile_name:
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(profile_calls):
            calls[profile_name]()
        profiler.disable()
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
            click.echo(out.getvalue())
    figures: dict[str, dict[str, list[float]]] = {
        name: {"wall": [], "cpu": [], "sql": [], "trips": [], "redis": []} for name in calls
    }
    load_before = os.getloadavg()
    for _ in range(rounds):
        for name, call in calls.items():
            measure(call, counters, figures[name])
    load_after = os.getloadavg()
    summary: dict[str, Any] = {"label": label, "load": [round(load_before[0], 2), round(load_after[0], 2)]}
    click.echo("| hub page | SQL statements | DB round trips | Redis round trips | CPU ms median | wall ms | p95 |")
    click.echo("|---|---|---|---|---|---|---|")
    for name, f in figures.items():
        row = summary_row(f)
        summary[name] = row
        click.echo(
            f"| {name} ({people[name]['completions']} completions) | {row['sql']:g} | {row['trips']:g} | "
            f"{row['redis']:g} | {row['cpu_ms']:.2f} | {row['wall_ms']:.1f} | {row['wall_p95_ms']:.1f} |"
        )
    click.echo(f"load average: {load_before[0]:.2f} before, {load_after[0]:.2f} after ({os.cpu_count()} CPUs)")
    click.echo(json.dumps(summary))


if __name__ == "__main__":
    main()
