"""Scale-out run: two gunicorn instances and four RQ workers on one PostgreSQL + Redis.

    make bench-scale       (or: .venv/bin/python -m bench.scale_out --advocates 20000)

Proves the rules hold across processes, then measures what the pair serves:

1. **Races across instances.** The parallel race cases of the test suite, with requests
   split between the two instances (thread i talks to instance i mod 2), all released by one
   barrier, repeated `--rounds` times; exact outcomes are asserted and the run stops at the
   first violation:
   - stock 1, 20 advocates redeem at once → one 201, 19 × `out_of_stock`, stock 0, one debit;
   - medium-ask cap 1, one advocate submits 10 medium challenges at once → one 201, 9 × `cap_reached`;
   - 10 × the same redemption with the same `Idempotency-Key` → one redemption, one debit,
     every 201 replays the same redemption, the rest 409 `invalid_state`;
   - 20 identical submissions → one 201, 19 × `already_submitted`;
   - two managers approve one completion, one per instance → one 200, one `invalid_state`, one award.
2. **Throughput.** wrk on both instances at once (reads: leaderboard and feed; writes: quiz
   submissions, each a fresh advocate/challenge pair), then the four workers drain the
   verification backlog (jobs/s, approvals counted from the database).
3. **Leaderboards equal the ledger** after all of it: the Redis all-time board, written
   incrementally by two web instances and four workers, is compared member by member with the
   ledger's sums.

Writes bench/results/scale-out.json and scale-out.md. Defaults: DATABASE_URL
postgresql+psycopg://postgres@127.0.0.1:5432/vouch_bench_scale (seeded with --advocates when
smaller), REDIS_URL redis://127.0.0.1:6379/4.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import cast

import click
import requests

from bench.load import (
    RESULTS,
    ROOT,
    VENV_BIN,
    Workers,
    free_port,
    rotating_post,
    stop,
    wait_for,
    wait_for_idle_queue,
    wait_for_workers,
    wrk,
)
from bench.run import ensure_database, ensure_seeded, run_json, wait_until_decided

HTTPS = {"X-Forwarded-Proto": "https"}  # as the TLS proxy in front says (VOUCH_TRUSTED_PROXIES=1)


class RaceFailed(AssertionError):
    pass


def expect(what: str, got, wanted) -> None:
    if got != wanted:
        raise RaceFailed(f"{what}: got {got!r}, expected {wanted!r}")


def instance(port: int, log_name: str, env: dict) -> subprocess.Popen:
    """One gunicorn instance with the production config (WEB_CONCURRENCY sync workers)."""
    log = (RESULTS / log_name).open("w")
    return subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "--config", "python:hub.gunicorn_config", "wsgi:app"],
        cwd=ROOT,
        env=env | {"PORT": str(port)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def together(n: int, work: Callable[[int], object]) -> Counter:
    """work(i) in n threads released by one barrier; counts what they return."""
    barrier = threading.Barrier(n)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        result = work(i)
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def answer(response: requests.Response):
    if response.status_code < 400:
        return response.status_code
    return response.json()["error"]["code"]


class Program:
    """Fresh actors for one round, made in the bench database (committed)."""

    def __init__(self) -> None:
        self.tag = secrets.token_hex(3)
        self.n = 0

    def advocate(self, points: int = 0) -> tuple[int, str]:
        from hub.accounts import AdvocateProfile, create_advocate
        from hub.extensions import db
        from hub.tokens import create_api_token
        from rewards.ledger import post_entry

        self.n += 1
        advocate = create_advocate(
            AdvocateProfile(email=f"scale-{self.tag}-{self.n}@example.com", name=f"Scale {self.tag} {self.n}"),
            None,
            None,
        )
        if points:
            post_entry(
                advocate.id,
                points,
                kind="earn",
                source_type="bench",
                source_id=f"scale-{self.tag}-{self.n}",
                memo="Scale-out seed",
            )
        _, token = create_api_token(advocate.user, "scale-out", None)
        db.session.commit()
        return advocate.id, token

    def manager(self) -> str:
        from hub.accounts import create_user
        from hub.extensions import db
        from hub.tokens import create_api_token

        self.n += 1
        user = create_user(f"scale-{self.tag}-m{self.n}@example.com", "Scale manager", "manager", None)
        _, token = create_api_token(user, "scale-out", None)
        db.session.commit()
        return token

    def challenge(self, **values) -> int:
        from challenges import services
        from hub.extensions import db

        self.n += 1
        data = {"title": f"Scale {self.tag} {self.n}", "type": "custom", "points": 50} | values
        challenge = services.create_challenge(services.clean_challenge(data), None)
        services.publish_challenge(challenge.id, None)
        db.session.commit()
        return challenge.id

    def reward(self, **values) -> int:
        from hub.extensions import db
        from rewards import catalog

        body = {"name": f"Scale {self.tag} mug", "kind": "swag", "points_cost": 10, "needs_shipping": False} | values
        reward = catalog.create_reward(catalog.read_reward_input(body, partial=False), None)
        db.session.commit()
        return reward.id


def count(sql: str, **params) -> int:
    from sqlalchemy import text

    from hub.extensions import db

    found = db.session.scalar(text(sql), params)
    db.session.rollback()
    return found


def run_races(bases: list[str]) -> dict[str, Counter]:
    """One round of every race, requests alternating between the instances."""
    program = Program()

    def post(i: int, path: str, token: str, **kw) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} | HTTPS
        return requests.post(bases[i % len(bases)] + path, headers=headers, timeout=30, **kw)

    seen: dict[str, Counter] = {}

    # Stock 1, 20 advocates at once.
    reward_id = program.reward(stock=1)
    buyers = [program.advocate(points=100) for _ in range(20)]
    seen["stock 1, 20 redeem"] = outcomes = together(
        20,
        lambda i: answer(
            requests.post(
                f"{bases[i % 2]}/api/v1/rewards/{reward_id}/redemptions",
                json={"confirmed_cost": 10},
                headers={"Authorization": f"Bearer {buyers[i][1]}"} | HTTPS,
                timeout=30,
            )
        ),
    )
    expect("stock 1 outcomes", outcomes, Counter({201: 1, "out_of_stock": 19}))
    expect("stock 1 redemptions", count("SELECT count(*) FROM redemptions WHERE reward_id = :r", r=reward_id), 1)
    expect("stock 1 left", count("SELECT stock_remaining FROM rewards WHERE id = :r", r=reward_id), 0)
    expect(
        "stock 1 debits",
        count(
            "SELECT count(*) FROM ledger_entries WHERE kind = 'redeem' AND advocate_id = ANY(:a)",
            a=[b[0] for b in buyers],
        ),
        1,
    )

    # Medium-ask cap (1 per 60 days by default), 10 medium challenges at once.
    asker_id, asker = program.advocate()
    webinars = [program.challenge(type="webinar") for _ in range(10)]
    seen["cap 1, 10 medium asks"] = outcomes = together(
        10,
        lambda i: answer(
            requests.post(
                f"{bases[i % 2]}/api/v1/challenges/{webinars[i]}/completions",
                json={"evidence_text": "joined"},
                headers={"Authorization": f"Bearer {asker}"} | HTTPS,
                timeout=30,
            )
        ),
    )
    expect("cap outcomes", outcomes, Counter({201: 1, "cap_reached": 9}))
    expect("cap asks", count("SELECT count(*) FROM asks WHERE advocate_id = :a", a=asker_id), 1)

    # The same Idempotency-Key ten times at once.
    spender_id, spender = program.advocate(points=100)
    unlimited = program.reward()
    key = f"scale-{program.tag}-click"
    ids: list[int] = []

    def redeem_with_key(i: int):
        response = requests.post(
            f"{bases[i % 2]}/api/v1/rewards/{unlimited}/redemptions",
            json={"confirmed_cost": 10},
            headers={"Authorization": f"Bearer {spender}", "Idempotency-Key": key} | HTTPS,
            timeout=30,
        )
        if response.status_code == 201:
            ids.append(response.json()["id"])
        return answer(response)

    seen["same Idempotency-Key × 10"] = outcomes = together(10, redeem_with_key)
    expect("idempotent outcomes", set(outcomes) - {201, "invalid_state"}, set())
    expect("idempotent replays", len(set(ids)), 1)
    expect("idempotent redemptions", count("SELECT count(*) FROM redemptions WHERE advocate_id = :a", a=spender_id), 1)
    expect("idempotent balance", count("SELECT balance FROM advocates WHERE id = :a", a=spender_id), 90)

    # 20 identical submissions.
    submitter_id, submitter = program.advocate()
    custom = program.challenge()
    seen["20 identical submissions"] = outcomes = together(
        20,
        lambda i: answer(post(i, f"/api/v1/challenges/{custom}/completions", submitter, json={"evidence_text": "x"})),
    )
    expect("identical outcomes", outcomes, Counter({201: 1, "already_submitted": 19}))

    # Two managers approve the same completion, one per instance.
    managers = [program.manager(), program.manager()]
    completion_id = count("SELECT id FROM completions WHERE advocate_id = :a", a=submitter_id)
    seen["two approvals at once"] = outcomes = together(
        2, lambda i: answer(post(i, f"/api/v1/completions/{completion_id}/approve", managers[i]))
    )
    expect("approval outcomes", outcomes, Counter({200: 1, "invalid_state": 1}))
    expect(
        "approval awards",
        count("SELECT count(*) FROM ledger_entries WHERE advocate_id = :a AND kind = 'earn'", a=submitter_id),
        1,
    )
    return seen


def leaderboard_matches_ledger() -> dict:
    """The Redis all-time board, member by member, against the ledger's lifetime sums."""
    from sqlalchemy import select

    from hub.extensions import db
    from hub.models import Advocate
    from hub.redis_client import require_redis
    from rewards import leaderboard
    from rewards.models import LedgerEntry, lifetime_expression

    expected: dict[int, int] = dict(
        db.session.execute(
            select(LedgerEntry.advocate_id, lifetime_expression())
            .join(Advocate, Advocate.id == LedgerEntry.advocate_id)
            .where(Advocate.is_erased.is_(False))
            .group_by(LedgerEntry.advocate_id)
            .having(lifetime_expression() > 0)
        ).all()
    )
    db.session.rollback()
    board = require_redis().zrange(leaderboard.redis_key(leaderboard.period_key("all")), 0, -1, withscores=True)
    # withscores=True: (member, score) pairs, which redis-py's return type does not distinguish.
    pairs = cast("list[tuple[bytes, float]]", board)
    actual = {leaderboard._advocate_from_member(member): leaderboard.points_of(score) for member, score in pairs}
    differing = {a for a in expected.keys() | actual.keys() if expected.get(a) != actual.get(a)}
    if differing:
        sample = sorted(differing)[:5]
        raise RaceFailed(
            f"{len(differing)} advocates differ between Redis and the ledger, e.g. "
            + ", ".join(f"{a}: redis {actual.get(a)} ledger {expected.get(a)}" for a in sample)
        )
    return {"advocates_on_board": len(actual), "points_on_board": sum(actual.values()), "differing": 0}


