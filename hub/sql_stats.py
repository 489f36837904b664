"""SQL building blocks for report tables that both supported databases (PostgreSQL, SQLite) run:
the seconds between two timestamps, and a median per group computed in the database with
window functions (one grouped query, no rows fetched into Python)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, and_, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import Select


class seconds_between(FunctionElement[float]):
    """`seconds_between(start, end)`: seconds from `start` to `end` (float; negative when `end`
    is earlier), for two timestamp columns."""

    type = Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite stores naive UTC text (hub.db.UTCDateTime); julianday reads it in days.
    start, end = list(element.clauses)
    return f"((julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)})) * 86400.0)"


def median_by(key: ColumnElement[Any], value: ColumnElement[Any], *where: ColumnElement[bool]) -> Select[Any, Any]:
    """`SELECT key, median(value)` over the rows matching `where`, one row per key that has a
    value: the middle value of each key's ordered values, or the mean of the two middle ones
    when the count is even (statistics.median's answer). The tables come from the columns
    passed; a join between them is one of the `where` conditions."""
    ranked = (
        select(
            key.label("key"),
            value.label("value"),
            func.row_number().over(partition_by=key, order_by=value).label("rn"),
            func.count().over(partition_by=key).label("n"),
        )
        .where(value.is_not(None), *where)
        .subquery()
    )
    # Integer division: for n = 5 both bounds are 3; for n = 4 they are 2 and 3.
    middle = and_(ranked.c.rn >= (ranked.c.n + 1) // 2, ranked.c.rn <= (ranked.c.n + 2) // 2)
    return select(ranked.c.key, func.avg(ranked.c.value)).where(middle).group_by(ranked.c.key)
