"""Background jobs: enqueue after commit, RQ when REDIS_URL is set, else an in-process worker.

Jobs are top-level functions taking ids and plain values. They run at least once, so
their effects must be idempotent. `enqueue_after_commit` records a job on the current
session; it is sent only once the outermost transaction commits (a SAVEPOINT release, which
SQLAlchemy also reports as a commit, does not count) and dropped on rollback.

Every job declares its time limit with `@job_timeout(seconds)` (or the caller passes
`timeout=`): RQ kills a job that runs longer, its transaction rolls back, and the retry or
the requeue sweep picks it up. A job without one is refused at enqueue time, so no job runs
on RQ's 180 s default by accident.

The id of the request (or job) that enqueued a job travels with it (RQ job meta
`request_id`) and is logged with the job's line (`hub.logs`).
"""

from __future__ import annotations

import contextlib
import logging
import queue as stdlib_queue
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

PENDING_KEY = "vouch_pending_jobs"
DEFAULT_QUEUE = "default"
JobFunction = TypeVar("JobFunction", bound=Callable[..., Any])


def job_timeout(seconds: int) -> Callable[[JobFunction], JobFunction]:
    """Declare a job function's time limit in seconds (the function itself is unchanged, so
    RQ still imports it by its dotted path)."""
    if seconds <= 0:
        raise ValueError("a job timeout is a positive number of seconds")

    def declare(func: JobFunction) -> JobFunction:
        func.job_timeout = seconds  # type: ignore[attr-defined]
        return func

    return declare


def function_path(func: Callable[..., Any]) -> str:
    return f"{func.__module__}.{func.__qualname__}"


@dataclass(frozen=True)
class JobSpec:
    """A job to send: `func(*args, **kwargs)` with its queue options. `timeout` (seconds)
    defaults to the function's `@job_timeout`; `request_id` to the current request's id.

    Raises ValueError when neither the caller nor the function gives a timeout."""

    func: Callable[..., Any]
    args: tuple
    kwargs: dict = field(default_factory=dict)
    job_id: str | None = None
    queue: str = DEFAULT_QUEUE
    retries: int = 3
    retry_intervals: tuple[int, ...] = (10, 60, 300)
    timeout: int | None = None
    unique: bool = True
    request_id: str | None = None
    merge: bool = False  # enqueue_merged_after_commit's: later calls of the transaction add to args[0]

    def __post_init__(self) -> None:
        from hub.logs import current_request_id

        timeout = self.timeout or getattr(self.func, "job_timeout", None)
        if not timeout:
            raise ValueError(f"job {self.path} has no timeout: declare one with @hub.queue.job_timeout(seconds)")
        object.__setattr__(self, "timeout", timeout)
        if self.request_id is None:
            object.__setattr__(self, "request_id", current_request_id.get())

    @property
    def path(self) -> str:
        return function_path(self.func)


def transaction_open(session: Session) -> bool:
    """Whether the session's outermost transaction is still open (begun, not yet committed or
    rolled back): a job sent now would not see this transaction's rows."""
    root = session.get_transaction()
    return root is not None and root.is_active


def enqueue_after_commit(
    func: Callable[..., Any],
    *args: Any,
    job_id: str | None = None,
    queue: str = DEFAULT_QUEUE,
    retries: int = 3,
    timeout: int | None = None,
    unique: bool = True,
    **kwargs: Any,
) -> None:
    """Send `func(*args, **kwargs)` to the queue once the current transaction commits.

    `timeout` (seconds) overrides the function's `@job_timeout`; raises ValueError when
    neither is given. `unique=False` says that no job can hold `job_id` yet (it names a row
    this transaction creates), so RQ is not asked whether one is still queued: the enqueue is
    one Redis round trip instead of two."""
    from hub.extensions import db

    spec = JobSpec(func, args, kwargs, job_id, queue, retries, timeout=timeout, unique=unique)
    db.session().info.setdefault(PENDING_KEY, []).append(spec)


def enqueue_merged_after_commit(
    func: Callable[..., Any], items: list[Any], *, job_id: str, retries: int = 3, timeout: int | None = None
) -> None:
    """Send `func(items)` once the current transaction commits, with the items of every other
    call for the same `func` in this transaction added to the same list: one job for the whole
    transaction (a batch of approvals queues one notification-emails job and one delivery job,
    not one per completion or per email). `job_id` is the first call's and must name something
    this transaction creates (no job can hold it yet). Raises ValueError without a timeout."""
    from hub.extensions import db

    pending: list[JobSpec] = db.session().info.setdefault(PENDING_KEY, [])
    for spec in pending:
        if spec.merge and spec.func is func:
            spec.args[0].extend(items)
            return
    pending.append(
        JobSpec(func, (list(items),), {}, job_id, DEFAULT_QUEUE, retries, timeout=timeout, unique=False, merge=True)
    )


