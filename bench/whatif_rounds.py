"""Times the what-if of bench.economy (`simulate` of silver 1,500 / gold 6,000) in the current
checkout, with expiry off or on as the database has it or as asked, and prints one JSON line.

    cd <checkout> && .venv/bin/python <this file> [--expiry off|on|as-is] [--repeat 3] [--reply]

Run it from two checkouts alternately (before, after, before, …) on the same database copy so
that both see the same load. `--expiry on`: the policy switched on from the oldest entry with
N = 365 (as bench.economy does), in the measuring transaction only (rolled back). `--reply`:
also times the API's reply model and its JSON (`SimulationReply`), as POST /simulations
builds them. `--http`: also the whole request, POST /api/v1/simulations through the test client
with an owner's bearer token (settings as the database has them; the token is the one row
written).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())  # the checkout being measured, not this file's


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--expiry", choices=("off", "on", "as-is"), default="as-is")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reply", action="store_true")
    parser.add_argument("--http", action="store_true", help="also POST /api/v1/simulations (settings as stored)")
    args = parser.parse_args()

    from sqlalchemy import func, select

    from hub.app import create_app
    from hub.extensions import db
    from hub.settings import save_setting
    from rewards.models import LedgerEntry
    from rewards.simulations import SimulationReply, simulate

    proposal = {"tier_thresholds": {"silver": 1500, "gold": 6000}}
    out: dict = {"checkout": os.getcwd(), "expiry": args.expiry, "load_before": _load()}
    with create_app().app_context():
        times, reply_times = [], []
        for _ in range(args.repeat):
            if args.expiry == "off":
                save_setting("points_expiry_days", None, None)
            elif args.expiry == "on":
                oldest = db.session.execute(select(func.min(LedgerEntry.created_at))).scalar_one()
                save_setting("points_expiry_days", 365, None)
                save_setting("points_expiry_since", oldest.isoformat(), None)
            started = time.perf_counter()
            result = simulate(proposal)
            times.append(round(time.perf_counter() - started, 2))
            if args.reply:
                started = time.perf_counter()
                SimulationReply.model_validate(result).model_dump_json()
                reply_times.append(round(time.perf_counter() - started, 2))
            out["moves"] = {k: len(v) for k, v in result["tier_moves"].items()}
            out["expiring"] = [result["now"]["expiring_30d"], result["now"]["expiring_90d"]]
            out["by_tier"] = [result["now"]["advocates_by_tier"], result["then"]["advocates_by_tier"]]
            db.session.rollback()
        out["simulate_s"] = times
        if args.http:
            out["http_s"] = _http(args.repeat)
        if reply_times:
            out["reply_s"] = reply_times
    out["load_after"] = _load()
    print(json.dumps(out))


def _http(repeat: int) -> list[float]:
    from flask import current_app
    from sqlalchemy import select

    from hub.extensions import db
    from hub.models import Role, User
    from hub.tokens import create_api_token

    owner = db.session.scalars(select(User).where(User.role == Role.OWNER).order_by(User.id).limit(1)).one()
    _, token = create_api_token(owner, "whatif bench", None)
    db.session.commit()
    client = current_app.test_client()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.post(
            "/api/v1/simulations",
            json={"tier_thresholds": {"silver": 1500, "gold": 6000}},
            headers={"Authorization": f"Bearer {token}"},
        )
        times.append(round(time.perf_counter() - started, 2))
        assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    return times


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
