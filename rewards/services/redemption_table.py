"""The reports page's redemptions table (issue 17): the redemptions requested in a period with
their advocate, reward, points and status, newest first; a page of it for the page and every
row in batches for the CSV. Periods are half-open `[start, end)` in aware UTC (None = open)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.sql.elements import ColumnElement

from hub.extensions import db
from hub.models import Advocate, User
from rewards.models import Redemption, Reward

BATCH = 1000

HEADER = (
    "redemption_id",
    "requested_at",
    "advocate_id",
    "advocate",
    "reward",
    "points",
    "status",
    "decided_at",
    "fulfilled_at",
)


@dataclass(frozen=True)
class RedemptionRow:
    """One redemption as the table shows it; times are aware UTC, points an int."""

    redemption_id: int
    requested_at: dt.datetime
    advocate_id: int
    advocate: str
    reward: str
    points: int
    status: str
    decided_at: dt.datetime | None
    fulfilled_at: dt.datetime | None

    def cells(self) -> list[object]:
        """The row in HEADER's order, times as ISO 8601 (for CSV)."""
        return [
            self.redemption_id,
            self.requested_at.isoformat(),
            self.advocate_id,
            self.advocate,
            self.reward,
            self.points,
            self.status,
            self.decided_at.isoformat() if self.decided_at else None,
            self.fulfilled_at.isoformat() if self.fulfilled_at else None,
        ]


def _in_period(start: dt.datetime | None, end: dt.datetime | None) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if start is not None:
        found.append(Redemption.created_at >= start)
    if end is not None:
        found.append(Redemption.created_at < end)
    return found


def _query(start: dt.datetime | None, end: dt.datetime | None) -> Select[Any, Any, Any, Any, Any, Any, Any, Any, Any]:
    return (
        select(
            Redemption.id,
            Redemption.created_at,
            Redemption.advocate_id,
            User.name,
            Reward.name,
            Redemption.points,
            Redemption.status,
            Redemption.decided_at,
            Redemption.fulfilled_at,
        )
        .join(Reward, Reward.id == Redemption.reward_id)
        .join(Advocate, Advocate.id == Redemption.advocate_id)
        .join(User, User.id == Advocate.user_id)
        .where(*_in_period(start, end))
        .order_by(Redemption.created_at.desc(), Redemption.id.desc())
    )


def _row(raw: Any) -> RedemptionRow:
    rid, created, advocate_id, name, reward, points, status, decided, fulfilled = raw
    return RedemptionRow(
        int(rid), created, int(advocate_id), str(name), str(reward), int(points), str(status.value), decided, fulfilled
    )


def redemption_table(
    start: dt.datetime | None, end: dt.datetime | None, limit: int = 20, offset: int = 0
) -> tuple[list[RedemptionRow], int]:
    """A page of the redemptions requested in `[start, end)`, newest first, and how many."""
    total = db.session.execute(select(func.count()).select_from(Redemption).where(*_in_period(start, end))).scalar_one()
    rows = [_row(raw) for raw in db.session.execute(_query(start, end).limit(limit).offset(offset))]
    return rows, int(total)


def iter_redemptions(start: dt.datetime | None, end: dt.datetime | None) -> Iterator[RedemptionRow]:
    """Every redemption requested in `[start, end)`, newest first, read in batches (CSV)."""
    for raw in db.session.execute(_query(start, end).execution_options(yield_per=BATCH)):
        yield _row(raw)
