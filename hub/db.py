"""Declarative base, naming convention, UTC time type and transaction helpers."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import enum
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import DateTime, Dialect, Enum, MetaData, Numeric, String, Table, TypeDecorator, case, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.sql.functions import FunctionElement

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
    from sqlalchemy.engine import CursorResult, Engine
    from sqlalchemy.orm import QueryableAttribute, Session, scoped_session
    from sqlalchemy.sql.base import Executable
    from sqlalchemy.sql.compiler import SQLCompiler
    from sqlalchemy.sql.elements import ColumnElement
    from sqlalchemy.sql.selectable import FromClause

    # A plain Session, or the scoped one Flask-SQLAlchemy hands out as db.session.
    AnySession = Session | scoped_session[Any]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Money columns: up to 16 digits and cents, paired with a currency column (ISO 4217 code).
Money = Numeric(18, 2)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def str_enum(enum_cls: type[enum.StrEnum], length: int = 32, name: str | None = None) -> Enum:
    """Store a StrEnum by value in a plain VARCHAR with a CHECK constraint (named `name`)."""
    return Enum(
        enum_cls,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        length=length,
        validate_strings=True,
        create_constraint=True,
        name=name or enum_cls.__name__.lower(),
    )


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime(), str: String(255)},
    )


M = TypeVar("M", bound=Base)


# SQLite ignores SELECT ... FOR UPDATE, so write transactions start with BEGIN IMMEDIATE:
# the writer lock is taken up front and a second writer waits (busy timeout) instead of
# failing on a stale snapshot. Read-only requests clear this flag and stay concurrent.
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=True)


def install_sqlite_begin_immediate(engine: Engine) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: object) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below control transactions
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=15000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


# A statement that needs the transaction a read request otherwise does without: a row lock, a
# transaction-scoped advisory lock or setting, or anything but a SELECT (a write, SET LOCAL, WITH).
_NEEDS_TRANSACTION = re.compile(
    r"\bfor\s+(?:no\s+key\s+update|update|key\s+share|share)\b|advisory_xact|set_config", re.IGNORECASE
)


def needs_transaction(statement: str, streamed: bool = False) -> bool:
    """Whether `statement` must run inside a transaction block: anything but a plain SELECT (a
    write, `WITH`, `SET LOCAL`), a SELECT that locks rows or takes a transaction-scoped advisory
    lock or setting, or a streamed result (`streamed`: a server-side cursor lives in a transaction)."""
    if streamed or statement.lstrip()[:6].upper() != "SELECT":
        return True
    return _NEEDS_TRANSACTION.search(statement) is not None


def _psycopg_idle(dbapi_conn: Any) -> bool:
    from psycopg.pq import TransactionStatus

    return bool(dbapi_conn.info.transaction_status == TransactionStatus.IDLE)


def install_postgres_connection_handling(engine: Engine) -> None:
    """PostgreSQL (psycopg 3) connections for the request path (issue 22, "every request"):

    - **No pre-ping.** A pooled connection whose backend is gone (terminated, server restarted)
      has received the server's FATAL notice or end of stream: its socket is readable while it
      should be idle. Checkout polls the socket without waiting (a system call, no round trip)
      and hands such a connection back as disconnected, so the pool opens a fresh one.
      `pool_recycle` (hub.config) retires connections before idle timeouts elsewhere cut them,
      and a dropped connection met by a unit's first statement, or by a read, is retried once
      more by the unit (`mark_retry_safe`, hub.errors.is_transient_db_error).
    - **Reads without BEGIN/COMMIT.** A transaction of a read request (`write_intent` False: GET,
      HEAD, OPTIONS) starts in autocommit: no BEGIN, COMMIT or ROLLBACK round trips, and it never
      ends in a ROLLBACK, which makes psycopg discard the connection's prepared statements. At
      READ COMMITTED every statement sees its own snapshot anyway, so plain SELECTs mean the same
      either way. The first statement that needs a transaction (`needs_transaction`: a write, a
      row or advisory lock, a streamed result) switches it off before it runs, so from there
      on the unit is one transaction block, committed or rolled back by the session as before.
    """
    import select as selectmod

    from sqlalchemy import event
    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine, "checkout")
    def _refuse_dead(dbapi_conn: Any, _record: object, _proxy: object) -> None:
        if dbapi_conn.closed:
            raise DisconnectionError("connection closed")
        try:
            poller = selectmod.poll()
            poller.register(dbapi_conn.pgconn.socket, selectmod.POLLIN | selectmod.POLLERR | selectmod.POLLHUP)
            pending = poller.poll(0)
        except Exception as exc:  # the socket itself is gone
            raise DisconnectionError(str(exc)) from exc
        if pending:
            # An idle backend says nothing unless it is going away (a rare reported-setting
            # change after a reload reads the same: a fresh connection is the safe answer).
            raise DisconnectionError("the server ended this connection while it was idle")

    def _asked_for_autocommit(conn: Any) -> bool:
        # A connection opened with isolation_level="AUTOCOMMIT" (VACUUM, CREATE DATABASE) is the
        # caller's choice: it stays in autocommit whatever the request or the statement.
        return conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        dbapi_conn = conn.connection.dbapi_connection
        conn.info["vouch_statements"] = 0
        if _psycopg_idle(dbapi_conn) and not _asked_for_autocommit(conn):
            dbapi_conn.autocommit = not write_intent.get()

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        conn.info["vouch_statements"] = conn.info.get("vouch_statements", 0) + 1
        dbapi_conn = conn.connection.dbapi_connection
        if dbapi_conn.autocommit and _psycopg_idle(dbapi_conn) and not _asked_for_autocommit(conn):
            options = context.execution_options if context is not None else {}
            streamed = bool(options.get("stream_results") or options.get("yield_per"))
            if needs_transaction(statement, streamed):
                dbapi_conn.autocommit = False

    @event.listens_for(engine, "handle_error")
    def _dropped(ctx: Any) -> None:
        mark_retry_safe(ctx)


def mark_retry_safe(ctx: Any) -> None:
    """`handle_error` listener: flag a dropped connection (`retry_safe` on the exception) when
    nothing the unit did can have taken effect — the failing statement was the first of its
    transaction, or the connection was still in a read's autocommit (only plain SELECTs ran).
    A failed COMMIT is never flagged: whether it took effect is unknown."""
    if not ctx.is_disconnect or ctx.statement is None or ctx.connection is None or ctx.sqlalchemy_exception is None:
        return
    conn = ctx.connection
    reading = False
    try:
        reading = bool(conn.connection.dbapi_connection.autocommit)
    except Exception:  # the DBAPI connection is already discarded
        reading = False
    if reading or conn.info.get("vouch_statements", 0) <= 1:
        ctx.sqlalchemy_exception.retry_safe = True


def locked_row(model: type[M], row_id: object, session: AnySession | None = None) -> M | None:
    """`model`'s row `row_id` as the database has it now, row-locked for the transaction — or
    None. SELECT … FOR NO KEY UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes
    writers): it serializes writers of the row without blocking inserts that only reference it
    by foreign key, which a plain FOR UPDATE would (and deadlock with them)."""
    from sqlalchemy import select

    from hub.extensions import db

    active = session if session is not None else db.session
    key = model.__mapper__.primary_key[0]
    return active.scalar(
        select(model).where(key == row_id).with_for_update(key_share=True).execution_options(populate_existing=True)
    )


def execute_dml(statement: Executable) -> CursorResult[Any]:
    """Run an UPDATE or DELETE in the request's session; its result with the rows matched
    (`rowcount`). Session.execute returns a CursorResult for such statements but is typed as
    returning the general Result, which has no rowcount."""
    from hub.extensions import db

    return cast("CursorResult[Any]", db.session.execute(statement))


def table_of(model: type[Base]) -> Table:
    """The Table a model maps (DeclarativeBase types `__table__` as the general FromClause)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a Table")
    return table


