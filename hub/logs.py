"""Logging: plain readable lines by default, one JSON object per line in production.

`VOUCH_LOG_FORMAT` picks the format (`json` is the default when `VOUCH_ENV=production`,
`plain` otherwise). Every request ends with one line on the `vouch.request` logger (request
id, user id, endpoint, status, duration) and every job with one on `vouch.job` (job id,
function, duration, outcome, and the id of the request that enqueued it). Any other record
logged while a request or job runs carries the same request id, so one id finds everything
a request caused, in the web process and in the workers.

The request id comes from the caller's `X-Request-Id` (kept to a plain token) or is made
here; it is echoed in the `X-Request-Id` response header and on the 500 page, and travels
into the jobs the request enqueues (`hub.queue`).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import os
import re
import sys
import time
from typing import Any

from flask import Flask, g, request
from sqlalchemy import inspect

REQUEST_LOG = logging.getLogger("vouch.request")
JOB_LOG = logging.getLogger("vouch.job")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("json", "plain")

# The id of the request (or of the request that enqueued the running job); read by the
# formatters, so a record logged anywhere while it is set carries it.
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("vouch_request_id", default=None)

# Standard LogRecord attributes: everything else passed in `extra=` is a structured field.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}


# What a caller's X-Request-Id may keep: ASCII word characters, dots and dashes.
_NOT_IN_REQUEST_ID = re.compile(r"[^\w.-]", flags=re.ASCII)


def new_request_id() -> str:
    """A fresh request id: 12 hex characters (48 random bits)."""
    return os.urandom(6).hex()


def clean_request_id(raw: str | None) -> str:
    """A caller's X-Request-Id kept to word characters, dots and dashes (64 at most), or a
    fresh id when nothing usable is left: it is echoed in headers, pages and logs."""
    return _NOT_IN_REQUEST_ID.sub("", raw or "")[:64] or new_request_id()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `ts` (UTC, ISO 8601, ms), `level`, `logger`, `message`,
    `request_id` when one is current, the `extra=` fields, and `exc_info` as text."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id.get()
        if request_id:
            body["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in body and key != "request_id":
                body[key] = value
        if record.exc_info:
            body["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            body["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(body, default=str, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """The readable development format, with `[request-id]` after the level when one is current."""

    def __init__(self) -> None:
        super().__init__(PLAIN_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None) or current_request_id.get()
        if request_id:
            head, sep, tail = line.partition(f" {record.name}: ")
            line = f"{head} [{request_id}]{sep}{tail}" if sep else f"{line} [{request_id}]"
        return line


def formatter_for(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else PlainFormatter()


_record_factory: Any = None
_record_factory_plain = False  # it wraps logging's own LogRecord (nothing else stamps records)


def _stamp_request_ids() -> None:
    """Give every LogRecord the request id current when it is *created* (`record.request_id`),
    so a record formatted later or on another thread (pytest's capture, a queue handler)
    still carries the id of the request or job that logged it."""
    global _record_factory, _record_factory_plain
    if _record_factory is not None:
        return
    make_record = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        record.request_id = current_request_id.get()
        return record

    logging.setLogRecordFactory(factory)
    _record_factory = factory
    _record_factory_plain = make_record is logging.LogRecord


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Send the root logger's records to stderr in `log_format` (`json` or `plain`).

    Idempotent: a second call (another app in the same process, a worker building its app)
    replaces the handler this module installed instead of adding one more. Handlers others
    installed (pytest's capture, RQ's own) are left alone.
    """
    if log_format not in FORMATS:
        raise ValueError(f"VOUCH_LOG_FORMAT must be json or plain, not {log_format!r}")
    _stamp_request_ids()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "vouch_handler", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.vouch_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter_for(log_format))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)


def use_format_for(logger_name: str, log_format: str) -> None:
    """Give the handlers another library attached to `logger_name` (RQ's worker logger,
    gunicorn's error log) our formatter, so a JSON log stream has no plain lines in it."""
    for handler in logging.getLogger(logger_name).handlers:
        handler.setFormatter(formatter_for(log_format))


