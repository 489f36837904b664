"""RQBackend.send_many (issue 22): every job of a commit in one Redis transaction, and no look-up
of a job id that cannot exist yet."""

from __future__ import annotations

import fakeredis
import pytest
from rq.job import Job

from hub.queue import JobSpec, RQBackend, job_timeout


@job_timeout(30)
def noop(n: int) -> int:
    return n


def backend() -> RQBackend:
    made = RQBackend.__new__(RQBackend)
    made.connection = fakeredis.FakeRedis()
    made.namespace = "vouchunit"
    return made


@pytest.fixture()
def counted(monkeypatch) -> tuple[RQBackend, list[str]]:
    """A backend on fakeredis that records each pipeline it opens and each Job.fetch."""
    made = backend()
    seen: list[str] = []
    real_pipeline = made.connection.pipeline

    def pipeline(*args, **kwargs):
        seen.append("pipeline")
        return real_pipeline(*args, **kwargs)

    made.connection.pipeline = pipeline  # type: ignore[method-assign]
    real_fetch = Job.fetch

    def fetch(job_id, *args, **kwargs):
        seen.append(f"fetch {job_id}")
        return real_fetch(job_id, *args, **kwargs)

    monkeypatch.setattr(Job, "fetch", staticmethod(fetch))
    monkeypatch.setattr(noop, "__module__", "tests.hub.test_queue_send_many")
    return made, seen


def test_jobs_of_a_commit_go_in_one_transaction_without_fetching_new_ids(counted):
    made, seen = counted
    specs = [JobSpec(noop, (n,), job_id=f"new-{n}", unique=False) for n in range(3)]
    made.send_many(specs)
    assert seen == ["pipeline"]
    assert [job.id for job in made.queue().get_jobs()] == ["vouchunit-new-0", "vouchunit-new-1", "vouchunit-new-2"]
    assert [job.args for job in made.queue().get_jobs()] == [(0,), (1,), (2,)]


def test_a_unique_id_still_queued_is_skipped_and_the_rest_of_the_batch_goes(counted):
    made, seen = counted
    made.send_many([JobSpec(noop, (1,), job_id="touch-1")])
    seen.clear()
    made.send_many([JobSpec(noop, (1,), job_id="touch-1"), JobSpec(noop, (2,), job_id="fresh-2", unique=False)])
    assert seen == ["fetch vouchunit-touch-1", "pipeline"]
    assert [job.id for job in made.queue().get_jobs()] == ["vouchunit-touch-1", "vouchunit-fresh-2"]


def test_a_batch_with_nothing_left_to_send_opens_no_pipeline(counted):
    made, seen = counted
    made.send_many([JobSpec(noop, (1,), job_id="touch-1")])
    seen.clear()
    made.send_many([JobSpec(noop, (1,), job_id="touch-1")])
    assert seen == ["fetch vouchunit-touch-1"]
    assert len(made.queue().get_jobs()) == 1
