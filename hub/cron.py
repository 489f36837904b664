"""`rq cron` configuration: every periodic job of every package, on the Vouch queue.

    rq cron --url "$REDIS_URL" hub.cron

The jobs and their timetables are the app's `periodic_jobs` hooks (hub.hooks): hub registers
the outbox drain, re-engagement and digests; rewards the tier recompute and leaderboard
rebuild; challenges the sweep for stuck verifications; a later package adds its own the same
way. Each one's `command` is the equivalent `flask --app wsgi …` command for a plain crontab.
The app is built (from the workers' environment) only to read that registry. Queue names
carry the namespace (VOUCH_REDIS_NAMESPACE, default `vouch`), like `rq worker vouch-default`.
"""

from __future__ import annotations

import os

from rq import cron

from hub.hooks import hooks
from hub.queue import preload_worker_app

QUEUE = f"{os.environ.get('VOUCH_REDIS_NAMESPACE', 'vouch')}-default"

for periodic in hooks(preload_worker_app()).periodic_jobs:
    cron.register(
        periodic.job,
        QUEUE,
        interval=periodic.interval,
        cron=periodic.cron,
        job_timeout=periodic.job.job_timeout,  # type: ignore[attr-defined]  # set on the function by @job_timeout
    )
