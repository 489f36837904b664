"""The callers' version stamp in Redis (issue 22): lets every process keep the API callers it
resolved (hub.tokens) and the group names it looked up, and drop them at once when one changes.

The stamp is one Redis string, `<namespace>:callers:version`, holding a random token. It is
read for free on an API request: the rate limit's script (`StampedRedisStorage`, Flask-Limiter's
storage for `vouch+redis://` URLs) returns it with the request count, in the same round trip.
A route may also name the Redis read it will make (`RedisRead`, planned by the view's
`redis_read` attribute, hub.endpoints): that read then runs in the same script call and the
route takes its answer from `prefetched` — the rate limit, the stamp and the read in one round
trip (issue 22).
A request the limit did not count (limits disabled, Redis down and Flask-Limiter on its memory
fallback) reads it with one GET (`caller_version`), or gets None when Redis cannot answer — and
then nothing is taken from the caches.

Any statement that writes a watched table (`_WATCHED`: users, api_tokens, groups, and inserts
and deletes of advocates) replaces the token once the transaction commits (`bump`, run by the
session's after-commit callbacks), so a reader can never see the new token before the new rows:
readers take the token *before* they read PostgreSQL, and keep what they read under that token
— a change that commits in between makes the next request rebuild, never keeps a stale copy.
Columns written on every login or API call (`users.last_login_at`, `api_tokens.last_used_at`)
do not move the stamp. Random rather than counted, so a Redis that lost the key (restart,
FLUSHDB) can never hand out an old token again; a missing key is set once to a fresh token.

What is not seen at once, and is bounded by each cache's lifetime (`VOUCH_CALLER_CACHE_SECONDS`,
default 60): a write on a connection other than the request's session (it bumps right away,
before its commit), a bump lost because Redis was down at that commit, and writes made outside
SQLAlchemy (psql, COPY) — run `bump` by hand after those.
"""

from __future__ import annotations

import logging
import secrets
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context, has_request_context, request
from limits.storage import RedisStorage
from sqlalchemy import Engine, Insert, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Delete, Update, UpdateBase

log = logging.getLogger(__name__)

# table → the columns whose writes alone do not change who a caller is (None: only INSERT and
# DELETE matter — an advocate row's many updates never change which advocate a user is).
_WATCHED: dict[str, frozenset[str] | None] = {
    "users": frozenset({"last_login_at"}),
    "api_tokens": frozenset({"last_used_at"}),
    "groups": frozenset(),
    "advocates": None,
}

# request → the stamp read for it. Keyed by the request object, not kept on `g`: the rate limit
# runs before the app's own before-request hooks, and a test's app context outlives its requests.
_per_request: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class RedisRead:
    """A read-only Redis script call a route makes, described before the route runs so that the
    rate limit's script call can make it too. `lua` is a script body that reads its own `KEYS`
    and `ARGV` (1-based, as in a script of its own) and ends in `return`; `keys` and `args` are
    what it would be called with. Two reads are the same read when all three are equal."""

    name: str
    lua: str
    keys: tuple[str, ...]
    args: tuple[str | int, ...]


# A view's planner: the read the route will make for this request, computed from the request
# alone (no I/O; None when it cannot tell, e.g. an unknown caller) — hub.endpoints sets it as
# the view's `redis_read` attribute.
ReadPlanner = Callable[[], RedisRead | None]

# request → (the read made in the rate limit's call, its answer); taken once by `prefetched`.
_prefetched: weakref.WeakKeyDictionary[Any, tuple[RedisRead, Any]] = weakref.WeakKeyDictionary()


def _keep(stamp: str | None) -> None:
    if stamp is not None and has_request_context():
        _per_request.setdefault(request._get_current_object(), stamp)  # type: ignore[attr-defined]


def version_key() -> str:
    """The Redis key of the callers' stamp (in the app's Redis namespace)."""
    return f"{current_app.config.get('VOUCH_REDIS_NAMESPACE', 'vouch')}:callers:version"