def dispatch_now(spec: JobSpec, app: Flask | None = None) -> None:
    """Send a job immediately (used by sweeps and by the after-commit hook)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    backend = app.extensions["vouch_queue"]
    backend.send(spec)


def install_session_hooks(app: Flask) -> None:
    """Wire the after-commit/after-rollback hooks on every session of this app."""

    @event.listens_for(Session, "after_commit")
    def _after_commit(session: Session) -> None:
        # SQLAlchemy fires after_commit when a SAVEPOINT is released too (begin_nested, used by
        # the ledger and the unique-key inserts): the outer transaction is still open then, so
        # a job sent now could run before its rows are visible. Wait for the outermost commit.
        if transaction_open(session):
            return
        session.info.pop(ROLLBACK_CALLBACKS_KEY, None)
        run_after_commit_callbacks(session)
        pending = session.info.pop(PENDING_KEY, None)
        if not pending or not has_app_context():
            return
        backend = current_app.extensions.get("vouch_queue")
        if backend is None:
            return
        if isinstance(backend, RQBackend):
            # One Redis transaction for every job of the commit (issue 22).
            try:
                backend.send_many(pending)
            except Exception:  # Redis down: the rows are saved; the sweeps re-enqueue them.
                names = [spec.job_id or spec.path for spec in pending]
                log.exception("could not enqueue %s; a sweep will retry", names)
            return
        for spec in pending:
            try:
                backend.send(spec)
            except Exception:  # Redis down: the row is saved; the sweep re-enqueues it.
                log.exception("could not enqueue %s (%s); a sweep will retry", spec.path, spec.job_id)

    @event.listens_for(Session, "after_soft_rollback")
    def _after_rollback(session: Session, previous_transaction) -> None:
        if previous_transaction.parent is None:
            session.info.pop(PENDING_KEY, None)
            session.info.pop(CALLBACKS_KEY, None)
            run_after_rollback_callbacks(session)


JOB_RESULT_TTL = 3600  # seconds RQ keeps a finished job
JOB_FAILURE_TTL = 7 * 24 * 3600  # seconds RQ keeps a failed one
# send_many's constant job-hash fields per (function path, queue, retries, intervals, timeout).
_HASH_TEMPLATES: dict[tuple[Any, ...], dict[str, Any]] = {}


class RQBackend:
    """Enqueue onto Redis for `rq worker` processes."""

    def __init__(self, redis_url: str, namespace: str = "vouch", timeout: float | None = None) -> None:
        from hub.redis_client import DEFAULT_TIMEOUT_SECONDS, make_client

        # Short timeouts and the shared circuit breaker (hub.redis_client): a hung Redis makes
        # an enqueue fail fast; the row is committed and a sweep sends the job later.
        self.connection = make_client(redis_url, DEFAULT_TIMEOUT_SECONDS if timeout is None else timeout)
        self.namespace = namespace

    def queue_name(self, name: str = DEFAULT_QUEUE) -> str:
        """RQ queue names carry the namespace: `rq worker vouch-default`."""
        return f"{self.namespace}-{name}"

    def queue(self, name: str = DEFAULT_QUEUE):
        from rq import Queue

        return Queue(self.queue_name(name), connection=self.connection)

    def job_key(self, job_id: str | None) -> str | None:
        """RQ job ids share one Redis keyspace: carry the namespace so two deployments (or
        test runs) on one Redis never mistake each other's `email-1` for their own."""
        return f"{self.namespace}-{job_id}" if job_id else None

    def send(self, spec: JobSpec) -> None:
        """Enqueue one job (see send_many)."""
        self.send_many([spec])

    def send_many(self, specs: list[JobSpec]) -> None:
        """Enqueue jobs in one Redis transaction (MULTI … EXEC: all of them or none). A job
        with a `unique` id is skipped while RQ still has one by that id queued, running or
        scheduled (one read per such job first); ids that cannot exist yet are not read.

        A job whose id names a row this transaction created (`unique=False`, the hot path: a
        submission's two jobs) is written as RQ's own enqueue writes it — its hash, then its id
        pushed on the queue — from a hash template kept per job shape (`_hash_template`), without
        building an rq `Job` (issue 22: that was ~10 % of a link submission's CPU). The others go
        through rq's `create_job`/`enqueue_job`."""
        from rq import Retry
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus
        from rq.utils import get_call_string, now, utcformat

        waiting = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
        queues: dict[str, Any] = {}
        # In the specs' order: (queue, rq Job, None) for rq's enqueue, (queue, id, hash) for ours.
        jobs: list[tuple[Any, Any, dict[str, Any] | None]] = []
        stamp = ""
        for spec in specs:
            job_id = self.job_key(spec.job_id)
            if job_id and spec.unique:
                with contextlib.suppress(NoSuchJobError):
                    if Job.fetch(job_id, connection=self.connection).get_status(refresh=True) in waiting:
                        continue
            q = queues.get(spec.queue) or queues.setdefault(spec.queue, self.queue(spec.queue))
            if job_id and not spec.unique:
                # rq stamps created_at and enqueued_at a few microseconds apart; one instant here.
                stamp = stamp or utcformat(now())
                path = spec.path
                mapping = dict(self._hash_template(spec))
                mapping["created_at"] = mapping["enqueued_at"] = stamp
                mapping["data"] = zlib.compress(q.serializer.dumps((path, None, spec.args, spec.kwargs)))
                mapping["description"] = get_call_string(path, spec.args, spec.kwargs, max_length=75)
                if spec.request_id:
                    mapping["meta"] = q.serializer.dumps({"request_id": spec.request_id})
                jobs.append((q, job_id, mapping))
                continue
            job = q.create_job(
                spec.func,
                args=spec.args,
                kwargs=spec.kwargs,
                job_id=job_id,
                retry=Retry(max=spec.retries, interval=list(spec.retry_intervals)) if spec.retries else None,
                timeout=spec.timeout,
                meta={"request_id": spec.request_id} if spec.request_id else None,
                result_ttl=JOB_RESULT_TTL,
                failure_ttl=JOB_FAILURE_TTL,
            )
            jobs.append((q, job, None))
        if not jobs:
            return
        with self.connection.pipeline() as pipe:
            # MULTI before the first command: rq's enqueue_job asks for it and refuses to start it
            # once commands are buffered.
            pipe.multi()
            for q in {id(q): q for q, _, fields in jobs if fields is not None}.values():
                pipe.sadd(q.redis_queues_keys, q.key)
            for q, job, fields in jobs:
                if fields is None:
                    q.enqueue_job(job, pipeline=pipe)
                else:
                    pipe.hset(Job.key_for(job), mapping=fields)
                    pipe.rpush(q.key, job)
            pipe.execute()

    def _hash_template(self, spec: JobSpec) -> dict[str, Any]:
        """The fields of RQ's job hash that are the same for every job of `spec`'s shape
        (function, queue, retries, retry intervals, timeout) — taken once per process from an rq
        Job built and prepared for the queue as `enqueue_job` prepares it, so the hash keeps
        whatever layout the installed rq writes. The per-job fields (created_at, enqueued_at,
        data, description, meta) are left out; send_many adds them."""
        key = (spec.path, spec.queue, spec.retries, spec.retry_intervals, spec.timeout)
        found = _HASH_TEMPLATES.get(key)
        if found is None:
            from rq import Retry
            from rq.job import JobStatus

            q = self.queue(spec.queue)
            job = q.create_job(
                spec.func,
                job_id="template",
                retry=Retry(max=spec.retries, interval=list(spec.retry_intervals)) if spec.retries else None,
                timeout=spec.timeout,
                result_ttl=JOB_RESULT_TTL,
                failure_ttl=JOB_FAILURE_TTL,
            )
            job.origin = q.name
            job._status = JobStatus.QUEUED
            found = job.to_dict()
            for per_job in ("created_at", "enqueued_at", "data", "description", "meta"):
                found.pop(per_job, None)
            _HASH_TEMPLATES[key] = found
        return found

    def drop_queued(self, job_ids: list[str], name: str = DEFAULT_QUEUE) -> int:
        """Take these jobs off the queue before a worker starts them (a batch job did their
        work): one pipeline of `LREM`s, then the removed jobs' hashes deleted in a second. A job
        already started, finished or unknown is left alone. Returns how many were dropped."""
        from rq.job import Job

        keys = [key for key in (self.job_key(job_id) for job_id in job_ids) if key]
        if not keys:
            return 0
        q = self.queue(name)
        with self.connection.pipeline(transaction=False) as pipe:
            for key in keys:
                q.remove(key, pipeline=pipe)
            removed = [key for key, count in zip(keys, pipe.execute(), strict=True) if count]
        if removed:
            self.connection.delete(*(Job.key_for(key) for key in removed))
        return len(removed)


