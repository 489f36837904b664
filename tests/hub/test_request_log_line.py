"""The request's log line written directly (hub.logs._write_request_line, issue 22) when the
only handler it would reach is this module's JSON stream handler: byte for byte the line
`logging` and JsonFormatter write, and `logging` itself whenever anything else listens."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator

import pytest

from hub import logs


@pytest.fixture
def only_our_handler() -> Iterator[logging.StreamHandler]:
    """The root logger with this module's JSON handler alone (as in production), writing to a
    buffer; pytest's capture handlers (added after fixtures are set up) set aside while the
    test's `alone` block runs."""
    root = logging.getLogger()
    saved_level = root.level
    logs.configure_logging("json")
    (handler,) = [h for h in root.handlers if getattr(h, "vouch_handler", False)]
    handler.setStream(io.StringIO())
    request_log_level = logs.REQUEST_LOG.level
    logs.REQUEST_LOG.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
        logs.REQUEST_LOG.setLevel(request_log_level)


@contextlib.contextmanager
def alone(handler: logging.Handler) -> Iterator[None]:
    root = logging.getLogger()
    saved = list(root.handlers)
    root.handlers = [handler]
    try:
        yield
    finally:
        root.handlers = saved


ARGS = ("GET", "/api/v1/leaderboard", 200, 1.2345)
EXTRA = {
    "event": "request",
    "method": "GET",
    "path": "/api/v1/leaderboard",
    "endpoint": "rewards_api.leaderboard",
    "status": 200,
    "duration_ms": 1.23,
    "user_id": 7,
    "remote_addr": "127.0.0.1",
}


def lines(handler: logging.StreamHandler) -> list[str]:
    return handler.stream.getvalue().splitlines()


def test_the_direct_line_is_the_line_logging_writes(only_our_handler, monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1_790_000_000.123456)
    token = logs.current_request_id.set("req-ü-1")
    with alone(only_our_handler):
        assert logs._json_only_handler() is only_our_handler
        logs._write_request_line(only_our_handler, ARGS, {**EXTRA, "path": 'p"ä\\'})
        logs.REQUEST_LOG.info(logs._REQUEST_LINE, *ARGS, extra={**EXTRA, "path": 'p"ä\\'})
    logs.current_request_id.reset(token)
    direct, through_logging = lines(only_our_handler)
    assert direct == through_logging
    body = json.loads(direct)
    assert list(body) == ["ts", "level", "logger", "message", "request_id", *EXTRA]
    assert body["ts"] == "2026-09-21T14:13:20.123+00:00"
    assert body["message"] == "GET /api/v1/leaderboard 200 1.2 ms" and body["path"] == 'p"ä\\'


def test_without_a_request_id_the_field_is_left_out_both_ways(only_our_handler, monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1_790_000_000.5)
    with alone(only_our_handler):
        logs._write_request_line(only_our_handler, ARGS, EXTRA)
        logs.REQUEST_LOG.info(logs._REQUEST_LINE, *ARGS, extra=EXTRA)
    direct, through_logging = lines(only_our_handler)
    assert direct == through_logging and "request_id" not in json.loads(direct)


@pytest.mark.parametrize("change", ["handler on the logger", "filter", "plain format", "handler level", "disabled"])
def test_anything_else_listening_sends_the_record_through_logging(only_our_handler, change):
    undo = []
    if change == "handler on the logger":
        extra_handler = logging.NullHandler()
        logs.REQUEST_LOG.addHandler(extra_handler)
        undo.append(lambda: logs.REQUEST_LOG.removeHandler(extra_handler))
    elif change == "filter":
        only_pass = logging.Filter("vouch")
        logs.REQUEST_LOG.addFilter(only_pass)
        undo.append(lambda: logs.REQUEST_LOG.removeFilter(only_pass))
    elif change == "plain format":
        only_our_handler.setFormatter(logs.PlainFormatter())
    elif change == "handler level":
        only_our_handler.setLevel(logging.WARNING)
    else:
        logs.REQUEST_LOG.disabled = True
        undo.append(lambda: setattr(logs.REQUEST_LOG, "disabled", False))
    try:
        with alone(only_our_handler):
            assert logs._json_only_handler() is None
    finally:
        for step in undo:
            step()


def test_a_request_logs_one_line_through_the_direct_path(app, client, only_our_handler):
    with alone(only_our_handler):
        assert logs._json_only_handler() is only_our_handler
        reply = client.get("/healthz", headers={"X-Request-Id": "probe-42"})
    request_lines = [json.loads(line) for line in lines(only_our_handler) if '"vouch.request"' in line]
    assert len(request_lines) == 1
    line = request_lines[0]
    assert line["request_id"] == "probe-42" == reply.headers["X-Request-Id"]
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", reply.status_code)
    assert line["message"].startswith(f"GET /healthz {reply.status_code} ")


def test_fresh_request_ids_are_twelve_hex_characters():
    made = {logs.new_request_id() for _ in range(200)}
    assert len(made) == 200
    assert all(len(rid) == 12 and int(rid, 16) >= 0 for rid in made)
