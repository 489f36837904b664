"""Text search in SQL, one way for every search box (issue 12 item 6): what people type is
matched literally — `%`, `_` and `\\` are escaped, never wildcards — case-insensitively."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_

ESCAPE = "\\"


def like_escape(value: str) -> str:
    """`value` with LIKE's wildcards and the escape character escaped (use with `escape=ESCAPE`)."""
    return value.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def contains_text(needle: str, *columns: Any) -> ColumnElement[bool]:
    """A condition: any of `columns` contains `needle` as typed (case-insensitive, literal)."""
    pattern = f"%{like_escape(needle.lower())}%"
    return or_(*(func.lower(column).like(pattern, escape=ESCAPE) for column in columns))
