"""The advocate's feed and hub page, measured in process (issue 22: "Feed and hub page").

    .venv/bin/python -m bench.feed                       (from the repository root)
    .venv/bin/python -m bench.feed --rounds 40 --profile busiest-hub

Uses `DATABASE_URL` (a copy of the bench database; never the master `vouch_bench`) and
`REDIS_URL`. It picks the seeded advocate with the most completions ("busiest") and makes, once,
a new advocate with no history ("new", in the busiest advocate's first group), then calls
`GET /api/v1/challenges` (the feed) and `GET /` (the hub page) for each through the app in
process — the request's whole server side (auth, rate limit, queries, templates, JSON) without
a network hop — and prints per request and path:

- SQL statements (cursor executions) and database round trips (statements + BEGIN/COMMIT/
  ROLLBACK + pool pings), counted with SQLAlchemy events;
- Redis commands sent (a pipeline counts as one round trip);
- the app process's CPU time (`time.process_time()`; PostgreSQL's and Redis's share are not in
  it) and wall time, median and p95 over `--rounds` calls after `--warmup` calls;
- the load average while measuring.

The paths are interleaved (busiest feed, new feed, busiest hub, new hub, busiest feed, …) so a
change of load hits all of them alike. `--profile NAME` (busiest-feed, new-feed, busiest-hub,
new-hub) writes a pyinstrument text profile of 20 warm calls to `bench/results/feed-profile-NAME.log`
(pyinstrument must be installed: `.venv/bin/pip install pyinstrument`). Nothing is asserted.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import click

NEW_EMAIL = "feed.bench.new@example.com"
PASSWORD = "feed-bench-password-2026"  # noqa: S105 - a local benchmark login
RESULTS = Path(__file__).parent / "results"


class Counters:
    """SQL statements, database round trips and Redis round trips seen since the last reset."""

    def __init__(self) -> None:
        self.statements = 0
        self.round_trips = 0
        self.redis = 0

    def reset(self) -> None:
        self.statements = self.round_trips = self.redis = 0


def install_counters(engine: Any) -> Counters:
    """Count on `engine` (statements, transaction ends, pings) and on every Redis client."""
    import redis
    from sqlalchemy import event

    counters = Counters()

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(*_args: Any) -> None:
        counters.statements += 1
        counters.round_trips += 1

    @event.listens_for(engine, "commit")
    def _commit(*_args: Any) -> None:
        counters.round_trips += 1

    @event.listens_for(engine, "rollback")
    def _rollback(*_args: Any) -> None:
        counters.round_trips += 1

    @event.listens_for(engine, "begin")
    def _begin(*_args: Any) -> None:
        # psycopg 3 sends BEGIN as its own round trip before the transaction's first statement.
        counters.round_trips += 1

    dialect = engine.dialect
    ping = dialect.do_ping

    def counted_ping(dbapi_connection: Any) -> bool:
        counters.round_trips += 1
        return bool(ping(dbapi_connection))

    dialect.do_ping = counted_ping

    command = redis.Redis.execute_command
    pipeline = redis.client.Pipeline.execute

    def counted_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        counters.redis += 1
        return command(self, *args, **kwargs)

    def counted_pipeline(self: Any, *args: Any, **kwargs: Any) -> Any:
        counters.redis += 1
        return pipeline(self, *args, **kwargs)

    redis.Redis.execute_command = counted_command  # type: ignore[method-assign]
    redis.client.Pipeline.execute = counted_pipeline  # type: ignore[method-assign]
    return counters


def actors(app: Any) -> dict[str, dict[str, Any]]:
    """The busiest advocate and a new one: user id, email, API token, completions."""
    from sqlalchemy import func, select

    from challenges.models import Completion
    from hub import accounts, tokens
    from hub.extensions import db
    from hub.models import Advocate, User, advocate_groups
    from hub.security import hash_password

    with app.app_context():
        busiest_id = db.session.scalar(
            select(Completion.advocate_id).group_by(Completion.advocate_id).order_by(func.count().desc()).limit(1)
        )
        busiest = db.session.get_one(Advocate, busiest_id)
        new = db.session.scalar(select(Advocate).join(User, User.id == Advocate.user_id).where(User.email == NEW_EMAIL))
        if new is None:
            new = accounts.create_advocate(
                accounts.AdvocateProfile(email=NEW_EMAIL, name="Feed Bench", company="Bench Co"), None, PASSWORD
            )
            group_id = db.session.scalar(
                select(advocate_groups.c.group_id).where(advocate_groups.c.advocate_id == busiest_id).limit(1)
            )
            if group_id is not None:
                db.session.execute(advocate_groups.insert().values(advocate_id=new.id, group_id=group_id))
        found: dict[str, dict[str, Any]] = {}
        for name, advocate in (("busiest", busiest), ("new", new)):
            user = db.session.get_one(User, advocate.user_id)
            user.password_hash = hash_password(PASSWORD)
            _, token = tokens.create_api_token(user, "feed bench", None)
            completions = db.session.scalar(
                select(func.count()).select_from(Completion).where(Completion.advocate_id == advocate.id)
            )
            found[name] = {"email": user.email, "token": token, "completions": completions}
        db.session.commit()
    return found


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(call: Callable[[], object], counters: Any, into: dict[str, list[float]]) -> None:
    """Run `call` once and append its wall and CPU milliseconds and the SQL statements, database
    round trips and Redis sends `counters` (install_counters) saw to `into`'s lists."""
    counters.reset()
    began, began_cpu = time.perf_counter(), time.process_time()
    call()
    into["wall"].append((time.perf_counter() - began) * 1000)
    into["cpu"].append((time.process_time() - began_cpu) * 1000)
    into["sql"].append(counters.statements)
    into["trips"].append(counters.round_trips)
    into["redis"].append(counters.redis)


