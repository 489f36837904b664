"""The verification drain profiled in one process (issue 22, "Workers"): where a batch's CPU,
statements and wall time go, without RQ's worker processes.

    DATABASE_URL=… REDIS_URL=… python -m bench.drain_profile --count 200 [--profile out.txt]

Submits `count` link checks like `bench.verify_drain` (a fresh url_check challenge, one
completion per seeded advocate, the page with the marker served on 127.0.0.1), then runs every
job they queued — verifications, trust jobs, emails and their delivery — in this process, one
after another in queue order, with RQ's `SimpleWorker` of the production class (burst). Prints
one JSON line: jobs run by function, SQL statements (counted on the engine's
`before_cursor_execute`, by their first words, with the wall time each kind spent in the
driver), Redis round trips (redis-py's
`send_packed_command`), CPU of this process (`time.process_time`) and wall time, each in total
and per approval, and the load average. `--profile FILE` writes cProfile's cumulative listing
of the drain to FILE (`--clock cpu`, the default, or `wall`).

Use a copy of the bench database (each run adds a challenge, its completions and emails) and a
Redis database of your own (its queue is emptied first).
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import re
import time
from collections import Counter
from typing import Any

import click

from bench.verify_drain import figures, serve_marker, submit_backlog


def _statement_kind(sql: str) -> str:
    """The first words of a statement and its table, e.g. `UPDATE advocates`."""
    text = re.sub(r"\s+", " ", sql.strip())
    match = re.match(r"(WITH \w+ AS \()?\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM)\s+([\w\".]+)?", text, re.I)
    if match is None:
        return text[:30]
    verb, table = match.group(2).upper(), match.group(3) or ""
    if verb == "SELECT":
        found = re.search(r" FROM ([\w\".]+)", text, re.I)
        table = found.group(1) if found else table
    return f"{verb} {table.strip(chr(34))}"


@click.command()
@click.option("--count", default=200, show_default=True, help="link checks submitted and drained")
@click.option("--profile", "profile_path", default=None, help="write cProfile's cumulative listing here")
@click.option("--clock", type=click.Choice(["cpu", "wall"]), default="cpu", show_default=True, help="cProfile's clock")
def main(count: int, profile_path: str | None, clock: str) -> None:
    """Submit `count` link checks, then drain every job they queued in this process."""
    import redis.connection
    from rq import Queue
    from sqlalchemy import event

    server, port = serve_marker()
    os.environ["VOUCH_VERIFY_ALLOW_HOSTS"] = "127.0.0.1"
    from hub.app import create_app
    from hub.extensions import db
    from hub.worker import VouchSimpleWorker

    app = create_app()
    statements: Counter[str] = Counter()
    statement_ms: dict[str, float] = {}
    slowest: list[tuple[float, str]] = []
    redis_sends = [0]
    jobs: Counter[str] = Counter()
    with app.app_context():
        backend = app.extensions["vouch_queue"]
        backend.queue().empty()
        _, ids = submit_backlog(count, port)
        queue: Queue = backend.queue()
        queued = queue.count
        db.session.remove()

        counting = [False]

        started: list[float] = []

        @event.listens_for(db.engine, "before_cursor_execute")
        def count_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if counting[0]:
                statements[_statement_kind(statement)] += 1
                started.append(time.perf_counter())

        @event.listens_for(db.engine, "after_cursor_execute")
        def time_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if counting[0] and started:
                took = (time.perf_counter() - started.pop()) * 1000
                kind = _statement_kind(statement)
                statement_ms[kind] = statement_ms.get(kind, 0.0) + took
                slowest.append((took, re.sub(r"\s+", " ", statement)[:240]))
                slowest.sort(reverse=True)
                del slowest[5:]

        original_send = redis.connection.Connection.send_packed_command

        def counting_send(connection: Any, command: Any, check_health: bool = True) -> Any:
            if counting[0]:
                redis_sends[0] += 1
            return original_send(connection, command, check_health)

        redis.connection.Connection.send_packed_command = counting_send  # type: ignore[method-assign]

        class CountingWorker(VouchSimpleWorker):
            def perform_job(self, job: Any, queue: Any, execution: Any) -> bool:
                jobs[job.func_name.rsplit(".", 1)[-1]] += 1
                return super().perform_job(job, queue, execution)

        worker = CountingWorker([queue], connection=queue.connection)
        load_before = os.getloadavg()
        timer = time.process_time if clock == "cpu" else time.perf_counter
        profiler = cProfile.Profile(timer) if profile_path else None
        counting[0] = True
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        worker.work(burst=True, logging_level="WARNING")
        if profiler is not None:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        counting[0] = False
        redis.connection.Connection.send_packed_command = original_send  # type: ignore[method-assign]
        server.shutdown()
        found = figures(ids)
    approved = max(1, found["statuses"].get("approved", 0))
    if profiler is not None and profile_path:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(80)
        with open(profile_path, "w") as written:
            written.write(out.getvalue())
    total = sum(statements.values())
    print(
        json.dumps(
            {
                "submitted": len(ids),
                "jobs_queued": queued,
                "jobs_run": dict(jobs),
                **found,
                "statements": total,
                "statements_per_approval": round(total / approved, 2),
                "statements_by_kind": dict(statements.most_common(40)),
                "statement_ms_total": round(sum(statement_ms.values()), 1),
                "statement_ms_by_kind": {
                    kind: round(ms, 1) for kind, ms in sorted(statement_ms.items(), key=lambda kv: -kv[1])[:15]
                },
                "slowest_statements": [(round(ms, 1), sql) for ms, sql in slowest],
                "redis_round_trips_per_approval": round(redis_sends[0] / approved, 2),
                "cpu_ms_per_approval": round(cpu * 1000 / approved, 2),
                "wall_ms_per_approval": round(wall * 1000 / approved, 2),
                "loadavg_before": load_before,
                "loadavg_after": os.getloadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
