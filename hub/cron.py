"""`rq cron` configuration: the periodic jobs, enqueued on the Vouch queue in production.

    rq cron --url "$REDIS_URL" hub.cron

Each entry runs the same service as its `flask --app wsgi hub …` command. Queue names
carry the namespace (VOUCH_REDIS_NAMESPACE, default `vouch`), like `rq worker vouch-default`.
"""

from __future__ import annotations

import os

from rq import cron

from hub.email.mailings import drain_outbox_job, reengage_job, send_digests_job

QUEUE = f"{os.environ.get('VOUCH_REDIS_NAMESPACE', 'vouch')}-default"

cron.register(drain_outbox_job, QUEUE, interval=60, job_timeout=drain_outbox_job.job_timeout)  # flask hub drain-outbox
cron.register(reengage_job, QUEUE, cron="30 9 * * *", job_timeout=reengage_job.job_timeout)  # flask hub reengage
cron.register(
    send_digests_job, QUEUE, cron="0 8 * * 1", job_timeout=send_digests_job.job_timeout
)  # flask hub send-digests
