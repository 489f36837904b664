"""The burnout figures counted directly from every ask (the report's statement before the
burnout watch, issue 17): the oracle the kept watch and the per-day totals are tested against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import case, func, or_, select

from challenges.caps import LOOKBACK_DAYS
from challenges.models import Ask
from challenges.reports.people import BUCKETS
from challenges.reports.period import ReportPeriod
from challenges.reports.sql import uncounted_advocates
from hub.extensions import db


def asks_and_burnout_directly(
    periods: Sequence[ReportPeriod], now: dt.datetime | None, advocates: Sequence[int]
) -> list[dict]:
    """`people.asks_and_burnout_at` from one pass over every ask in the windows: each advocate's
    asks counted per period's window, each count put in its bucket (none for an advocate not
    counted at that end), the advocates grouped by their buckets."""
    if not periods:
        return []
    as_ofs = [p.as_of(now) for p in periods]
    lookback = dt.timedelta(days=LOOKBACK_DAYS)
    per_advocate = (
        select(
            Ask.advocate_id,
            *(
                func.count()
                .filter(
                    Ask.asked_at > as_of - lookback,
                    Ask.asked_at < as_of,
                    or_(Ask.cancelled_at.is_(None), Ask.cancelled_at >= as_of),
                )
                .label(f"n_{i}")
                for i, as_of in enumerate(as_ofs)
            ),
        )
        .where(Ask.asked_at > min(as_ofs) - lookback, Ask.asked_at < max(as_ofs))
        .group_by(Ask.advocate_id)
        .subquery()
    )
    buckets = []
    for i, as_of in enumerate(as_ofs):
        n = per_advocate.c[f"n_{i}"]
        buckets.append(
            case(
                (n == 0, None),
                (per_advocate.c.advocate_id.in_(select(uncounted_advocates(as_of).c.id)), None),
                (n <= 4, "healthy"),
                (n <= 6, "acceptable"),
                (n <= 10, "at_risk"),
                else_="burning",
            ).label(f"bucket_{i}")
        )
    sums = [func.sum(per_advocate.c[f"n_{i}"]) for i in range(len(as_ofs))]
    rows = db.session.execute(select(*buckets, func.count(), *sums).group_by(*buckets)).all()
    n_periods = len(as_ofs)
    found = [({b: 0 for b in BUCKETS}, [0]) for _ in as_ofs]
    for row in rows:
        for i, (counts, asks) in enumerate(found):
            if row[i] is not None:
                counts[row[i]] += int(row[n_periods])
                asks[0] += int(row[n_periods + 1 + i] or 0)
    figures = []
    for (counts, asks), whole in zip(found, advocates, strict=True):
        counts["healthy"] += whole - sum(counts.values())
        figures.append(
            {
                "asks": asks[0],
                "asks_per_advocate": round(asks[0] / whole, 2) if whole else None,
                "burnout": counts,
            }
        )
    return figures
