"""The hub page's small per-advocate reads in one round trip (issue 22, "Feed and hub page").

The advocate's hub page shows several cards whose data are each one small indexed query —
pending reference asks, deals helped, badges, the approved-completion count for badge progress,
the five latest ledger entries, the unread notification count. Each package registers such a
query as a `HomeRead` (`hub.hooks`: `home_reads`); `read_together` sends all of them as ONE
statement (each query's rows folded into one JSON array by a scalar subquery: PostgreSQL's
`json_agg`, SQLite's `json_group_array`) and keeps the decoded rows for the rest of the request.
The card then asks `rows_of(read, …)`, which answers from those rows, or — on any other page,
or in a request that did not read them together — runs the same query alone. Either way the rows
are the same tuples: JSON values are decoded by their column's type (UTC datetimes, enums,
booleans), so a card cannot tell the two paths apart (tests/hub/test_home_reads.py).

A read's query is built once per process from its `statement` function, with bound parameters
named `advocate_id` and/or `user_id` (the only two a read may use), so a page view pays neither
statement construction nor compilation (SQLAlchemy caches the compiled form per dialect).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from flask import g, has_request_context, request
from sqlalchemy import Boolean, Enum, Select, func, literal_column, select

from hub.db import UTCDateTime
from hub.extensions import db

PARAMETERS = ("advocate_id", "user_id")


@dataclass(frozen=True)
class HomeRead:
    """One card's query on the hub page. `statement()` builds it (called once per process) with
    `bindparam("advocate_id")` and/or `bindparam("user_id")`; its rows must be plain columns
    (no ORM entities), in the order the card wants them."""

    name: str
    statement: Callable[[], Select[*tuple[Any, ...]]]


_built: dict[str, Select[*tuple[Any, ...]]] = {}
_together: dict[tuple[str, tuple[str, ...]], Select[*tuple[Any, ...]]] = {}
_decoders: dict[str, list[Callable[[Any], Any]]] = {}


def _this_request() -> object:
    # The request object itself (not the proxy): what a kept result is tied to.
    return cast(Any, request)._get_current_object()


def _statement(read: HomeRead) -> Select[*tuple[Any, ...]]:
    built = _built.get(read.name)
    if built is None:
        built = _built[read.name] = read.statement()
    return built


def _utc(value: str) -> dt.datetime:
    # PostgreSQL writes timestamptz in ISO 8601 with the session's offset; SQLite stores naive UTC.
    parsed = dt.datetime.fromisoformat(value)
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def _decoder(column_type: Any) -> Callable[[Any], Any]:
    if isinstance(column_type, UTCDateTime):
        return _utc
    if isinstance(column_type, Enum) and column_type.enum_class is not None:
        return column_type.enum_class
    if isinstance(column_type, Boolean):
        return bool
    return lambda value: value


def _decode(read: HomeRead, rows: Any) -> list[tuple[Any, ...]]:
    """The JSON array of one read's rows as the tuples the same query returns when run alone."""
    decoders = _decoders.get(read.name)
    if decoders is None:
        decoders = _decoders[read.name] = [_decoder(c.type) for c in _statement(read).selected_columns]
    return [
        tuple(None if value is None else decode(value) for decode, value in zip(decoders, row, strict=True))
        for row in loads(rows)
    ]


def json_rows(statement: Select[*tuple[Any, ...]], dialect: str) -> Any:
    """A scalar subquery: `statement`'s rows as one JSON array of arrays ([] when none), for
    `dialect` ("postgresql" or "sqlite"); `loads` reads its value back."""
    rows = statement.subquery()
    folded: Any
    if dialect == "postgresql":
        folded = func.coalesce(func.json_agg(func.json_build_array(*rows.c)), literal_column("'[]'::json"))
    else:
        folded = func.json_group_array(func.json_array(*rows.c))
    return select(folded).select_from(rows).scalar_subquery()


def loads(value: Any) -> list[list[Any]]:
    """A `json_rows` column's value as the list of rows (SQLite hands JSON back as text;
    psycopg parses it)."""
    if isinstance(value, str):
        value = json.loads(value)
    return list(value or ())


def _together_statement(reads: Sequence[HomeRead], dialect: str) -> Select[*tuple[Any, ...]]:
    key = (dialect, tuple(read.name for read in reads))
    statement = _together.get(key)
    if statement is None:
        statement = _together[key] = select(
            *(json_rows(_statement(read), dialect).label(f"r{n}") for n, read in enumerate(reads))
        )
    return statement


def read_together(reads: Sequence[HomeRead], advocate_id: int, user_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Run every read in one statement for this advocate (and their user); the rows per read
    name. Kept for the rest of this request, where `rows_of` answers from them."""
    if not reads:
        return {}
    dialect = db.session.get_bind().dialect.name
    row = db.session.execute(
        _together_statement(reads, dialect), {"advocate_id": advocate_id, "user_id": user_id}
    ).one()
    found = {read.name: _decode(read, value) for read, value in zip(reads, row, strict=True)}
    if has_request_context():
        # Tied to this request object: an app context that outlives a request (tests, CLI) must
        # not answer a later request from these rows.
        g.vouch_home_reads = (_this_request(), advocate_id, user_id, found)
    return found


def rows_of(read: HomeRead, *, advocate_id: int | None = None, user_id: int | None = None) -> list[tuple[Any, ...]]:
    """`read`'s rows for this advocate/user: from this request's `read_together` when it read
    them for the same person, else by running the read alone (one statement)."""
    kept = g.get("vouch_home_reads") if has_request_context() else None
    if kept is not None:
        kept_request, kept_advocate, kept_user, found = kept
        if (
            kept_request is _this_request()
            and read.name in found
            and advocate_id in (None, kept_advocate)
            and user_id in (None, kept_user)
        ):
            rows: list[tuple[Any, ...]] = found[read.name]
            return rows
    params = {key: value for key, value in (("advocate_id", advocate_id), ("user_id", user_id)) if value is not None}
    return [tuple(row) for row in db.session.execute(_statement(read), params).all()]
