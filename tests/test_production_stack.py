"""`make prod` on real PostgreSQL and Redis: the stack comes up ready, a worker process runs
what a request enqueued (logged as JSON with the request's id, counted in the merged
/metrics), SIGTERM to honcho stops every process it started, and a worker SIGKILLed in the
middle of a verification leaves the completion for the requeue sweep, which awards it once."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from tests.support.challenges import Site
from tests.support.environment import PG_URL, build_app
from tests.support.factories import Factory

pytestmark = pytest.mark.services
ROOT = Path(__file__).resolve().parents[1]
METRICS_TOKEN = "stack-metrics-token-0123456789"
HTTPS = {"X-Forwarded-Proto": "https"}  # as the TLS proxy in front would say


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (from /proc), found now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def parent_of(pid: int) -> int | None:
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def command_of(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_for(predicate, what: str, timeout: float = 60.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(every)


@dataclass
class Stack:
    make: subprocess.Popen
    port: int
    database_url: str
    env: dict[str, str]
    log_path: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def honcho_pid(self) -> int:
        """make's own child: the recipe's shell exec'd honcho (its forked helpers share the command line)."""
        (pid,) = [p for p in descendants(self.make.pid) if parent_of(p) == self.make.pid]
        assert "honcho" in command_of(pid), command_of(pid)
        return pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def json_lines(self) -> list[dict]:
        lines = []
        for line in self.log().splitlines():
            _, sep, rest = line.partition("| ")
            if sep and rest.startswith("{"):
                lines.append(json.loads(rest))
        return lines


