"""The feed and the hub page under gunicorn + wrk, interleaved with the bare-Flask ceiling and,
optionally, with another checkout of Vouch (before/after on the same database and load).

    .venv/bin/python -m bench.feed_wrk --rounds 3 --duration 5 [--base /path/to/other/checkout]

Uses `DATABASE_URL` / `REDIS_URL` like bench.feed (a copy of the bench database). Starts, under
bench/run.py's gunicorn settings (2 sync workers, 127.0.0.1, VOUCH_ENV=production): the bare app,
this checkout's Vouch and, with `--base`, the other checkout's Vouch (run from that directory,
same virtualenv). Warms every server, then runs `--rounds` rounds; each round runs wrk
(-t2 -c4) on: bare, then for each Vouch — the busiest advocate's feed, a new advocate's feed,
the busiest advocate's hub page. Prints each figure with its ratio to the bare run of the same
round, the median over rounds, the load average and the CPU per request of the server side
(bench.procstat: the gunicorn master and workers, the database's backends and redis-server, read
from /proc around each run; "all" and the app's share). Nothing is asserted.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
from pathlib import Path

import click

from bench import procstat
from bench.feed import PASSWORD, actors
from bench.load import RESULTS, VENV_BIN, free_port, stop, wait_for, wrk

ROOT = Path(__file__).resolve().parent.parent


def server(app_path: str, port: int, env: dict, cwd: Path, name: str) -> subprocess.Popen:
    RESULTS.mkdir(exist_ok=True)
    log = (RESULTS / f"gunicorn-feed-{name}.log").open("w")
    return subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "-w",
            "2",
            "-k",
            "sync",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app_path,
        ],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def session_cookie(app, email: str) -> str:
    client = app.test_client()
    client.post("/login", data={"email": email, "password": PASSWORD}, base_url="https://localhost")
    cookie = client.get_cookie("session")
    if cookie is None:
        raise click.ClickException(f"could not log in as {email}")
    return f"session={cookie.value}"


@click.command()
@click.option("--rounds", default=3, show_default=True)
@click.option("--duration", default=5, show_default=True, help="seconds per wrk run")
@click.option("--base", type=click.Path(exists=True, file_okay=False), help="another checkout to compare with")
def main(rounds: int, duration: int, base: str | None) -> None:
    from hub.app import create_app

    env = os.environ.copy()
    if env["DATABASE_URL"].rstrip("/").endswith("/vouch_bench"):
        raise click.ClickException("use a copy of the bench database, not the master vouch_bench")
    env.update(
        {
            "VOUCH_ENV": "production",
            "SECRET_KEY": env.get("SECRET_KEY", "feed-bench-secret-key-not-for-production-use-0123456789"),
            "VOUCH_TRUSTED_PROXIES": "1",
            "VOUCH_API_RATE_LIMIT": "1000000/minute",
            "VOUCH_LOG_FORMAT": "plain",
        }
    )
    os.environ.update(env)
    app = create_app({"WTF_CSRF_ENABLED": False})
    people = actors(app)
    cookie = session_cookie(app, people["busiest"]["email"])
    https = {"X-Forwarded-Proto": "https"}
    paths = {
        "feed, busiest": ("/api/v1/challenges", {**https, "Authorization": f"Bearer {people['busiest']['token']}"}),
        "feed, new": ("/api/v1/challenges", {**https, "Authorization": f"Bearer {people['new']['token']}"}),
        "hub page, busiest": ("/", {**https, "Cookie": cookie}),
    }
    ports = {"bare": free_port(), "this": free_port()}
    procs = [
        server("bench.bare_app:app", ports["bare"], env, ROOT, "bare"),
        server("wsgi:app", ports["this"], env, ROOT, "this"),
    ]
    if base:
        ports["base"] = free_port()
        procs.append(server("wsgi:app", ports["base"], env, Path(base), "base"))
    figures: dict[str, list[dict]] = {}
    database = env["DATABASE_URL"].rsplit("/", 1)[-1].split("?")[0]
    masters = dict(zip(ports, (p.pid for p in procs), strict=True))

    def measured(name: str, url: str, headers: dict) -> dict:
        """One wrk run with the CPU of `name`'s server side per request."""
        before = procstat.cpu_sample([masters[name]], database)
        fig = wrk(url, duration, 4, headers)
        after = procstat.cpu_sample([masters[name]], database)
        cpu = procstat.cpu_per_request(before, after, fig["requests"], procstat.clock_ticks_per_second())
        return fig | {"cpu_all": cpu["all"], "cpu_app": cpu["app"]}

    try:
        for port in ports.values():
            wait_for(port, timeout=120)
        for name, port in ports.items():  # warm: every worker imported and connected
            for path, headers in [("/", {})] if name == "bare" else paths.values():
                wrk(f"http://127.0.0.1:{port}{path}", 2, 4, headers)
        for _ in range(rounds):
            load = os.getloadavg()[0]
            bare = measured("bare", f"http://127.0.0.1:{ports['bare']}/", {})
            figures.setdefault("bare", []).append(bare | {"ratio": 1.0, "load": load})
            for name in [n for n in ("base", "this") if n in ports]:
                for label, (path, headers) in paths.items():
                    fig = measured(name, f"http://127.0.0.1:{ports[name]}{path}", headers)
                    if fig["non2xx"]:
                        raise click.ClickException(f"{name} {label}: {fig['non2xx']} non-2xx responses")
                    fig |= {"ratio": round(fig["rps"] / bare["rps"], 4), "load": os.getloadavg()[0]}
                    figures.setdefault(f"{name}: {label}", []).append(fig)
    finally:
        stop(procs)
    click.echo(f"wrk -t2 -c4 -d{duration}s, {rounds} interleaved rounds; gunicorn 2 sync workers")
    click.echo(
        "| run | req/s (median) | p50 ms | p99 ms | × bare (median, range) | CPU ms/req all (app) | "
        "CPU × bare | load average |"
    )
    click.echo("|---|---|---|---|---|---|---|---|")
    bare_cpu = statistics.median(r["cpu_all"] or 0 for r in figures["bare"])
    for name, runs in figures.items():
        ratios = [r["ratio"] for r in runs]
        cpu_all = statistics.median(r["cpu_all"] or 0 for r in runs)
        click.echo(
            f"| {name} | {statistics.median(r['rps'] for r in runs):,.0f} | "
            f"{statistics.median(r['p50'] for r in runs):.1f} | {statistics.median(r['p99'] for r in runs):.1f} | "
            f"{statistics.median(ratios):.3f} ({min(ratios):.3f}–{max(ratios):.3f}) | "
            f"{cpu_all:.2f} ({statistics.median(r['cpu_app'] or 0 for r in runs):.2f}) | "
            f"{bare_cpu / cpu_all if cpu_all else 0:.3f} | "
            f"{min(r['load'] for r in runs):.1f}–{max(r['load'] for r in runs):.1f} |"
        )
    click.echo(json.dumps(figures))


if __name__ == "__main__":
    main()
