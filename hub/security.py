"""Password hashing, opaque tokens and redirect safety."""

from __future__ import annotations

import hashlib
import secrets
import threading
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# OWASP 2024 minimum for argon2id is m=19 MiB, t=2, p=1; we use argon2-cffi's RFC 9106
# low-memory profile (m=64 MiB, t=3, p=4), which is stronger. Tests use a fast profile.
_PROFILES = {
    "owasp": PasswordHasher(),
    "fast": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}
_DUMMY_HASHES: dict[str, str] = {}
_DUMMY_LOCK = threading.Lock()


def _hasher() -> PasswordHasher:
    return _PROFILES[current_app.config.get("PASSWORD_HASH_PROFILE", "owasp")]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def dummy_hash() -> str:
    """A hash of a random secret with the current profile, built once per process: what an
    unknown email (or an account without a password) is verified against, so that a login costs
    one verify either way and never a fresh hash (issue 13 item 5)."""
    profile = current_app.config.get("PASSWORD_HASH_PROFILE", "owasp")
    found = _DUMMY_HASHES.get(profile)
    if found is None:
        with _DUMMY_LOCK:
            found = _DUMMY_HASHES.get(profile)
            if found is None:
                found = _DUMMY_HASHES[profile] = _PROFILES[profile].hash(secrets.token_hex(16))
    return found


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant-effort check: exactly one argon2 verify, against the user's hash or, for an
    unknown user, against the precomputed `dummy_hash` (which no password matches)."""
    if not stored_hash:
        stored_hash = dummy_hash()
        password = "\x00" + password
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """Tokens are stored as SHA-256 digests; they carry 256 bits of entropy, so no salt."""
    return hashlib.sha256(token.encode()).hexdigest()


def safe_next_url(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed after login; anything else → default."""
    if not target:
        return default
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target
