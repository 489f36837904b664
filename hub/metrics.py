"""Prometheus metrics: what the hot path counts, what a scrape computes, and who may scrape.

Counted as things happen (one counter increment and one histogram observation each, cheap
enough for every request and job):
- `vouch_http_requests_total{endpoint,method,status}` and
  `vouch_http_request_duration_seconds{endpoint,method,status}`;
- `vouch_jobs_total{function,outcome}` and `vouch_job_duration_seconds{function,outcome}`
  (outcome `ok`, `retry`, `failed`, `killed`), recorded by the worker that ran the job.
Other packages define their own counters with the same machinery (the rewards package's
`vouch_points_issued_total`, `vouch_leaderboard_rebuild_seconds`).

Computed at scrape time by `ScrapeCollector` (never on the hot path): the RQ queue's depth,
started, scheduled and failed jobs, live workers; the email outbox by status; and whatever
*scrape sources* later packages register on the app (`add_scrape_source`; completions by
status come from the challenges package that way, so this module imports none of them).
Database-backed figures are cached for `SCRAPE_CACHE_SECONDS` so a tight scrape interval
cannot turn into a table scan loop.

Under gunicorn and RQ every process writes its counters into `PROMETHEUS_MULTIPROC_DIR`
(prometheus-client's multi-process mode; the directory must be set before the processes start
and emptied between runs, which `make prod` does), and `/metrics` on any web worker merges
them all. Without that directory (`make run`, tests) the process's own registry is served.

`/metrics` is open to a request carrying `Authorization: Bearer $VOUCH_METRICS_TOKEN`, or
from an address inside `VOUCH_METRICS_ALLOW` (comma-separated networks; loopback by default
in development and test, nothing in production).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

SCRAPE_CACHE_SECONDS = 10.0
LOOPBACK = "127.0.0.0/8,::1/128"

# Request latencies from 5 ms to 10 s; job durations from 10 ms to 30 min.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)

HTTP_REQUESTS = Counter(
    "vouch_http_requests",
    "HTTP requests answered, by Flask endpoint, method and status.",
    ["endpoint", "method", "status"],
)
HTTP_DURATION = Histogram(
    "vouch_http_request_duration_seconds",
    "Time from the first request hook to the response, by endpoint, method and status.",
    ["endpoint", "method", "status"],
    buckets=REQUEST_BUCKETS,
)
JOBS = Counter("vouch_jobs", "Background jobs run, by job function and outcome.", ["function", "outcome"])
JOB_DURATION = Histogram(
    "vouch_job_duration_seconds",
    "Background job run time, by job function and outcome.",
    ["function", "outcome"],
    buckets=JOB_BUCKETS,
)


def multiprocess_dir() -> str | None:
    """The shared metrics directory when this process runs in multi-process mode."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return path if path and os.path.isdir(path) else None


# (endpoint, method, status) → its request counter and duration histogram children, looked up
# once: `labels()` checks and joins the label values and takes the metric's lock on every call,
# a dict look-up here does not (issue 22: part of every request's after-request cost). Bounded,
# since the method and the endpoint of an unmatched URL come from clients; past the bound the
# children are looked up per request as before.
_REQUEST_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_REQUEST_CHILDREN_MAX = 5_000


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration (`seconds`, wall time from the first request
    hook) under `vouch_http_requests_total` / `vouch_http_request_duration_seconds`."""
    key = (endpoint, method, status)
    children = _REQUEST_CHILDREN.get(key)
    if children is None:
        labels = (endpoint, method, str(status))
        children = (HTTP_REQUESTS.labels(*labels), HTTP_DURATION.labels(*labels))
        if len(_REQUEST_CHILDREN) < _REQUEST_CHILDREN_MAX:
            _REQUEST_CHILDREN[key] = children
    children[0].inc()
    children[1].observe(seconds)


def observe_job(function: str, outcome: str, seconds: float) -> None:
    JOBS.labels(function, outcome).inc()
    JOB_DURATION.labels(function, outcome).observe(seconds)


# --- scrape-time figures -------------------------------------------------------------------

ScrapeSource = Callable[[], Iterable[Metric]]


@dataclass
class MetricsState:
    """Per app: the scrape sources other packages registered, and the last computed figures."""

    sources: list[tuple[str, ScrapeSource]] = field(default_factory=list)
    cache: dict[str, tuple[float, list[Metric]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def state_of(app: Flask) -> MetricsState:
    return app.extensions.setdefault("vouch_metrics", MetricsState())


def add_scrape_source(app: Flask, name: str, source: ScrapeSource, cached: bool = True) -> None:
    """Register `source()` → metric families computed at scrape time (inside an app
    context). `cached` sources (database queries) are recomputed at most every
    SCRAPE_CACHE_SECONDS. Registering a name again replaces it."""
    state = state_of(app)
    state.sources = [(n, s) for n, s in state.sources if n != name] + [
        (name, _cached(name, source) if cached else source)
    ]


def _cached(name: str, source: ScrapeSource) -> ScrapeSource:
    def run() -> list[Metric]:
        state = state_of(current_app)
        now = time.monotonic()
        with state.lock:
            hit = state.cache.get(name)
            if hit is not None and now - hit[0] < SCRAPE_CACHE_SECONDS:
                return hit[1]
        families = list(source())
        with state.lock:
            state.cache[name] = (now, families)
        return families

    return run


class ScrapeCollector:
    """Runs every scrape source of the current app; a failing source is logged and reported
    as `vouch_scrape_source_up{source} 0` instead of failing the whole scrape."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("vouch_scrape_source_up", "1 when the scrape source answered.", labels=["source"])
        for name, source in [("queue", queue_figures), ("outbox", outbox_figures), *state_of(self.app).sources]:
            try:
                yield from source()
                up.add_metric([name], 1)
            except Exception:
                log.exception("metrics source %s failed", name)
                up.add_metric([name], 0)
        yield up


