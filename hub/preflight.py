"""Checks that must pass before the production stack starts (`make prod` runs them first).

    python -m hub.preflight          # exit 0 when ready, 1 with one line per problem

It reads the environment only (building the app would already fail on a missing
SECRET_KEY, with a traceback instead of a sentence) and checks: `SECRET_KEY` is set and long
enough to sign sessions, `DATABASE_URL` names a PostgreSQL database that answers, and
`REDIS_URL` names a Redis that answers. Every problem is reported at once, each with what
to do about it; connection errors name the host, never the password.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from urllib.parse import urlsplit

MIN_SECRET_LENGTH = 32
CONNECT_TIMEOUT_SECONDS = 3


def problems(env: Mapping[str, str]) -> list[str]:
    """What stops the production stack from starting, as sentences (empty when ready)."""
    found = []
    vouch_env = env.get("VOUCH_ENV", "development")
    if vouch_env not in {"development", "test", "production"}:
        found.append(f"VOUCH_ENV must be development, test or production, not {vouch_env!r}.")
    secret = env.get("SECRET_KEY", "")
    if not secret.strip():
        found.append(
            "SECRET_KEY is not set. Generate one with "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'` and keep it secret."
        )
    elif len(secret) < MIN_SECRET_LENGTH:
        found.append(f"SECRET_KEY is too short ({len(secret)} characters; use at least {MIN_SECRET_LENGTH}).")
    found.extend(database_problems(env.get("DATABASE_URL", "")))
    found.extend(redis_problems(env.get("REDIS_URL", "")))
    return found


def database_problems(url: str) -> list[str]:
    if not url:
        return ["DATABASE_URL is not set (e.g. postgresql+psycopg://vouch:…@127.0.0.1:5432/vouch)."]
    scheme = urlsplit(url).scheme
    if not scheme.startswith(("postgresql", "postgres")):
        return [
            f"DATABASE_URL must name a PostgreSQL database for the production stack, not {scheme or url!r} "
            "(`make run` serves the embedded SQLite default)."
        ]
    import psycopg

    dsn = "postgresql://" + url.split("://", 1)[1]
    try:
        with psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_SECONDS) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [f"PostgreSQL at {_where(url)} is unreachable: {reason}"]
    return []


def redis_problems(url: str) -> list[str]:
    if not url:
        return ["REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0): the workers, cron and rate limits need it."]
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(
            url, socket_timeout=CONNECT_TIMEOUT_SECONDS, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS
        ).ping()
    except (RedisError, ValueError) as exc:
        return [f"Redis at {_where(url)} is unreachable: {exc}"]
    return []


def _where(url: str) -> str:
    """host:port/path of a URL, without the user or password."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{host}:{parts.port}{parts.path}" if parts.port else f"{host}{parts.path}"


def main(env: Mapping[str, str] | None = None) -> int:
    found = problems(os.environ if env is None else env)
    if found:
        print("Vouch will not start:", file=sys.stderr)
        for problem in found:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("Preflight: SECRET_KEY set, PostgreSQL and Redis answer.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
