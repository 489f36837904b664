"""The RQ worker class for Vouch: `rq worker --worker-class hub.worker.VouchWorker …`.

RQ forks a fresh work horse for every job. Building the Flask app (config, extensions,
blueprints, imports) in each horse costs far more than most jobs do, and a job with a short
timeout could be killed before doing anything. This worker builds the app once, in the
parent, before it starts forking; every horse inherits it.
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