def summary_row(f: dict[str, list[float]]) -> dict[str, float]:
    """The medians (and the wall p95) of one path's measured lists (`measure`)."""
    return {
        "sql": statistics.median(f["sql"]),
        "trips": statistics.median(f["trips"]),
        "redis": statistics.median(f["redis"]),
        "cpu_ms": round(statistics.median(f["cpu"]), 2),
        "wall_ms": round(statistics.median(f["wall"]), 2),
        "wall_p95_ms": round(pct(f["wall"], 0.95), 2),
    }


@click.command()
@click.option("--rounds", default=30, show_default=True, help="Measured calls per path.")
@click.option("--warmup", default=5, show_default=True, help="Unmeasured calls per path first.")
@click.option("--profile", "profile_name", default=None, help="busiest-feed, new-feed, busiest-hub or new-hub")
@click.option("--label", default="", help="A name for this run in the JSON line (e.g. before/after).")
def main(rounds: int, warmup: int, profile_name: str | None, label: str) -> None:
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
    logging.getLogger("vouch.request").setLevel(logging.WARNING)  # one log line per request is noise here
    people = actors(app)
    with app.app_context():
        counters = install_counters(db.engine)
    https = {"X-Forwarded-Proto": "https"}
    calls: dict[str, Callable[[], Any]] = {}
    for name, person in people.items():
        browser = app.test_client()
        browser.post("/login", data={"email": person["email"], "password": PASSWORD}, base_url="https://localhost")
        api = app.test_client()
        bearer = {"Authorization": f"Bearer {person['token']}"}
        calls[f"{name}-feed"] = partial(
            api.get, "/api/v1/challenges?per_page=50", headers=bearer, base_url="https://localhost"
        )
        calls[f"{name}-hub"] = partial(browser.get, "/", base_url="https://localhost", headers=https)
    for name, call in calls.items():
        for _ in range(warmup):
            response = call()
            if response.status_code != 200:
                raise click.ClickException(f"{name}: HTTP {response.status_code} {response.data[:200]!r}")
    if profile_name:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(20):
            calls[profile_name]()
        profiler.stop()
        RESULTS.mkdir(exist_ok=True)
        out = RESULTS / f"feed-profile-{profile_name}.log"
        out.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
        click.echo(f"profile of 20 calls written to {out}")
    figures: dict[str, dict[str, list[float]]] = {
        name: {"wall": [], "cpu": [], "sql": [], "trips": [], "redis": []} for name in calls
    }
    load_before = os.getloadavg()
    for _ in range(rounds):
        for name, call in calls.items():
            measure(call, counters, figures[name])
    load_after = os.getloadavg()
    click.echo(
        f"busiest advocate: {people['busiest']['completions']} completions; new advocate: "
        f"{people['new']['completions']}; {rounds} interleaved rounds after {warmup} warm-up calls"
    )
    click.echo(
        "| path | SQL statements | DB round trips | Redis round trips | CPU ms median | wall ms median | wall ms p95 |"
    )
    click.echo("|---|---|---|---|---|---|---|")
    summary: dict[str, Any] = {"label": label, "load": [load_before[0], load_after[0]]}
    for name, f in figures.items():
        row = summary_row(f)
        summary[name] = row
        click.echo(
            f"| {name} | {row['sql']:g} | {row['trips']:g} | {row['redis']:g} | {row['cpu_ms']:.1f} | "
            f"{row['wall_ms']:.1f} | {row['wall_p95_ms']:.1f} |"
        )
    click.echo(f"load average: {load_before[0]:.2f} before, {load_after[0]:.2f} after ({os.cpu_count()} CPUs)")
    click.echo(json.dumps(summary))


if __name__ == "__main__":
    main()
