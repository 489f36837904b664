"""Times the points economy of issue 16 on the seeded database and prints one JSON line.

    python -m bench.economy [--steps simulation,expiry,leaderboard]
        (DATABASE_URL / REDIS_URL as for bench.run; every step by default)

- `simulation`: a what-if (`rewards.simulations.simulate`) of a tier threshold change over
  every advocate, with expiry off and then on;
- `expiry`: `expire-points` over the whole ledger with the policy switched on a year before the
  oldest entry's anniversary (so most lots are due): the first run, then a second that must
  write nothing (each with the 1-minute load average at its end), and with `simulation` a last
  what-if once the runs have settled what was due (the steady state of a program whose nightly
  job runs). This changes the database (expire entries, settings): run it on a bench
  database;
- `leaderboard`: the leaderboard read (top 10 + the caller's rank, in one process, calls per
  second) on the SQL path, the Redis path (`_standings_redis`) and as a request reads it
  (`standings`: the Redis path with its stale/encoding marker check), for this code and for each earlier
  implementation in BEFORE (loaded from git, its own rebuild loading Redis in its own encoding
  first, so each reads the data it was written for).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

# Earlier leaderboards: before issue 16's tie rule, issue 16's tie rule read from SQL, and the tie
# order in the Redis score read in two round trips plus a marker check (before issue 22's script).
BEFORE = {"pre_ties": "bc71780", "ties_from_sql": "29476dc", "ties_two_trips": "b28250c"}
STEPS = ("simulation", "expiry", "leaderboard")
ROOT = Path(__file__).resolve().parents[1]


def _previous_leaderboard(commit: str):
    source = subprocess.run(
        ["git", "show", f"{commit}:rewards/leaderboard.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    name = f"leaderboard_{commit}"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up while defined
    exec(compile(source, f"{name}.py", "exec"), module.__dict__)  # noqa: S102 - our own file at an earlier commit
    return module


def _rate(fn, seconds: float = 3.0) -> float:
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        fn()
        calls += 1
    return round(calls / (time.perf_counter() - started), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default=",".join(STEPS), help="comma-separated, of: " + ", ".join(STEPS))
    steps = set(parser.parse_args().steps.split(","))
    unknown = steps - set(STEPS)
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")

    from sqlalchemy import func, select

    from hub.app import create_app
    from hub.extensions import db
    from hub.models import Advocate
    from rewards.models import LedgerEntry

    out: dict = {}
    with create_app().app_context():
        out["advocates"] = db.session.scalar(select(func.count()).select_from(Advocate))
        out["ledger_entries"] = db.session.scalar(select(func.count()).select_from(LedgerEntry))
        if "simulation" in steps or "expiry" in steps:
            _economy(out, steps)
        if "leaderboard" in steps:
            _leaderboard(out)
        out["measured_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    print(json.dumps(out))


def _economy(out: dict, steps: set[str]) -> None:
    from sqlalchemy import func, select

    from hub.extensions import db
    from hub.settings import save_setting
    from rewards import expiry
    from rewards.models import EntryKind, LedgerEntry
    from rewards.simulations import simulate

    proposal = {"tier_thresholds": {"silver": 1500, "gold": 6000}}
    if "simulation" in steps:
        started = time.perf_counter()
        result = simulate(proposal)
        out["simulation_s"] = round(time.perf_counter() - started, 2)
        out["simulation_moves"] = {k: len(v) for k, v in result["tier_moves"].items()}
        db.session.rollback()

    oldest = db.session.execute(select(func.min(LedgerEntry.created_at))).scalar_one()
    assert oldest is not None, "the bench database has a ledger"
    save_setting("points_expiry_days", 365, None)
    save_setting("points_expiry_since", oldest.isoformat(), None)
    db.session.commit()
    if "simulation" in steps:
        started = time.perf_counter()
        result = simulate(proposal)
        out["simulation_with_expiry_s"] = round(time.perf_counter() - started, 2)
        out["expiring_30d"] = result["now"]["expiring_30d"]
        db.session.rollback()

    if "expiry" in steps:
        for run in ("first", "second"):
            started = time.perf_counter()
            done = expiry.expire_points(commit_each=True)
            db.session.commit()
            out[f"expire_points_{run}_s"] = round(time.perf_counter() - started, 2)
            out[f"expire_points_{run}_load"] = Path("/proc/loadavg").read_text().split()[0]
            out[f"expire_points_{run}"] = {
                "advocates": done.advocates,
                "points": done.entries_points,
                "notices": done.notices,
            }
            print(json.dumps(out), file=sys.stderr, flush=True)  # figures so far, should a later step fail
        out["expire_entries"] = db.session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == EntryKind.EXPIRE)
        )
        if "simulation" in steps:  # the steady state: the nightly run has settled what was due
            started = time.perf_counter()
            result = simulate(proposal)
            out["simulation_after_expiry_s"] = round(time.perf_counter() - started, 2)
            out["expiring_30d_after_expiry"] = result["now"]["expiring_30d"]
            db.session.rollback()


def _leaderboard(out: dict, rounds: int = 5) -> None:
    """Each implementation rebuilds its boards (SQL table and, under a Redis namespace of its
    own, the sorted sets in its encoding); then the reads are timed in `rounds` interleaved
    rounds (so a change in the machine's load hits all alike) and the median is reported."""
    from flask import current_app
    from sqlalchemy import select

    from hub.extensions import db
    from hub.models import Advocate
    from hub.redis_client import get_redis
    from rewards import leaderboard

    me = db.session.scalar(select(Advocate.id).order_by(Advocate.lifetime_points.desc()).offset(500).limit(1))
    pkey = leaderboard.period_key("all")
    r = get_redis()
    implementations = {name: _previous_leaderboard(commit) for name, commit in BEFORE.items()}
    implementations["now"] = leaderboard
    namespace = current_app.config.get("VOUCH_REDIS_NAMESPACE", "vouch")
    for name, module in implementations.items():
        current_app.config["VOUCH_REDIS_NAMESPACE"] = f"{namespace}-bench-{name}"
        started = time.perf_counter()
        module.rebuild()
        db.session.commit()
        out[f"leaderboard_rebuild_{name}_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps(out), file=sys.stderr, flush=True)
    rates: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, module in implementations.items():
            current_app.config["VOUCH_REDIS_NAMESPACE"] = f"{namespace}-bench-{name}"
            rates.setdefault(f"leaderboard_sql_{name}_per_s", []).append(
                _rate(lambda m=module: m._standings_sql(pkey, None, 10, 0, me), 1.0)
            )
            if r is not None:
                rates.setdefault(f"leaderboard_redis_{name}_per_s", []).append(
                    _rate(lambda m=module: m._standings_redis(r, pkey, None, 10, 0, me), 1.0)
                )
                # The whole read as a request makes it (`standings`: marker check included).
                rates.setdefault(f"leaderboard_standings_{name}_per_s", []).append(
                    _rate(lambda m=module: m.standings("all", None, 10, 0, me), 1.0)
                )
    out.update({key: sorted(values)[len(values) // 2] for key, values in rates.items()})
    if r is not None:  # the current code's two paths agree on the page timed
        via_redis = leaderboard._standings_redis(r, pkey, None, 10, 0, me)
        assert via_redis == leaderboard._standings_sql(pkey, None, 10, 0, me)
    if r is not None:  # the namespaces of this run are not left behind
        for name in implementations:
            for key in r.scan_iter(match=f"{namespace}-bench-{name}:*"):
                r.delete(key)
    current_app.config["VOUCH_REDIS_NAMESPACE"] = namespace


if __name__ == "__main__":
    main()
