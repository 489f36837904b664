"""Probes and metrics for operators: `/healthz`, `/readyz`, `/metrics`.

- `GET /healthz` — the process is alive and answering; no I/O. Always 200 `{"status": "ok"}`.
- `GET /readyz` — ready for traffic: the database answers, Redis answers (when configured),
  the database schema is at the migrations' head, and the queue is not stalled (its oldest
  waiting job is younger than `VOUCH_QUEUE_STALL_SECONDS`). 200 when every check passes,
  503 otherwise, with each check's result in the body.
- `GET /metrics` — Prometheus text format (`hub.metrics`), for the metrics token or an
  allowed network only.

All three are public to the route audit (no login), exempt from rate limits and from HTTPS
redirects (load balancers probe over plain HTTP inside the network), and never open or save
a session: a probe carrying a browser's cookie gets no `Set-Cookie` back.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import text

from hub.auth import public
from hub.db import utcnow
from hub.extensions import db, limiter

bp = Blueprint("ops", __name__)
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# The JSON API's paths (hub.endpoints.API_PREFIX, not imported: hub.endpoints imports the models).
API_PATHS = "/api/v1/"
_NO_HTTPS_REDIRECT = {"force_https": False}


def probe(fn: Callable) -> Callable:
    """Public, no HTTPS redirect (Flask-Talisman reads this attribute per view)."""
    fn.talisman_view_options = dict(_NO_HTTPS_REDIRECT)  # type: ignore[attr-defined]
    return public(fn)


@bp.get("/healthz")
@probe
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@probe
def readyz():
    checks = readiness_checks(current_app)
    ready = all(check["ok"] for check in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503


@bp.get("/metrics")
@probe
def metrics():
    from prometheus_client import CONTENT_TYPE_LATEST

    from hub.metrics import may_scrape, render_metrics

    if not may_scrape(current_app):
        return Response("Metrics need the metrics token or an allowed address.\n", 403, mimetype="text/plain")
    return Response(render_metrics(current_app), mimetype=CONTENT_TYPE_LATEST)


limiter.exempt(bp)


# --- readiness -----------------------------------------------------------------------------


def readiness_checks(app: Flask) -> dict[str, dict[str, Any]]:
    """Each check's result: `ok`, `ms` (how long it took) and what it saw. A check that
    raises is reported failed with the exception's class name (never its message, which may
    hold a connection string)."""
    results = {}
    for name, check in (
        ("database", _database),
        ("migrations", _migrations),
        ("redis", _redis),
        ("queue", _queue),
    ):
        started = time.perf_counter()
        try:
            result = check(app)
        except Exception as exc:
            db.session.rollback()
            result = {"ok": False, "error": type(exc).__name__}
        result["ms"] = round((time.perf_counter() - started) * 1000, 1)
        results[name] = result
    return results


def _database(_app: Flask) -> dict[str, Any]:
    db.session.execute(text("SELECT 1"))
    db.session.rollback()
    return {"ok": True}


_heads: dict[str, tuple[str, ...]] = {}


def migration_heads() -> tuple[str, ...]:
    """The head revision(s) of `hub/migrations` (read from the scripts once per process)."""
    if "heads" not in _heads:
        from alembic.script import ScriptDirectory

        from hub.config import ROOT

        _heads["heads"] = tuple(sorted(ScriptDirectory(str(ROOT / "hub" / "migrations")).get_heads()))
    return _heads["heads"]


def _migrations(_app: Flask) -> dict[str, Any]:
    current = tuple(sorted(db.session.execute(text("SELECT version_num FROM alembic_version")).scalars()))
    db.session.rollback()
    heads = migration_heads()
    return {"ok": current == heads, "current": list(current), "head": list(heads)}


def _redis(app: Flask) -> dict[str, Any]:
    client = app.extensions.get("vouch_redis")
    if client is None:
        return {"ok": True, "configured": False}
    client.ping()
    return {"ok": True, "configured": True}


def _queue(app: Flask) -> dict[str, Any]:
    """Stalled = the oldest waiting job has waited longer than VOUCH_QUEUE_STALL_SECONDS
    (no worker running, or workers far behind). An empty queue is never stalled."""
    limit = app.config["VOUCH_QUEUE_STALL_SECONDS"]
    backend = app.extensions.get("vouch_queue")
    queue_of = getattr(backend, "queue", None)
    if queue_of is None:  # the embedded default: a thread in this process runs jobs
        pending = getattr(backend, "jobs", None)
        return {"ok": True, "backend": "in-process", "depth": pending.qsize() if pending is not None else 0}
    from rq import Worker
    from rq.job import Job

    queue = queue_of()
    depth = queue.count
    oldest_age = None
    if depth:
        first = queue.get_job_ids(0, 1)
        job = Job.fetch(first[0], connection=queue.connection) if first else None
        if job is not None and job.enqueued_at is not None:
            enqueued = job.enqueued_at if job.enqueued_at.tzinfo else job.enqueued_at.replace(tzinfo=dt.UTC)
            oldest_age = round((utcnow() - enqueued).total_seconds(), 1)
    workers = Worker.count(connection=queue.connection, queue=queue)
    return {
        "ok": oldest_age is None or oldest_age <= limit,
        "backend": "rq",
        "queue": queue.name,
        "depth": depth,
        "oldest_age_s": oldest_age,
        "stall_after_s": limit,
        "workers": workers,
    }


# --- no sessions for probes ----------------------------------------------------------------


class ProbeAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except that probe paths, and JSON API requests that send
    no cookie at all (a bearer token's), get Flask's null session: nothing is read from a
    cookie, and nothing (no cookie, no `Vary: Cookie`) is saved or sent back — the API reads
    no session, its caller is the token (issue 22: the session save and Flask-Login's
    remember-cookie check cost every API request). A request without the session cookie gets
    its new empty session at once."""

    def open_session(self, app: Flask, request):
        if request.path in PROBE_PATHS:
            return None
        if "HTTP_COOKIE" not in request.environ and request.path.startswith(API_PATHS):
            return None
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            # What Flask answers without a cookie (an API call with a bearer token), without
            # building the signing serializer first: a new empty session (issue 22).
            return self.session_class()
        return super().open_session(app, request)


def init_ops(app: Flask) -> None:
    """Install the probe-aware session interface and the ops blueprint; parse who may scrape.

    Raises ConfigError when VOUCH_METRICS_ALLOW holds something that is not a network."""
    from hub.config import ConfigError
    from hub.metrics import allowed_networks

    try:
        app.config["VOUCH_METRICS_NETWORKS"] = allowed_networks(app.config["VOUCH_METRICS_ALLOW"])
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = ProbeAwareSessionInterface()
    app.register_blueprint(bp)
