"""Version stamps for per-process caches (issue 22): a cache of something that changes rarely
(the published challenge catalogue, the program settings) is kept by each process and reused
while the stamp of its source is unchanged.

A stamp is a row of `cache_stamps`: a name and a random 62-bit token. Any INSERT, UPDATE or
DELETE that SQLAlchemy executes on a watched table (`watch`) replaces the token of that stamp on
the same connection, right after the statement — so in the same transaction as the change: it
commits with it and rolls back with it. Random rather than counted, so a rolled-back change can
never hand a later, different change the same token (a counter would be reused after a
rollback, and a cache built from the rolled-back rows would look current).

Readers take the stamp (`current`) *before* they read the source, in the same transaction: a
change that commits in between can only make the next reader rebuild, never keep a stale copy.
The stamps are read once per request (one query for all of them) and every time elsewhere
(jobs, commands). Writes made with raw SQL text or outside SQLAlchemy (COPY, psql) are not seen:
after such a write, `bump` the stamp (or restart the processes).
"""

from __future__ import annotations

import secrets
import weakref
from typing import Any

from flask import has_request_context, request
from sqlalchemy import Engine, Select, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import UpdateBase

from hub.db import table_of
from hub.extensions import db
from hub.models import CacheStamp

# table name → stamp name
_WATCHED: dict[str, str] = {}
_TABLE = table_of(CacheStamp)


def watch(stamp: str, *tables: str) -> None:
    """Replace `stamp`'s token whenever a statement writes one of `tables` (at import time)."""
    for table in tables:
        _WATCHED[table] = stamp


def _written_table(statement: Any) -> str | None:
    if not isinstance(statement, UpdateBase):
        return None
    table = getattr(statement, "table", None)
    return getattr(table, "name", None)


@event.listens_for(Engine, "after_execute")
def _after_execute(conn: Connection, statement: Any, *_args: Any) -> None:
    name = _written_table(statement)
    if name is None or name not in _WATCHED:
        return
    bump(_WATCHED[name], conn)


def bump(name: str, conn: Connection | None = None) -> int:
    """Give stamp `name` a fresh token on `conn` (default: the session's connection) and
    return it; readers in this request see it at once, other transactions after commit."""
    token = secrets.randbits(62)
    conn = conn if conn is not None else db.session.connection()
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgres_insert

        pg = postgres_insert(_TABLE).values(name=name, token=token)
        conn.execute(pg.on_conflict_do_update(index_elements=[_TABLE.c.name], set_={"token": token}))
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(_TABLE).values(name=name, token=token)
        conn.execute(lite.on_conflict_do_update(index_elements=[_TABLE.c.name], set_={"token": token}))
    stamps = _request_stamps()
    if stamps is not None:
        stamps[name] = token
    return token


# request → its stamps (read once per request; the request object is the key so that a test's
# long-lived app context, shared by its requests, never carries one request's stamps into the next)
_per_request: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()


def _request_stamps() -> dict[str, int] | None:
    if not has_request_context():
        return None
    return _per_request.get(request._get_current_object())  # type: ignore[attr-defined]


def all_stamps() -> Select[*tuple[Any, ...]]:
    """Every stamp: (name, token) rows."""
    return select(_TABLE.c.name, _TABLE.c.token)


def prime(stamps: dict[str, int]) -> None:
    """Hand this request the stamps a statement it ran anyway read (the session user's, which
    is the request's first: hub.accounts.user_for_session), so `current` sends no query of its
    own. Stamps this request already read or bumped are kept."""
    if has_request_context():
        _per_request.setdefault(request._get_current_object(), stamps)  # type: ignore[attr-defined]


def primed() -> bool:
    """Whether this request already holds the stamps (read, primed or bumped): `current` then
    sends no query. False outside a request (every `current` reads them there)."""
    return _request_stamps() is not None


def current(name: str) -> int | None:
    """The token of stamp `name` as this transaction sees it (None: never written, or the
    table was emptied). All stamps are read in one query, once per request."""
    stamps = _request_stamps()
    if stamps is None:
        stamps = dict(db.session.execute(all_stamps()).all())
        if has_request_context():
            _per_request[request._get_current_object()] = stamps  # type: ignore[attr-defined]
    return stamps.get(name)


class ProcessCache:
    """One value per engine, rebuilt when its stamp moves: `get(build)` returns the cached value
    when the stamp is the one it was built under, else calls `build()` (in the caller's
    transaction, after the stamp was read) and keeps the result. With no stamp (an emptied
    table) nothing is kept. Thread-safe enough for its use: a race builds twice, both correct."""

    def __init__(self, stamp: str) -> None:
        self.stamp = stamp
        self._values: weakref.WeakKeyDictionary[Engine, tuple[int, Any]] = weakref.WeakKeyDictionary()

    def get(self, build: Any) -> Any:
        token = current(self.stamp)
        engine = db.engine
        cached = self._values.get(engine)
        if token is not None and cached is not None and cached[0] == token:
            return cached[1]
        value = build()
        if token is not None:
            self._values[engine] = (token, value)
        return value

    def kept(self) -> tuple[int, Any] | None:
        """The (token, value) this process keeps for the current engine, without reading the
        stamp (None: nothing kept). For a reader that reads the stamp in its own statement and
        checks the token itself (challenges.services.feed.read_state)."""
        return self._values.get(db.engine)

    def clear(self) -> None:
        """Forget every engine's value (tests)."""
        self._values.clear()
