"""Times the points economy of issue 16 on the seeded database and prints one JSON line.

    python -m bench.economy            (DATABASE_URL / REDIS_URL as for bench.run)

- a what-if (`rewards.simulations.simulate`) of a tier threshold change over every advocate,
  with expiry off and then on;
- `expire-points` over the whole ledger with the policy switched on a year before the oldest
  entry's anniversary (so most lots are due): the first run, then a second that must write
  nothing. This changes the database (expire entries, settings): run it on a bench database;
- the leaderboard read (`standings`, top 10 + the caller's rank) with the tie rule, against
  the previous implementation (ordinal ranks, id order) loaded from git `BEFORE` on the same
  data, on the SQL path and the Redis path: calls per second in one process.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

BEFORE = "bc71780"  # the commit before issue 16's leaderboard change
ROOT = Path(__file__).resolve().parents[1]


def _previous_leaderboard():
    source = subprocess.run(
        ["git", "show", f"{BEFORE}:rewards/leaderboard.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    spec = importlib.util.spec_from_loader("leaderboard_before", loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules["leaderboard_before"] = module  # its dataclasses look their module up while defined
    exec(compile(source, "leaderboard_before.py", "exec"), module.__dict__)  # noqa: S102 - our own file at BEFORE
    return module


def _rate(fn, seconds: float = 3.0) -> float:
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        fn()
        calls += 1
    return round(calls / (time.perf_counter() - started), 1)


def main() -> None:
    from sqlalchemy import func, select

    from hub.app import create_app
    from hub.extensions import db
    from hub.models import Advocate
    from hub.redis_client import get_redis
    from hub.settings import save_setting
    from rewards import expiry, leaderboard
    from rewards.models import EntryKind, LedgerEntry
    from rewards.simulations import simulate

    out: dict = {}
    with create_app().app_context():
        out["advocates"] = db.session.scalar(select(func.count()).select_from(Advocate))
        out["ledger_entries"] = db.session.scalar(select(func.count()).select_from(LedgerEntry))
        proposal = {"tier_thresholds": {"silver": 1500, "gold": 6000}}

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
        started = time.perf_counter()
        result = simulate(proposal)
        out["simulation_with_expiry_s"] = round(time.perf_counter() - started, 2)
        out["expiring_30d"] = result["now"]["expiring_30d"]
        db.session.rollback()

        for run in ("first", "second"):
            started = time.perf_counter()
            done = expiry.expire_points(commit_each=True)
            db.session.commit()
            out[f"expire_points_{run}_s"] = round(time.perf_counter() - started, 2)
            out[f"expire_points_{run}"] = {
                "advocates": done.advocates,
                "points": done.entries_points,
                "notices": done.notices,
            }
            print(json.dumps(out), file=sys.stderr, flush=True)  # figures so far, should a later step fail
        out["expire_entries"] = db.session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == EntryKind.EXPIRE)
        )

        me = db.session.scalar(select(Advocate.id).order_by(Advocate.lifetime_points.desc()).offset(500).limit(1))
        before = _previous_leaderboard()
        pkey = leaderboard.period_key("all")
        out["leaderboard_sql_before_per_s"] = _rate(lambda: before._standings_sql(pkey, None, 10, 0, me))
        out["leaderboard_sql_after_per_s"] = _rate(lambda: leaderboard._standings_sql(pkey, None, 10, 0, me))
        r = get_redis()
        if r is not None:
            leaderboard.rebuild()
            db.session.commit()
            out["leaderboard_redis_before_per_s"] = _rate(lambda: before._standings_redis(r, pkey, None, 10, 0, me))
            out["leaderboard_redis_after_per_s"] = _rate(lambda: leaderboard._standings_redis(r, pkey, None, 10, 0, me))
        out["measured_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
