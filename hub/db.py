"""Declarative base, naming convention, UTC time type and transaction helpers."""

from __future__ import annotations

import contextvars
import datetime as dt
import enum
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import DateTime, Dialect, Enum, MetaData, Numeric, String, Table, TypeDecorator, case, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.sql.functions import FunctionElement

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
    from sqlalchemy.engine import CursorResult, Engine
    from sqlalchemy.orm import Session, scoped_session
    from sqlalchemy.sql.base import Executable
    from sqlalchemy.sql.compiler import SQLCompiler
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
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
        return
    db.session.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": key})
    db.session.execute(select(model.id).where(model.id.in_(ids)).order_by(model.id).with_for_update(key_share=True))
