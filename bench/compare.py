"""Before/after: the same endpoints of two commits of Vouch, in interleaved rounds.

    .venv/bin/python -m bench.compare --before 96f5d86^1 --after main \\
        --before-db postgresql+psycopg://postgres@127.0.0.1:5432/vouch_bench_old \\
        --after-db postgresql+psycopg://postgres@127.0.0.1:5432/vouch_bench \\
        [--before-root PATH] [--after-root PATH] [--rounds 3] [--duration 10] [--endpoints submit,redeem]

Each side is served from its own checkout (`--before-root`/`--after-root`, or a detached git
worktree of the ref made next to this checkout and set up with `make setup`) with that
checkout's virtualenv, on its own database, which must be at that checkout's schema (`flask db
upgrade` runs first and fails if the database is newer than the code: downgrade a copy to the
older commit's head revision, or seed one with that commit's seeder) and its own private
redis-server (started here on a free port, stopped at the end: no shared keys, and its CPU is
that side's alone). Both sides get their actors from their own `bench.identities`, are warmed
(bench/load.py: every gunicorn worker served requests and holds its connections), then
measured A, B, A, B … — `--rounds` rounds, each endpoint once per side per round, the order of
the sides swapped every other round when `--order abba` — with the server side's CPU sampled
from /proc around each run. Statements and round trips per request are counted in-process with
each checkout's own code (bench/counts.py).

Unless `--no-references`, the bare Flask ceiling (bench/bare_app.py) and the I/O floor
(bench/io_floor_app.py, on the after side's database and private Redis) are served from this
checkout under the same gunicorn settings, warmed, and measured at the start of every round, so
each side's endpoints get their ratios to both — req/s and CPU per request — taken within the
round (issue 22, "Measure first").

Writes bench/results/compare.json and compare.md: per endpoint and side the median and
min–max of req/s, p50, p99 and CPU ms per request, and the after/before ratio taken within
each round.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import click
from sqlalchemy.engine import make_url

from bench import procstat
from bench.load import RESULTS, ROOT, Endpoint, free_port, gunicorn, measure, stop, stop_on_sigterm, wait_for, warm_up
from bench.rounds import Run, change, fmt, median, ratio, spread, summarise
from bench.run import CEILING, FLOOR, count_requests, count_specs, endpoints, link_challenges

COMPARABLE = (
    "submit",
    "submit-link",
    "redeem",
    "lb-all",
    "lb-month",
    "lb-group",
    "lb-streaming",
    "feed",
    "hub",
    "report",
)


@dataclass
class Side:
    """One commit under test: its checkout, database, private Redis and server."""

    label: str
    ref: str
    sha: str
    root: Path
    database_url: str
    checkout_head: str = ""
    env: dict = field(default_factory=dict)
    redis: subprocess.Popen | None = None
    server: subprocess.Popen | None = None
    port: int = 0
    endpoints: list[Endpoint] = field(default_factory=list)
    ids: dict = field(default_factory=dict)

    @property
    def venv_bin(self) -> Path:
        return self.root / ".venv" / "bin"

    @property
    def database(self) -> str:
        return make_url(self.database_url).database or ""


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def prepare_checkout(side: Side, root: str | None) -> None:
    """Use `root` as the side's checkout, or make a detached worktree of its commit (and `make
    setup` it) next to this checkout. Records the checkout's HEAD: a given root may carry more
    than the ref (e.g. a branch with bench-only commits), which the report then says."""
    if root:
        side.root = Path(root).resolve()
    else:
        side.root = ROOT.parent / f"bench-{side.sha[:10]}"
        if not side.root.exists():
            git("worktree", "add", "--detach", str(side.root), side.sha)
    side.checkout_head = git("rev-parse", "HEAD", cwd=side.root)
    if not (side.venv_bin / "gunicorn").exists():
        click.echo(f"make setup in {side.root} …", err=True)
        subprocess.run(["make", "setup"], cwd=side.root, check=True, stdout=subprocess.DEVNULL)


def start_redis(side: Side) -> int:
    """A private redis-server for the side (no persistence), on a free port."""
    port = free_port()
    log = (RESULTS / f"compare-redis-{side.label}.log").open("w")
    side.redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_for(port)
    return port


def side_env(side: Side, redis_port: int) -> dict:
    env = os.environ.copy()
    env.update(
        {
            "DATABASE_URL": side.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "VOUCH_ENV": "production",
            "SECRET_KEY": env.get("SECRET_KEY", "bench-secret-key-not-for-prod"),
            "VOUCH_TRUSTED_PROXIES": "1",
            "VOUCH_API_RATE_LIMIT": "1000000/minute",
        }
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def in_checkout(side: Side, *args: str) -> str:
    """Run the side's own interpreter in its checkout; its stdout."""
    proc = subprocess.run(
        [str(side.venv_bin / "python"), *args], cwd=side.root, env=side.env, stdout=subprocess.PIPE, text=True
    )
    if proc.returncode != 0:
        raise click.ClickException(f"{side.label}: {' '.join(args)} failed (exit {proc.returncode})")
    return proc.stdout


def flask_in_checkout(side: Side, *args: str) -> None:
    """Run a `flask` command of the side's own checkout and virtualenv (its database and private
    Redis); raises CalledProcessError, with the command's stderr, when it fails."""
    subprocess.run(
        [str(side.venv_bin / "flask"), "--app", "wsgi", *args],
        cwd=side.root,
        env=side.env,
        check=True,
        capture_output=True,
        text=True,
    )


def prepare_side(side: Side, keys: list[str]) -> dict:
    """Schema check, actors, in-process counts; returns the counts."""
    redis_port = start_redis(side)
    side.env = side_env(side, redis_port)
    try:
        flask_in_checkout(side, "db", "upgrade")
    except subprocess.CalledProcessError as failed:
        raise click.ClickException(
            f"{side.label}: `flask db upgrade` failed on {side.database} — is the database at a newer "
            f"schema than {side.ref}? Downgrade a copy to its head revision.\n{failed.stderr[-800:]}"
        ) from failed
    if any(key.startswith("lb-") for key in keys):
        # The side's private Redis starts empty: without a rebuild its leaderboard reads would
        # all be the SQL fallback (no encoding marker), not the Redis path being compared.
        flask_in_checkout(side, "rewards", "rebuild-leaderboards")
    side.ids = json.loads(in_checkout(side, "-m", "bench.identities").strip().splitlines()[-1])
    if "submit-link" in keys:
        # This checkout's bench module, run with the side's code: the same challenges on both sides.
        side.ids |= link_challenges(side.env, side.root, str(side.venv_bin / "python"))
    side.endpoints = [ep for ep in endpoints(side.ids) if ep.key in keys]
    return count_requests(
        side.env,
        "wsgi:app",
        count_specs(side.ids, side.endpoints),
        root=side.root,
        python=str(side.venv_bin / "python"),
    )


def paired(before: list[Run], after: list[Run], attribute: str) -> tuple[float | None, tuple[float, float] | None]:
    """Median and min–max over the rounds of after/before taken within each round."""
    values = [
        ratio(
            getattr(a, attribute) if attribute != "cpu" else a.cpu_ms.get("all"),
            getattr(b, attribute) if attribute != "cpu" else b.cpu_ms.get("all"),
        )
        for b, a in zip(before, after, strict=True)
    ]
    return median(values), spread(values)


@click.command()
@click.option("--before", "before_ref", default="96f5d86^1", show_default=True, help="git ref of the 'before' side")
@click.option("--after", "after_ref", default="main", show_default=True, help="git ref of the 'after' side")
@click.option("--before-root", default=None, help="an existing checkout of --before (else a worktree is made)")
@click.option("--after-root", default=None, help="an existing checkout of --after (else a worktree is made)")
@click.option(
    "--before-db",
    default="postgresql+psycopg://postgres@127.0.0.1:5432/vouch_bench_old",
    show_default=True,
    help="database at the before side's schema",
)
@click.option(
    "--after-db",
    default="postgresql+psycopg://postgres@127.0.0.1:5432/vouch_bench",
    show_default=True,
    help="database at the after side's schema",
)
@click.option("--rounds", default=3, show_default=True)
@click.option("--duration", default=10, show_default=True, help="seconds per endpoint, side and round")
@click.option("--connections", default=4, show_default=True)
@click.option("--endpoints", "chosen", default="submit,redeem", show_default=True, help=f"from {','.join(COMPARABLE)}")
@click.option("--order", type=click.Choice(["abab", "abba"]), default="abab", show_default=True)
@click.option(
    "--references/--no-references",
    default=True,
    show_default=True,
    help="measure the bare ceiling and the I/O floor at the start of every round",
)
def main(
    before_ref: str,
    after_ref: str,
    before_root: str | None,
    after_root: str | None,
    before_db: str,
    after_db: str,
    rounds: int,
    duration: int,
    connections: int,
    chosen: str,
    order: str,
    references: bool,
) -> None:
    stop_on_sigterm()
    keys = [k.strip() for k in chosen.split(",") if k.strip()]
    unknown = sorted(set(keys) - set(COMPARABLE))
    if unknown:
        raise click.ClickException(f"unknown endpoints {', '.join(unknown)}; choose from {', '.join(COMPARABLE)}")
    RESULTS.mkdir(exist_ok=True)
    sides = [
        Side("before", before_ref, git("rev-parse", f"{before_ref}^{{commit}}"), ROOT, before_db),
        Side("after", after_ref, git("rev-parse", f"{after_ref}^{{commit}}"), ROOT, after_db),
    ]
    counts: dict[str, dict] = {}
    measured: dict[str, list[dict[str, Run]]] = {"before": [], "after": []}
    measured_references: list[dict[str, Run]] = []
    reference_servers: dict[str, tuple[subprocess.Popen, Endpoint, int]] = {}
    try:
        for side, root in zip(sides, (before_root, after_root), strict=True):
            prepare_checkout(side, root)
            counts[side.label] = prepare_side(side, keys)
        for side in sides:
            side.port = free_port()
            side.server = gunicorn("wsgi:app", side.port, side.env, side.root, side.venv_bin, f"compare-{side.label}")
        for side in sides:
            wait_for(side.port)
            redis_port = int(side.env["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
            io_ports = frozenset({make_url(side.database_url).port or 5432, redis_port})
            assert side.server is not None
            warm_up(side.server.pid, f"http://127.0.0.1:{side.port}", side.endpoints, connections, io_ports)
        if references:
            reference_servers = start_references(sides[-1], connections)
        for number in range(rounds):
            if reference_servers:
                measured_references.append(
                    measure_references(reference_servers, sides[-1], number, rounds, duration, connections)
                )
            turn = sides if order == "abab" or number % 2 == 0 else sides[::-1]
            for side in turn:
                this_round: dict[str, Run] = {}
                for ep in side.endpoints:
                    click.echo(
                        f"round {number + 1}/{rounds}: {side.label} {ep.name} (load {procstat.load_average()})",
                        err=True,
                    )
                    assert side.server is not None and side.redis is not None
                    writer = start_writer(side, ep, duration)
                    try:
                        this_round[ep.name] = measure(
                            ep,
                            f"http://127.0.0.1:{side.port}",
                            duration,
                            connections,
                            [side.server.pid],
                            side.database,
                            [side.redis.pid],
                        )
                    finally:
                        if writer is not None:
                            note = writer.communicate(timeout=duration + 60)[0].strip()
                            this_round[ep.name].note = f"writer {note} in {duration + 2}s"
                measured[side.label].append(this_round)
    finally:
        stop([server for server, _, _ in reference_servers.values()])
        stop([p for side in sides for p in (side.server, side.redis) if p is not None])
    write_compare(sides, measured, counts, rounds, duration, connections, order, measured_references)


def start_references(side: Side, connections: int) -> dict[str, tuple[subprocess.Popen, Endpoint, int]]:
    """The bare ceiling and the I/O floor served from this checkout (the floor on `side`'s
    database and private Redis), each warmed; name → (server, endpoint, port)."""
    found: dict[str, tuple[subprocess.Popen, Endpoint, int]] = {}
    for key, name, app in (("bare", CEILING, "bench.bare_app:app"), ("floor", FLOOR, "bench.io_floor_app:app")):
        port = free_port()
        found[key] = (gunicorn(app, port, side.env, log_name=f"compare-{key}"), Endpoint(key, name, "/"), port)
    redis_port = int(side.env["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    io_ports = frozenset({make_url(side.database_url).port or 5432, redis_port})
    for key, (server, ep, port) in found.items():
        wait_for(port)
        warm_up(server.pid, f"http://127.0.0.1:{port}", [ep], connections, io_ports if key == "floor" else frozenset())
    return found


def measure_references(
    servers: dict[str, tuple[subprocess.Popen, Endpoint, int]],
    side: Side,
    number: int,
    rounds: int,
    duration: int,
    connections: int,
) -> dict[str, Run]:
    """One round's runs of the ceiling and the floor (the floor's CPU includes `side`'s
    PostgreSQL backends and private redis-server, which it uses)."""
    runs: dict[str, Run] = {}
    for server, ep, port in servers.values():
        click.echo(f"round {number + 1}/{rounds}: {ep.name} (load {procstat.load_average()})", err=True)
        assert side.redis is not None
        runs[ep.name] = measure(
            ep, f"http://127.0.0.1:{port}", duration, connections, [server.pid], side.database, [side.redis.pid]
        )
    return runs


def start_writer(side: Side, ep: Endpoint, duration: int) -> subprocess.Popen | None:
    """For a "writer" endpoint (lb-streaming): the side's own bench.writer awarding 50 points
    entries a second on its database and Redis, started a second before the run."""
    if ep.during != "writer":
        return None
    writer = subprocess.Popen(
        [str(side.venv_bin / "python"), "-m", "bench.writer", "--seconds", str(duration + 2), "--rate", "50"],
        cwd=side.root,
        env=side.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)
    return writer


def write_compare(
    sides: list[Side],
    measured: dict[str, list[dict[str, Run]]],
    counts: dict[str, dict],
    rounds: int,
    duration: int,
    connections: int,
    order: str,
    references: list[dict[str, Run]] | None = None,
) -> None:
    """bench/results/compare.json (every run) and compare.md (the tables). With `references`
    (one dict of the ceiling's and the floor's runs per round), each side's ratios to both,
    taken within the round."""
    references = references or []
    summary = {
        label: summarise(
            [{**(references[i] if i < len(references) else {}), **r} for i, r in enumerate(runs)], CEILING, FLOOR
        )
        for label, runs in measured.items()
    }
    machine = f"{platform.node()} · {os.cpu_count()} cores · {platform.platform()} · Python {platform.python_version()}"
    loads = [run.load for runs in measured.values() for r in runs for run in r.values()]
    names = [n for n in list(summary["after"]) or list(summary["before"]) if n not in (CEILING, FLOOR)]
    payload = {
        "machine": machine,
        "sides": {
            s.label: {"ref": s.ref, "sha": s.sha, "checkout": str(s.root), "checkout_head": s.checkout_head}
            for s in sides
        },
        "duration_s": duration,
        "connections": connections,
        "order": order,
        "rounds": {label: [{n: asdict(run) for n, run in r.items()} for r in runs] for label, runs in measured.items()},
        "references": [{n: asdict(run) for n, run in r.items()} for r in references],
        "summary": {label: {n: asdict(s) for n, s in by_name.items()} for label, by_name in summary.items()},
        "counts_per_request": counts,
    }
    (RESULTS / "compare.json").write_text(json.dumps(payload, indent=2))
    lines = [
        f"Machine: {machine}; wrk -t2 -c{connections} -d{duration}s per endpoint, side and round; {rounds} rounds "
        f"({order}); gunicorn 2 sync workers per side; load average (1/5/15 min) from "
        f"{loads[0] if loads else '?'} to {loads[-1] if loads else '?'}.",
        *[
            f"- {s.label}: {s.ref} = {s.sha[:10]} (checkout {s.root}, HEAD {s.checkout_head[:10]}), {s.database}"
            for s in sides
        ],
        "",
        "Cells: median (min–max) over the rounds. after/before: the ratio taken within each round, then its median "
        "(min–max). CPU = gunicorn master + workers, the side's PostgreSQL backends and its private redis-server, per "
        "completed request.",
        "",
        "| endpoint | side | req/s | p50 ms | p99 ms | CPU ms/req | CPU app / pg / redis ms | SQL stmts "
        "| DB round trips | Redis round trips | non-2xx |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        for label in ("before", "after"):
            s = summary[label].get(name)
            if s is None:
                continue
            c = counts.get(label, {}).get(name, {})
            split = " / ".join("—" if v is None else f"{v:.2f}" for v in s.cpu_split_ms.values())
            stmts = (
                f"{c.get('statements', '')} + {c.get('transaction_control', 0)} tx + {c.get('pings', 0)} ping"
                if c
                else ""
            )
            lines.append(
                f"| {name} | {label} | {fmt(s.rps, 0)} | {fmt(s.p50_ms, 2)} | {fmt(s.p99_ms, 2)} | {fmt(s.cpu_ms, 2)} "
                f"| {split} | {stmts} | {c.get('db_round_trips', '')} | {c.get('redis_round_trips', '')} | "
                f"{s.non_2xx} |"
            )
    if references:
        lines += [
            "",
            "Against the references measured at the start of each round: × bare / × floor = the endpoint's req/s "
            "over the ceiling's / the I/O floor's; by CPU = their CPU per request over the endpoint's.",
            "",
            "| endpoint | side | × bare | × floor | CPU × bare | CPU × floor |",
            "|---|---|---|---|---|---|",
        ]
        for name in (CEILING, FLOOR):
            s = summary["after"].get(name) or summary["before"][name]
            lines.append(
                f"| {name} | (reference) req/s {fmt(s.rps, 0)}, p50 {fmt(s.p50_ms, 2)}, p99 {fmt(s.p99_ms, 2)}, "
                f"CPU ms/req {fmt(s.cpu_ms, 2)} | {fmt(s.ratio, 3)} | {fmt(s.floor_ratio, 2)} | "
                f"{fmt(s.cpu_ratio, 3)} | {fmt(s.floor_cpu_ratio, 2)} |"
            )
        for name in names:
            for label in ("before", "after"):
                s = summary[label].get(name)
                if s is not None:
                    lines.append(
                        f"| {name} | {label} | {fmt(s.ratio, 3)} | {fmt(s.floor_ratio, 2)} | {fmt(s.cpu_ratio, 3)} "
                        f"| {fmt(s.floor_cpu_ratio, 2)} |"
                    )
    lines += [
        "",
        "| endpoint | after/before req/s | p50 | p99 | CPU ms/req | change of the medians (req/s, p50, CPU) |",
    ]
    lines.append("|---|---|---|---|---|---|")
    for name in names:
        before_runs = [r[name] for r in measured["before"] if name in r]
        after_runs = [r[name] for r in measured["after"] if name in r]
        if len(before_runs) != len(after_runs) or not before_runs:
            continue
        b, a = summary["before"][name], summary["after"][name]
        pct = lambda v: "—" if v is None else f"{v * 100:+.1f} %"  # noqa: E731
        within = {what: fmt(paired(before_runs, after_runs, what), 3) for what in ("rps", "p50_ms", "p99_ms", "cpu")}
        lines.append(
            f"| {name} | {within['rps']} | {within['p50_ms']} | {within['p99_ms']} | {within['cpu']} | "
            f"{pct(change(b.rps[0], a.rps[0]))}, "
            f"{pct(change(b.p50_ms[0], a.p50_ms[0]))}, {pct(change(b.cpu_ms[0], a.cpu_ms[0]))} |"
        )
    (RESULTS / "compare.md").write_text("\n".join(lines) + "\n")
    click.echo("\n".join(lines))


if __name__ == "__main__":
    main()
