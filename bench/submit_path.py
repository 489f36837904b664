"""Submit and redeem measured in process: SQL statements, database round trips, Redis round trips
and CPU time per request (issue 22, "Submit and redeem").

    python -m bench.submit_path prepare --submitters 300 > /tmp/ids.json
    python -m bench.submit_path run --ids /tmp/ids.json --what submit --first 0 --count 100
    python -m bench.submit_path run --ids /tmp/ids.json --what submit-link --count 100 [--profile /tmp/p.html]

`prepare` makes the actors with bench.identities (bench quizzes, the unlimited reward, fresh
submitters with tokens and points, fresh link challenges) and prints them as JSON. `run` sends
`count` requests through the Flask test client, each a fresh (advocate, challenge) pair (submit,
submit-link: each link its own URL, as bench.run's "submit-link" sends them) or a fresh advocate
(redeem), from position `first` of the pairs, after `warm` untimed ones, and prints one JSON
line: medians per request of SQL statements (cursor executes), database round trips (executes
plus BEGIN/COMMIT/ROLLBACK), Redis round trips (commands or pipelines sent), CPU ms
(`time.process_time`) and wall ms, plus the load average. The same file runs against another
checkout (PYTHONPATH=that checkout), so before and after can be interleaved in one script.
`--profile FILE` writes a pyinstrument profile (HTML) of the timed requests.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import click


class Counters:
    """SQL statements, database round trips and Redis round trips since the last reset."""

    def __init__(self) -> None:
        self.sql = 0
        self.db = 0
        self.redis = 0
        self.trace: list[str] | None = None

    def reset(self) -> None:
        self.sql = self.db = self.redis = 0
        if self.trace is not None:
            self.trace.clear()

    def note(self, what: str) -> None:
        if self.trace is not None:
            self.trace.append(what)


def install_counters(engine: Any) -> Counters:
    """Count on the engine's events and on redis-py's connections (every command or pipeline is
    one `send_packed_command`)."""
    import redis.connection
    from sqlalchemy import event

    counters = Counters()

    @event.listens_for(engine, "before_cursor_execute")
    def _sql(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counters.sql += 1
        counters.db += 1
        counters.note("SQL " + " ".join(statement.split())[:160])

    @event.listens_for(engine, "begin")
    def _begin(_conn: Any) -> None:
        counters.db += 1  # psycopg 3 sends BEGIN as a statement of its own before the first one
        counters.note("BEGIN")

    @event.listens_for(engine, "commit")
    def _commit(_conn: Any) -> None:
        counters.db += 1
        counters.note("COMMIT")

    @event.listens_for(engine, "rollback")
    def _rollback(_conn: Any) -> None:
        counters.db += 1
        counters.note("ROLLBACK")

    original = redis.connection.AbstractConnection.send_packed_command

    def counted(self: Any, command: Any, check_health: bool = True) -> None:
        counters.redis += 1
        if counters.trace is not None:
            parts = command if isinstance(command, list) else [command]
            text = b"".join(bytes(p) for p in parts)[:160].decode(errors="replace")
            counters.note("REDIS " + text.replace("\r\n", " "))
        original(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
    return counters


@click.group()
def cli() -> None:
    """Submit/redeem request-path measurements."""


@cli.command()
@click.option("--submitters", default=300, show_default=True)
@click.option("--quizzes", default=20, show_default=True)
@click.option("--links", "links_count", default=20, show_default=True, help="fresh link challenges")
def prepare(submitters: int, quizzes: int, links_count: int) -> None:
    """Make the actors (bench.identities) and print them as JSON."""
    from sqlalchemy import select

    from bench.identities import BENCH_OWNER, BENCH_PASSWORD, bench_quizzes, bench_reward, fresh_submitters
    from bench.link_challenges import LINK_DOMAIN, publish
    from hub import accounts
    from hub.app import create_app
    from hub.extensions import db
    from hub.models import Role, User

    app = create_app()
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == BENCH_OWNER)) or accounts.create_user(
            BENCH_OWNER, "Bench Owner", Role.OWNER, BENCH_PASSWORD
        )
        quiz_ids = bench_quizzes(quizzes, owner.id)
        reward_id = bench_reward(owner.id)
        tokens = fresh_submitters(submitters, quiz_ids, owner.id)
        db.session.commit()
        links = {"link_ids": publish(links_count), "link_domain": LINK_DOMAIN} if links_count else {}
    print(json.dumps({"quiz_ids": quiz_ids, "reward_id": reward_id, "tokens": tokens, **links}))


@cli.command()
@click.option("--ids", "ids_path", required=True, type=click.Path(exists=True))
@click.option("--what", type=click.Choice(["submit", "submit-link", "redeem"]), required=True)
@click.option("--first", default=0, show_default=True, help="position of the first (token, challenge) pair")
@click.option("--count", default=100, show_default=True)
@click.option("--warm", default=5, show_default=True, help="untimed requests first")
@click.option("--label", default="")
@click.option("--trace", is_flag=True, help="print the statements and Redis commands of the last request")
@click.option("--profile", "profile_path", default=None, help="write a pyinstrument HTML profile of the timed requests")
@click.option(
    "--tokens",
    "token_count",
    default=0,
    help="use only the first N submitters (0: all): with N ≤ --warm every timed request's caller "
    "was seen in the warm-up, as under wrk's rotation (hub.tokens keeps callers 60 s)",
)
def run(
    ids_path: str,
    what: str,
    first: int,
    count: int,
    warm: int,
    label: str,
    trace: bool,
    profile_path: str | None,
    token_count: int,
) -> None:
    """Send the requests and print the medians as one JSON line."""
    from hub.app import create_app
    from hub.extensions import db

    with open(ids_path) as fh:
        ids = json.load(fh)
    os.environ.setdefault("VOUCH_API_RATE_LIMIT", "1000000/minute")
    app = create_app({"VOUCH_API_RATE_LIMIT": "1000000/minute"})
    tokens, quizzes = ids["tokens"][: token_count or None], ids["quiz_ids"]
    with app.app_context():
        counters = install_counters(db.engine)
    if trace:
        counters.trace = []
    client = app.test_client()
    body: dict[str, Any] = {"answers": [0]}
    samples: list[tuple[int, int, int, float, float]] = []
    statuses: dict[int, int] = {}
    profiler = None
    if profile_path:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
    run_stamp = time.strftime("%Y%m%d%H%M%S")
    for n in range(first, first + warm + count):
        if n == first + warm and profiler is not None:
            profiler.start()
        if what == "submit":
            token, challenge = tokens[n % len(tokens)], quizzes[(n // len(tokens)) % len(quizzes)]
            path, payload = f"/api/v1/challenges/{challenge}/completions", body
        elif what == "submit-link":
            links = ids["link_ids"]
            token, challenge = tokens[n % len(tokens)], links[(n // len(tokens)) % len(links)]
            path = f"/api/v1/challenges/{challenge}/completions"
            payload = {"evidence_url": f"https://{ids['link_domain']}/post/{challenge}-{run_stamp}-{n}"}
        else:
            token = tokens[n % len(tokens)]
            path, payload = f"/api/v1/rewards/{ids['reward_id']}/redemptions", {}
        headers = {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"}
        counters.reset()
        cpu, wall = time.process_time(), time.perf_counter()
        response = client.post(path, json=payload, headers=headers)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if n >= first + warm:
            samples.append((counters.sql, counters.db, counters.redis, cpu * 1000, wall * 1000))
    if profiler is not None and profile_path:
        profiler.stop()
        Path(profile_path).write_text(profiler.output_html())
        click.echo(profiler.output_text(unicode=False, color=False, show_all=False), err=True)
    for line in counters.trace or []:
        click.echo(line, err=True)
    columns = list(zip(*samples, strict=True))
    print(
        json.dumps(
            {
                "label": label,
                "what": what,
                "requests": len(samples),
                "statuses": statuses,
                "sql_statements": statistics.median(columns[0]),
                "db_round_trips": statistics.median(columns[1]),
                "redis_round_trips": statistics.median(columns[2]),
                "cpu_ms_p50": round(statistics.median(columns[3]), 2),
                "wall_ms_p50": round(statistics.median(columns[4]), 2),
                "loadavg": Path("/proc/loadavg").read_text().split()[:3],
            }
        )
    )


if __name__ == "__main__":
    cli()
