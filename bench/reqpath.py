"""Issue 22's "every request" and leaderboard figures: this checkout against an earlier one, both on
the same bench database, and prints one JSON line.

    python -m bench.reqpath --before /path/to/earlier/checkout [--rounds 3 --duration 5]
        (DATABASE_URL / REDIS_URL as for bench.run; the earlier checkout is e.g. the output of
        `git archive <commit> | tar -x -C DIR`, run with this checkout's virtualenv)

1. **Per request, in one process** (steady under load): for each checkout, a Flask test client
   sends the leaderboard requests (warmed first) and counts per request the SQL statements the
   app sent, the transaction-control commands on the wire (BEGIN / COMMIT / ROLLBACK, from
   libpq's trace), the Redis round trips (packed sends on a redis-py connection: a pipeline or
   a script call is one), and the CPU time (`time.process_time`).
2. **Under wrk** (2 sync gunicorn workers each, 4 connections, like bench.run): the bare Flask
   ceiling, the earlier checkout and this one, in interleaved rounds (bare, before, after, …) so
   a change of the machine's load hits all alike; req/s, p50/p99 and the gunicorn processes'
   CPU per request (from /proc), medians over the rounds; then one run each with 50 awards/s
   streaming in (bench.writer).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import click

ROOT = Path(__file__).resolve().parents[1]
THIS_FILE = Path(__file__).resolve()
PATHS = {
    "all": "/api/v1/leaderboard?period=all&limit=10",
    "month": "/api/v1/leaderboard?period=month&limit=10",
    "group": "/api/v1/leaderboard?period=all&limit=10&group={group}",
}


def board_caller(label: str) -> tuple[str, str]:
    """In an app context: a new API token (named `label`) of the advocate ranked about 500th by
    lifetime points, and the largest group's name — the caller and group the leaderboard benches
    read as (bench.reqpath, bench.lb_profile)."""
    from sqlalchemy import func, select

    from hub.extensions import db
    from hub.models import Advocate, Group, User, advocate_groups
    from hub.tokens import create_api_token

    advocate = db.session.scalar(select(Advocate).order_by(Advocate.lifetime_points.desc()).offset(500).limit(1))
    assert advocate is not None, "the bench database has advocates"
    _, token = create_api_token(db.session.get_one(User, advocate.user_id), label, None)
    group = db.session.execute(
        select(Group.name)
        .join(advocate_groups, advocate_groups.c.group_id == Group.id)
        .group_by(Group.name)
        .order_by(func.count().desc())
        .limit(1)
    ).scalar_one()
    return token, group


def prepare() -> dict:
    """An advocate ranked about 500th with an API token, the largest group's name, and boards
    rebuilt (this checkout's code; the encoding is the same as the earlier one's)."""
    from hub.app import create_app
    from hub.extensions import db
    from rewards import leaderboard

    with create_app().app_context():
        token, group = board_caller("bench.reqpath")
        started = time.perf_counter()
        leaderboard.rebuild()
        db.session.commit()
        return {"token": token, "group": group, "rebuild_s": round(time.perf_counter() - started, 1)}


def probe(token: str, group: str, requests: int) -> dict:
    """Run inside the checkout measured (its modules first on sys.path): per-request counts."""
    import redis.connection
    from sqlalchemy import event

    from hub.app import create_app
    from hub.extensions import db

    os.environ.setdefault("VOUCH_API_RATE_LIMIT", "1000000/minute")
    app = create_app({"VOUCH_ENV": "production", "SECRET_KEY": "bench-reqpath-not-a-secret-key-0123456789"})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"}
    sql: list[str] = []
    redis_sends = [0]
    original_send = redis.connection.Connection.send_packed_command

    def counted_send(self, command, check_health=True):
        redis_sends[0] += 1
        return original_send(self, command, check_health)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *args: sql.append(args[2]))
    traces: list = []

    def trace(dbapi_conn, _record, _proxy) -> None:
        sink = tempfile.TemporaryFile()  # noqa: SIM115 - read and closed below
        dbapi_conn.pgconn.trace(sink.fileno())
        traces.append((dbapi_conn, sink))

    event.listen(engine, "checkout", trace)
    redis.connection.Connection.send_packed_command = counted_send  # type: ignore[method-assign]
    out: dict = {}
    try:
        for name, path in PATHS.items():
            url = path.format(group=quote(group))
            for _ in range(20):  # warm: caches, prepared statements, the script loaded
                assert client.get(url, headers=headers).status_code == 200
            sql.clear()
            redis_sends[0] = 0
            for _conn, sink in traces:
                sink.truncate(0)
            cpu = time.process_time()
            for _ in range(requests):
                response = client.get(url, headers=headers)
                assert response.status_code == 200, response.data[:200]
            cpu = time.process_time() - cpu
            control = 0
            for dbapi_conn, sink in traces:
                with contextlib.suppress(Exception):
                    dbapi_conn.pgconn.untrace()
                sink.seek(0)
                for line in sink.read().decode(errors="replace").splitlines():
                    parts = line.split("\t")
                    if len(parts) >= 4 and parts[1] == "F" and parts[3] in ("Query", "Parse"):
                        control += any(w in parts[-1] for w in ('"BEGIN"', '"COMMIT"', '"ROLLBACK"'))
                with contextlib.suppress(Exception):
                    dbapi_conn.pgconn.trace(sink.fileno())
            out[name] = {
                "sql_per_request": round(len(sql) / requests, 2),
                "transaction_commands_per_request": round(control / requests, 2),
                "redis_round_trips_per_request": round(redis_sends[0] / requests, 2),
                "cpu_ms_per_request": round(cpu * 1000 / requests, 3),
            }
    finally:
        redis.connection.Connection.send_packed_command = original_send  # type: ignore[method-assign]
        for _conn, sink in traces:
            sink.close()
    return out


def _checkout_env(tree: Path) -> dict:
    env = os.environ.copy()
    env["PYTHONPATH"] = str(tree)
    env.update(
        {
            "VOUCH_ENV": "production",
            "SECRET_KEY": "bench-reqpath-not-a-secret-key-0123456789",
            "VOUCH_TRUSTED_PROXIES": "1",
            "VOUCH_API_RATE_LIMIT": "1000000/minute",
        }
    )
    return env


def _probe_in(tree: Path, prepared: dict, requests: int) -> dict:
    proc = subprocess.run(
        [sys.executable, str(THIS_FILE), "probe", prepared["token"], prepared["group"], str(requests)],
        cwd=tree,
        env=_checkout_env(tree),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _server(tree: Path, app_path: str, port: int) -> subprocess.Popen:
    venv_bin = Path(sys.executable).parent
    return subprocess.Popen(
        [
            str(venv_bin / "gunicorn"),
            "-w",
            "2",
            "-k",
            "sync",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--chdir",
            str(tree),
            app_path,
        ],
        cwd=tree,
        env=_checkout_env(tree),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _cpu_seconds(master: int) -> float:
    """utime + stime of a gunicorn master and its workers, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [master]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def _drive(url: str, duration: int, headers: dict, master: int) -> dict:
    from bench.load import wrk

    cpu = _cpu_seconds(master)
    fig = wrk(url, duration, 4, headers)
    cpu = _cpu_seconds(master) - cpu
    served = fig["rps"] * duration
    fig["cpu_ms_per_request"] = round(cpu * 1000 / served, 3) if served else None
    return fig