@pytest.fixture()
def stack_factory(redis_url: str, tmp_path: Path) -> Iterator:
    """Start `make prod` on a PostgreSQL database created for the test and its own Redis
    namespace; stopped (and the database dropped) afterwards whatever happened."""
    admin_url = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    started: list[Stack] = []
    databases: list[str] = []

    def start(workers: int = 2, web_concurrency: int = 2) -> Stack:
        name = f"vouch_stack_{secrets.token_hex(4)}"
        try:
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.OperationalError as exc:
            pytest.fail(f"PostgreSQL is not reachable: {exc}")
        databases.append(name)
        database_url = f"{PG_URL.rpartition('/')[0]}/{name}"
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VOUCH_", "MAKE", "PROMETHEUS"))} | {
            "VOUCH_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "VOUCH_REDIS_NAMESPACE": f"stack{secrets.token_hex(4)}",
            "VOUCH_METRICS_TOKEN": METRICS_TOKEN,
            "VOUCH_VERIFY_ALLOW_HOSTS": "localhost",
            "VOUCH_BASE_URL": f"http://127.0.0.1:{port}",
            "PORT": str(port),
            "WEB_CONCURRENCY": str(web_concurrency),
            "WORKERS": str(workers),
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{name}"),
        }
        env.pop("SMTP_URL", None)
        log_path = tmp_path / f"{name}.log"
        with log_path.open("wb") as log:
            make = subprocess.Popen(
                ["make", "--no-print-directory", "prod"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        stack = Stack(make, port, database_url, env, log_path)
        started.append(stack)

        def ready():
            if make.poll() is not None:
                raise AssertionError(f"make prod exited with {make.returncode}:\n{stack.log()[-4000:]}")
            try:
                return requests.get(stack.url("/readyz"), timeout=5).status_code == 200
            except requests.RequestException:  # not listening yet, or still booting
                return False

        wait_for(ready, "/readyz to answer 200", timeout=90)
        return stack

    yield start
    for stack in started:
        if stack.make.poll() is None:
            os.killpg(stack.make.pid, signal.SIGTERM)
            try:
                stack.make.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(stack.make.pid, signal.SIGKILL)
        import redis

        client = redis.Redis.from_url(redis_url)
        namespace = stack.env["VOUCH_REDIS_NAMESPACE"]
        for key in client.scan_iter(match=f"*{namespace}*"):
            client.delete(key)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name in databases:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(stack: Stack, **challenge) -> tuple[str, int, int]:
    """An advocate (API token) and a published challenge in the stack's database."""
    from challenges import services
    from hub.extensions import db

    app = build_app(
        stack.database_url,
        REDIS_URL=stack.env["REDIS_URL"],
        VOUCH_REDIS_NAMESPACE=stack.env["VOUCH_REDIS_NAMESPACE"],
        VOUCH_VERIFY_ALLOW_HOSTS=["localhost"],
    )
    make = Factory()
    with app.app_context():
        advocate = make.advocate()
        token = make.token(advocate.user)
        data = services.clean_challenge({"title": "Stack check", "points": 40, **challenge})
        created = services.create_challenge(data, None)
        services.publish_challenge(created.id, None)
        db.session.commit()
        ids = advocate.id, created.id
        db.session.remove()  # give its connection back before closing them all
        db.engine.dispose()
    return token, *ids


def completion_status(stack: Stack, token: str, completion_id: int) -> str:
    response = requests.get(
        stack.url(f"/api/v1/completions/{completion_id}"),
        headers={"Authorization": f"Bearer {token}"} | HTTPS,
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return response.json()["status"]


def ledger_rows(database_url: str, advocate_id: int) -> int:
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute("SELECT count(*) FROM ledger_entries WHERE advocate_id = %s", (advocate_id,)).fetchone()[0]


def scrape(stack: Stack) -> dict:
    response = requests.get(stack.url("/metrics"), headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5)
    assert response.status_code == 200, response.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


@pytest.mark.multi_connection
def test_make_prod_runs_the_stack_and_sigterm_stops_all_of_it(stack_factory):
    stack = stack_factory(workers=2, web_concurrency=2)
    body = requests.get(stack.url("/readyz"), timeout=5).json()
    assert body["checks"]["queue"]["workers"] == 2 and body["checks"]["redis"]["configured"] is True
    assert requests.get(stack.url("/healthz"), timeout=5).json() == {"status": "ok"}
    assert requests.get(stack.url("/metrics"), timeout=5).status_code == 403  # production: token only

    token, advocate_id, challenge_id = seed(
        stack, type="survey", quiz={"questions": [{"prompt": "What do you like?", "options": []}]}
    )
    response = requests.post(
        stack.url(f"/api/v1/challenges/{challenge_id}/completions"),
        json={"answers": ["The reports"]},
        headers={"Authorization": f"Bearer {token}", "X-Request-Id": "stack-submit-1"} | HTTPS,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-Id"] == "stack-submit-1"
    completion_id = response.json()["id"]
    # A survey is graded by the submission itself (issue 22): approved in the reply.
    assert response.json()["status"] == "approved"
    assert ledger_rows(stack.database_url, advocate_id) == 1

    # The after-submission job's line, written by a worker process, carries the id of the request
    # that enqueued it.
    def job_line():
        return [
            line
            for line in stack.json_lines()
            if line.get("event") == "job" and line.get("function") == "challenges.trust.trust_after_submission"
        ]

    (line,) = wait_for(job_line, "the worker's job log line", 10)
    assert line["request_id"] == "stack-submit-1" and line["outcome"] == "ok"
    assert line["job_id"].endswith(f"trust-completion-{completion_id}")
    requests_logged = [line for line in stack.json_lines() if line.get("request_id") == "stack-submit-1"]
    assert {"request", "job"} <= {line.get("event") for line in requests_logged}

    # /metrics merges the web workers' and the RQ workers' counters (multi-process mode).
    samples = scrape(stack)
    after_ok = (("function", "challenges.trust.trust_after_submission"), ("outcome", "ok"))
    assert samples[("vouch_jobs_total", after_ok)] == 1
    assert samples[("vouch_points_issued_total", (("kind", "earn"),))] == 40
    submit = (("endpoint", "challenges_api.submit_completion"), ("method", "POST"), ("status", "201"))
    assert samples[("vouch_http_requests_total", submit)] == 1
    assert samples[("vouch_completions", (("status", "approved"),))] == 1
    assert samples[("vouch_queue_workers", (("queue", f"{stack.env['VOUCH_REDIS_NAMESPACE']}-default"),))] == 2

    # SIGTERM to honcho: every process it started is gone, and make returns.
    honcho = stack.honcho_pid()
    processes = descendants(stack.make.pid)
    commands = " ".join(command_of(p) for p in processes)
    assert "gunicorn" in commands and "rq worker" in commands and "rq cron" in commands
    gunicorns = [p for p in processes if "gunicorn" in command_of(p) and not command_of(p).startswith("/bin/sh")]
    assert len(gunicorns) == 3  # master + WEB_CONCURRENCY workers
    os.kill(honcho, signal.SIGTERM)
    stack.make.wait(timeout=30)
    wait_for(lambda: not any(alive(p) for p in processes), "every stack process to exit", 15)


@pytest.mark.multi_connection
def test_worker_killed_mid_verification_is_recovered_once_by_the_sweep(stack_factory, redis_url):
    from challenges import jobs
    from challenges.models import Completion, CompletionStatus
    from hub.extensions import db
    from rewards.models import LedgerEntry

    site = Site()
    try:
        stack = stack_factory(workers=1, web_concurrency=1)
        token, advocate_id, challenge_id = seed(
            stack, type="review", allowed_domains=["localhost"], marker=Site.MARKER, points=75
        )
        response = requests.post(
            stack.url(f"/api/v1/challenges/{challenge_id}/completions"),
            json={"evidence_url": site.url("/hang-once")},
            headers={"Authorization": f"Bearer {token}"} | HTTPS,
            timeout=10,
        )
        assert response.status_code == 201, response.text
        completion_id = response.json()["id"]
        wait_for(
            lambda: "/hang-once" in site.hits and completion_status(stack, token, completion_id) == "verifying",
            "the stack's worker to start fetching",
            30,
        )
        processes = descendants(stack.make.pid)
        rq_workers = {p for p in processes if "rq worker" in command_of(p) and not command_of(p).startswith("/bin/sh")}
        (worker,) = [p for p in rq_workers if parent_of(p) not in rq_workers]  # not the scheduler it forked
        honcho = stack.honcho_pid()
        os.kill(worker, signal.SIGKILL)  # mid-job: the fetch is still hanging
        wait_for(lambda: not alive(worker), "the worker to die")
        # Its forked scheduler still holds the worker's output, so honcho keeps the rest
        # running; stopping the stack still ends every process, the orphan too.
        os.kill(honcho, signal.SIGTERM)
        stack.make.wait(timeout=30)
        wait_for(lambda: not any(alive(p) for p in processes), "every stack process to exit", 15)
        assert completion_status_in_db(stack, completion_id) == ("verifying", 1)

        app = build_app(
            stack.database_url,
            REDIS_URL=redis_url,
            VOUCH_REDIS_NAMESPACE=stack.env["VOUCH_REDIS_NAMESPACE"],
            VOUCH_VERIFY_ALLOW_HOSTS=["localhost"],
        )
        with app.app_context():
            counts = jobs.requeue_stuck(dt.timedelta(0))
            db.session.commit()
            assert counts == {"requeued": 1, "sent_to_review": 0}
            assert jobs.requeue_stuck(dt.timedelta(0)) == {"requeued": 1, "sent_to_review": 0}  # a second sweep
            db.session.commit()
            db.session.remove()
        burst = subprocess.run(
            [
                str(ROOT / ".venv/bin/rq"),
                "worker",
                "--burst",
                "--worker-class",
                "hub.worker.VouchSimpleWorker",
                "--url",
                redis_url,
                f"{stack.env['VOUCH_REDIS_NAMESPACE']}-default",
            ],
            cwd=ROOT,
            env={k: v for k, v in stack.env.items() if k != "PROMETHEUS_MULTIPROC_DIR"},  # an empty value means cwd
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert burst.returncode == 0, burst.stderr[-3000:]
        with app.app_context():
            completion = db.session.get(Completion, completion_id)
            assert completion.status is CompletionStatus.APPROVED and completion.points_awarded == 75
            earned = db.session.scalar(
                select(func.count()).select_from(LedgerEntry).where(LedgerEntry.advocate_id == advocate_id)
            )
            assert earned == 1
            db.session.remove()
            db.engine.dispose()
        assert site.hits.count("/hang-once") >= 2
    finally:
        site.close()


def completion_status_in_db(stack: Stack, completion_id: int) -> tuple[str, int]:
    with psycopg.connect(stack.database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute(
            "SELECT status, verification_attempts FROM completions WHERE id = %s", (completion_id,)
        ).fetchone()
