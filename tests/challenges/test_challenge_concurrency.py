"""Concurrency and job faults on real PostgreSQL + Redis + `rq worker` processes
(reliability.md cases 1, 2, 3, 20–22, 24, 25), and the same limits on SQLite's serialized writers."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from challenges import jobs
from challenges.models import Ask, Completion, CompletionStatus
from hub.extensions import db
from hub.queue import RQBackend
from rewards.models import LedgerEntry
from tests.support.challenges import Site, create_challenge
from tests.support.threads import run_together

ROOT = Path(__file__).resolve().parents[2]
RQ = str(Path(sys.executable).parent / "rq")


def parallel(app, n: int, work) -> Counter:
    """Run work(i, client) in n threads released together; count the answers."""
    return run_together(n, lambda i: work(i, app.test_client()))


def answer(response) -> str | int:
    body = response.get_json()
    return response.status_code if response.status_code < 400 else body["error"]["code"]


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def setup_race(app, make, **challenge):
    with app.app_context():
        advocate = make.advocate()
        token = make.token(advocate.user)
        manager_tokens = [make.token(make.user("manager")) for _ in range(2)]
        cid = create_challenge(**({"type": "custom"} | challenge)).id
        return advocate.id, token, manager_tokens, cid


def _identical_submissions(app, make) -> None:
    advocate_id, token, _, cid = setup_race(app, make)
    headers = {"Authorization": f"Bearer {token}"}
    outcomes = parallel(
        app,
        20,
        lambda i, c: answer(
            c.post(f"/api/v1/challenges/{cid}/completions", json={"evidence_text": "done"}, headers=headers)
        ),
    )
    assert outcomes == Counter({201: 1, "already_submitted": 19})
    with app.app_context():
        assert count(Completion, Completion.advocate_id == advocate_id) == 1


def _cap_one_ten_asks(app, make) -> None:
    with app.app_context():
        advocate = make.advocate()
        advocate_id = advocate.id
        token = make.token(advocate.user)
        ids = [create_challenge(title=f"Webinar {n}", type="webinar").id for n in range(10)]
    headers = {"Authorization": f"Bearer {token}"}
    outcomes = parallel(
        app,
        10,
        lambda i, c: answer(
            c.post(f"/api/v1/challenges/{ids[i]}/completions", json={"evidence_text": "joined"}, headers=headers)
        ),
    )
    assert outcomes == Counter({201: 1, "cap_reached": 9})
    with app.app_context():
        assert count(Ask, Ask.advocate_id == advocate_id) == 1
        assert count(Completion, Completion.advocate_id == advocate_id) == 1


def _double_approval(app, make) -> None:
    advocate_id, token, manager_tokens, cid = setup_race(app, make)
    with app.app_context():
        client = app.test_client()
        completion_id = client.post(
            f"/api/v1/challenges/{cid}/completions",
            json={"evidence_text": "x"},
            headers={"Authorization": f"Bearer {token}"},
        ).get_json()["id"]
    outcomes = parallel(
        app,
        2,
        lambda i, c: answer(
            c.post(
                f"/api/v1/completions/{completion_id}/approve", headers={"Authorization": f"Bearer {manager_tokens[i]}"}
            )
        ),
    )
    assert outcomes == Counter({200: 1, "invalid_state": 1})
    with app.app_context():
        assert count(LedgerEntry, LedgerEntry.advocate_id == advocate_id) == 1


def _max_total_across_advocates(app, make) -> None:
    with app.app_context():
        tokens = [make.token(make.advocate().user) for _ in range(8)]
        cid = create_challenge(type="custom", max_total=3).id
    outcomes = parallel(
        app,
        8,
        lambda i, c: answer(
            c.post(
                f"/api/v1/challenges/{cid}/completions",
                json={"evidence_text": "x"},
                headers={"Authorization": f"Bearer {tokens[i]}"},
            )
        ),
    )
    assert outcomes == Counter({201: 3, "limit_reached": 5})


def _tries_under_concurrency(app, make) -> None:
    """Issue 19: with one try left, ten simultaneous tries create one; with none left, none."""
    from challenges import services

    with app.app_context():
        advocate = make.advocate()
        advocate_id, token = advocate.id, make.token(advocate.user)
        cid = create_challenge(type="custom", retry_limit=2, retry_wait_hours=24).id
        first = services.submit_completion(cid, advocate_id, {"evidence_text": "try 1"})
        db.session.commit()
        services.reject_completion(first.id, None, "Not quite.")
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}

    def attempt(i, c):
        return answer(c.post(f"/api/v1/challenges/{cid}/completions", json={"evidence_text": f"{i}"}, headers=headers))

    assert parallel(app, 10, attempt) == Counter({201: 1, "already_submitted": 9})
    with app.app_context():
        second = db.session.scalar(select(Completion).where(Completion.status == CompletionStatus.PENDING_REVIEW))
        services.reject_completion(second.id, None, "Still not.")
        db.session.commit()
    assert parallel(app, 10, attempt) == Counter({"limit_reached": 10})  # two rejected: a 24-hour wait
    with app.app_context():
        assert count(Completion, Completion.advocate_id == advocate_id) == 2


RACES = [
    _identical_submissions,
    _cap_one_ten_asks,
    _double_approval,
    _max_total_across_advocates,
    _tries_under_concurrency,
]


@pytest.mark.parametrize("race", RACES, ids=lambda r: r.__name__.strip("_"))
@pytest.mark.multi_connection
def test_races_on_sqlite(app, make, race):
    race(app, make)


@pytest.mark.services
@pytest.mark.parametrize("repeat", range(2))
@pytest.mark.parametrize("race", RACES, ids=lambda r: r.__name__.strip("_"))
@pytest.mark.multi_connection
def test_races_on_postgresql(pg_app, make, race, repeat):
    race(pg_app, make)


# --- a real rq worker ----------------------------------------------------------------------


@pytest.fixture()
def rq_env(pg_app, pg_url, redis_url):
    """Environment for `rq worker` processes acting on this run's database and queue."""
    from rq import Queue

    backend = pg_app.extensions["vouch_queue"]
    Queue(backend.queue_name(), connection=backend.connection).empty()
    for key in backend.connection.scan_iter(match=f"rq:job:{backend.namespace}-*"):
        backend.connection.delete(key)  # ids restart with the tables: no stale job may shadow a new one
    env = os.environ | {
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "VOUCH_ENV": "test",
        "SECRET_KEY": "test-secret-key",
        "VOUCH_REDIS_NAMESPACE": pg_app.config["VOUCH_REDIS_NAMESPACE"],
        "VOUCH_VERIFY_ALLOW_HOSTS": "localhost",
    }
    pg_app.config["VOUCH_VERIFY_ALLOW_HOSTS"] = ["localhost"]
    yield env, backend.queue_name()
    pg_app.config["VOUCH_VERIFY_ALLOW_HOSTS"] = []