def any_of(column: ColumnElement[Any] | QueryableAttribute[Any], values: list[Any]) -> ColumnElement[bool]:
    """`column` is one of `values`: on PostgreSQL `column = ANY(:values)`, one array parameter
    whatever the number of values — an IN list of N parameters is a different statement for
    each N, and once psycopg prepares it PostgreSQL may keep a generic plan that checks every
    row against all N (issue 22: 12–15 ms instead of ~1.3 ms for 256 ids); elsewhere an IN list."""
    from sqlalchemy import any_, bindparam

    from hub.extensions import db

    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def any_of_param(column: ColumnElement[Any] | QueryableAttribute[Any], name: str) -> ColumnElement[bool]:
    """`any_of` with the values left to a named parameter `name` (a list given at execution), for
    a statement built once and executed many times: `= ANY(:name)` on PostgreSQL, an expanding
    IN elsewhere."""
    from sqlalchemy import any_, bindparam

    from hub.extensions import db

    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def insert_ignore(session: AnySession, table: FromClause, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when a row was written.

    Decided by RETURNING the key, not by rowcount: with the implicit RETURNING SQLAlchemy adds
    on PostgreSQL, psycopg reports rowcount -1 whether or not the row was written.
    """
    stmt = _dialect_insert(session, table).values(**values).on_conflict_do_nothing()
    key = list(table.primary_key)
    if key:
        return session.execute(stmt.returning(*key)).first() is not None
    return cast("CursorResult[Any]", session.execute(stmt)).rowcount == 1


def insert_row_ignore(session: AnySession, model: type[M], values: dict[str, Any]) -> M | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the row, as a persistent object of `model` in
    the session; None when a unique key (any of them) already holds such a row. One statement
    where a SAVEPOINT, the INSERT and RELEASE (or a ROLLBACK TO on a conflict) were three."""
    stmt = _dialect_orm_insert(session, model).values(**values).on_conflict_do_nothing().returning(model)
    return session.scalars(stmt).first()


def insert_ignore_many(
    session: AnySession, table: Table, rows: list[dict[str, Any]], returning: list[str]
) -> list[Any]:
    """INSERT … ON CONFLICT DO NOTHING of many rows (multi-row statements, as many as the
    driver's parameter limit needs); the `returning` columns of the rows actually written (a row
    another one's unique key already holds is skipped)."""
    if not rows:
        return []
    stmt = _dialect_insert(session, table).on_conflict_do_nothing()
    return list(session.execute(stmt.returning(*(table.c[name] for name in returning)), rows).all())


def upsert_add(
    session: AnySession,
    table: FromClause,
    keys: dict[str, Any] | list[dict[str, Any]],
    column: str,
    amount: int,
    also: dict[str, Any] | None = None,
    raise_to: dict[str, Any] | None = None,
) -> None:
    """INSERT the row(s), or add `amount` to `column` where one exists, in one statement
    (several key dicts with the same columns make one multi-row INSERT … ON CONFLICT).
    `also`: further columns set to these values on insert and on update alike.
    `raise_to`: columns set to these values on insert, and on update only where the stored
    value is NULL or lower (a time that only moves forward, whatever order writers commit in)."""
    rows = [keys] if isinstance(keys, dict) else keys
    if not rows:
        return
    extra = also or {}
    highest = raise_to or {}
    insert = _dialect_insert(session, table)
    stmt = insert.values([{**k, column: amount, **extra, **highest} for k in rows])
    raised = {
        name: case((or_(table.c[name].is_(None), table.c[name] < value), value), else_=table.c[name])
        for name, value in highest.items()
    }
    stmt = stmt.on_conflict_do_update(
        index_elements=list(rows[0]), set_={column: getattr(table.c, column) + amount, **extra, **raised}
    )
    session.execute(stmt)


def upsert_add_each(session: AnySession, table: Table, rows: list[dict[str, Any]], column: str) -> None:
    """INSERT the rows (keys plus each its own `column` amount), or add that amount to `column`
    where the key exists, in one INSERT … ON CONFLICT DO UPDATE (`excluded`). Rows are written in
    the order given: give them in key order, so two writers lock shared rows in the same order."""
    if not rows:
        return
    stmt = _dialect_insert(session, table).values(rows)
    keys = [name for name in rows[0] if name != column]
    session.execute(
        stmt.on_conflict_do_update(index_elements=keys, set_={column: table.c[column] + stmt.excluded[column]})
    )


class whole_second(FunctionElement[dt.datetime]):
    """SQL: a UTCDateTime expression truncated to the whole second (microseconds dropped), the
    same value `floor_second` gives in Python, on PostgreSQL and SQLite."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(whole_second, "postgresql")
def _whole_second_postgresql(element: whole_second, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date_trunc('second', {compiler.process(element.clauses, **kw)})"


@compiles(whole_second, "sqlite")
def _whole_second_sqlite(element: whole_second, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'; the same layout with zero micros.
    return f"strftime('%Y-%m-%d %H:%M:%S.000000', {compiler.process(element.clauses, **kw)})"


def floor_second(moment: dt.datetime) -> dt.datetime:
    """`moment` without its microseconds (as SQL `whole_second`)."""
    return moment.replace(microsecond=0)


def _dialect_orm_insert(session: AnySession, model: type[Any]) -> PostgresInsert | SqliteInsert:
    """The dialect's INSERT of a mapped class (ORM-enabled: RETURNING the class gives objects)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgres_insert

        return postgres_insert(model)
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(model)
    raise RuntimeError(f"unsupported database {name}")  # pragma: no cover - only the two supported backends


def dialect_insert(session: AnySession, table: FromClause) -> PostgresInsert | SqliteInsert:
    """The INSERT construct of the session's dialect (PostgreSQL or SQLite), which has
    `on_conflict_do_update` / `on_conflict_do_nothing` and `excluded`; TypeError for a
    non-table, RuntimeError for another dialect."""
    return _dialect_insert(session, table)


def _dialect_insert(session: AnySession, table: FromClause) -> PostgresInsert | SqliteInsert:
    if not isinstance(table, Table):
        raise TypeError(f"{table} is not a table")
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgres_insert

        return postgres_insert(table)
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    raise RuntimeError(f"unsupported database {name}")  # pragma: no cover - only the two supported backends


def transaction_lock(*key: int) -> None:
    """Take the transaction-scoped advisory lock `key` — one 64-bit number, or a 32-bit
    namespace and a 32-bit id — on PostgreSQL, held until the transaction ends; nothing on
    SQLite, whose BEGIN IMMEDIATE already makes the transaction the only writer."""
    from sqlalchemy import text

    from hub.extensions import db

    if db.session.get_bind().dialect.name != "postgresql":
        return
    names = [f"k{i}" for i in range(len(key))]
    db.session.execute(
        text(f"SELECT pg_advisory_xact_lock({', '.join(':' + n for n in names)})"), dict(zip(names, key, strict=True))
    )


def lock_scope(key: int, model: Any, ids: list[int] | None) -> None:
    """Serialize a whole-table rebuild against per-row refreshes of `model` (PostgreSQL): `ids`
    None takes the advisory lock `key` exclusively (the rebuild); a list takes it shared and
    locks those rows in id order (key share), so refreshes of different rows run side by side
    and wait only for a rebuild. SQLite needs nothing: BEGIN IMMEDIATE already made this
    transaction the only writer."""
    from sqlalchemy import select, text

    from hub.extensions import db

    if db.session.get_bind().dialect.name != "postgresql":
        return
    if ids is None:
        transaction_lock(key)
        return
    db.session.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": key})
    db.session.execute(select(model.id).where(model.id.in_(ids)).order_by(model.id).with_for_update(key_share=True))


def insert_unnest(
    session: AnySession,
    table: Table,
    rows: list[dict[str, Any]],
    returning: list[str],
    *,
    ignore_conflicts: bool = False,
) -> list[Any]:
    """PostgreSQL: INSERT … SELECT FROM unnest(one array per column) of many rows (same keys
    each), optionally ON CONFLICT DO NOTHING; the `returning` columns of the rows written, in
    no set order. One bind parameter per column, so the statement stays small: a multi-row
    VALUES of thousands of rows is a statement the driver parses anew each time (too long for
    its cache), which costs more than the insert for runs that write tens of thousands."""
    from sqlalchemy import bindparam, func, select
    from sqlalchemy import cast as sql_cast
    from sqlalchemy.dialects.postgresql import ARRAY
    from sqlalchemy.dialects.postgresql import insert as postgres_insert

    names = list(rows[0])
    arrays = [
        sql_cast(
            bindparam(f"unnest_{i}", [row[name] for row in rows], type_=ARRAY(table.c[name].type)),
            ARRAY(table.c[name].type),
        )
        for i, name in enumerate(names)
    ]
    source = func.unnest(*arrays).table_valued(*(f"c{i}" for i in range(len(names)))).render_derived()
    stmt = postgres_insert(table).from_select(names, select(*(source.c[f"c{i}"] for i in range(len(names)))))
    if ignore_conflicts:
        stmt = stmt.on_conflict_do_nothing()
    return list(session.execute(stmt.returning(*(table.c[name] for name in returning))).all())


DEFERRED_SUMS_KEY = "vouch_deferred_sums"
Amount = int | tuple[int, ...]


@contextlib.contextmanager
def deferred_sums() -> Iterator[None]:
    """Within this block, the shared summary counters written through `defer_sum` (per-day
    totals that every approval adds to) are summed in memory and written when the block ends,
    still in the caller's transaction: one statement per table for a whole batch, and their rows
    locked for the rest of the transaction only — a batch of approvals would otherwise hold
    them from its first approval on, and the other worker's batch would wait for all of it.
    Nested blocks join the outer one; on an error nothing is written (the caller rolls back)."""
    from hub.extensions import db

    info = db.session().info
    if DEFERRED_SUMS_KEY in info:
        yield
        return
    info[DEFERRED_SUMS_KEY] = {}
    try:
        yield
        pending: dict[Callable[[dict[Any, Amount]], None], dict[Any, Amount]] = info.pop(DEFERRED_SUMS_KEY)
        for write, sums in pending.items():
            write(sums)
    finally:
        info.pop(DEFERRED_SUMS_KEY, None)


def defer_sum(write: Callable[[dict[Any, Amount]], None], amounts: dict[Any, Amount]) -> bool:
    """Inside `deferred_sums`: add `amounts` (key → a number, or a tuple of numbers added
    element by element) to what `write(sums)` writes when the block ends, and return True.
    Outside one, return False: the caller writes now."""
    from hub.extensions import db

    pending = db.session().info.get(DEFERRED_SUMS_KEY)
    if pending is None:
        return False
    sums = pending.setdefault(write, {})
    for key, amount in amounts.items():
        before = sums.get(key)
        if before is None:
            sums[key] = amount
        elif isinstance(before, tuple) and isinstance(amount, tuple):
            sums[key] = tuple(a + b for a, b in zip(before, amount, strict=True))
        elif isinstance(before, int) and isinstance(amount, int):
            sums[key] = before + amount
        else:
            raise TypeError(f"amounts for {key!r} mix numbers and tuples")
    return True
