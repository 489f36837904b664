"""The shared Redis connection (leaderboards, rate limits), if one is configured."""

from __future__ import annotations

from flask import Flask, current_app


def init_redis(app: Flask) -> None:
    client = None
    if app.config.get("VOUCH_FAKE_REDIS"):
        import fakeredis

        client = fakeredis.FakeRedis()
    elif app.config.get("REDIS_URL"):
        from redis import Redis

        client = Redis.from_url(app.config["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2)
    app.extensions["vouch_redis"] = client


def get_redis():
    """The Redis client, or None in the embedded default."""
    return current_app.extensions.get("vouch_redis")
