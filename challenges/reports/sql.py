"""SQL pieces the report figures share: the calendar month of a UTC time on either backend, and
the advocates a report counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from challenges.models import Completion, CompletionStatus
from hub.extensions import db
from hub.models import Advocate


def month_of(column: Any) -> ColumnElement[str]:
    """SQL: the UTC calendar month of a time column as "YYYY-MM" (PostgreSQL stores aware times,
    SQLite naive UTC text)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def month_of_day(column: Any) -> ColumnElement[str]:
    """SQL: the calendar month of a date column as "YYYY-MM"."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def counted_advocates(as_of: dt.datetime) -> list[ColumnElement[bool]]:
    """The advocates a report counts at `as_of`: joined before it and not erased."""
    return [Advocate.joined_at < as_of, Advocate.is_erased.is_(False)]


def uncounted_advocates(as_of: dt.datetime) -> Subquery:
    """The advocates a report does not count at `as_of` — the negation of `counted_advocates`:
    joined at or after it, or erased before joining it — as `(id, tier)` rows. Two disjoint
    halves, each read from an index alone on PostgreSQL (`ix_advocates_joined_at` carries id,
    tier and the erasure mark; erased advocates are few, `ix_advocates_is_erased`), so a figure
    subtracts them without reading the advocates table (a past quarter has thousands of later
    joiners)."""
    joined_after = select(Advocate.id, Advocate.tier).where(Advocate.joined_at >= as_of)
    erased = select(Advocate.id, Advocate.tier).where(Advocate.is_erased.is_(True), Advocate.joined_at < as_of)
    return union_all(joined_after, erased).subquery("uncounted")


def uncounted_approved_before(as_of: dt.datetime, before: dt.datetime) -> Subquery:
    """The advocates not counted at `as_of` (`uncounted_advocates`) whose first approval
    (Advocate.first_approved_at) is before `before`, as `(id,)` rows: the only ones an approval
    tally of the time before `before` can hold. An advocate who joined after `as_of` normally
    had no approval before joining, so the joined-after half is nearly always empty, read from
    `ix_advocates_joined_at` alone (which carries the first approval) — no tally probed for the
    thousands who joined since a past period."""
    approved = Advocate.first_approved_at < before
    joined_after = select(Advocate.id).where(Advocate.joined_at >= as_of, approved)
    erased = select(Advocate.id).where(Advocate.is_erased.is_(True), Advocate.joined_at < as_of, approved)
    return union_all(joined_after, erased).subquery("uncounted")


def rate(part: int, whole: int) -> float | None:
    """`part ÷ whole` rounded to 4 places; None when there is no whole."""
    return round(part / whole, 4) if whole else None


def approved_status() -> ColumnElement[bool]:
    """SQL: the completion is approved, with the value written into the statement so PostgreSQL
    matches the partial index `ix_completions_approved_decided` in every plan."""
    return Completion.status == literal(CompletionStatus.APPROVED.value, literal_execute=True)
