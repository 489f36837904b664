"""One test's database work on one connection, inside an outer transaction rolled back at the end.

The app's default engine is swapped for a connection that has begun a transaction; sessions
join it with `join_transaction_mode="create_savepoint"`, so a service's or view's commit
releases a SAVEPOINT and its rollback returns to one, exactly as the code under test expects,
while nothing reaches the database file. Code that opens its own `Session(db.engine)` (the
challenge feed's cache) gets the same connection and sees the test's rows.

Jobs enqueued after a commit run at once on the committing thread (`InlineJobs`): the
in-process worker's thread would otherwise share the one connection with the test thread.
Tests whose work must commit on several connections (threads released together, RQ workers,
subprocesses, migrations) are marked `multi_connection` and use table cleanup instead.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Iterator

from flask import Flask

from hub.queue import InProcessBackend, JobSpec

log = logging.getLogger(__name__)

# True while InlineJobs runs a job: lets a test tell the job's commits from its request's.
running_inline_job: contextvars.ContextVar[bool] = contextvars.ContextVar("running_inline_job", default=False)


class InlineJobs(InProcessBackend):
    """The in-process backend, running each job when it is sent, in its own app context (so
    its own session and savepoint), retried at once on failure like the worker thread does."""

    def send(self, spec: JobSpec) -> None:
        from hub.logs import current_request_id, log_job
        from hub.metrics import observe_job

        for attempt in range(spec.retries + 1):
            token = current_request_id.set(spec.request_id)
            inline = running_inline_job.set(True)
            started = time.perf_counter()
            outcome, error = "ok", None
            try:
                with self.app.app_context():
                    spec.func(*spec.args, **spec.kwargs)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                outcome = "retry" if attempt < spec.retries else "failed"
                if outcome == "failed":
                    log.exception("job %s (%s) failed after %d attempts", spec.path, spec.job_id, attempt + 1)
                    self.failures.append((spec, exc))
            finally:
                observe_job(spec.path, outcome, time.perf_counter() - started)
                log_job(spec.job_id, spec.path, time.perf_counter() - started, outcome, spec.request_id, error)
                running_inline_job.reset(inline)
                current_request_id.reset(token)
            if outcome != "retry":
                return

    def join(self) -> None:
        """Nothing waits: every job has run by the time its sender's commit returned."""


@contextlib.contextmanager
def rolled_back(app: Flask) -> Iterator[None]:
    """Run the block with every session of `app` on one connection in a transaction that is
    rolled back afterwards (see the module docstring)."""
    from hub.extensions import db

    engines = db._app_engines[app]
    engine = engines[None]
    connection = engine.connect()
    outer = connection.begin()
    queue = app.extensions["vouch_queue"]
    engines[None] = connection
    options = db.session.session_factory.kw
    joining = options.get("join_transaction_mode")
    options["join_transaction_mode"] = "create_savepoint"
    if isinstance(queue, InProcessBackend):
        inline = InlineJobs(app)
        inline.failures = queue.failures
        app.extensions["vouch_queue"] = inline
    try:
        yield
    finally:
        app.extensions["vouch_queue"] = queue
        engines[None] = engine
        if joining is None:
            options.pop("join_transaction_mode", None)
        else:
            options["join_transaction_mode"] = joining
        if outer.is_active:
            outer.rollback()
        connection.close()