def queue_figures() -> list[Metric]:
    """Depth and registries of the RQ queue (Redis reads only; nothing in the embedded default
    except the in-process queue's depth)."""
    backend = current_app.extensions.get("vouch_queue")
    depth = GaugeMetricFamily("vouch_queue_jobs", "Jobs in the queue by state.", labels=["queue", "state"])
    workers = GaugeMetricFamily("vouch_queue_workers", "RQ workers listening on the queue.", labels=["queue"])
    queue = getattr(backend, "queue", None)
    if queue is None:
        pending = getattr(backend, "jobs", None)
        depth.add_metric(["in-process", "queued"], pending.qsize() if pending is not None else 0)
        return [depth]
    from rq import Worker

    q = queue()
    depth.add_metric([q.name, "queued"], q.count)
    depth.add_metric([q.name, "started"], q.started_job_registry.count)
    depth.add_metric([q.name, "scheduled"], q.scheduled_job_registry.count)
    depth.add_metric([q.name, "deferred"], q.deferred_job_registry.count)
    depth.add_metric([q.name, "failed"], q.failed_job_registry.count)
    workers.add_metric([q.name], Worker.count(connection=q.connection, queue=q))
    return [depth, workers]


def outbox_figures() -> list[Metric]:
    """Emails waiting to be sent and emails that failed for good (`/admin/emails`)."""
    from sqlalchemy import func, select

    from hub.email.models import OutboxEmail
    from hub.extensions import db

    rows = dict(
        db.session.execute(
            select(OutboxEmail.status, func.count())
            .where(OutboxEmail.status.in_(("queued", "failed")))
            .group_by(OutboxEmail.status)
        ).all()
    )
    family = GaugeMetricFamily("vouch_outbox_emails", "Emails in the outbox by status.", labels=["status"])
    for status in ("queued", "failed"):
        family.add_metric([status], rows.get(status, 0))
    return [family]


# --- the endpoint --------------------------------------------------------------------------


def allowed_networks(raw: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Parse `VOUCH_METRICS_ALLOW` (comma-separated addresses or networks).

    Raises ValueError naming the entry that is neither."""
    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError as exc:
                raise ValueError(f"VOUCH_METRICS_ALLOW: {part!r} is not an address or network") from exc
    return networks


def may_scrape(app: Flask) -> bool:
    """The bearer token matches `VOUCH_METRICS_TOKEN`, or the client address is allowed."""
    token = app.config.get("VOUCH_METRICS_TOKEN") or ""
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in app.config.get("VOUCH_METRICS_NETWORKS", ()))


def render_metrics(app: Flask) -> bytes:
    """The exposition text: this process's (or every process's) counters, then the figures
    computed now."""
    path = multiprocess_dir()
    if path:
        counted = CollectorRegistry()
        MultiProcessCollector(counted, path=path)
    else:
        counted = REGISTRY
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(ScrapeCollector(app))
    return generate_latest(counted) + generate_latest(scraped)