@click.group(invoke_without_command=True)
@click.option("--before", "before", type=click.Path(exists=True, file_okay=False), help="the earlier checkout")
@click.option("--rounds", default=3)
@click.option("--duration", default=5)
@click.option("--requests", default=300, help="in-process requests per endpoint and checkout")
@click.pass_context
def main(ctx: click.Context, before: str | None, rounds: int, duration: int, requests: int) -> None:
    if ctx.invoked_subcommand is not None:
        return
    if before is None:
        raise click.UsageError("--before is required")
    from bench.load import free_port, stop, wait_for

    trees = {"before": Path(before).resolve(), "after": ROOT}
    prepared = prepare()
    out: dict = {"rebuild_s": prepared["rebuild_s"], "loadavg_start": Path("/proc/loadavg").read_text().split()[:3]}
    out["per_request"] = {name: _probe_in(tree, prepared, requests) for name, tree in trees.items()}
    print(json.dumps(out), file=sys.stderr, flush=True)

    ports = {"bare": free_port(), "before": free_port(), "after": free_port()}
    procs = {
        "bare": _server(ROOT, "bench.bare_app:app", ports["bare"]),
        "before": _server(trees["before"], "wsgi:app", ports["before"]),
        "after": _server(trees["after"], "wsgi:app", ports["after"]),
    }
    headers = {"Authorization": f"Bearer {prepared['token']}", "X-Forwarded-Proto": "https"}
    figures: dict[str, list[dict]] = {}
    try:
        for port in ports.values():
            wait_for(port)
        for name in ("before", "after"):  # warm every worker before anything is timed
            for _ in range(40):
                subprocess.run(
                    [
                        "curl",
                        "-s",
                        "-o",
                        "/dev/null",
                        "-H",
                        f"Authorization: {headers['Authorization']}",
                        "-H",
                        "X-Forwarded-Proto: https",
                        f"http://127.0.0.1:{ports[name]}{PATHS['all']}",
                    ],
                    check=True,
                )
        for _ in range(rounds):
            figures.setdefault("bare", []).append(
                _drive(f"http://127.0.0.1:{ports['bare']}/", duration, {}, procs["bare"].pid)
            )
            for endpoint, path in PATHS.items():
                for name in ("before", "after"):
                    url = f"http://127.0.0.1:{ports[name]}{path.format(group=quote(prepared['group']))}"
                    figures.setdefault(f"{name} {endpoint}", []).append(_drive(url, duration, headers, procs[name].pid))
        for name in ("before", "after"):
            writer = subprocess.Popen(
                [sys.executable, "-m", "bench.writer", "--seconds", str(duration + 2), "--rate", "50"],
                cwd=ROOT,
                env=_checkout_env(ROOT),
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(1)
            fig = _drive(f"http://127.0.0.1:{ports[name]}{PATHS['all']}", duration, headers, procs[name].pid)
            fig["writer"] = writer.communicate(timeout=duration + 60)[0].strip()
            figures[f"{name} all, 50 awards/s"] = [fig]
    finally:
        stop(list(procs.values()))
    bare_rps = statistics.median(f["rps"] for f in figures["bare"])
    out["wrk"] = {
        name: {
            "rps": statistics.median(f["rps"] for f in runs),
            "rps_spread": [min(f["rps"] for f in runs), max(f["rps"] for f in runs)],
            "p50_ms": statistics.median(f["p50"] for f in runs),
            "p99_ms": statistics.median(f["p99"] for f in runs),
            "cpu_ms_per_request": statistics.median(f["cpu_ms_per_request"] or 0 for f in runs),
            "x_bare": round(statistics.median(f["rps"] for f in runs) / bare_rps, 3),
            "non2xx": sum(f["non2xx"] for f in runs),
            **({"writer": runs[0]["writer"]} if "writer" in runs[0] else {}),
        }
        for name, runs in figures.items()
    }
    out["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    print(json.dumps(out))


@main.command("probe")
@click.argument("token")
@click.argument("group")
@click.argument("requests", type=int)
def probe_command(token: str, group: str, requests: int) -> None:
    """Per-request counts of the checkout on sys.path (run by `main` in each checkout)."""
    print(json.dumps(probe(token, group, requests)))


if __name__ == "__main__":
    main()
