"""The RQ worker classes for Vouch: `rq worker --worker-class hub.worker.VouchSimpleWorker …`.

Both build the Flask app once, before the first job: building it (config, extensions,
blueprints, imports) costs far more than most jobs do, and a job with a short timeout could
be killed before doing anything.

- `VouchSimpleWorker` (what `make worker` runs) executes jobs in the worker process: the
  database pool and Redis connections stay open between jobs, about 5× the jobs/s of forking
  on the benchmark (docs/performance.md). Job timeouts still apply (SIGALRM).
- `VouchWorker` forks a work horse per job, as plain `rq worker` does; each horse inherits the
  prebuilt app and opens its own connections.

Both write one log line and the job metrics per job (`hub.logs`, `hub.metrics`) with the id
of the request that enqueued it, and log RQ's own lines in `VOUCH_LOG_FORMAT` too.
"""

from __future__ import annotations

import time

from rq.job import JobStatus
from rq.worker import SimpleWorker, Worker


class ObservedJobs:
    """Times each job and records its outcome: `ok`, `retry` (failed; RQ will run it again),
    `failed` (no retries left) or `killed` (the work horse died: timeout or a signal)."""

    def work(self, *args, **kwargs):
        from hub.logs import use_format_for
        from hub.queue import preload_worker_app

        app = preload_worker_app()
        for name in ("rq.worker", "rq.job", "rq.scheduler"):
            use_format_for(name, app.config["VOUCH_LOG_FORMAT"])
        return super().work(*args, **kwargs)

    def perform_job(self, job, queue, execution) -> bool:
        from hub.logs import current_request_id

        request_id = (job.meta or {}).get("request_id")
        token = current_request_id.set(request_id)
        self._job_error: str | None = None
        started = time.perf_counter()
        try:
            return super().perform_job(job, queue, execution)  # type: ignore[misc]  # mixin: the RQ worker follows in the MRO
        finally:
            status = job.get_status(refresh=False)
            outcome = {JobStatus.FINISHED: "ok", JobStatus.FAILED: "failed"}.get(status, "retry")
            _record(job, outcome, time.perf_counter() - started, request_id, self._job_error)
            current_request_id.reset(token)

    def handle_exception(self, job, *exc_info):
        _, value, _ = exc_info
        self._job_error = f"{type(value).__name__}: {value}" if value is not None else None
        return super().handle_exception(job, *exc_info)

    def handle_work_horse_killed(self, job, retpid, ret_val, rusage):
        started = job.started_at.timestamp() if job.started_at else None
        duration = time.time() - started if started else 0.0
        _record(job, "killed", duration, (job.meta or {}).get("request_id"), f"work horse ended with {ret_val}")
        return super().handle_work_horse_killed(job, retpid, ret_val, rusage)


def _record(job, outcome: str, duration: float, request_id: str | None, error: str | None) -> None:
    from hub.logs import log_job
    from hub.metrics import observe_job

    function = job.func_name or "?"
    observe_job(function, outcome, duration)
    log_job(job.id, function, duration, outcome, request_id, error)


class VouchWorker(ObservedJobs, Worker):
    """Forks a work horse per job."""


class VouchSimpleWorker(ObservedJobs, SimpleWorker):
    """Runs jobs in the worker process itself (no fork per job): the app, its database pool
    and Redis connections stay warm between jobs."""
