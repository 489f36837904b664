"""SQL statements, database round trips and Redis round trips of one request, counted in-process.

    python bench/counts.py --root . --app wsgi:app < requests.json     (prints one JSON line)

The request runs through the Flask test client of the app named by `--app` (any WSGI module
importable from `--root`): the counting lives here, in the benchmark's own process, never in
the production app. The script imports nothing from `bench/` so that it can run with another
checkout's interpreter and code (bench/compare.py counts an older commit that way).

How it counts:
- PostgreSQL: every psycopg connection the pool opens gets libpq's protocol trace
  (`PGconn.trace`, line-buffered into one file). A round trip is one ReadyForQuery message from
  the server (each wait for the server ends with one); a statement is an extended-protocol
  Execute or a simple Query, and BEGIN / COMMIT / ROLLBACK are counted apart as
  transaction control. The pool's pre-ping is a round trip too, so it is counted.
- Redis: every `send_packed_command` of redis-py (one command, or a whole pipeline) is one
  round trip; Flask-Limiter's storage uses the same redis-py connections.

Input (stdin): a JSON list of {"name", "method", "path", "headers", "body"?, "warmup"?}. Each
request is first run once as its `warmup` (default: itself) so that caches, pools and
imports are warm; then the counted run. Output: {name: {"status", "statements",
"transaction_control", "pings", "db_round_trips", "redis_round_trips"}}.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "START TRANSACTION", "END")


def trace_sql(text: str) -> list[str]:
    """The SQL the client sent, in order (Parse and simple Query messages), for reading a trace."""
    sent = []
    for line in text.splitlines():
        parts = line.split("\t", 3)
        if len(parts) == 4 and parts[0] == "F" and parts[2] in ("Parse", "Query"):
            body = parts[3].strip()
            # Parse: "<statement name>" "<sql>" …; Query: "<sql>"
            quoted = body.split('" "', 1)[1] if parts[2] == "Parse" and '" "' in body else body.strip('"')
            sent.append(quoted.rsplit('" ', 1)[0].strip('"'))
    return sent


def redis_commands(packed: bytes) -> list[str]:
    """Command names in a RESP-packed request (one command or a pipeline): the first bulk
    string of each array."""
    names, lines = [], packed.split(b"\r\n")
    for n, line in enumerate(lines):
        if line.startswith(b"*") and n + 2 < len(lines):
            names.append(lines[n + 2].decode(errors="replace").upper())
    return names


def parse_trace(text: str) -> dict[str, int]:
    """Count a libpq trace (regress mode, no timestamps): lines are "<F|B>\\t<length>\\t<Message> …".
    Returns {"statements", "transaction_control", "pings", "round_trips"}; see the module docstring."""
    statements = control = pings = round_trips = 0
    for line in text.splitlines():
        parts = line.split("\t", 3)
        if len(parts) < 3:
            continue
        direction, message = parts[0], parts[2].strip()
        if direction == "B" and message == "ReadyForQuery":
            round_trips += 1
        elif direction == "F" and message == "Execute":
            statements += 1
        elif direction == "F" and message == "Query":
            sql = parts[3].strip().strip('"').strip().upper() if len(parts) > 3 else ""
            if sql in ("", ";"):
                pings += 1
            elif sql.startswith(TRANSACTION_CONTROL):
                control += 1
            else:
                statements += 1
    return {"statements": statements, "transaction_control": control, "pings": pings, "round_trips": round_trips}


class Counters:
    """Installs the trace and the Redis counter for the life of the process."""

    def __init__(self) -> None:
        self.trace = tempfile.NamedTemporaryFile("w+b", suffix=".pgtrace")  # noqa: SIM115 - lives as long as the process
        self.redis_sends = 0
        self.redis_log: list[str] = []

    def install(self) -> None:
        import psycopg
        from redis.connection import AbstractConnection
        from sqlalchemy import event
        from sqlalchemy.pool import Pool

        fd = os.open(self.trace.name, os.O_WRONLY | os.O_APPEND)

        @event.listens_for(Pool, "connect")
        def trace_connection(dbapi_connection, _record) -> None:
            pgconn = getattr(dbapi_connection, "pgconn", None)
            if pgconn is None:  # not psycopg 3 (SQLite): no database round trips to count
                return
            pgconn.trace(os.dup(fd))
            pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE)

        send = AbstractConnection.send_packed_command
        counters = self

        def counting_send(connection, command, check_health=True):
            counters.redis_sends += 1
            packed = b"".join(bytes(c) for c in command) if isinstance(command, list) else bytes(command)
            counters.redis_log.append(" ".join(redis_commands(packed)))
            return send(connection, command, check_health)

        AbstractConnection.send_packed_command = counting_send  # type: ignore[method-assign]

    def mark(self) -> tuple[int, int]:
        return os.path.getsize(self.trace.name), self.redis_sends

    def since(self, mark: tuple[int, int], detail: bool = False) -> dict:
        offset, sends = mark
        with open(self.trace.name, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        counted = parse_trace(text)
        extra = {"sql": trace_sql(text), "redis": self.redis_log[sends:]} if detail else {}
        return {
            **extra,
            "statements": counted["statements"],
            "transaction_control": counted["transaction_control"],
            "pings": counted["pings"],
            "db_round_trips": counted["round_trips"],
            "redis_round_trips": self.redis_sends - sends,
        }


def run(app, counters: Counters, request: dict, detail: bool = False) -> dict:
    """Warm up with the request's `warmup` (or itself), then count one run of it."""
    client = app.test_client()

    def send(spec: dict) -> int:
        headers = dict(spec.get("headers", {}))
        # The test client sends the cookies of its own jar (a Cookie header is not passed on):
        # put the session cookie wrk sends into the jar.
        for pair in headers.pop("Cookie", "").split(";"):
            if "=" in pair:
                name, value = pair.strip().split("=", 1)
                client.set_cookie(name, value)
        response = client.open(spec["path"], method=spec.get("method", "GET"), headers=headers, data=spec.get("body"))
        response.get_data()
        response.close()
        return response.status_code

    send(request.get("warmup") or request)
    mark = counters.mark()
    status = send(request)
    return {"status": status, **counters.since(mark, detail)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="checkout whose code serves the requests")
    parser.add_argument("--app", default="wsgi:app", help="module:attribute of the WSGI app")
    parser.add_argument("--detail", action="store_true", help="also list the SQL and the Redis commands sent")
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    os.chdir(root)
    sys.path.insert(0, root)
    counters = Counters()
    counters.install()
    module, attribute = args.app.split(":")
    app = getattr(importlib.import_module(module), attribute)
    requests = json.load(sys.stdin)
    result = {r["name"]: run(app, counters, r, args.detail) for r in requests}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
