"""RQ's failed-job registry for staff: list the jobs that used up their retries, and retry one.

Only meaningful with `REDIS_URL`: in the embedded default jobs run in-process and a failed
one is logged (`vouch.job`, outcome `failed`). Retrying puts the same job (same id, same
arguments) back on the queue; jobs are idempotent, so a retry of one that half-ran is safe.
Removal from the registry is atomic (ZREM), so two staff pressing Retry at once enqueue it once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app

from hub.audit import record_audit
from hub.errors import InvalidState, NotFound

ARGS_SHOWN = 120  # characters of a job's arguments shown on the page


@dataclass(frozen=True)
class FailedJob:
    """A failed job as the page shows it (times are aware UTC)."""

    id: str
    function: str
    arguments: str
    failed_at: dt.datetime | None
    enqueued_at: dt.datetime | None
    error: str
    request_id: str | None


@dataclass(frozen=True)
class QueueSummary:
    name: str
    queued: int
    started: int
    scheduled: int
    failed: int
    workers: int


def rq_queue():
    """The RQ queue, or None in the embedded default."""
    backend = current_app.extensions.get("vouch_queue")
    queue_of = getattr(backend, "queue", None)
    return queue_of() if queue_of is not None else None


def queue_summary() -> QueueSummary | None:
    from rq import Worker

    queue = rq_queue()
    if queue is None:
        return None
    return QueueSummary(
        queue.name,
        queue.count,
        queue.started_job_registry.count,
        queue.scheduled_job_registry.count,
        queue.failed_job_registry.count,
        Worker.count(connection=queue.connection, queue=queue),
    )


def failed_jobs(page: int, per_page: int) -> tuple[list[FailedJob], int]:
    """One page of failed jobs, most recently failed first, and how many there are."""
    from rq.job import Job

    queue = rq_queue()
    if queue is None:
        return [], 0
    registry = queue.failed_job_registry
    total = registry.count
    start = (page - 1) * per_page
    ids = registry.get_job_ids(start, start + per_page - 1, desc=True)
    jobs = [job for job in Job.fetch_many(ids, connection=queue.connection) if job is not None]
    return [_describe(job) for job in jobs], total


def _describe(job) -> FailedJob:
    result = job.latest_result()
    error = (getattr(result, "exc_string", None) or "").strip().splitlines()
    arguments = ", ".join([*(repr(a) for a in job.args), *(f"{k}={v!r}" for k, v in job.kwargs.items())])
    return FailedJob(
        id=job.id,
        function=job.func_name or "?",
        arguments=arguments if len(arguments) <= ARGS_SHOWN else arguments[: ARGS_SHOWN - 1] + "…",
        failed_at=_aware(job.ended_at),
        enqueued_at=_aware(job.enqueued_at),
        error=error[-1] if error else "",
        request_id=(job.meta or {}).get("request_id"),
    )


def _aware(at: dt.datetime | None) -> dt.datetime | None:
    return at.replace(tzinfo=dt.UTC) if at is not None and at.tzinfo is None else at


def retry_failed_job(job_id: str, actor_id: int) -> str:
    """Put a failed job back on its queue (audited; the caller commits the audit row).

    Returns the job's function path. Raises NotFound without Redis or when no such job
    exists, InvalidState when it is no longer in the failed registry (retried already)."""
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.job import Job

    queue = rq_queue()
    if queue is None:
        raise NotFound("Jobs run in-process here; there is no failed-job registry.")
    try:
        job = Job.fetch(job_id, connection=queue.connection)
    except NoSuchJobError as exc:
        raise NotFound("No such job (failed jobs are kept for 7 days).") from exc
    if job.origin != queue.name:
        raise NotFound("No such job in this program's queue.")
    try:
        queue.failed_job_registry.requeue(job)
    except InvalidJobOperation as exc:
        raise InvalidState("This job is not failed any more (it was retried already).") from exc
    record_audit(actor_id, "job.retry", "job", job_id[:64], {"status": "failed"}, {"status": "queued"})
    return job.func_name or "?"