def init_request_logging(app: Flask) -> None:
    """Stamp each request with its id and start time, and log one line when it ends.

    Registered before the other request hooks (rate limits, the hub's own), so a request
    refused by one of them is timed and logged too.
    """
    from hub.metrics import observe_request

    configure_logging(app.config["VOUCH_LOG_FORMAT"])

    @app.before_request
    def _stamp() -> None:
        started = time.perf_counter()
        context = g._get_current_object()  # one context-local look-up, not five (issue 22)
        context.request_started = started
        context.request_id = request_id = clean_request_id(
            request._get_current_object().headers.get("X-Request-Id")  # type: ignore[attr-defined]
        )
        context.request_id_token = current_request_id.set(request_id)

    @app.after_request
    def _log_request(response):
        # The request object once, not a context-local look-up per field (issue 22).
        current = request._get_current_object()
        started = g.get("request_started")
        duration = time.perf_counter() - started if started is not None else 0.0
        endpoint = current.endpoint or "<unmatched>"
        status = response.status_code
        method = current.method
        path = current.path
        observe_request(endpoint, method, status, duration)
        if REQUEST_LOG.isEnabledFor(logging.INFO):
            args = (method, path, status, duration * 1000)
            extra = {
                "event": "request",
                "method": method,
                "path": path,
                "endpoint": endpoint,
                "status": status,
                "duration_ms": round(duration * 1000, 2),
                "user_id": _user_id(),
                "remote_addr": current.remote_addr,
            }
            handler = _json_only_handler()
            if handler is None:
                REQUEST_LOG.info(_REQUEST_LINE, *args, extra=extra)
            else:
                _write_request_line(handler, args, extra)
        return response

    @app.teardown_request
    def _forget_request_id(_exc) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            try:
                current_request_id.reset(token)
            except ValueError:  # set in another context (a test reusing an app context)
                current_request_id.set(None)


_REQUEST_LINE = "%s %s %s %.1f ms"


def _json_only_handler() -> logging.StreamHandler | None:
    """The handler a `vouch.request` record would reach, when it is the only one and writing it
    directly gives the very same line: this module's JSON stream handler on the root logger,
    no other handler or filter on the way, no handler level above INFO, this module's record
    factory (so nothing else stamps records). Else None: the record goes through `logging`."""
    if not _record_factory_plain or logging.getLogRecordFactory() is not _record_factory or REQUEST_LOG.disabled:
        return None
    found: logging.Handler | None = None
    logger: logging.Logger | None = REQUEST_LOG
    while logger is not None:
        if logger.filters:
            return None
        for handler in logger.handlers:
            if found is not None:
                return None
            found = handler
        if not logger.propagate:
            break
        logger = logger.parent
    if (
        type(found) is not logging.StreamHandler
        or not getattr(found, "vouch_handler", False)
        or type(found.formatter) is not JsonFormatter
        or found.filters
        or found.level > logging.INFO
    ):
        return None
    return found


def _write_request_line(handler: logging.StreamHandler, args: tuple[Any, ...], extra: dict[str, Any]) -> None:
    """The request's line written as `REQUEST_LOG.info(_REQUEST_LINE, *args, extra=extra)` would
    write it through `handler` (`_json_only_handler`) and JsonFormatter — the same fields in the
    same order — without a LogRecord, the caller lookup and the handler chain (issue 22: ~7 % of
    a leaderboard read's CPU). tests/hub/test_request_log_line.py compares both."""
    body: dict[str, Any] = {
        "ts": dt.datetime.fromtimestamp(time.time(), dt.UTC).isoformat(timespec="milliseconds"),
        "level": "info",
        "logger": REQUEST_LOG.name,
        "message": _REQUEST_LINE % args,
    }
    request_id = current_request_id.get()
    if request_id:
        body["request_id"] = request_id
    for key, value in extra.items():
        if key not in body:
            body[key] = value
    line = json.dumps(body, default=str, ensure_ascii=False)
    handler.acquire()
    try:
        handler.stream.write(line + handler.terminator)
        handler.flush()
    except Exception:  # as StreamHandler.emit: a broken stream is reported, never raised
        handler.handleError(logging.makeLogRecord({"name": REQUEST_LOG.name, "msg": line}))
    finally:
        handler.release()


def _user_id() -> int | None:
    """The signed-in user's id if this request already loaded it (never loads it: a probe or
    a static file must not cost a session lookup)."""
    caller = g.get("api_caller")
    if caller is not None:
        return int(caller.user_id)  # hub.tokens.Caller: plain data, nothing to load
    user = g.get("api_user") or g.get("_login_user")
    if user is None:
        return None
    # The identity key, never an attribute: after the request's commit the instance is expired,
    # and reading `id` or `is_authenticated` would load the user again (one more query per request).
    state = inspect(user, raiseerr=False)
    if state is None or not state.identity:
        return None  # the anonymous user, or one never stored
    return int(state.identity[0])


def log_job(
    job_id: str | None,
    function: str,
    duration: float,
    outcome: str,
    request_id: str | None,
    error: str | None = None,
) -> None:
    """The one line per job: outcome is `ok`, `retry` (failed, will run again), `failed`
    (no retries left) or `killed` (the work horse died)."""
    level = logging.INFO if outcome == "ok" else logging.WARNING
    token = current_request_id.set(request_id)
    try:
        JOB_LOG.log(
            level,
            "job %s %s %s %.1f ms",
            function,
            job_id or "-",
            outcome,
            duration * 1000,
            extra={
                "event": "job",
                "job_id": job_id,
                "function": function,
                "duration_ms": round(duration * 1000, 2),
                "outcome": outcome,
                **({"error": error} if error else {}),
            },
        )
    finally:
        current_request_id.reset(token)
