"""The RQ worker classes for Vouch: `rq worker --worker-class hub.worker.VouchSimpleWorker …`.

Both build the Flask app once, before the first job: building it (config, extensions,
blueprints, imports) costs far more than most jobs do, and a job with a short timeout could
be killed before doing anything.

- `VouchSimpleWorker` (what `make worker` runs) executes jobs in the worker process: the
  database pool and Redis connections stay open between jobs, about 5× the jobs/s of forking
  on the benchmark (docs/performance.md). Job timeouts still apply (SIGALRM).
- `VouchWorker` forks a work horse per job, as plain `rq worker` does; each horse inherits the
  prebuilt app and opens its own connections.
"""

from __future__ import annotations

from rq.worker import SimpleWorker, Worker


class VouchWorker(Worker):
    def work(self, *args, **kwargs):
        from hub.queue import preload_worker_app

        preload_worker_app()
        return super().work(*args, **kwargs)


class VouchSimpleWorker(SimpleWorker):
    """Runs jobs in the worker process itself (no fork per job): the app, its database pool
    and Redis connections stay warm between jobs."""

    def work(self, *args, **kwargs):
        from hub.queue import preload_worker_app

        preload_worker_app()
        return super().work(*args, **kwargs)