def wrk_both(ports: list[int], path: str, duration: int, connections: int, headers=None, scripts=None) -> dict:
    """wrk against both instances at once (one wrk each, in parallel threads); sums req/s."""
    results: list[dict] = [{}, {}]

    def drive(k: int) -> None:
        results[k] = wrk(
            f"http://127.0.0.1:{ports[k]}{path}",
            duration,
            connections,
            headers or {},
            script=scripts[k] if scripts else None,
        )

    threads = [threading.Thread(target=drive, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "requests_per_s": round(sum(r["rps"] for r in results), 1),
        "per_instance": [round(r["rps"], 1) for r in results],
        "p50_ms": max(r["p50"] for r in results),
        "p99_ms": max(r["p99"] for r in results),
        "non_2xx": sum(r["non2xx"] for r in results),
    }


@click.command()
@click.option("--advocates", default=20_000, show_default=True, help="seed this many when the database has fewer")
@click.option("--rounds", default=3, show_default=True, help="times each race runs")
@click.option("--duration", default=10, show_default=True, help="seconds per wrk run")
@click.option("--connections", default=4, show_default=True, help="wrk connections per instance")
@click.option("--web-concurrency", default=2, show_default=True, help="gunicorn workers per instance")
@click.option("--workers", default=4, show_default=True, help="RQ workers")
def main(advocates: int, rounds: int, duration: int, connections: int, web_concurrency: int, workers: int) -> None:
    if not shutil.which("wrk"):
        raise click.ClickException("wrk is missing: apt-get install wrk")
    env = os.environ.copy()
    env.setdefault("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/vouch_bench_scale")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        {
            "VOUCH_ENV": "production",
            "SECRET_KEY": env.get("SECRET_KEY", "bench-secret-key-not-for-prod-0123456789"),
            "VOUCH_TRUSTED_PROXIES": "1",
            "VOUCH_API_RATE_LIMIT": "1000000/minute",
            "WEB_CONCURRENCY": str(web_concurrency),
        }
    )
    os.environ.update(env)
    RESULTS.mkdir(exist_ok=True)
    ensure_database(env["DATABASE_URL"])
    ensure_seeded(env, advocates)
    ids = run_json(env, "identities.py", "--submitters", "600", "--quizzes", "20")
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    web = [instance(p, f"scale-web-{k}.log", env) for k, p in enumerate(ports)]
    pool = Workers(env)
    report: dict = {
        "machine": f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}",
        "layout": f"2 gunicorn instances × {web_concurrency} sync workers, {workers} RQ workers "
        "(VouchSimpleWorker), one PostgreSQL, one Redis, all on this machine",
        "advocates": ids["advocates"],
    }
    from hub.app import create_app
    from hub.db import utcnow

    try:
        for port in ports:
            wait_for(port)
        pool.start(workers)
        wait_for_workers(env, workers)
        wait_for_idle_queue(env)
        with create_app().app_context():
            races: dict[str, dict] = {}
            for round_no in range(rounds):
                for name, outcomes in run_races(bases).items():
                    races.setdefault(name, {})[f"round {round_no + 1}"] = dict(outcomes)
                click.echo(f"race round {round_no + 1}/{rounds}: every outcome exact")
            report["races (all exact)"] = races

            adv = {"Authorization": f"Bearer {ids['advocate_token']}"} | HTTPS
            board = "/api/v1/leaderboard?period=all&limit=10"
            alone = wrk(f"{bases[0]}{board}", duration, 2 * connections, adv)
            report["leaderboard all + me, one instance alone (same connections in all)"] = {
                "requests_per_s": round(alone["rps"], 1),
                "p50_ms": alone["p50"],
                "p99_ms": alone["p99"],
                "non_2xx": alone["non2xx"],
            }
            report["leaderboard all + me, both instances"] = wrk_both(ports, board, duration, connections, adv)
            report["advocate feed, both instances"] = wrk_both(ports, "/api/v1/challenges", duration, connections, adv)

            pool.stop()  # let the submissions queue up, then time the drain
            paths = [f"/api/v1/challenges/{cid}/completions" for cid in ids["quiz_ids"]]
            halves = [ids["submit_tokens"][0::2], ids["submit_tokens"][1::2]]
            body = json.dumps({"answers": [0]})
            started = utcnow()
            report["submit a completion, both instances"] = wrk_both(
                ports,
                "/",
                duration,
                connections,
                scripts=[rotating_post(halves[k], paths, body) for k in range(2)],
            )
            from bench.run import rq_queue

            backlog = rq_queue(env).count
            pool.start(workers)
            wait_for_workers(env, workers)
            ready = time.monotonic()
            drained = wait_until_decided(ids["quiz_ids"], started)
            idle = wait_for_idle_queue(env)
            drained.pop("_undecided")
            drained["jobs_queued"] = backlog
            drained["all_jobs_done_s"] = round(idle - ready, 1)
            drained["jobs_per_s"] = round(backlog / (idle - ready), 1) if idle > ready else None
            report[f"backlog drained by {workers} workers"] = drained
            report["leaderboard equals the ledger"] = leaderboard_matches_ledger()
    finally:
        pool.stop()
        stop(web)
    write(report)


def write(report: dict) -> None:
    (RESULTS / "scale-out.json").write_text(json.dumps(report, indent=2, default=str))
    lines = [f"# Scale-out run\n\n{report['machine']}; {report['layout']}; {report['advocates']:,} advocates.\n"]
    lines.append(f"Load average when it ended: {os.getloadavg()}\n")
    for key, value in report.items():
        if key in {"machine", "layout", "advocates"}:
            continue
        lines.append(f"## {key}\n\n```\n{json.dumps(value, indent=1, default=str)}\n```\n")
    (RESULTS / "scale-out.md").write_text("\n".join(lines))
    click.echo("\n".join(lines))


if __name__ == "__main__":
    main()