# Flask-Limiter's fixed-window hit plus the stamp: KEYS = counter, stamp; ARGV = expiry seconds,
# amount. Returns {count after the hit, the stamp or false}.
_HIT_LUA = """
local current = redis.call('INCRBY', KEYS[1], ARGV[2])
if tonumber(current) == tonumber(ARGV[2]) then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return {current, redis.call('GET', KEYS[2])}
"""


# _HIT_LUA followed by a route's read (RedisRead.lua), run as a function of its own KEYS and
# ARGV: those past the hit's two keys and two arguments. Returns {count, stamp, the read's answer}.
_HIT_AND_READ_LUA = """
local current = redis.call('INCRBY', KEYS[1], ARGV[2])
if tonumber(current) == tonumber(ARGV[2]) then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
local stamp = redis.call('GET', KEYS[2])
local read_keys, read_args = {}, {}
for i = 3, #KEYS do read_keys[#read_keys + 1] = KEYS[i] end
for i = 3, #ARGV do read_args[#read_args + 1] = ARGV[i] end
local function read(KEYS, ARGV)
%s
end
return {current, stamp, read(read_keys, read_args)}
"""


class StampedRedisStorage(RedisStorage):
    """Flask-Limiter's Redis storage (same keys, same fixed-window counting) whose counter
    increment also reads the callers' stamp, kept for the request (`caller_version`): the rate
    limit and the stamp cost one round trip together. When the request's view plans a Redis
    read (`RedisRead`), the first increment of the request makes that read in the same call
    (`prefetched`). Configured as `vouch+<redis URL>`."""

    STORAGE_SCHEME = ["vouch+redis", "vouch+rediss", "vouch+redis+unix"]

    def __init__(self, uri: str, **options: Any) -> None:
        super().__init__(uri.removeprefix("vouch+"), **options)

    def initialize_storage(self, _uri: str) -> None:
        super().initialize_storage(_uri)
        self.lua_hit_stamped = self.get_connection().register_script(_HIT_LUA.encode())
        self.lua_hit_and_read: dict[str, Any] = {}  # RedisRead.name → its registered script

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count `amount` hits on `key` (expiring after `expiry` seconds from the first) and,
        inside a request, keep the stamp read in the same script call — and make the read the
        request's view plans, once per request, keeping its answer for `prefetched`."""
        if not has_request_context():
            return super().incr(key, expiry, amount)
        current = request._get_current_object()  # type: ignore[attr-defined]
        read = None if current in _prefetched else _planned_read()
        if read is None:
            count, stamp = self.lua_hit_stamped([self.prefixed_key(key), version_key()], [expiry, amount])
            _keep(_decoded(stamp))
            return int(count)
        script = self.lua_hit_and_read.get(read.name)
        if script is None:
            script = self.get_connection().register_script((_HIT_AND_READ_LUA % read.lua).encode())
            self.lua_hit_and_read[read.name] = script
        count, stamp, answer = script([self.prefixed_key(key), version_key(), *read.keys], [expiry, amount, *read.args])
        _keep(_decoded(stamp))
        _prefetched[current] = (read, answer)
        return int(count)


def _planned_read() -> RedisRead | None:
    """The Redis read the request's view plans (its `redis_read` attribute), or None. A planner
    that fails costs the request nothing but the shared round trip: the route reads on its own."""
    view = current_app.view_functions.get(request.endpoint or "")
    planner: ReadPlanner | None = getattr(view, "redis_read", None)
    if planner is None:
        return None
    try:
        return planner()
    except Exception:
        log.warning("planning the request's Redis read failed; the route reads on its own", exc_info=True)
        return None


def prefetched(read: RedisRead) -> Any | None:
    """The answer the rate limit's script call got for `read` in this request, or None when that
    call made no read or another one (the route then reads on its own). Taken once: a second
    call for the same read gets None. The answer was read a moment before the route asks, in
    the same request — as fresh as a read made by the route itself."""
    if not has_request_context():
        return None
    found = _prefetched.get(request._get_current_object())  # type: ignore[attr-defined]
    if found is None or found[0] != read or found[1] is None:
        return None
    _prefetched[request._get_current_object()] = (found[0], None)  # type: ignore[attr-defined]
    return found[1]


