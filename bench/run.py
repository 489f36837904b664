"""Load-test Vouch against a bare-Flask ceiling and an I/O floor with gunicorn + wrk.

    make bench          (or, from the repository root: .venv/bin/python -m bench.run)
    .venv/bin/python -m bench.run --skip-timings --rounds 1 --duration 3 --endpoints lb-all,submit

Needs a seeded PostgreSQL database (bench/seed.py) and Redis. Starts Vouch, a bare Flask app
and the I/O floor (bench/io_floor_app.py) under identical gunicorn settings (2 sync workers,
127.0.0.1), warms every worker of each, then measures in interleaved rounds: each round runs
the ceiling, the floor and every chosen endpoint once with wrk, sampling the server side's CPU
from /proc around each run (bench/procstat.py). Statements and round trips per request are
counted in-process (bench/counts.py). Writes bench/results/latest.json and latest.md: median
and min–max over the rounds of req/s, p50, p99, CPU per request, and the ratios to the ceiling
of the same round (bench/rounds.py).
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
from pathlib import Path
from urllib.parse import quote, urlsplit

import click
from sqlalchemy.engine import make_url

from bench import procstat
from bench.load import (
    RESULTS,
    ROOT,
    VENV_BIN,
    Endpoint,
    Workers,
    free_port,
    gunicorn,
    measure,
    rotating_post,
    rq_queue,
    stop,
    stop_on_sigterm,
    wait_for,
    wait_for_idle_queue,
    wait_for_workers,
    warm_up,
    wrk,
)
from bench.rounds import Run, fmt, summarise


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


def link_challenges(env: dict, root: Path = ROOT, python: str = sys.executable) -> dict:
    """Fresh link challenges for "submit-link" (bench/link_challenges.py, run with `python` in the
    checkout `root`, whose code creates them): {"link_ids", "link_domain"}."""
    proc = subprocess.run(
        [python, str(Path(__file__).with_name("link_challenges.py")), "--root", str(root)],
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


# Every key --endpoints accepts, in the order of a round. "bare" (the ceiling) and "floor" (the
# I/O floor) are always measured; "workers" is the background phase after the rounds.
KEYS = (
    "lb-all",
    "lb-month",
    "lb-group",
    "lb-streaming",
    "feed",
    "hub",
    "report",
    "redeem",
    "submit",
    "submit-link",
    "workers",
)


def endpoints(ids: dict) -> list[Endpoint]:
    """Vouch's measured endpoints. The last submit token is kept out of wrk's rotation for the
    in-process counts (bench/counts.py), so that their (advocate, challenge) pairs stay fresh."""
    adv = {"Authorization": f"Bearer {ids['advocate_token']}", "X-Forwarded-Proto": "https"}
    owner = {"Authorization": f"Bearer {ids['owner_token']}", "X-Forwarded-Proto": "https"}
    cookie = {"Cookie": ids["advocate_cookie"], "X-Forwarded-Proto": "https"}
    rotation = ids["submit_tokens"][:-1]
    redeem_path = f"/api/v1/rewards/{ids['reward_id']}/redemptions"
    quiz_paths = [f"/api/v1/challenges/{cid}/completions" for cid in ids["quiz_ids"]]
    link_paths = [f"/api/v1/challenges/{cid}/completions" for cid in ids.get("link_ids", [])]
    board = "/api/v1/leaderboard?period=all&limit=10"
    return [
        Endpoint("lb-all", "leaderboard all + me", board, adv),
        Endpoint("lb-month", "leaderboard month + me", "/api/v1/leaderboard?period=month&limit=10", adv),
        Endpoint("lb-group", "leaderboard group + me", f"{board}&group={quote(ids['group'])}", adv),
        Endpoint("lb-streaming", "leaderboard all + me, awards streaming", board, adv, during="writer"),
        Endpoint("feed", "advocate feed (API)", "/api/v1/challenges", adv),
        Endpoint("hub", "advocate hub page (HTML)", "/", cookie),
        Endpoint("report", "program report (owner)", "/api/v1/reports/program", owner),
        Endpoint(
            "redeem",
            "redeem a reward",
            redeem_path,
            rotating=(rotation, [redeem_path], json.dumps({"confirmed_cost": 10})),
        ),
        Endpoint(
            "submit",
            "submit a completion (cap checks + enqueue)",
            quiz_paths[0],
            rotating=(rotation, quiz_paths, json.dumps({"answers": [0]})),
        ),
        *(
            [
                Endpoint(
                    "submit-link",
                    "submit a link (evidence URL claimed, link check queued)",
                    link_paths[0],
                    rotating=(rotation, link_paths, link_body(ids)),
                )
            ]
            if link_paths
            else []
        ),
    ]


def link_body(ids: dict, k: str = "{k}") -> str:
    """A link submission's body; `{k}` (left in for wrk's script) makes each request's URL its own
    and the run's first (fresh) link challenge makes it the run's, so that no submission hits the
    duplicate-URL rule (on the trust branch a duplicate is looked up and may go to review: not
    like for like)."""
    domain = ids.get("link_domain", "share.bench.example")
    return json.dumps({"evidence_url": f"https://{domain}/post/{ids['link_ids'][0]}-{k}"})


def count_specs(ids: dict, chosen: list[Endpoint]) -> list[dict]:
    """The requests bench/counts.py counts in-process, one per chosen endpoint: the GETs as
    wrk sends them; submit and redeem with the token kept out of the rotation (its warm-up
    submits to the first bench quiz, the counted one to the second)."""
    token = ids["submit_tokens"][-1]
    post = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "X-Forwarded-Proto": "https"}
    specs = []
    for ep in chosen:
        if ep.key == "submit":
            first, second = (f"/api/v1/challenges/{cid}/completions" for cid in ids["quiz_ids"][:2])
            body = json.dumps({"answers": [0]})
            specs.append(
                {
                    "name": ep.name,
                    "method": "POST",
                    "path": second,
                    "headers": post,
                    "body": body,
                    "warmup": {"method": "POST", "path": first, "headers": post, "body": body},
                }
            )
        elif ep.key == "submit-link":
            first, second = (f"/api/v1/challenges/{cid}/completions" for cid in ids["link_ids"][:2])
            specs.append(
                {
                    "name": ep.name,
                    "method": "POST",
                    "path": second,
                    "headers": post,
                    "body": link_body(ids, "counted"),
                    "warmup": {"method": "POST", "path": first, "headers": post, "body": link_body(ids, "warm-up")},
                }
            )
        elif ep.key == "redeem" and ep.rotating is not None:
            specs.append({"name": ep.name, "method": "POST", "path": ep.path, "headers": post, "body": ep.rotating[2]})
        elif ep.during is None:
            specs.append({"name": ep.name, "method": "GET", "path": ep.path, "headers": ep.headers})
    return specs


def count_requests(env: dict, app: str, specs: list[dict], root=ROOT, python: str = sys.executable) -> dict:
    """Statements and round trips per request of `specs`, counted in-process by bench/counts.py
    run with `python` in the checkout `root`."""
    proc = subprocess.run(
        [python, str(Path(__file__).with_name("counts.py")), "--root", str(root), "--app", app],
        input=json.dumps(specs),
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


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
    env: dict, ids: dict, submit: Endpoint, base_url: str, duration: int, connections: int
) -> dict:
    """Background work, after the rounds: 2 workers first drain what the rounds queued; then a
    backlog is submitted with wrk and drained by 2 workers (approvals/s, and completions/s
    counting the approval emails each one queues — what a worker really has to keep up with);
    then paced submits with workers running (submit → approved)."""
    from hub.db import utcnow

    pending = Workers(env)
    pending.start(2)
    try:
        wait_for_idle_queue(env)
    finally:
        pending.stop()
    started = utcnow()
    submit.run_wrk(base_url, duration, connections)
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
        tokens, paths, body = submit.rotating or ([], [], "")
        wrk(
            base_url + submit.path,
            duration,
            2,
            {},
            script=rotating_post(tokens, paths, body, pace_ms=pace_ms, offset=submit.offset),
        )
        paced = wait_until_decided(ids["quiz_ids"], paced_from)
        wait_for_idle_queue(env)
    finally:
        workers.stop()
    for stats in (drained, paced):
        stats.pop("_undecided")
    return {
        "backlog drained by 2 workers": drained,
        f"submit → approved, 2 connections pacing {pace_ms} ms, 2 workers": paced,
    }


@click.command()
@click.option("--duration", default=10, show_default=True, help="seconds per endpoint and round")
@click.option("--rounds", default=3, show_default=True, help="interleaved rounds (ceiling, floor, endpoints …)")
@click.option(
    "--endpoints",
    "chosen",
    default=",".join(KEYS),
    show_default=True,
    help="comma-separated subset; the ceiling and the I/O floor are always measured",
)
@click.option("--connections", default=4, show_default=True, help="wrk connections (2 per gunicorn worker)")
@click.option("--write-rate", default=50.0, show_default=True, help="awards/s streamed during leaderboard reads")
@click.option("--advocates", default=100_000, show_default=True, help="seed this many when the database has fewer")
@click.option("--skip-timings", is_flag=True, help="skip the full rebuild / recompute timings")
def main(
    duration: int, rounds: int, chosen: str, connections: int, write_rate: float, advocates: int, skip_timings: bool
) -> None:
    if not shutil.which("wrk"):
        raise click.ClickException("wrk is missing: apt-get install wrk")
    stop_on_sigterm()
    keys = [k.strip() for k in chosen.split(",") if k.strip()]
    unknown = sorted(set(keys) - set(KEYS))
    if unknown:
        raise click.ClickException(f"unknown endpoints {', '.join(unknown)}; choose from {', '.join(KEYS)}")
    env = bench_env()
    RESULTS.mkdir(exist_ok=True)
    ensure_database(env["DATABASE_URL"])
    ensure_seeded(env, advocates)
    timings = {} if skip_timings else run_json(env, "bench.timings")
    ids = run_json(env, "bench.identities")
    if "submit-link" in keys:
        ids |= link_challenges(env)
    everything = endpoints(ids)
    chosen_eps = [ep for ep in everything if ep.key in keys]
    counts = {}
    for app, specs in (
        ("bench.bare_app:app", [{"name": CEILING, "path": "/"}]),
        ("bench.io_floor_app:app", [{"name": FLOOR, "path": "/"}]),
        ("wsgi:app", count_specs(ids, chosen_eps)),
    ):
        counts.update(count_requests(env, app, specs))
    database = make_url(env["DATABASE_URL"]).database or ""
    # A warm worker holds connections to PostgreSQL and Redis.
    io_ports = frozenset({make_url(env["DATABASE_URL"]).port or 5432, urlsplit(env["REDIS_URL"]).port or 6379})
    ports = {"vouch": free_port(), "bare": free_port(), "floor": free_port()}
    servers = {
        "vouch": gunicorn("wsgi:app", ports["vouch"], env),
        "bare": gunicorn("bench.bare_app:app", ports["bare"], env),
        "floor": gunicorn("bench.io_floor_app:app", ports["floor"], env),
    }
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    ceiling, floor = Endpoint("bare", CEILING, "/"), Endpoint("floor", FLOOR, "/")
    warm_passes = {}
    measured: list[dict[str, Run]] = []
    verification: dict = {}
    try:
        for port in ports.values():
            wait_for(port)
        warm_passes["bare"] = warm_up(servers["bare"].pid, url["bare"], [ceiling], connections)
        warm_passes["floor"] = warm_up(servers["floor"].pid, url["floor"], [floor], connections, io_ports)
        # The report takes seconds per request at bench scale: it is warmed by the first round.
        warm_passes["vouch"] = warm_up(
            servers["vouch"].pid,
            url["vouch"],
            [ep for ep in chosen_eps if ep.key != "report"] or chosen_eps,
            connections,
            io_ports,
        )
        for number in range(1, rounds + 1):
            this_round: dict[str, Run] = {}
            for server, ep in [("bare", ceiling), ("floor", floor)] + [("vouch", ep) for ep in chosen_eps]:
                click.echo(f"round {number}/{rounds}: {ep.name} (load {procstat.load_average()})", err=True)
                side = start_side_load(env, ep, duration, write_rate)
                try:
                    this_round[ep.name] = measure(
                        ep, url[server], duration, connections, [servers[server].pid], database
                    )
                finally:
                    if side is not None:
                        ep_note = side.communicate(timeout=duration + 30)[0].strip()
                        this_round[ep.name].note = f"writer {ep_note} in {duration + 2}s"
            measured.append(this_round)
        if "workers" in keys:
            submit = next(ep for ep in everything if ep.key == "submit")
            submit.offset = max(submit.offset, next((ep.offset for ep in chosen_eps if ep.key == "submit"), 0))
            from hub.app import create_app

            with create_app().app_context():
                verification = measure_verification(env, ids, submit, url["vouch"], duration, connections)
    finally:
        stop(list(servers.values()))
    timings.update(verification)
    timings["busiest advocate"] = {"completions": ids["advocate_completions"], "advocates": ids["advocates"]}
    timings["warm-up passes per server"] = warm_passes
    write_results(measured, counts, timings, duration, connections)


CEILING = "bare Flask 'ok' (ceiling)"
FLOOR = "I/O floor: 1 PK SELECT + 1 Redis GET"


def bench_env() -> dict:
    """The environment every bench process gets: the bench database and Redis (defaults
    vouch_bench and db 3), production mode, rate limits out of the way."""
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
    return env


def start_side_load(env: dict, ep: Endpoint, duration: int, write_rate: float) -> subprocess.Popen | None:
    """The writer that keeps awarding points during a "writer" endpoint's run (started a second
    early, so the boards are changing when wrk starts)."""
    if ep.during != "writer":
        return None
    writer = subprocess.Popen(
        [sys.executable, "-m", "bench.writer", "--seconds", str(duration + 2), "--rate", str(write_rate)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)
    return writer


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


def statements(count: dict) -> str:
    """The SQL cell: "12 + 2 tx + 1 ping" for 12 SQL statements, 2 transaction-control ones
    (BEGIN, COMMIT …) and one pool pre-ping; "" when nothing was counted."""
    if not count:
        return ""
    control, pings = count.get("transaction_control", 0), count.get("pings", 0)
    return f"{count['statements']}" + (f" + {control} tx" if control else "") + (f" + {pings} ping" if pings else "")


def write_results(measured: list[dict[str, Run]], counts: dict, extra: dict, duration: int, connections: int) -> None:
    """bench/results/latest.json (every run of every round, the summaries, the counts) and
    latest.md (one table: medians with min–max over the rounds, ratios taken per round)."""
    RESULTS.mkdir(exist_ok=True)
    machine = f"{platform.node()} · {os.cpu_count()} cores · {platform.platform()} · Python {platform.python_version()}"
    summary = summarise(measured, CEILING, FLOOR)
    payload = {
        "machine": machine,
        "duration_s": duration,
        "connections": connections,
        "rounds": [{name: asdict(run) for name, run in r.items()} for r in measured],
        "summary": {name: asdict(s) for name, s in summary.items()},
        "counts_per_request": counts,
        "timings": extra,
    }
    (RESULTS / "latest.json").write_text(json.dumps(payload, indent=2))
    loads = [run.load for r in measured for run in r.values()]
    lines = [
        f"Machine: {machine}; wrk -t2 -c{connections} -d{duration}s per endpoint and round, "
        f"{len(measured)} interleaved rounds; gunicorn 2 sync workers; load average (1/5/15 min) "
        f"from {loads[0] if loads else '?'} to {loads[-1] if loads else '?'}.",
        "Cells: median (min–max) over the rounds; × bare and × floor are taken within each round (req/s over the "
        "ceiling's or the I/O floor's; by CPU: their CPU per request over the endpoint's). CPU = gunicorn master + "
        "workers, the bench database's PostgreSQL backends and redis-server (shared), per completed request.",
        "",
        "| endpoint | req/s | × bare | × floor | p50 ms | p99 ms | CPU ms/req | CPU × bare | CPU × floor "
        "| CPU app / pg / redis ms | SQL stmts | DB round trips | Redis round trips | non-2xx |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in summary.items():
        c = counts.get(name, {})
        split = " / ".join("—" if v is None else f"{v:.2f}" for v in s.cpu_split_ms.values())
        lines.append(
            f"| {name} | {fmt(s.rps, 0)} | {fmt(s.ratio, 3)} | {fmt(s.floor_ratio, 2)} | {fmt(s.p50_ms, 2)} | "
            f"{fmt(s.p99_ms, 2)} | {fmt(s.cpu_ms, 2)} | {fmt(s.cpu_ratio, 3)} | {fmt(s.floor_cpu_ratio, 2)} | "
            f"{split} | {statements(c)} | "
            f"{c.get('db_round_trips', '')} | {c.get('redis_round_trips', '')} | {s.non_2xx} |"
        )
    notes = sorted({f"{name}: {run.note}" for r in measured for name, run in r.items() if run.note})
    lines += ["", *notes] if notes else []
    for key, value in extra.items():
        lines.append(f"\n{key}: {value}")
    (RESULTS / "latest.md").write_text("\n".join(lines) + "\n")
    click.echo("\n".join(lines))


if __name__ == "__main__":
    main()
