"""gunicorn settings for the production stack: `gunicorn --config python:hub.gunicorn_config wsgi:app`.

- `WEB_CONCURRENCY` worker processes (gunicorn's own variable; default 2), sync workers;
- binds 127.0.0.1:$PORT (PORT default 8000): the TLS proxy in front forwards to it;
- no access log of gunicorn's own: Vouch logs one line per request itself (`hub.logs`), and
  gunicorn's error log uses the same format (`VOUCH_LOG_FORMAT`);
- anything else from gunicorn's command line or `GUNICORN_CMD_ARGS` overrides these
  (e.g. `GUNICORN_CMD_ARGS="--bind 0.0.0.0:8000 --timeout 60"`);
- `child_exit` tells prometheus-client that a worker is gone, so its live gauges drop out of
  `/metrics` (multi-process mode, `PROMETHEUS_MULTIPROC_DIR`; counters keep their totals).
"""

from __future__ import annotations

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
bind = f"127.0.0.1:{os.environ.get('PORT', '8000')}"
worker_class = "sync"
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = None
# Recycle a worker now and then so a slow leak cannot grow without bound (jittered so the
# workers do not restart together).
max_requests = 10_000
max_requests_jitter = 1_000

_json = (
    os.environ.get("VOUCH_LOG_FORMAT") or ("json" if os.environ.get("VOUCH_ENV") == "production" else "plain")
) == "json"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"vouch": {"()": "hub.logs.JsonFormatter" if _json else "hub.logs.PlainFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "vouch", "stream": "ext://sys.stderr"}},
    "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False}},
    "root": {"level": "INFO", "handlers": []},  # the app installs its own (hub.logs)
}


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
