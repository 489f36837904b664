"""Configuration read from the environment (names in api.md)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"
LOOPBACK = "127.0.0.0/8,::1"


class ConfigError(RuntimeError):
    """Raised when the environment cannot produce a safe configuration."""


def _sqlalchemy_url(raw: str | None) -> str:
    if not raw:
        INSTANCE.mkdir(exist_ok=True)
        return f"sqlite:///{INSTANCE / 'vouch.db'}"
    # Heroku-style URLs and bare postgresql:// get the psycopg 3 driver.
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment plus explicit overrides."""
    env = os.environ
    overrides = dict(overrides or {})
    vouch_env = overrides.get("VOUCH_ENV") or env.get("VOUCH_ENV", "development")
    if vouch_env not in {"development", "test", "production"}:
        raise ConfigError(f"VOUCH_ENV must be development, test or production, not {vouch_env!r}")
    production = vouch_env == "production"

    secret = overrides.get("SECRET_KEY") or env.get("SECRET_KEY")
    if not secret:
        if production:
            raise ConfigError("SECRET_KEY must be set in production")
        secret = _dev_secret()

    port = int(env.get("PORT", "5000"))
    database_url = _sqlalchemy_url(overrides.pop("DATABASE_URL", None) or env.get("DATABASE_URL"))
    redis_url = overrides.pop("REDIS_URL", env.get("REDIS_URL")) or None
    config = {
        "VOUCH_ENV": vouch_env,
        "TESTING": vouch_env == "test",
        "DEBUG": False,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        "REDIS_URL": redis_url,
        # Prefix for every Redis key Vouch writes (leaderboards) and its RQ queue names.
        "VOUCH_REDIS_NAMESPACE": env.get("VOUCH_REDIS_NAMESPACE", "vouch"),
        "VOUCH_BASE_URL": (env.get("VOUCH_BASE_URL") or f"http://127.0.0.1:{port}").rstrip("/"),
        "SMTP_URL": env.get("SMTP_URL") or None,
        "MAIL_FROM": env.get("VOUCH_MAIL_FROM", "Vouch <no-reply@vouch.local>"),
        # Outbox rows one delivery transaction sends (hub.email.sending): a killed worker may
        # send up to this many - 1 already-sent messages again; 1 sends one row per transaction.
        "VOUCH_DELIVERY_PER_TRANSACTION": _positive_int(env.get("VOUCH_DELIVERY_PER_TRANSACTION"), 20),
        # Hosts (names or IP literals, as written in URLs) that outbound requests (hub.outbound:
        # webhooks, URL checks) may reach although they resolve to a private address.
        "VOUCH_OUTBOUND_ALLOW_HOSTS": [
            h.strip().lower() for h in env.get("VOUCH_OUTBOUND_ALLOW_HOSTS", "").split(",") if h.strip()
        ],
        "VOUCH_VERIFY_ALLOW_HOSTS": [
            h.strip().lower() for h in env.get("VOUCH_VERIFY_ALLOW_HOSTS", "").split(",") if h.strip()
        ],
        # Number of trusted reverse proxies in front of gunicorn; X-Forwarded-For is
        # ignored unless this is set, so a client cannot spoof its IP for rate limits.
        "VOUCH_TRUSTED_PROXIES": int(env.get("VOUCH_TRUSTED_PROXIES", "0")),
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # Uploaded evidence (hub.uploads): where files live — outside the web root, never under
        # static/ — and the largest file accepted (the routes that take one allow a request that
        # much larger than MAX_CONTENT_LENGTH).
        "VOUCH_UPLOAD_DIR": env.get("VOUCH_UPLOAD_DIR") or str(INSTANCE / "uploads"),
        "VOUCH_UPLOAD_MAX_BYTES": _positive_int(env.get("VOUCH_UPLOAD_MAX_BYTES"), 10 * 1024 * 1024),
        "MAX_FORM_PARTS": 500,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        # Sessions (and "keep me signed in") last at most 14 days; the server-side session
        # row enforces it too, so a copied cookie stops working (Flask-Login's default is a year).
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 24 * 14,
        "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * 14,
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": production,
        # Every Redis client (hub.redis_client): connect/read timeout in seconds, and how long
        # the circuit breaker stays open after a failure before Redis is tried again.
        "VOUCH_REDIS_TIMEOUT": float(env.get("VOUCH_REDIS_TIMEOUT", "0.3")),
        "VOUCH_REDIS_BREAKER_SECONDS": float(env.get("VOUCH_REDIS_BREAKER_SECONDS", "30")),
        # `vouch+` selects hub.redis_stamps.StampedRedisStorage: the rate limit's round trip
        # also reads the callers' stamp (issue 22).
        "RATELIMIT_STORAGE_URI": f"vouch+{redis_url}" if redis_url else "memory://",
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # X-RateLimit-* on every response would cost two Redis round trips per request;
        # a 429 still says when to come back (Retry-After, hub.errors).
        "RATELIMIT_HEADERS_ENABLED": False,
        # Per API token (or IP without one); raise it for load tests.
        "VOUCH_API_RATE_LIMIT": env.get("VOUCH_API_RATE_LIMIT", "600/minute"),
        "RATELIMIT_ENABLED": True,
        "PASSWORD_HASH_PROFILE": "fast" if vouch_env == "test" else "owasp",
        "INVITE_TTL_DAYS": 14,
        "RESET_TTL_HOURS": 2,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # Operations (docs/operations.md): log format, who may scrape /metrics, when the
        # queue counts as stalled for /readyz.
        "VOUCH_LOG_FORMAT": env.get("VOUCH_LOG_FORMAT") or ("json" if production else "plain"),
        "VOUCH_METRICS_TOKEN": env.get("VOUCH_METRICS_TOKEN") or None,
        "VOUCH_METRICS_ALLOW": env.get("VOUCH_METRICS_ALLOW", "" if production else LOOPBACK),
        "VOUCH_QUEUE_STALL_SECONDS": int(env.get("VOUCH_QUEUE_STALL_SECONDS", "300")),
        # The hub's program activity is re-read at most this often per process (challenges.services.activity).
        "VOUCH_ACTIVITY_CACHE_SECONDS": float(env.get("VOUCH_ACTIVITY_CACHE_SECONDS", "60")),
        # An API caller (token → user, role, advocate) and a group's name are kept per process at
        # most this long; a change to them is seen at once anyway (hub.redis_stamps).
        "VOUCH_CALLER_CACHE_SECONDS": float(env.get("VOUCH_CALLER_CACHE_SECONDS", "60")),
    }
    config.update(overrides)
    if config["REDIS_URL"] and "RATELIMIT_STORAGE_OPTIONS" not in config:
        from hub.redis_client import client_options

        # Rate limits share the other clients' timeouts and breaker (a hung Redis costs a
        # login one short timeout, then nothing while the breaker is open).
        config["RATELIMIT_STORAGE_OPTIONS"] = client_options(
            str(config["REDIS_URL"]), cast(float, config["VOUCH_REDIS_TIMEOUT"])
        )
    if config["VOUCH_LOG_FORMAT"] not in {"json", "plain"}:
        raise ConfigError(f"VOUCH_LOG_FORMAT must be json or plain, not {config['VOUCH_LOG_FORMAT']!r}")
    return config


def _positive_int(raw: str | None, default: int) -> int:
    """A positive whole number from the environment, or `default` when unset; ConfigError otherwise."""
    if raw is None or not raw.strip():
        return default
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ConfigError(f"expected a positive whole number of bytes, not {raw!r}")
    return int(raw)


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        # A generous busy timeout turns writer contention into waiting, not errors.
        return {"connect_args": {"timeout": 15, "check_same_thread": False}}
    # A database that does not answer fails a request (and /readyz) in seconds, not minutes.
    # No pre-ping (a round trip per request): checkout drops a connection whose backend has gone
    # without asking the server, connections are retired after half an hour (before idle timeouts
    # of proxies or firewalls cut them), and a dropped connection met before anything was written
    # is retried (hub.db.install_postgres_connection_handling).
    return {"pool_recycle": 1800, "pool_size": 10, "max_overflow": 10, "connect_args": {"connect_timeout": 5}}


def _dev_secret() -> str:
    """A per-checkout development key, kept in instance/ so sessions survive restarts."""
    INSTANCE.mkdir(exist_ok=True)
    path = INSTANCE / "dev-secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()
