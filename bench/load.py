"""Driving load for bench/run.py: gunicorn servers, wrk runs and the figures they print, RQ
workers and the queue they drain."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

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
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
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


def _found(pattern: str, text: str) -> re.Match[str]:
    """The first match of `pattern` in wrk's output; a format wrk does not print is an error."""
    match = re.search(pattern, text, re.M)
    if match is None:
        raise RuntimeError(f"wrk's output has no {pattern!r}")
    return match


def to_ms(text: str) -> float:
    value, unit = _found(r"^([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str,
    duration: int,
    connections: int,
    headers: dict,
    method: str = "GET",
    body: str | None = None,
    script: str | None = None,
) -> dict:
    lua = script or "\n".join(
        [f'wrk.method = "{method}"']
        + [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
        + ([f"wrk.body = {json.dumps(body)}"] if body else [])
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", f.name, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    os.unlink(f.name)
    latency = _found(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    dist = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(_found(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": to_ms(dist["50"]),
        "p99": to_ms(dist["99"]),
        "max": to_ms(latency.group(3)),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def rotating_post(tokens: list[str], paths: list[str], body: str, threads: int = 2, pace_ms: int = 0) -> str:
    """A wrk script where request k uses token k mod T on path (k div T) mod P, the threads
    taking interleaved k: every request is a distinct (advocate, challenge) pair."""
    quoted = lambda items: "{" + ",".join(json.dumps(i) for i in items) + "}"  # noqa: E731
    return f"""
local tokens = {quoted(tokens)}
local paths = {quoted(paths)}
local body = {json.dumps(body)}
local counter = 0
local made = 0
function setup(thread)
  thread:set("id", made)
  made = made + 1
end
request = function()
  local k = counter * {threads} + id
  counter = counter + 1
  local headers = {{["Authorization"] = "Bearer " .. tokens[(k % #tokens) + 1],
                   ["Content-Type"] = "application/json", ["X-Forwarded-Proto"] = "https"}}
  return wrk.format("POST", paths[(math.floor(k / #tokens) % #paths) + 1], headers, body)
end
""" + (f"function delay() return {pace_ms} end\n" if pace_ms else "")


class Workers:
    """Two `rq worker` processes of the production worker class on the bench queue."""

    def __init__(self, env: dict) -> None:
        self.env = env
        self.procs: list[subprocess.Popen] = []

    def start(self, count: int = 2) -> None:
        queue = f"{self.env.get('VOUCH_REDIS_NAMESPACE', 'vouch')}-default"
        for n in range(count):
            log = (RESULTS / f"worker-{n}.log").open("w")
            self.procs.append(
                subprocess.Popen(
                    [
                        str(VENV_BIN / "rq"),
                        "worker",
                        "--worker-class",
                        "hub.worker.VouchSimpleWorker",
                        "--url",
                        self.env["REDIS_URL"],
                        "--logging_level",
                        "WARNING",
                        queue,
                    ],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

    def stop(self) -> None:
        stop(self.procs)
        self.procs = []


def rq_queue(env: dict):
    from redis import Redis
    from rq import Queue

    return Queue(f"{env.get('VOUCH_REDIS_NAMESPACE', 'vouch')}-default", connection=Redis.from_url(env["REDIS_URL"]))


def wait_for_idle_queue(env: dict, timeout: float = 600) -> float:
    """Block until the queue is empty and no job is running; returns when (monotonic)."""
    from rq.registry import StartedJobRegistry

    queue = rq_queue(env)
    started = StartedJobRegistry(queue=queue)
    deadline = time.monotonic() + timeout
    while (queue.count or started.count) and time.monotonic() < deadline:
        time.sleep(0.2)
    return time.monotonic()


def wait_for_workers(env: dict, count: int, timeout: float = 60) -> None:
    from rq import Worker

    queue = rq_queue(env)
    deadline = time.monotonic() + timeout
    while len(Worker.all(queue=queue)) < count and time.monotonic() < deadline:
        time.sleep(0.1)
