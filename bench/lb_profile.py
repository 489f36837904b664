"""Where one leaderboard request's CPU goes, in process (issue 22).

    DATABASE_URL=… REDIS_URL=… python -m bench.lb_profile [--requests 500] [--profile 40]
        [--token T] [--group NAME] [--rounds 3]

A Flask test client (VOUCH_ENV=production, rate limits on at a limit never reached) sends
`GET /api/v1/leaderboard?period=all&limit=10` (and the largest group's board) as the advocate
ranked about 500th, warmed first. Prints, per path, the CPU time per request
(`time.process_time`, the process's own, steadier than wall time on a shared machine) in
`--rounds` rounds, and with `--profile N` the top functions of a cProfile run over N requests
with a CPU clock (cumulative). The boards must have been rebuilt into the Redis used
(`flask rewards rebuild-leaderboards`).
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import statistics
import time
from pathlib import Path
from urllib.parse import quote

import click


def _token_and_group() -> tuple[str, str]:
    from bench.app import create_app
    from bench.reqpath import board_caller
    from hub.extensions import db

    with create_app().app_context():
        token, group = board_caller("bench.lb_profile")
        db.session.commit()
        return token, group


@click.command()
@click.option("--requests", default=500, help="timed requests per path and round")
@click.option("--rounds", default=3)
@click.option("--profile", "profiled", default=0, help="requests under cProfile (0: none)")
@click.option("--token", default=None)
@click.option("--group", default=None)
@click.option("--top", default=45)
@click.option("--dump", default=None, help="write the cProfile stats to this file")
def main(
    requests: int, rounds: int, profiled: int, token: str | None, group: str | None, top: int, dump: str | None
) -> None:
    os.environ.setdefault("VOUCH_API_RATE_LIMIT", "1000000/minute")
    if token is None or group is None:
        token, group = _token_and_group()
    from hub.app import create_app

    app = create_app({"VOUCH_ENV": "production", "SECRET_KEY": "bench-lb-profile-not-a-secret-key-0123456789"})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"}
    paths = {
        "all": "/api/v1/leaderboard?period=all&limit=10",
        "group": f"/api/v1/leaderboard?period=all&limit=10&group={quote(group)}",
    }
    for path in paths.values():
        for _ in range(50):
            response = client.get(path, headers=headers, base_url="https://localhost")
            assert response.status_code == 200, response.data[:300]
    out: dict = {"loadavg": Path("/proc/loadavg").read_text().split()[:3], "cpu_ms": {}}
    for _ in range(rounds):
        for name, path in paths.items():
            cpu = time.process_time()
            for _ in range(requests):
                client.get(path, headers=headers, base_url="https://localhost")
            out["cpu_ms"].setdefault(name, []).append(round((time.process_time() - cpu) * 1000 / requests, 3))
    out["cpu_ms_median"] = {name: statistics.median(v) for name, v in out["cpu_ms"].items()}
    print(json.dumps(out | {"token": token, "group": group}))
    if profiled:
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(profiled):
            client.get(paths["all"], headers=headers, base_url="https://localhost")
        profiler.disable()
        if dump:
            profiler.dump_stats(dump)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(top)
        print(text.getvalue())
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
        print(text.getvalue())


if __name__ == "__main__":
    main()
