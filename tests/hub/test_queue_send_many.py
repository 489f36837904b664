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


def test_a_unique_job_and_new_ids_jobs_share_the_one_transaction(counted):
    """rq's own enqueue (a unique id) and the template path (new ids) in one MULTI, in order."""
    made, seen = counted
    made.send_many(
        [
            JobSpec(noop, (1,), job_id="new-1", unique=False),
            JobSpec(noop, (2,), job_id="touch-2"),
            JobSpec(noop, (3,), job_id="new-3", unique=False),
        ]
    )
    assert seen == ["fetch vouchunit-touch-2", "pipeline"]
    assert [job.id for job in made.queue().get_jobs()] == ["vouchunit-new-1", "vouchunit-touch-2", "vouchunit-new-3"]
    assert [job.args for job in made.queue().get_jobs() if job.id == "vouchunit-touch-2"] == [(2,)]


def test_a_batch_with_nothing_left_to_send_opens_no_pipeline(counted):
    made, seen = counted
    made.send_many([JobSpec(noop, (1,), job_id="touch-1")])
    seen.clear()
    made.send_many([JobSpec(noop, (1,), job_id="touch-1")])
    assert seen == ["fetch vouchunit-touch-1"]
    assert len(made.queue().get_jobs()) == 1


def rq_enqueued(made: RQBackend, spec: JobSpec) -> None:
    """`spec` enqueued the way send_many enqueues a job through rq (create_job, enqueue_job)."""
    from rq import Retry

    q = made.queue(spec.queue)
    job = q.create_job(
        spec.func,
        args=spec.args,
        kwargs=spec.kwargs,
        job_id=made.job_key(spec.job_id),
        retry=Retry(max=spec.retries, interval=list(spec.retry_intervals)),
        timeout=spec.timeout,
        meta={"request_id": spec.request_id} if spec.request_id else None,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
    )
    with made.connection.pipeline() as pipe:
        q.enqueue_job(job, pipeline=pipe)
        pipe.execute()


@pytest.mark.parametrize("request_id", ["req-7f3a", None])
def test_a_new_id_s_job_hash_is_the_one_rq_writes(counted, request_id):
    """The kept-template path (a job id this transaction created) writes the hash, the queue
    entry and the queues set exactly as rq's own enqueue does, timestamps aside."""
    made, _ = counted
    by_rq = backend()
    spec = JobSpec(noop, (41,), {"label": "x" * 90}, job_id="verify-completion-41", unique=False, request_id=request_id)
    made.send_many([spec])
    rq_enqueued(by_rq, spec)

    key = Job.key_for("vouchunit-verify-completion-41")
    kept, written_by_rq = made.connection.hgetall(key), by_rq.connection.hgetall(key)
    stamps = {b"created_at", b"enqueued_at"}
    assert {k: v for k, v in kept.items() if k not in stamps} == {
        k: v for k, v in written_by_rq.items() if k not in stamps
    }
    assert kept.keys() >= stamps
    assert made.connection.lrange(made.queue().key, 0, -1) == [b"vouchunit-verify-completion-41"]
    assert made.connection.smembers("rq:queues") == by_rq.connection.smembers("rq:queues")
    job = Job.fetch("vouchunit-verify-completion-41", connection=made.connection)
    assert (job.args, job.kwargs, job.origin) == ((41,), {"label": "x" * 90}, "vouchunit-default")
    assert (job.retries_left, job.retry_intervals, job.timeout) == (3, [10, 60, 300], 30)
    assert job.meta == ({"request_id": request_id} if request_id else {})


def test_the_template_is_built_once_per_job_shape(counted, monkeypatch):
    from rq import Queue

    made, _ = counted
    built: list[str] = []
    real_create = Queue.create_job

    def create_job(self, func, *args, **kwargs):
        built.append(kwargs.get("job_id"))
        return real_create(self, func, *args, **kwargs)

    monkeypatch.setattr(Queue, "create_job", create_job)
    monkeypatch.setattr("hub.queue._HASH_TEMPLATES", {})
    for n in range(3):
        made.send_many([JobSpec(noop, (n,), job_id=f"a-{n}", unique=False)])
    made.send_many([JobSpec(noop, (9,), job_id="b-9", unique=False, retries=1)])
    assert built == ["template", "template"]  # one per shape (retries 3, retries 1)
    assert [job.args for job in made.queue().get_jobs()] == [(0,), (1,), (2,), (9,)]
    assert Job.fetch("vouchunit-b-9", connection=made.connection).retries_left == 1


def test_a_job_written_from_the_template_runs_in_an_rq_worker():
    import math

    from rq import SimpleWorker

    made = backend()
    made.send_many([JobSpec(math.hypot, (3, 4), job_id="run-1", unique=False, timeout=30, request_id="req-1")])
    worker = SimpleWorker([made.queue()], connection=made.connection)
    assert worker.work(burst=True)
    job = Job.fetch("vouchunit-run-1", connection=made.connection)
    assert job.get_status() == "finished"
    assert job.return_value() == 5.0
    assert made.queue().count == 0