class InProcessBackend:
    """The embedded default: one daemon thread per process runs jobs after commit.

    Same semantics as RQ (asynchronous, at-least-once, retried on failure) without Redis.
    `join()` waits until the queue is empty, which tests use.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.jobs: stdlib_queue.Queue[tuple[JobSpec, int]] = stdlib_queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.failures: list[tuple[JobSpec, BaseException]] = []

    def send(self, spec: JobSpec) -> None:
        self._ensure_thread()
        self.jobs.put((spec, 0))

    def join(self) -> None:
        self.jobs.join()

    def drop_queued(self, job_ids: list[str], name: str = DEFAULT_QUEUE) -> int:
        """The in-process queue cannot take a job back: its jobs run and find nothing to do."""
        return 0

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="vouch-jobs", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        from hub.logs import current_request_id, log_job
        from hub.metrics import observe_job

        while True:
            spec, attempt = self.jobs.get()
            token = current_request_id.set(spec.request_id)
            started = time.perf_counter()
            outcome, error = "ok", None
            try:
                with self.app.app_context():
                    spec.func(*spec.args, **spec.kwargs)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                if attempt < spec.retries:
                    outcome = "retry"
                    self.jobs.put((spec, attempt + 1))
                else:
                    outcome = "failed"
                    log.exception("job %s (%s) failed after %d attempts", spec.path, spec.job_id, attempt + 1)
                    self.failures.append((spec, exc))
            finally:
                duration = time.perf_counter() - started
                observe_job(spec.path, outcome, duration)
                log_job(spec.job_id, spec.path, duration, outcome, spec.request_id, error)
                current_request_id.reset(token)
                self.jobs.task_done()


def drop_queued_jobs(job_ids: list[str]) -> int:
    """Take these not-yet-started jobs off the default queue (best effort: a failure to reach
    Redis leaves them queued, and each then runs and finds nothing to do). For a batch job that
    did the work of jobs queued behind it (challenges.jobs.verify_pending): their runs would cost
    a dequeue, a job read, the registries and a statement each. Returns how many were dropped."""
    if not job_ids:
        return 0
    app = current_app._get_current_object() if has_app_context() else preload_worker_app()  # type: ignore[attr-defined]
    backend = app.extensions.get("vouch_queue")
    if backend is None:
        return 0
    try:
        return int(backend.drop_queued(job_ids))
    except Exception:  # Redis down or slow: the jobs run, find their completions decided, and end
        log.warning("could not drop %d queued jobs", len(job_ids), exc_info=True)
        return 0


def finish_local_jobs() -> None:
    """In the embedded default, wait for the in-process jobs a CLI command enqueued: its
    worker thread dies with the process. (With RQ the workers carry on; nothing to wait for.)"""
    backend = current_app.extensions.get("vouch_queue")
    if isinstance(backend, InProcessBackend):
        backend.join()


def init_queue(app: Flask) -> None:
    if app.config.get("REDIS_URL"):
        app.extensions["vouch_queue"] = RQBackend(
            app.config["REDIS_URL"], app.config["VOUCH_REDIS_NAMESPACE"], app.config.get("VOUCH_REDIS_TIMEOUT")
        )
    else:
        app.extensions["vouch_queue"] = InProcessBackend(app)
    install_session_hooks_once(app)


_hooks_installed = False


def install_session_hooks_once(app: Flask) -> None:
    global _hooks_installed
    if not _hooks_installed:
        install_session_hooks(app)
        _hooks_installed = True


_worker_app: Flask | None = None


def preload_worker_app() -> Flask:
    """Build the worker's app now (in RQ's parent process, before it forks work horses).

    The engine's pool is emptied afterwards so no database connection crosses a fork."""
    global _worker_app
    if _worker_app is None:
        from hub.app import create_app
        from hub.extensions import db

        _worker_app = create_app()
        with _worker_app.app_context():
            db.engine.dispose()
    return _worker_app