def _decoded(stamp: bytes | str | None) -> str | None:
    if stamp is None:
        return None
    return stamp.decode() if isinstance(stamp, bytes) else str(stamp)


def caller_version() -> str | None:
    """The callers' stamp for this request: the one the rate limit read, else one GET (a
    missing key is created with a fresh token). None without Redis or when Redis fails: the
    caches are then not used. Read once per request."""
    if has_request_context():
        kept = _per_request.get(request._get_current_object())  # type: ignore[attr-defined]
        if kept is not None:
            return kept
    from hub.redis_client import get_redis

    r = get_redis()
    if r is None:
        return None
    try:
        stamp = _decoded(r.get(version_key()))
        if stamp is None:
            # A fresh Redis: start a stamp (SET NX, so two processes agree on one).
            r.set(version_key(), secrets.token_hex(8), nx=True)
            stamp = _decoded(r.get(version_key()))
    except Exception:
        log.warning("callers' stamp unreadable; resolving callers from the database", exc_info=True)
        return None
    _keep(stamp)
    return stamp


def bump() -> None:
    """Give the callers' stamp a fresh token now: every process drops its cached callers and
    group names on its next request. A Redis failure is logged (see the module's limits)."""
    from hub.redis_client import get_redis

    r = get_redis()
    if r is None:
        return
    try:
        r.set(version_key(), secrets.token_hex(8))
    except Exception:
        log.warning("callers' stamp not bumped (Redis failed); caches expire on their own", exc_info=True)


def _changes_callers(statement: Any, multiparams: Any, params: Any) -> bool:
    """Whether a statement on a watched table can change a caller or a group name. Unknown
    shapes count as a change (a needless bump costs one cache rebuild, a missed one a stale caller)."""
    table = getattr(getattr(statement, "table", None), "name", None)
    if table not in _WATCHED:
        return False
    ignored = _WATCHED[table]
    if isinstance(statement, Insert | Delete) or not isinstance(statement, Update):
        return True
    if ignored is None:
        return False
    values = getattr(statement, "_values", None)
    if values:
        written = {getattr(column, "key", str(column)) for column in values}
    else:
        # An ORM flush: the SET columns are the parameters' keys (plus its primary-key binds).
        first = multiparams[0] if isinstance(multiparams, list | tuple) and multiparams else params
        if isinstance(first, list | tuple):
            first = first[0] if first else {}
        written = set(first or {})
        written &= set(statement.table.c.keys())
        written -= {column.key for column in statement.table.primary_key}
    return bool(written - ignored) if written else True


_SESSION_CONNECTIONS = "vouch_connections"


@event.listens_for(Session, "after_begin")
def _session_connection(session: Session, _transaction: Any, connection: Connection) -> None:
    """Remember the connections a session's transactions run on (`_after_execute` tells the
    session's own writes, bumped after its commit, from other connections')."""
    session.info.setdefault(_SESSION_CONNECTIONS, weakref.WeakSet()).add(connection)


@event.listens_for(Engine, "after_execute")
def _after_execute(conn: Connection, statement: Any, multiparams: Any, params: Any, *_rest: Any) -> None:
    if not isinstance(statement, UpdateBase) or not _changes_callers(statement, multiparams, params):
        return
    if not has_app_context():
        return
    from hub.extensions import db
    from hub.queue import CALLBACKS_KEY

    session = db.session()
    # Whether the statement ran in the request's (or job's) session, without asking the session
    # for its connection: that would check one out when its transaction has none yet.
    own = session.in_transaction() and conn in session.info.get(_SESSION_CONNECTIONS, ())
    if not own:
        bump()
        return
    callbacks = session.info.setdefault(CALLBACKS_KEY, [])
    if bump not in callbacks:
        callbacks.append(bump)
