"""Every Redis client Vouch makes (leaderboards, the job queue, rate limits), built one way.

A Redis that accepts connections but never answers must not make requests slow (issue 13
item 4, reliability.md case 25): every client gets short connect and read timeouts
(VOUCH_REDIS_TIMEOUT seconds, default 0.3), no retries inside redis-py (its default of three
retries with back-off turned one hung call into ~10 s), and a circuit breaker per Redis
address. After a failure the breaker opens for VOUCH_REDIS_BREAKER_SECONDS (default 30):
every call in that time fails at once with `redis.ConnectionError`, without touching the
network. Then one call is let through; success closes it, failure opens it again.

Callers already treat a Redis error as "Redis is down": leaderboards read the SQL table, a
job that cannot be enqueued is picked up by the sweeps, Flask-Limiter falls back to its
in-memory counters, and the leaderboard reconciler (rewards.leaderboard) repairs the sorted
sets once Redis answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.connection import Connection, SSLConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 0.3
DEFAULT_BREAKER_SECONDS = 30.0
BULK_TIMEOUT_SECONDS = 10.0


class CircuitBreaker:
    """Open/closed state of one Redis address in this process. Thread-safe.

    `allow()` is False while open; once `cooldown` seconds have passed calls go through again
    (half open) and the next outcome decides. Times are `time.monotonic()` seconds."""

    def __init__(self, cooldown: float = DEFAULT_BREAKER_SECONDS, name: str = "redis") -> None:
        self.cooldown = cooldown
        self.name = name
        self.opened_at: float | None = None
        self.failures = 0
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def allow(self) -> bool:
        with self._lock:
            return self.opened_at is None or time.monotonic() - self.opened_at >= self.cooldown

    def record_success(self) -> None:
        with self._lock:
            if self.opened_at is not None:
                log.warning("%s answers again; circuit closed", self.name)
            self.opened_at = None

    def record_failure(self) -> None:
        with self._lock:
            if self.opened_at is None:
                log.warning("%s failed; circuit open, not tried for %.0f s", self.name, self.cooldown)
            self.failures += 1
            self.opened_at = time.monotonic()


_breakers: dict[tuple[str, int], CircuitBreaker] = {}
_breakers_lock = threading.Lock()
_cooldown = DEFAULT_BREAKER_SECONDS


def breaker_for(host: str, port: int) -> CircuitBreaker:
    """The breaker of one Redis address (shared by every client of this process)."""
    with _breakers_lock:
        breaker = _breakers.get((host, port))
        if breaker is None:
            breaker = _breakers[(host, port)] = CircuitBreaker(_cooldown, f"Redis at {host}:{port}")
        return breaker


def breaker_for_url(url: str) -> CircuitBreaker:
    parts = urlsplit(url)
    return breaker_for(parts.hostname or "localhost", parts.port or 6379)


class _Guarded:
    """Mixin for redis-py connections: refuse at once while the breaker is open; a timeout or
    connection error opens it, a reply closes it."""

    host: str
    port: int

    def _breaker(self) -> CircuitBreaker:
        return breaker_for(self.host, self.port)

    def _refuse_if_open(self) -> None:
        if not self._breaker().allow():
            raise RedisConnectionError(f"Redis at {self.host}:{self.port} is unavailable (circuit open)")

    def connect(self) -> None:
        self._refuse_if_open()
        try:
            super().connect()  # type: ignore[misc]
        except (RedisConnectionError, RedisTimeoutError, OSError):
            self._breaker().record_failure()
            raise

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        self._refuse_if_open()
        try:
            super().send_packed_command(command, check_health)  # type: ignore[misc]
        except (RedisConnectionError, RedisTimeoutError, OSError):
            self._breaker().record_failure()
            raise

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            response = super().read_response(*args, **kwargs)  # type: ignore[misc]
        except (RedisConnectionError, RedisTimeoutError, OSError):
            self._breaker().record_failure()
            raise
        self._breaker().record_success()
        return response


class GuardedConnection(_Guarded, Connection):
    """A TCP Redis connection behind the breaker."""


class GuardedSSLConnection(_Guarded, SSLConnection):
    """A TLS (rediss://) Redis connection behind the breaker."""


def client_options(url: str, timeout: float | None = None) -> dict[str, Any]:
    """Keyword arguments for `Redis.from_url(url, **options)` (and Flask-Limiter's storage
    options): short timeouts, no retries, the breaker. `timeout` in seconds."""
    if timeout is None:
        timeout = current_app.config.get("VOUCH_REDIS_TIMEOUT", DEFAULT_TIMEOUT_SECONDS)
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
    }
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss"):
        options["connection_class"] = GuardedSSLConnection if scheme == "rediss" else GuardedConnection
    return options


def make_client(url: str, timeout: float | None = None):
    """A redis-py client for `url` with `client_options`."""
    from redis import Redis

    return Redis.from_url(url, **client_options(url, timeout))


def configure(app: Flask) -> None:
    """Apply the app's breaker cool-down to this process's breakers."""
    global _cooldown
    _cooldown = float(app.config.get("VOUCH_REDIS_BREAKER_SECONDS", DEFAULT_BREAKER_SECONDS))
    with _breakers_lock:
        for breaker in _breakers.values():
            breaker.cooldown = _cooldown


if TYPE_CHECKING:
    from redis import Redis


def init_redis(app: Flask) -> None:
    configure(app)
    client: Redis | None = None
    if app.config.get("VOUCH_FAKE_REDIS"):
        import fakeredis

        client = fakeredis.FakeRedis()
    elif app.config.get("REDIS_URL"):
        with app.app_context():
            client = make_client(app.config["REDIS_URL"])
    app.extensions["vouch_redis"] = client


def get_redis() -> Redis | None:
    """The Redis client, or None in the embedded default."""
    client: Redis | None = current_app.extensions.get("vouch_redis")
    return client


def require_redis() -> Redis:
    """The Redis client, for code that runs only where one is configured (it checked
    get_redis() before); RuntimeError when there is none."""
    client = get_redis()
    if client is None:
        raise RuntimeError("no Redis client is configured")
    return client


def get_bulk_redis() -> Redis | None:
    """A client for bulk work in jobs and commands (leaderboard rebuilds: pipelines of
    thousands of members), with BULK_TIMEOUT_SECONDS instead of the request path's short
    timeout; same breaker. None in the embedded default."""
    app = current_app
    client = get_redis()
    if client is None or not app.config.get("REDIS_URL"):
        return client
    bulk = app.extensions.get("vouch_redis_bulk")
    if bulk is None:
        bulk = app.extensions["vouch_redis_bulk"] = make_client(app.config["REDIS_URL"], BULK_TIMEOUT_SECONDS)
    return bulk
