"""The shared Redis connection (leaderboards, rate limits), if one is configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from redis import Redis


def init_redis(app: Flask) -> None:
    client: Redis | None = None
    if app.config.get("VOUCH_FAKE_REDIS"):
        import fakeredis

        client = fakeredis.FakeRedis()
    elif app.config.get("REDIS_URL"):
        from redis import Redis

        client = Redis.from_url(app.config["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2)
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