FORKING_WORKER = "hub.worker.VouchWorker"
SIMPLE_WORKER = "hub.worker.VouchSimpleWorker"


def worker_args(env_queue, worker_class: str = FORKING_WORKER) -> list[str]:
    env, queue = env_queue
    return [
        RQ,
        "worker",
        "--worker-class",
        worker_class,
        "--url",
        env["REDIS_URL"],
        "--quiet",
        "--worker-ttl",
        "30",
        queue,
    ]


def burst(env_queue, worker_class: str = FORKING_WORKER) -> None:
    """Run an `rq worker --burst` until the queue is empty; it must exit cleanly."""
    done = subprocess.run(
        [*worker_args(env_queue, worker_class), "--burst"],
        cwd=ROOT,
        env=env_queue[0],
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]


def long_running_worker(env_queue) -> subprocess.Popen:
    return subprocess.Popen(
        worker_args(env_queue),
        cwd=ROOT,
        env=env_queue[0],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until(predicate, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def status(app, completion_id: int) -> tuple[CompletionStatus, int]:
    with app.app_context():
        c = db.session.get(Completion, completion_id)
        return c.status, c.verification_attempts


def url_completion(app, make, url: str) -> tuple[int, int]:
    from challenges import services

    with app.app_context():
        advocate = make.advocate()
        challenge = create_challenge(type="review", allowed_domains=["localhost"], marker=Site.MARKER, points=75)
        completion = services.submit_completion(challenge.id, advocate.id, {"evidence_url": url})
        db.session.commit()  # the job is enqueued on Redis after this commit
        return completion.id, advocate.id


@pytest.mark.services
@pytest.mark.parametrize("worker_class", [FORKING_WORKER, SIMPLE_WORKER])
@pytest.mark.multi_connection
def test_rq_worker_verifies_and_a_second_run_awards_nothing(pg_app, make, site, rq_env, worker_class):
    completion_id, advocate_id = url_completion(pg_app, make, site.url("/review"))
    burst(rq_env, worker_class)
    assert status(pg_app, completion_id)[0] is CompletionStatus.APPROVED
    # The same job delivered again (at-least-once): nothing more is written.
    with pg_app.app_context():
        pg_app.extensions["vouch_queue"].queue().enqueue(
            jobs.verify_completion, completion_id, job_id=pg_app.extensions["vouch_queue"].job_key("dup-run")
        )
    burst(rq_env, worker_class)
    with pg_app.app_context():
        assert count(LedgerEntry, LedgerEntry.advocate_id == advocate_id) == 1
        assert db.session.get(Completion, completion_id).points_awarded == 75


@pytest.mark.services
@pytest.mark.multi_connection
def test_worker_killed_mid_verification_still_ends_approved_once(pg_app, make, site, rq_env):
    from rq.registry import StartedJobRegistry

    completion_id, advocate_id = url_completion(pg_app, make, site.url("/hang-once"))
    proc = long_running_worker(rq_env)
    try:
        wait_until(
            lambda: "/hang-once" in site.hits and status(pg_app, completion_id)[0] is CompletionStatus.VERIFYING,
            "the worker to start fetching",
        )
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert status(pg_app, completion_id) == (CompletionStatus.VERIFYING, 1)
    with pg_app.app_context():
        counts = jobs.requeue_stuck(dt.timedelta(0))
        db.session.commit()
    assert counts == {"requeued": 1, "sent_to_review": 0}
    burst(rq_env)
    assert status(pg_app, completion_id)[0] is CompletionStatus.APPROVED
    # RQ's own recovery of the abandoned job (forced) runs it again: still one award.
    backend = pg_app.extensions["vouch_queue"]
    StartedJobRegistry(backend.queue_name(), connection=backend.connection).cleanup(time.time() + 10**6)
    burst(rq_env)
    with pg_app.app_context():
        assert count(LedgerEntry, LedgerEntry.advocate_id == advocate_id) == 1
    assert site.hits.count("/hang-once") >= 2


@pytest.mark.services
@pytest.mark.multi_connection
def test_redis_down_at_submission_then_sweep(pg_app, make, site, rq_env):
    backend = pg_app.extensions["vouch_queue"]
    pg_app.extensions["vouch_queue"] = RQBackend("redis://127.0.0.1:1/0", pg_app.config["VOUCH_REDIS_NAMESPACE"])
    try:
        with pg_app.app_context():
            token = make.token(make.advocate().user)
            cid = create_challenge(type="review", allowed_domains=["localhost"], marker=Site.MARKER).id
        response = pg_app.test_client().post(
            f"/api/v1/challenges/{cid}/completions",
            json={"evidence_url": site.url("/review")},
            headers={"Authorization": f"Bearer {token}"},
        )
    finally:
        pg_app.extensions["vouch_queue"] = backend
    assert response.status_code == 201 and response.get_json()["status"] == "submitted"
    completion_id = response.get_json()["id"]
    with pg_app.app_context():
        assert jobs.requeue_stuck(dt.timedelta(0))["requeued"] == 1
        db.session.commit()
    burst(rq_env)
    assert status(pg_app, completion_id)[0] is CompletionStatus.APPROVED


@pytest.mark.services
@pytest.mark.multi_connection
def test_job_timeout_writes_nothing_then_recovers(pg_app, make, site, rq_env):
    completion_id, advocate_id = url_completion(pg_app, make, site.url("/slow"))
    backend = pg_app.extensions["vouch_queue"]
    queue = backend.queue()
    queue.empty()  # replace the normal job with one whose timeout (1 s) is shorter than the page (1.5 s)
    queue.enqueue(jobs.verify_completion, completion_id, job_id=backend.job_key(f"slow-{completion_id}"), job_timeout=1)
    burst(rq_env)
    assert status(pg_app, completion_id) == (CompletionStatus.VERIFYING, 1)
    with pg_app.app_context():
        assert count(LedgerEntry, LedgerEntry.advocate_id == advocate_id) == 0
        jobs.requeue_stuck(dt.timedelta(0))
        db.session.commit()
    burst(rq_env)
    assert status(pg_app, completion_id)[0] is CompletionStatus.APPROVED
    with pg_app.app_context():
        assert count(LedgerEntry, LedgerEntry.advocate_id == advocate_id) == 1
