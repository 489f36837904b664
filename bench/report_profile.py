"""Where the program report's time goes, in one process: every SQL statement of one
`GET /api/v1/reports/program` with its wall time, the statement count, the time in SQL and the
rest (client CPU: SQLAlchemy, the figures' Python, the reply model and JSON), and the CPU time
the PostgreSQL backend and this process spent per request (steadier than wall time under load;
`PGOPTIONS="-c max_parallel_workers_per_gather=0"` keeps all the server's work in the backend).

    .venv/bin/python -m bench.report_profile [--runs 3] [--top 15] [--cprofile [--sort tottime]]

Database as for bench.reports (BENCH_REPORTS_DATABASE_URL, else DATABASE_URL, else vouch_bench),
migrated here. The request is sent once to warm plans and caches, then `runs` times; the
figures printed are the medians, the statements those of the last run.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import statistics
import time

import click

from bench.reports import DEFAULT_URL, owner_token


@click.command()
@click.option("--runs", default=3, show_default=True)
@click.option("--top", default=15, show_default=True, help="How many of the slowest statements to print.")
@click.option("--cprofile", is_flag=True, help="Also print cProfile's 25 largest entries of one more request.")
@click.option("--sort", default="cumulative", show_default=True, help="cProfile's order: cumulative, tottime ….")
@click.option("--path", default="/api/v1/reports/program", show_default=True)
def main(runs: int, top: int, cprofile: bool, sort: str, path: str) -> None:
    url = os.environ.get("BENCH_REPORTS_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_URL
    os.environ["DATABASE_URL"] = url
    from sqlalchemy import event

    from hub.app import create_app
    from hub.extensions import db

    app = create_app()
    with app.app_context():
        token = owner_token()
        engine = db.engine
    statements: list[tuple[float, str]] = []
    started_at: list[float] = []
    backends: set[int] = set()

    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        backends.add(conn.connection.driver_connection.info.backend_pid)
        started_at.append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(((time.perf_counter() - started_at.pop()) * 1000, statement))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"}

    def call() -> None:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, response.status_code

    call()
    totals, sql, counts, server_cpu, client_cpu = [], [], [], [], []
    for _ in range(runs):
        statements.clear()
        server = _cpu_ms(backends)
        client_started = time.process_time()
        started = time.perf_counter()
        call()
        totals.append((time.perf_counter() - started) * 1000)
        client_cpu.append((time.process_time() - client_started) * 1000)
        server_cpu.append(_cpu_ms(backends) - server)
        sql.append(sum(ms for ms, _ in statements))
        counts.append(len(statements))
    last = sorted(statements, reverse=True)
    print(
        f"{path}: p50 {statistics.median(totals):.1f} ms (runs {[round(t) for t in totals]}), "
        f"{statistics.median(counts):.0f} statements, SQL {statistics.median(sql):.1f} ms, "
        f"rest {statistics.median(t - s for t, s in zip(totals, sql, strict=True)):.1f} ms; "
        f"CPU: PostgreSQL backend {statistics.median(server_cpu):.0f} ms (min {min(server_cpu):.0f}; parallel "
        f"workers not included), client {statistics.median(client_cpu):.0f} ms (min {min(client_cpu):.0f})"
    )
    for ms, statement in last[:top]:
        print(f"{ms:8.1f}  {' '.join(statement.split())[:220]}")
    if cprofile:
        profile = cProfile.Profile()
        profile.enable()
        call()
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(sort).print_stats(25)
        print(out.getvalue())


def _cpu_ms(pids: set[int]) -> float:
    """User + system CPU time of the PostgreSQL backends `pids` (same machine), in ms, from
    /proc/<pid>/stat: less sensitive than wall time to other work on a shared machine."""
    ticks = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
