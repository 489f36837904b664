"""Load-test Vouch against a bare-Flask ceiling with gunicorn + wrk, and print the figures.

    make bench          (or: .venv/bin/python bench/run.py --duration 10)

Needs a seeded PostgreSQL database (bench/seed.py) and Redis. Starts Vouch and a bare Flask
app under identical gunicorn settings (2 sync workers, 127.0.0.1), drives each endpoint with
wrk for a bounded time, and writes bench/results/latest.json and latest.md with req/s,
p50/p99/max latency and the ratio to the bare-Flask req/s.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent


@dataclass
class Figures:
    name: str
    path: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    ratio_to_bare: float | None = None
    note: str = ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listening on {port}")


def gunicorn(app_path: str, port: int, env: dict) -> subprocess.Popen:
    RESULTS.mkdir(exist_ok=True)
    log = (RESULTS / f"gunicorn-{app_path.split(':')[0]}.log").open("w")
    return subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-w", "2", "-k", "sync", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         app_path],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def to_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, duration: int, connections: int, headers: dict, method: str = "GET", body: str | None = None,
        script: str | None = None) -> dict:
    lua = script or "\n".join(
        [f'wrk.method = "{method}"']
        + [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
        + ([f"wrk.body = {json.dumps(body)}"] if body else [])
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", f.name, url],
        capture_output=True, text=True, check=True, timeout=duration + 60,
    ).stdout
    os.unlink(f.name)
    latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    dist = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": to_ms(dist["50"]), "p99": to_ms(dist["99"]), "max": to_ms(latency.group(3)),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def flask_cli(env: dict, *args: str) -> str:
    return subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True).stdout.strip()


def prepare_identities(env: dict) -> dict:
    """A bench owner and the top advocate with API tokens, plus a logged-in advocate cookie."""
    script = ROOT / "bench" / "identities.py"
    out = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def endpoints(ids: dict) -> list[dict]:
    adv = {"Authorization": f"Bearer {ids['advocate_token']}", "X-Forwarded-Proto": "https"}
    owner = {"Authorization": f"Bearer {ids['owner_token']}", "X-Forwarded-Proto": "https"}
    cookie = {"Cookie": ids["advocate_cookie"], "X-Forwarded-Proto": "https"}
    found = [
        {"name": "leaderboard all + me", "path": "/api/v1/leaderboard?period=all&limit=10", "headers": adv},
        {"name": "leaderboard month + me", "path": "/api/v1/leaderboard?period=month&limit=10", "headers": adv},
        {"name": "leaderboard group + me", "path": f"/api/v1/leaderboard?period=all&limit=10&group={ids['group']}",
         "headers": adv},
        {"name": "advocate hub page (HTML)", "path": "/", "headers": cookie},
    ]
    found += ids.get("extra_endpoints", [])
    for item in found:
        item.setdefault("headers", owner if item.pop("as_owner", False) else adv)
    return found


@click.command()
@click.option("--duration", default=10, show_default=True, help="seconds per endpoint")
@click.option("--connections", default=16, show_default=True)
@click.option("--write-rate", default=50.0, show_default=True, help="awards/s streamed during leaderboard reads")
def main(duration: int, connections: int, write_rate: float) -> None:
    if not shutil.which("wrk"):
        raise click.ClickException("wrk is missing: apt-get install wrk")
    env = os.environ.copy()
    env.setdefault("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/vouch_bench")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/3")
    env.update({"VOUCH_ENV": "production", "SECRET_KEY": env.get("SECRET_KEY", "bench-secret-key-not-for-prod"),
                "VOUCH_TRUSTED_PROXIES": "1", "VOUCH_API_RATE_LIMIT": "1000000/minute"})
    ids = prepare_identities(env)
    vouch_port, bare_port = free_port(), free_port()
    procs = [gunicorn("wsgi:app", vouch_port, env), gunicorn("bench.bare_app:app", bare_port, env)]
    try:
        wait_for(vouch_port)
        wait_for(bare_port)
        bare = wrk(f"http://127.0.0.1:{bare_port}/", duration, connections, {})
        results = [Figures("bare Flask 'ok'", "/", bare["rps"], bare["p50"], bare["p99"], bare["max"],
                           bare["non2xx"], 1.0)]
        for ep in endpoints(ids):
            fig = wrk(f"http://127.0.0.1:{vouch_port}{ep['path']}", duration, connections, ep["headers"],
                      ep.get("method", "GET"), ep.get("body"), ep.get("script"))
            results.append(Figures(ep["name"], ep["path"], fig["rps"], fig["p50"], fig["p99"], fig["max"],
                                   fig["non2xx"], round(fig["rps"] / bare["rps"], 3)))
        writer = subprocess.Popen([sys.executable, str(ROOT / "bench" / "writer.py"), "--seconds",
                                   str(duration + 2), "--rate", str(write_rate)], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, text=True)
        time.sleep(1)
        fig = wrk(f"http://127.0.0.1:{vouch_port}/api/v1/leaderboard?period=all&limit=10", duration, connections,
                  endpoints(ids)[0]["headers"])
        awarded = writer.communicate(timeout=duration + 30)[0].strip()
        results.append(Figures("leaderboard all + me, awards streaming", "/api/v1/leaderboard?period=all",
                               fig["rps"], fig["p50"], fig["p99"], fig["max"], fig["non2xx"],
                               round(fig["rps"] / bare["rps"], 3), f"writer {awarded} in {duration + 2}s"))
    finally:
        stop(procs)
    extra = ids.get("timings", {})
    write_results(results, extra, duration, connections)


def write_results(results: list[Figures], extra: dict, duration: int, connections: int) -> None:
    RESULTS.mkdir(exist_ok=True)
    machine = f"{platform.node()} · {os.cpu_count()} cores · {platform.platform()} · Python {platform.python_version()}"
    payload = {"machine": machine, "duration_s": duration, "connections": connections,
               "endpoints": [asdict(r) for r in results], "timings": extra}
    (RESULTS / "latest.json").write_text(json.dumps(payload, indent=2))
    lines = [f"Machine: {machine}; wrk -t2 -c{connections} -d{duration}s; gunicorn 2 sync workers.", "",
             "| endpoint | req/s | p50 ms | p99 ms | max ms | non-2xx | × bare |", "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.name} | {r.requests_per_s:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.max_ms:.2f} | "
                     f"{r.non_2xx} | {r.ratio_to_bare if r.ratio_to_bare is not None else ''} |")
    for key, value in extra.items():
        lines.append(f"\n{key}: {value}")
    (RESULTS / "latest.md").write_text("\n".join(lines) + "\n")
    click.echo("\n".join(lines))


if __name__ == "__main__":
    main()
