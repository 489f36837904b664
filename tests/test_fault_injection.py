"""Fault injection on the production stack (PostgreSQL, Redis, RQ): reliability.md cases 15,
19, 23 and 24 (issue 13, "Also").

- 15: a crash after the stock decrement, before or after the debit, in a real API request →
  the whole unit rolls back.
- 19: PostgreSQL itself raises serialization failures (40001) and deadlocks (40P01) in the
  middle of a redemption, after the stock was decremented → the unit is retried a bounded
  number of times: success with exactly one of everything, or 503 with nothing written.
- 23: a job that overruns its `@job_timeout` under a real RQ worker → killed, rolled back, no
  partial write, retried later with back-off.
- 24: a job enqueued in a transaction that rolls back → never reaches Redis.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import event, func, select

from hub.extensions import db
from hub.models import Advocate, Setting
from hub.queue import enqueue_after_commit, job_context, job_timeout
from rewards.models import EntryKind, LedgerEntry, Redemption, Reward
from tests.support.factories import Factory
from tests.support.rewards import check_rewards_invariants, new_reward

pytestmark = pytest.mark.services


@pytest.fixture()
def make_pg(pg_app) -> Factory:
    return Factory()


def _seed_redemption(pg_app, make: Factory, stock: int = 5) -> tuple[int, int, str]:
    with pg_app.app_context():
        reward_id = new_reward(points_cost=100, stock=stock)
        advocate = make.advocate(points=500)
        return reward_id, advocate.id, make.token(advocate.user)


def _state(pg_app, reward_id: int, advocate_id: int) -> tuple[int, int, int, int]:
    """(stock remaining, redemptions, redeem entries, cached balance) as stored now."""
    with pg_app.app_context():
        db.session.expire_all()
        return (
            db.session.get(Reward, reward_id).stock_remaining,
            db.session.scalar(select(func.count()).select_from(Redemption)),
            db.session.scalar(select(func.count()).where(LedgerEntry.kind == EntryKind.REDEEM)),
            db.session.get(Advocate, advocate_id).balance,
        )


def _redeem(pg_app, reward_id: int, token: str):
    return pg_app.test_client().post(
        f"/api/v1/rewards/{reward_id}/redemptions",
        json={"confirmed_cost": 100},
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.parametrize("where", ["before_debit", "after_debit"])
def test_15_crash_between_stock_and_debit_rolls_the_request_back(pg_app, make_pg, monkeypatch, where):
    from rewards.services import redemptions

    reward_id, advocate_id, token = _seed_redemption(pg_app, make_pg)
    real_post = redemptions.post_entry

    def crashing_post(*args, **kwargs):
        if where == "after_debit":
            real_post(*args, **kwargs)
        raise RuntimeError("injected crash")

    monkeypatch.setattr(redemptions, "post_entry", crashing_post)
    response = _redeem(pg_app, reward_id, token)
    assert response.status_code == 500 and response.json["error"]["code"] == "server_error"
    assert _state(pg_app, reward_id, advocate_id) == (5, 0, 0, 500)


class ForcedFailures:
    """Makes PostgreSQL raise `sqlstate` on the ledger INSERT of a redemption (after the stock
    UPDATE ran in the same transaction), the first `times` times. A real server error: a DO
    block that raises with that SQLSTATE, on the request's own connection."""

    def __init__(self, engine, sqlstate: str, times: int) -> None:
        self.engine, self.sqlstate, self.left, self.raised = engine, sqlstate, times, 0
        event.listen(engine, "before_cursor_execute", self.before)

    def before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.left and statement.lstrip().upper().startswith("INSERT INTO LEDGER_ENTRIES"):
            self.left -= 1
            self.raised += 1
            cursor.execute(f"DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '{self.sqlstate}'; END $$")

    def remove(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self.before)


@pytest.fixture()
def forced(pg_app):
    made: list[ForcedFailures] = []

    def build(sqlstate: str, times: int) -> ForcedFailures:
        with pg_app.app_context():
            made.append(ForcedFailures(db.engine, sqlstate, times))
        return made[-1]

    yield build
    for f in made:
        f.remove()


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_19_transient_postgresql_errors_are_retried_to_exactly_one_redemption(pg_app, make_pg, forced, sqlstate):
    from hub.transactions import TRANSIENT_RETRIES

    reward_id, advocate_id, token = _seed_redemption(pg_app, make_pg)
    failures = forced(sqlstate, TRANSIENT_RETRIES - 1)
    response = _redeem(pg_app, reward_id, token)
    assert response.status_code == 201, response.json
    assert failures.raised == TRANSIENT_RETRIES - 1
    assert _state(pg_app, reward_id, advocate_id) == (4, 1, 1, 400)
    with pg_app.app_context():
        check_rewards_invariants()


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_19_transient_errors_past_the_bound_answer_503_and_write_nothing(pg_app, make_pg, forced, sqlstate):
    from hub.transactions import TRANSIENT_RETRIES

    reward_id, advocate_id, token = _seed_redemption(pg_app, make_pg)
    failures = forced(sqlstate, 1000)
    response = _redeem(pg_app, reward_id, token)
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert failures.raised == TRANSIENT_RETRIES
    assert _state(pg_app, reward_id, advocate_id) == (5, 0, 0, 500)


# --- jobs under a real RQ worker -----------------------------------------------------------------


@job_timeout(1)
def overrunning_job(key: str) -> None:
    """Writes a row, then runs past its 1 s limit."""
    with job_context():
        db.session.add(Setting(key=key, value="partial"))
        db.session.flush()
        time.sleep(5)


@job_timeout(10)
def recording_job(key: str) -> None:
    with job_context():
        db.session.add(Setting(key=key, value="ran"))


def _run_worker(pg_app) -> None:
    from rq import SimpleWorker

    backend = pg_app.extensions["vouch_queue"]
    worker = SimpleWorker([backend.queue()], connection=backend.connection)
    worker.work(burst=True, with_scheduler=False)


def test_23_a_job_past_its_timeout_is_killed_rolled_back_and_retried_later(pg_app):
    from rq.job import Job, JobStatus

    backend = pg_app.extensions["vouch_queue"]
    with pg_app.app_context():
        enqueue_after_commit(overrunning_job, "overrun-probe", job_id="overrun-probe")
        db.session.commit()
        started = time.monotonic()
        _run_worker(pg_app)
        assert time.monotonic() - started < 4  # killed at its 1 s limit, not after the 5 s sleep
        db.session.remove()
        assert db.session.get(Setting, "overrun-probe") is None  # nothing of it committed
        job = Job.fetch(backend.job_key("overrun-probe"), connection=backend.connection)
        assert job.get_status(refresh=True) == JobStatus.SCHEDULED  # retried later, with back-off
        assert job.retries_left == 2
        scheduled_for = backend.queue().scheduled_job_registry.get_scheduled_time(job)
        assert scheduled_for >= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)


def test_24_a_job_for_a_rolled_back_transaction_never_reaches_redis(pg_app):
    backend = pg_app.extensions["vouch_queue"]
    with pg_app.app_context():
        db.session.add(Setting(key="doomed-probe", value=1))
        enqueue_after_commit(recording_job, "doomed-probe", job_id="doomed-probe")
        db.session.flush()
        db.session.rollback()
        enqueue_after_commit(recording_job, "kept-probe", job_id="kept-probe")
        db.session.commit()
        assert backend.queue().job_ids == [backend.job_key("kept-probe")]
        _run_worker(pg_app)
        db.session.remove()
        assert db.session.get(Setting, "doomed-probe") is None
        assert db.session.get(Setting, "kept-probe").value == "ran"