@contextlib.contextmanager
def job_context() -> Iterator[None]:
    """Run a job body: builds the app once per worker process, commits or rolls back."""
    from hub.extensions import db

    if has_app_context():
        ctx = None
    else:
        ctx = preload_worker_app().app_context()
        ctx.push()
    g.vouch_settings = {}  # hub.settings caches for the length of this job
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        db.session.remove()
        g.pop("vouch_settings", None)
        if ctx is not None:
            ctx.pop()


CALLBACKS_KEY = "vouch_after_commit"


def call_after_commit(fn: Callable[[], None]) -> None:
    """Run `fn()` once the current transaction commits (dropped on rollback)."""
    from hub.extensions import db

    db.session().info.setdefault(CALLBACKS_KEY, []).append(fn)


def run_after_commit_callbacks(session: Session) -> None:
    for fn in session.info.pop(CALLBACKS_KEY, []):
        try:
            fn()
        except Exception:
            log.exception("after-commit callback %r failed", fn)


ROLLBACK_CALLBACKS_KEY = "vouch_after_rollback"


def call_after_rollback(fn: Callable[[], None]) -> None:
    """Run `fn()` once the current transaction rolls back (dropped on commit): the undo of an
    effect outside the database that was made ahead of the commit (a staged upload's file)."""
    from hub.extensions import db

    db.session().info.setdefault(ROLLBACK_CALLBACKS_KEY, []).append(fn)


def run_after_rollback_callbacks(session: Session) -> None:
    for fn in session.info.pop(ROLLBACK_CALLBACKS_KEY, []):
        try:
            fn()
        except Exception:
            log.exception("after-rollback callback %r failed", fn)
