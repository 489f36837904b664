"""Bulk writing for bench/seed.py: ids from MAX(id) + 1 (and the sequences moved past them after),
row buffers per table, flushed in dependency order.

PostgreSQL gets COPY (psycopg's `cursor.copy` on the session's own connection, so it shares the
seed's transaction); SQLite gets SQLAlchemy Core executemany. Why COPY: measured on the 2-core
bench machine, Core executemany reached ~19k rows/s into `ledger_entries`, COPY ~42k rows/s with
the indexes in place and ~200k rows/s without them — millions of rows with randomly ordered keys
spend their time maintaining B-trees that no longer fit in shared_buffers.

So, while loading, `bulk_mode` also takes the loaded tables' secondary indexes, unique
constraints and foreign keys away and rebuilds them afterwards (the way PostgreSQL's "Populating
a Database" advice goes): the primary keys stay. Everything — drop, load, rebuild — happens in one
transaction, so a failed or interrupted seed rolls back to the schema and rows it started from,
and the rebuilt unique indexes and foreign keys re-check every row that was loaded. The price:
the loaded tables are locked (ACCESS EXCLUSIVE on PostgreSQL) until the seed commits.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Sequence

from sqlalchemy import JSON, Table, text


class Loader:
    """Rows are plain tuples in the column order given to `register`; append them to
    `rows(name)` and call `maybe_flush()` now and then. Tables flush in registration order
    (parents before children), so a child row never reaches the database before its parent."""

    def __init__(self, batch: int) -> None:
        from hub.extensions import db

        self.session = db.session
        self.dialect = self.session.get_bind().dialect.name
        self.batch = batch
        self.tables: dict[str, Table] = {}
        self.columns: dict[str, tuple[str, ...]] = {}
        self.buffers: dict[str, list[tuple]] = {}
        self.json_positions: dict[str, tuple[int, ...]] = {}

    def register(self, table: Table, columns: Sequence[str]) -> list[tuple]:
        missing = [
            c.name for c in table.columns if c.name not in columns and not c.nullable and c.server_default is None
        ]
        unknown = [name for name in columns if name not in table.c]
        if missing or unknown:
            raise ValueError(f"{table.name}: missing required columns {missing}, unknown columns {unknown}")
        name = table.name
        self.tables[name] = table
        self.columns[name] = tuple(columns)
        self.buffers[name] = []
        self.json_positions[name] = tuple(i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON))
        return self.buffers[name]

    def rows(self, name: str) -> list[tuple]:
        return self.buffers[name]

    def maybe_flush(self) -> None:
        if any(len(rows) >= self.batch for rows in self.buffers.values()):
            self.flush()

    def flush(self) -> None:
        for name, rows in self.buffers.items():
            if rows:
                self._write(name, rows)
                rows.clear()

    def _write(self, name: str, rows: list[tuple]) -> None:
        columns = self.columns[name]
        if self.dialect == "postgresql":
            positions = self.json_positions[name]
            quoted = ", ".join(f'"{c}"' for c in columns)
            raw = self.session.connection().connection.driver_connection
            assert raw is not None, "a PostgreSQL connection has its psycopg connection"
            with raw.cursor() as cursor, cursor.copy(f'COPY "{name}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    if positions:
                        cells = list(row)
                        for i in positions:
                            if cells[i] is not None:
                                cells[i] = json.dumps(cells[i])
                        copy.write_row(cells)
                    else:
                        copy.write_row(row)
        else:
            self.session.execute(self.tables[name].insert(), [dict(zip(columns, row, strict=True)) for row in rows])


@contextlib.contextmanager
def bulk_mode(loader: Loader, table_names: Sequence[str], report: dict[str, float]) -> Iterator[None]:
    """Drop secondary indexes, unique constraints and foreign keys of these tables, run the
    load, flush it, and rebuild them — all in the caller's transaction (see the module doc)."""

    session = loader.session
    if loader.dialect == "postgresql":
        session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        oids = [session.scalar(text("SELECT CAST(:n AS regclass)::oid"), {"n": n}) for n in table_names]
        constraints = session.execute(
            text("""
            SELECT c.conrelid::regclass::text, quote_ident(c.conname), c.contype, pg_get_constraintdef(c.oid)
            FROM pg_constraint c
            WHERE c.conrelid = ANY(:oids) AND c.contype IN ('f', 'u')
              AND (c.contype = 'f' OR NOT EXISTS (
                   SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid))
            ORDER BY c.contype, c.conname
        """),
            {"oids": oids},
        ).all()
        indexes = session.execute(
            text("""
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(:oids) AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            ORDER BY 1
        """),
            {"oids": oids},
        ).all()
        for table, name, _kind, _definition in constraints:  # 'f' sorts first: foreign keys go before uniques
            session.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
        for name, _definition in indexes:
            session.execute(text(f"DROP INDEX {name}"))
        yield
        loader.flush()
        started = time.perf_counter()
        for _name, definition in indexes:
            session.execute(text(definition))
        for table, name, _kind, definition in sorted(constraints, key=lambda c: c[2] == "f"):  # uniques first
            session.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
        report["indexes_s"] = time.perf_counter() - started
        started = time.perf_counter()
        for name in table_names:
            session.execute(text(f'ANALYZE "{name}"'))
        report["analyze_s"] = time.perf_counter() - started
    else:
        cache_size = session.scalar(text("PRAGMA cache_size"))
        session.execute(text("PRAGMA cache_size = -262144"))  # 256 MiB for the B-trees still indexed
        marks = ", ".join(f":t{i}" for i in range(len(table_names)))
        indexes = session.execute(
            text(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "  # noqa: S608
                f"AND tbl_name IN ({marks})"
            ),
            {f"t{i}": n for i, n in enumerate(table_names)},
        ).all()
        for name, _sql in indexes:
            session.execute(text(f'DROP INDEX "{name}"'))
        yield
        loader.flush()
        started = time.perf_counter()
        for _name, sql in indexes:
            session.execute(text(sql))
        report["indexes_s"] = time.perf_counter() - started
        started = time.perf_counter()
        for name in table_names:
            session.execute(text(f'ANALYZE "{name}"'))
        report["analyze_s"] = time.perf_counter() - started
        session.execute(text(f"PRAGMA cache_size = {int(cache_size)}"))


def next_id(table) -> int:
    from sqlalchemy import func, select

    from hub.extensions import db

    return (db.session.scalar(select(func.max(table.c.id))) or 0) + 1


class Ids:
    """The next free id per table: MAX(id) + 1 when first asked, then handed out in blocks."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def peek(self, name: str) -> int:
        if name not in self._next:
            from hub.extensions import db

            self._next[name] = next_id(db.metadata.tables[name])
        return self._next[name]

    def take(self, name: str, count: int) -> int:
        first = self.peek(name)
        self._next[name] = first + count
        return first

    def set(self, name: str, value: int) -> None:
        self._next[name] = value


def sync_sequences(*tables) -> None:
    """Explicit ids were inserted; move PostgreSQL's sequences past them (tables or names)."""
    from hub.extensions import db

    if db.engine.dialect.name != "postgresql":
        return
    for table in tables:
        name = getattr(table, "name", table)  # from our own metadata, never user input
        db.session.execute(
            db.text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
            )
        )
    db.session.commit()
