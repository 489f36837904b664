"""Operations on real PostgreSQL and Redis: the Jobs page lists RQ's failed jobs and retries
one exactly once, /readyz notices a stalled queue, and a pg_dump restored into a fresh
database gives back the same balances, lifetime points and leaderboards after the rebuild."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator

import psycopg
import pytest
from rq import SimpleWorker
from rq.job import Job
from sqlalchemy import func, select

from hub.extensions import db
from hub.models import Advocate, AuditEntry
from hub.queue import JobSpec, dispatch_now, job_timeout
from tests.support.environment import PG_URL, WORKER_ID, build_app, clear_tables

pytestmark = pytest.mark.services


@job_timeout(10)
def explode(n: int) -> None:
    """A job that always fails (module-level so a worker can import it)."""
    raise RuntimeError(f"boom {n}")


@pytest.fixture()
def rq_queue(pg_app) -> Iterator:
    queue = pg_app.extensions["vouch_queue"].queue()
    queue.empty()
    for job_id in queue.failed_job_registry.get_job_ids():
        queue.failed_job_registry.remove(job_id, delete_job=True)
    yield queue
    for job_id in queue.failed_job_registry.get_job_ids():
        queue.failed_job_registry.remove(job_id, delete_job=True)
    queue.empty()


def pg_login(app, user) -> object:
    from tests.support.environment import TEST_PASSWORD

    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.data[:300]
    return client


@pytest.mark.multi_connection
def test_failed_jobs_are_listed_and_retried_once(pg_app, pg_ctx, make, rq_queue):
    from hub.logs import current_request_id

    token = current_request_id.set("req-failing-1")
    try:
        dispatch_now(JobSpec(explode, (7,), job_id="explode-7", retries=0), pg_app)
    finally:
        current_request_id.reset(token)
    SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
    assert rq_queue.failed_job_registry.count == 1
    job_id = pg_app.extensions["vouch_queue"].job_key("explode-7")

    client = pg_login(pg_app, make.user("manager"))
    page = client.get("/admin/jobs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "test_ops_services.explode" in html and "RuntimeError: boom 7" in html
    assert job_id in html and "req-failing-1" in html and "<code>7</code>" in html

    response = client.post(f"/admin/jobs/{job_id}/retry", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Queued again" in response.get_data(as_text=True)
    assert rq_queue.failed_job_registry.count == 0
    assert rq_queue.job_ids == [job_id]
    again = client.post(f"/admin/jobs/{job_id}/retry", headers={"HX-Request": "true"})
    assert "not failed any more" in again.get_data(as_text=True)
    assert rq_queue.job_ids == [job_id]  # still once
    assert client.post("/admin/jobs/vouch-no-such-job/retry").status_code == 404
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "job.retry")).all()
    assert [(a.target_type, a.target_id) for a in audit] == [("job", job_id)]

    advocate_client = pg_login(pg_app, make.user("advocate"))
    assert advocate_client.post(f"/admin/jobs/{job_id}/retry").status_code == 403


def test_readyz_reports_a_stalled_queue(pg_app, pg_ctx, rq_queue):
    client = pg_app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json["checks"]["queue"]["depth"] == 0

    dispatch_now(JobSpec(explode, (1,), job_id="waiting-1"), pg_app)
    fresh = client.get("/readyz").json["checks"]["queue"]
    assert fresh["ok"] is True and fresh["depth"] == 1 and fresh["oldest_age_s"] < 60

    job = Job.fetch(pg_app.extensions["vouch_queue"].job_key("waiting-1"), connection=rq_queue.connection)
    job.enqueued_at = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=10)
    job.save()
    stalled = client.get("/readyz")
    assert stalled.status_code == 503
    queue = stalled.json["checks"]["queue"]
    assert queue["ok"] is False and queue["oldest_age_s"] >= 600 and queue["stall_after_s"] == 300
    assert stalled.json["checks"]["database"]["ok"] and stalled.json["checks"]["redis"]["ok"]


# --- backup and restore --------------------------------------------------------------------


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def totals(app) -> dict:
    """What must survive a restore: per-advocate balance and lifetime points, the sums, and
    every leaderboard (the SQL table and Redis)."""
    from rewards import leaderboard
    from rewards.models import LeaderboardScore

    with app.app_context():
        advocates = {
            a.id: (a.balance, a.lifetime_points) for a in db.session.scalars(select(Advocate).order_by(Advocate.id))
        }
        boards = sorted(
            db.session.execute(
                select(LeaderboardScore.period_key, LeaderboardScore.advocate_id, LeaderboardScore.points)
            ).all()
        )
        redis = app.extensions["vouch_redis"]
        # The boards, not their bookkeeping keys (the encoding marker, the stale flag).
        keys = sorted(
            k.decode()
            for k in redis.scan_iter(match=f"{leaderboard.key_prefix()}*")
            if k.decode() not in (leaderboard.encoding_key(), leaderboard.stale_key())
        )
        redis_boards = {
            k.removeprefix(leaderboard.key_prefix()): sorted(
                (m.decode(), s) for m, s in redis.zrange(k, 0, -1, withscores=True)
            )
            for k in keys
        }
        db.session.remove()
    return {
        "advocates": advocates,
        "balance_sum": sum(b for b, _ in advocates.values()),
        "lifetime_sum": sum(lifetime for _, lifetime in advocates.values()),
        "boards": [tuple(row) for row in boards],
        "redis": redis_boards,
    }


@pytest.mark.multi_connection
def test_pg_dump_restore_and_rebuild_gives_the_same_totals(pg_app, make, redis_url):
    """No app context stays pushed: the `flask rewards` command must build on the restored app."""
    from rewards.ledger import post_entry

    with pg_app.app_context():
        people = [make.advocate(points=p).id for p in (120, 45, 300)]
        post_entry(people[0], -70, kind="redeem", source_type="redemption", source_id="r-1", memo="Socks")
        post_entry(people[1], 15, kind="bonus", source_type="test", source_id="b-1", memo="Thanks")
        post_entry(people[2], 25, kind="adjust", source_type="adjustment", source_id="a-1", memo="Webinar")
        db.session.commit()
        db.session.remove()
    original = totals(pg_app)
    assert original["balance_sum"] == 120 - 70 + 45 + 15 + 300 + 25
    assert original["lifetime_sum"] == 120 + 45 + 15 + 300 + 25
    assert original["redis"] and original["boards"]

    restored_name = f"vouch_restore_{WORKER_ID}"
    admin_url = libpq(PG_URL)
    dump = subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", "--dbname", libpq(str(pg_app.config["SQLALCHEMY_DATABASE_URI"]))],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{restored_name}"')
    restored_url = f"{PG_URL.rpartition('/')[0]}/{restored_name}"
    restored = None
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", libpq(restored_url)],
            input=dump,
            capture_output=True,
            check=True,
            timeout=120,
        )
        # A fresh Redis namespace: the restored site starts with no leaderboards at all, and
        # its cached balances are zeroed to prove the rebuild recomputes them.
        restored = build_app(restored_url, REDIS_URL=redis_url, VOUCH_REDIS_NAMESPACE=f"vouchrestore{WORKER_ID}")
        with restored.app_context():
            db.session.execute(Advocate.__table__.update().values(balance=0, lifetime_points=0))
            db.session.commit()
        result = restored.test_cli_runner().invoke(args=["rewards", "rebuild-caches"], catch_exceptions=False)
        assert result.exit_code == 0 and "Recomputed 3 advocates" in result.output, result.output
        back = totals(restored)
        assert back["advocates"] == original["advocates"]
        assert (back["balance_sum"], back["lifetime_sum"]) == (original["balance_sum"], original["lifetime_sum"])
        assert back["boards"] == original["boards"]
        assert back["redis"] == original["redis"]
    finally:
        if restored is not None:
            clear_tables(restored)
            with restored.app_context():
                db.engine.dispose()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)')
    with pg_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Advocate)) == 3
