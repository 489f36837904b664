"""Driving load for bench/run.py: gunicorn servers, wrk runs and the figures they print, RQ
workers and the queue they drain."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import procstat
from bench.rounds import Run

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


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so that a benchmark's `finally` stops the servers it started."""

    def leave(_signum, _frame) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, leave)


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


def gunicorn(
    app_path: str, port: int, env: dict, root: Path = ROOT, venv_bin: Path = VENV_BIN, log_name: str | None = None
) -> subprocess.Popen:
    """gunicorn with the bench's settings (2 sync workers on 127.0.0.1) serving `app_path` from
    the checkout `root` with that checkout's virtualenv; its log goes to bench/results/."""
    RESULTS.mkdir(exist_ok=True)
    log = (RESULTS / f"gunicorn-{log_name or app_path.split(':')[0]}.log").open("w")
    return subprocess.Popen(
        [
            str(venv_bin / "gunicorn"),
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
        cwd=root,
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
    """One wrk run (2 threads). Returns rps, p50/p99/max in ms, non2xx, `requests` completed
    and, for a rotating_post script, `rotated`: how far its request counter got."""
    lua = script or "\n".join(
        [f'wrk.method = "{method}"']
        + [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
        + ([f"wrk.body = {json.dumps(body)}"] if body else [])
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "60s", "--latency", "-s", f.name, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 90,
    ).stdout
    os.unlink(f.name)
    latency = _found(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    dist = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rotated = re.search(r"^rotated=(\d+)", out, re.M)
    return {
        "requests": int(_found(r"(\d+) requests in", out).group(1)),
        "rotated": int(rotated.group(1)) if rotated else 0,
        "rps": float(_found(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": to_ms(dist["50"]),
        "p99": to_ms(dist["99"]),
        "max": to_ms(latency.group(3)),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def rotating_post(
    tokens: list[str], paths: list[str], body: str, threads: int = 2, pace_ms: int = 0, offset: int = 0
) -> str:
    """A wrk script where request k uses token k mod T on path (k div T) mod P, the threads
    taking interleaved k from `offset` on: every request is a distinct (advocate, challenge)
    pair; a `{k}` in `body` becomes k (a value of its own per request). At the end it prints
    `rotated=N`, the span of k it used: the next run starts at
    offset + N so that no pair is sent twice."""
    quoted = lambda items: "{" + ",".join(json.dumps(i) for i in items) + "}"  # noqa: E731
    return f"""
local tokens = {quoted(tokens)}
local paths = {quoted(paths)}
local body = {json.dumps(body)}
counter = 0
local made = 0
local threads = {{}}
function setup(thread)
  thread:set("id", made)
  table.insert(threads, thread)
  made = made + 1
end
request = function()
  local k = {offset} + counter * {threads} + id
  counter = counter + 1
  local headers = {{["Authorization"] = "Bearer " .. tokens[(k % #tokens) + 1],
                   ["Content-Type"] = "application/json", ["X-Forwarded-Proto"] = "https"}}
  local sent = string.gsub(body, "{{k}}", tostring(k))
  return wrk.format("POST", paths[(math.floor(k / #tokens) % #paths) + 1], headers, sent)
end
function done(summary, latency, requests)
  local most = 0
  for _, t in ipairs(threads) do
    local c = t:get("counter")
    if c > most then most = c end
  end
  io.write(string.format("rotated=%d\\n", most * {threads}))
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


@dataclass
class Endpoint:
    """One thing bench/run.py or bench/compare.py drives with wrk. `rotating` = (tokens, paths,
    body) for a POST that must use a fresh (advocate, challenge) pair per request; `offset`
    then moves on after each run. `during` names a side load to run alongside ("writer")."""

    key: str
    name: str
    path: str
    headers: dict = field(default_factory=dict)
    rotating: tuple[list[str], list[str], str] | None = None
    during: str | None = None
    offset: int = 0

    def script(self) -> str | None:
        if self.rotating is None:
            return None
        tokens, paths, body = self.rotating
        return rotating_post(tokens, paths, body, offset=self.offset)

    def run_wrk(self, base_url: str, duration: int, connections: int) -> dict:
        """wrk on this endpoint; a rotating endpoint's next run starts after the pairs used."""
        fig = wrk(base_url + self.path, duration, connections, self.headers, script=self.script())
        self.offset += fig["rotated"]
        return fig


def measure(
    endpoint: Endpoint,
    base_url: str,
    duration: int,
    connections: int,
    server_pids: list[int],
    database: str,
    redis_pids: list[int] | None = None,
) -> Run:
    """One wrk run with the server side's CPU sampled from /proc just before and after it."""
    load = procstat.load_average()
    before = procstat.cpu_sample(server_pids, database, redis_pids)
    fig = endpoint.run_wrk(base_url, duration, connections)
    after = procstat.cpu_sample(server_pids, database, redis_pids)
    return Run(
        rps=fig["rps"],
        p50_ms=fig["p50"],
        p99_ms=fig["p99"],
        max_ms=fig["max"],
        requests=fig["requests"],
        non_2xx=fig["non2xx"],
        cpu_ms=procstat.cpu_per_request(before, after, fig["requests"], procstat.clock_ticks_per_second()),
        load=load,
    )


def wait_for_workers_booted(master: int, count: int = 2, timeout: float = 60) -> list[int]:
    """The gunicorn master's worker pids, once `count` of them are running."""
    deadline = time.monotonic() + timeout
    while True:
        pids = procstat.worker_pids(master)
        if len(pids) >= count or time.monotonic() > deadline:
            return pids
        time.sleep(0.2)


def wait_for_answer(url: str, headers: dict, timeout: float = 180) -> None:
    """Until the server answers one HTTP request (a worker has booted: imported the app)."""
    import requests

    deadline = time.monotonic() + timeout
    while True:
        try:
            # Any answer will do; a redirect (to https) is not followed.
            requests.get(url, headers=headers, timeout=timeout, allow_redirects=False)
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def warm_up(
    master: int,
    base_url: str,
    endpoints: list[Endpoint],
    connections: int,
    ports: frozenset[int] = frozenset(),
    passes: int = 8,
    burst_s: int = 2,
) -> int:
    """Drive every endpoint of one server in short bursts until, in one whole pass, requests
    completed and each gunicorn worker used CPU and holds connections to `ports` (PostgreSQL
    5432, Redis 6379: the worker imported the app and connected), and at least two passes ran.
    Returns the passes made (`passes` when the condition was never met)."""
    workers = wait_for_workers_booted(master)
    first = endpoints[0]
    wait_for_answer(base_url + first.path, first.headers)
    for made in range(1, passes + 1):
        before = procstat.ticks_of(workers)
        completed = sum(endpoint.run_wrk(base_url, burst_s, connections)["requests"] for endpoint in endpoints)
        after = procstat.ticks_of(workers)
        served = completed > 0 and all(
            after.get(pid, 0) - before.get(pid, 0) >= WARM_TICKS and ports <= procstat.remote_ports(pid)
            for pid in workers
        )
        if served and made >= 2:
            return made
        workers = procstat.worker_pids(master)
    return passes


# A worker that served requests in a burst used at least this many clock ticks (20 ms at
# USER_HZ 100); an idle worker's heartbeat uses none.
WARM_TICKS = 2
