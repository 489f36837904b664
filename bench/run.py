"""Load-test Vouch against a bare-Flask ceiling with gunicorn + wrk, and print the figures.

    make bench          (or, from the repository root: .venv/bin/python -m bench.run --duration 10)

Needs a seeded PostgreSQL database (bench/seed.py) and Redis. Starts Vouch and a bare Flask
app under identical gunicorn settings (2 sync workers, 127.0.0.1), drives each endpoint with
wrk for a bounded time, and writes bench/results/latest.json and latest.md with req/s,
p50/p99/max latency and the ratio to the bare-Flask req/s.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from urllib.parse import quote

import click

from bench.load import (
    RESULTS,
    ROOT,
    VENV_BIN,
    Figures,
    Workers,
    free_port,
    gunicorn,
    rotating_post,
    rq_queue,
    stop,
    wait_for,
    wait_for_idle_queue,
    wait_for_workers,
    wrk,
)


def flask_cli(env: dict, *args: str) -> str:
    return subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def run_json(env: dict, module: str, *args: str) -> dict:
    """Run a bench module (output streams to the terminal) and parse its last line as JSON."""
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ensure_seeded(env: dict, advocates: int) -> None:
    """Migrate, and seed the program at scale when the database holds fewer advocates than asked."""
    from sqlalchemy import func, select

    from hub.app import create_app
    from hub.extensions import db
    from hub.models import Advocate

    flask_cli(env, "db", "upgrade")
    with create_app().app_context():
        count = db.session.execute(select(func.count()).select_from(Advocate)).scalar_one()
    if count < advocates:
        click.echo(f"Seeding {advocates:,} advocates (the database has {count:,}); this takes a few minutes …")
        subprocess.run(
            [str(VENV_BIN / "flask"), "--app", "bench.app", "bench", "seed", "--advocates", str(advocates)],
            cwd=ROOT,
            env=env,
            check=True,
        )


def endpoints(ids: dict) -> list[dict]:
    adv = {"Authorization": f"Bearer {ids['advocate_token']}", "X-Forwarded-Proto": "https"}
    owner = {"Authorization": f"Bearer {ids['owner_token']}", "X-Forwarded-Proto": "https"}
    cookie = {"Cookie": ids["advocate_cookie"], "X-Forwarded-Proto": "https"}
    return [
        {"name": "leaderboard all + me", "path": "/api/v1/leaderboard?period=all&limit=10", "headers": adv},
        {"name": "leaderboard month + me", "path": "/api/v1/leaderboard?period=month&limit=10", "headers": adv},
        {
            "name": "leaderboard group + me",
            "headers": adv,
            "path": f"/api/v1/leaderboard?period=all&limit=10&group={quote(ids['group'])}",
        },
        {"name": "advocate feed (API)", "path": "/api/v1/challenges", "headers": adv},
        {"name": "advocate hub page (HTML)", "path": "/", "headers": cookie},
        {"name": "program report (owner)", "path": "/api/v1/reports/program", "headers": owner},
        {
            "name": "redeem a reward",
            "path": f"/api/v1/rewards/{ids['reward_id']}/redemptions",
            "script": rotating_post(
                ids["submit_tokens"],
                [f"/api/v1/rewards/{ids['reward_id']}/redemptions"],
                json.dumps({"confirmed_cost": 10}),
            ),
        },
    ]


def completion_stats(challenge_ids: list[int], since) -> dict:
    """Submit→decided latency and the approval rate of the bench completions since `since`."""
    from sqlalchemy import func, select

    from challenges.models import Completion
    from hub.extensions import db

    rows = db.session.execute(
        select(Completion.submitted_at, Completion.decided_at, Completion.status).where(
            Completion.challenge_id.in_(challenge_ids), Completion.submitted_at >= since
        )
    ).all()
    db.session.rollback()
    decided = sorted((d - s).total_seconds() * 1000 for s, d, _ in rows if d is not None)
    approved = [d for _, d, status in rows if d is not None and status == "approved"]
    pick = lambda q: round(decided[min(len(decided) - 1, int(q * len(decided)))], 1) if decided else None  # noqa: E731
    span = (max(approved) - min(approved)).total_seconds() if len(approved) > 1 else None
    return {
        "submitted": len(rows),
        "decided": len(decided),
        "approved": len(approved),
        "p50_ms": pick(0.5),
        "p99_ms": pick(0.99),
        "max_ms": round(decided[-1], 1) if decided else None,
        "approved_per_s": round(len(approved) / span, 1) if span else None,
        "_undecided": db.session.scalar(
            select(func.count())
            .select_from(Completion)
            .where(Completion.challenge_id.in_(challenge_ids), Completion.decided_at.is_(None))
        ),
    }


def wait_until_decided(challenge_ids: list[int], since, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        stats = completion_stats(challenge_ids, since)
        if stats["_undecided"] == 0 or time.monotonic() > deadline:
            return stats
        time.sleep(0.5)


def emails_since(since) -> int:
    from sqlalchemy import func, select

    from hub.email.models import OutboxEmail
    from hub.extensions import db

    found = db.session.execute(
        select(func.count()).select_from(OutboxEmail).where(OutboxEmail.created_at >= since)
    ).scalar_one()
    db.session.rollback()
    return found


def measure_verification(
    env: dict, ids: dict, vouch_port: int, duration: int, connections: int, bare_rps: float
) -> tuple[list[Figures], dict]:
    """Submit latency while the queue fills up; then 2 workers drain the backlog (approvals/s,
    and completions/s counting the approval emails each one queues — what a worker really
    has to keep up with); then paced submits with workers running (submit → approved)."""
    from hub.db import utcnow

    paths = [f"/api/v1/challenges/{cid}/completions" for cid in ids["quiz_ids"]]
    body = json.dumps({"answers": [0]})
    url = f"http://127.0.0.1:{vouch_port}/"
    pending = Workers(env)  # first run what the earlier endpoints queued (redemption emails, token touches)
    pending.start(2)
    try:
        wait_for_idle_queue(env)
    finally:
        pending.stop()
    started = utcnow()
    fig = wrk(url, duration, connections, {}, script=rotating_post(ids["submit_tokens"], paths, body))
    submit = Figures(
        "submit a completion (cap checks + enqueue)",
        paths[0],
        fig["rps"],
        fig["p50"],
        fig["p99"],
        fig["max"],
        fig["non2xx"],
        round(fig["rps"] / bare_rps, 3),
    )
    backlog = rq_queue(env).count
    workers = Workers(env)
    workers.start(2)
    try:
        wait_for_workers(env, 2)
        ready = time.monotonic()
        drained = wait_until_decided(ids["quiz_ids"], started)
        idle = wait_for_idle_queue(env)
        drained["queued_jobs"] = backlog
        drained["emails_queued"] = emails_since(started)
        drained["all_jobs_done_s"] = round(idle - ready, 1)
        drained["completions_per_s_incl_emails"] = round(drained["submitted"] / (idle - ready), 1)
        paced_from = utcnow()
        # Half the rate the workers just sustained, so this measures latency, not a backlog.
        rate = drained["completions_per_s_incl_emails"] or 20
        pace_ms = max(5, int(2000 / (0.5 * rate)))
        wrk(url, duration, 2, {}, script=rotating_post(ids["submit_tokens"][::-1], paths[::-1], body, pace_ms=pace_ms))
        paced = wait_until_decided(ids["quiz_ids"], paced_from)
        wait_for_idle_queue(env)
    finally:
        workers.stop()
    for stats in (drained, paced):
        stats.pop("_undecided")
    return [submit], {
        "backlog drained by 2 workers": drained,
        f"submit → approved, 2 connections pacing {pace_ms} ms, 2 workers": paced,
    }


@click.command()
@click.option("--duration", default=10, show_default=True, help="seconds per endpoint")
@click.option("--connections", default=4, show_default=True, help="wrk connections (2 per gunicorn worker)")
@click.option("--write-rate", default=50.0, show_default=True, help="awards/s streamed during leaderboard reads")
@click.option("--advocates", default=100_000, show_default=True, help="seed this many when the database has fewer")
@click.option("--skip-timings", is_flag=True, help="skip the full rebuild / recompute timings")
def main(duration: int, connections: int, write_rate: float, advocates: int, skip_timings: bool) -> None:
    if not shutil.which("wrk"):
        raise click.ClickException("wrk is missing: apt-get install wrk")
    env = os.environ.copy()
    env.setdefault("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/vouch_bench")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/3")
    env.update(
        {
            "VOUCH_ENV": "production",
            "SECRET_KEY": env.get("SECRET_KEY", "bench-secret-key-not-for-prod"),
            "VOUCH_TRUSTED_PROXIES": "1",
            "VOUCH_API_RATE_LIMIT": "1000000/minute",
        }
    )
    os.environ.update(env)
    RESULTS.mkdir(exist_ok=True)
    ensure_database(env["DATABASE_URL"])
    ensure_seeded(env, advocates)
    timings = {} if skip_timings else run_json(env, "bench.timings")
    ids = run_json(env, "bench.identities")
    vouch_port, bare_port = free_port(), free_port()
    procs = [gunicorn("wsgi:app", vouch_port, env), gunicorn("bench.bare_app:app", bare_port, env)]
    from hub.app import create_app

    try:
        wait_for(vouch_port)
        wait_for(bare_port)
        bare = wrk(f"http://127.0.0.1:{bare_port}/", duration, connections, {})
        results = [
            Figures("bare Flask 'ok'", "/", bare["rps"], bare["p50"], bare["p99"], bare["max"], bare["non2xx"], 1.0)
        ]
        for ep in endpoints(ids):
            fig = wrk(
                f"http://127.0.0.1:{vouch_port}{ep['path']}",
                duration,
                connections,
                ep.get("headers", {}),
                script=ep.get("script"),
            )
            results.append(
                Figures(
                    ep["name"],
                    ep["path"].split("?")[0] if "script" in ep else ep["path"],
                    fig["rps"],
                    fig["p50"],
                    fig["p99"],
                    fig["max"],
                    fig["non2xx"],
                    round(fig["rps"] / bare["rps"], 3),
                )
            )
        results.append(leaderboard_while_awarding(env, ids, vouch_port, duration, connections, write_rate, bare["rps"]))
        with create_app().app_context():
            submit, verification = measure_verification(env, ids, vouch_port, duration, connections, bare["rps"])
        results += submit
    finally:
        stop(procs)
    timings.update(verification)
    timings["busiest advocate"] = {"completions": ids["advocate_completions"], "advocates": ids["advocates"]}
    write_results(results, timings, duration, connections)


def leaderboard_while_awarding(
    env: dict, ids: dict, port: int, duration: int, connections: int, write_rate: float, bare_rps: float
) -> Figures:
    """Leaderboard reads while a writer keeps awarding points (fresh boards, no stampede)."""
    writer = subprocess.Popen(
        [sys.executable, "-m", "bench.writer", "--seconds", str(duration + 2), "--rate", str(write_rate)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)
    path = "/api/v1/leaderboard?period=all&limit=10"
    fig = wrk(
        f"http://127.0.0.1:{port}{path}",
        duration,
        connections,
        {"Authorization": f"Bearer {ids['advocate_token']}", "X-Forwarded-Proto": "https"},
    )
    awarded = writer.communicate(timeout=duration + 30)[0].strip()
    return Figures(
        "leaderboard all + me, awards streaming",
        path,
        fig["rps"],
        fig["p50"],
        fig["p99"],
        fig["max"],
        fig["non2xx"],
        round(fig["rps"] / bare_rps, 3),
        f"writer {awarded} in {duration + 2}s",
    )


def ensure_database(url: str) -> None:
    """Create the PostgreSQL bench database when it does not exist yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if not target.drivername.startswith("postgresql"):
        return
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}):
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    engine.dispose()


def write_results(results: list[Figures], extra: dict, duration: int, connections: int) -> None:
    RESULTS.mkdir(exist_ok=True)
    machine = f"{platform.node()} · {os.cpu_count()} cores · {platform.platform()} · Python {platform.python_version()}"
    payload = {
        "machine": machine,
        "duration_s": duration,
        "connections": connections,
        "endpoints": [asdict(r) for r in results],
        "timings": extra,
    }
    (RESULTS / "latest.json").write_text(json.dumps(payload, indent=2))
    lines = [
        f"Machine: {machine}; wrk -t2 -c{connections} -d{duration}s; gunicorn 2 sync workers.",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | max ms | non-2xx | × bare |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.requests_per_s:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.max_ms:.2f} | "
            f"{r.non_2xx} | {r.ratio_to_bare if r.ratio_to_bare is not None else ''} |"
        )
    for key, value in extra.items():
        lines.append(f"\n{key}: {value}")
    (RESULTS / "latest.md").write_text("\n".join(lines) + "\n")
    click.echo("\n".join(lines))


if __name__ == "__main__":
    main()
