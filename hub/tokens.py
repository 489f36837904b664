"""API tokens: created for a user (shown once, stored hashed), revoked, and resolved to their user
on each API request — as an ORM User (`user_for_api_token`), or for routes that only need who is
calling as a `Caller` kept per process (`caller_for_api_token`, issue 22)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from hub.audit import record_audit
from hub.db import utcnow
from hub.errors import NotFound, ValidationFailed
from hub.extensions import db
from hub.models import Advocate, ApiToken, Role, User
from hub.queue import enqueue_after_commit
from hub.redis_stamps import caller_version
from hub.security import new_token, token_digest


def create_api_token(user: User, name: str, actor_id: int | None) -> tuple[ApiToken, str]:
    """Returns the row and the plaintext token, which is shown once and stored hashed."""
    name = (name or "").strip() or "API token"
    if len(name) > 80:
        raise ValidationFailed({"name": "At most 80 characters."})
    plaintext = "vch_" + new_token(32)
    row = ApiToken(
        user_id=user.id, name=name, token_digest=token_digest(plaintext), prefix=plaintext[:10], created_by_id=actor_id
    )
    db.session.add(row)
    db.session.flush()
    record_audit(actor_id, "token.create", "api_token", row.id, None, {"user": user.email, "name": name})
    return row, plaintext


def revoke_api_token(token_id: int, actor_id: int, owner_id: int | None = None) -> ApiToken:
    """Revoke a token (idempotent, audited). With `owner_id`, only a token of that user: an
    advocate revoking their own personal token; anyone else's is NotFound."""
    row = db.session.get(ApiToken, token_id)
    if row is None or (owner_id is not None and row.user_id != owner_id):
        raise NotFound("Token not found.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record_audit(actor_id, "token.revoke", "api_token", row.id, None, {"name": row.name})
    return row


# Token digest → the 5-minute bucket this process last enqueued its last-use touch for: while
# the touch job waits in the queue, later requests in the bucket do not enqueue it again.
_touch_enqueued: dict[str, int] = {}
TOUCH_BUCKET_SECONDS = 300


def user_for_api_token(plaintext: str) -> User | None:
    """The active user behind a token, with their advocate profile, in one round trip."""
    digest = token_digest(plaintext)
    found = db.session.execute(
        select(ApiToken.id, ApiToken.last_used_at, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_digest == digest, ApiToken.revoked_at.is_(None), User.is_active_user.is_(True))
        .options(joinedload(User.advocate))
    ).first()
    if found is None:
        return None
    token_id, last_used_at, user = found
    _touch(digest, token_id, last_used_at)
    return user


def _touch(digest: str, token_id: int, last_used_at: dt.datetime | None) -> None:
    """Enqueue the token's last-use touch when its recorded use is older than the bucket."""
    now = utcnow()
    bucket = int(now.timestamp()) // TOUCH_BUCKET_SECONDS
    stale = last_used_at is None or now - last_used_at > dt.timedelta(seconds=TOUCH_BUCKET_SECONDS)
    if stale and _touch_enqueued.get(digest) != bucket:
        # Bookkeeping goes to a job: a read-only request never becomes a writer (on SQLite
        # that would race jobs for the write lock), and one touch per token per 5 minutes.
        from hub.jobs import touch_api_token

        if len(_touch_enqueued) > 10_000:
            _touch_enqueued.clear()
        _touch_enqueued[digest] = bucket
        enqueue_after_commit(touch_api_token, token_id, now.isoformat(), job_id=f"token-touch-{token_id}-{bucket}")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, as the routes that take it need it: the user's id and role and their
    advocate profile's id (None for staff, or an advocate account without a profile). Plain
    immutable data, safe to share between requests — never an ORM object."""

    user_id: int
    role: Role
    advocate_id: int | None

    @classmethod
    def of(cls, user: Any) -> Caller:
        """The caller behind a signed-in User (the HTML pages)."""
        advocate = user.advocate
        return cls(user_id=int(user.id), role=Role(user.role), advocate_id=advocate.id if advocate else None)


@dataclass(frozen=True, slots=True)
class _Kept:
    stamp: str
    until: float  # time.monotonic() seconds
    caller: Caller
    token_id: int
    last_used_at: dt.datetime | None


# Token digest → the caller resolved under a callers' stamp (hub.redis_stamps). Bounded: cleared
# when it grows past _KEPT_MAX tokens (a process rarely sees that many distinct tokens).
_kept: dict[str, _Kept] = {}
_KEPT_MAX = 10_000


def caller_for_api_token(plaintext: str) -> Caller | None:
    """The active caller behind a token. From this process's cache when it was resolved under
    the current callers' stamp (read with the rate limit: no round trip of its own) less than
    VOUCH_CALLER_CACHE_SECONDS ago — no SQL; else one query, kept for the next requests. A
    revocation, role change, deactivation, erasure or password change moves the stamp once it
    commits, so every process resolves the token again on its next request. Without a stamp
    (no Redis, or Redis failing) every request queries. Unknown and revoked tokens are never kept."""
    digest = token_digest(plaintext)
    stamp = caller_version()  # before the query: a change committed after it moves the stamp
    kept = _kept.get(digest)
    if stamp is not None and kept is not None and kept.stamp == stamp and kept.until > time.monotonic():
        _touch(digest, kept.token_id, kept.last_used_at)
        return kept.caller
    found = db.session.execute(
        select(ApiToken.id, ApiToken.last_used_at, User.id, User.role, Advocate.id)
        .join(User, User.id == ApiToken.user_id)
        .outerjoin(Advocate, Advocate.user_id == User.id)
        .where(ApiToken.token_digest == digest, ApiToken.revoked_at.is_(None), User.is_active_user.is_(True))
    ).first()
    if found is None:
        _kept.pop(digest, None)
        return None
    token_id, last_used_at, user_id, role, advocate_id = found
    caller = Caller(user_id=user_id, role=Role(role), advocate_id=advocate_id)
    if stamp is not None:
        if len(_kept) >= _KEPT_MAX:
            _kept.clear()
        lifetime = float(current_app.config.get("VOUCH_CALLER_CACHE_SECONDS", 60))
        _kept[digest] = _Kept(stamp, time.monotonic() + lifetime, caller, token_id, last_used_at)
    _touch(digest, token_id, last_used_at)
    return caller


def kept_caller(plaintext: str) -> Caller | None:
    """The caller this process keeps for a token, whatever stamp it was resolved under and
    however old — no I/O, and not an answer to who is calling (that is `caller_for_api_token`):
    a guess for planning a read ahead (hub.redis_stamps.RedisRead), checked when it is used."""
    kept = _kept.get(token_digest(plaintext))
    return kept.caller if kept is not None else None


def forget_callers() -> None:
    """Drop every caller this process keeps (tests)."""
    _kept.clear()


def tokens_of(user_id: int) -> list[ApiToken]:
    """A user's tokens, newest first (the profile page's list; never the secret)."""
    return list(
        db.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc()).limit(100))
    )
