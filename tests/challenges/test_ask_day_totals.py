"""Asks per day (challenges.models.AskDayTotal) kept by claim_ask and release_ask in the ask's
transaction: equal to a rebuild from the asks, and the asks trend read from them equals the asks
counted in the test."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from challenges import caps
from challenges.models import Ask, AskDayTotal, AskKind
from challenges.reports import activity
from challenges.reports.period import ReportPeriod
from hub.extensions import db

START = dt.datetime(2025, 1, 31, 22, tzinfo=dt.UTC)  # near a month's end: days and months change
_source = itertools.count(1)

OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["claim", "claim", "release", "claim again"]),
        st.integers(min_value=0, max_value=2),  # which advocate
        st.integers(min_value=0, max_value=60 * 24 * 3),  # minutes after START
    ),
    min_size=1,
    max_size=25,
)


def kept() -> dict[dt.date, int]:
    """Asks per day summed over the shards, days with none left out."""
    rows = db.session.execute(select(AskDayTotal.day, db.func.sum(AskDayTotal.asks)).group_by(AskDayTotal.day))
    return {day: int(n) for day, n in rows if n}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_kept_asks_per_day_equal_a_rebuild_and_the_asks(ctx, make_advocate, operations):
    advocates = [make_advocate() for _ in range(3)]
    claimed: list[str] = []
    for op, who, minutes in operations:
        when = START + dt.timedelta(minutes=minutes)
        if op == "release" and claimed:
            caps.release_ask("test", claimed[minutes % len(claimed)], at=when)  # a second release does nothing
        elif op == "claim again" and claimed:
            caps.claim_ask(advocates[who].id, AskKind.MEDIUM, "test", claimed[-1], at=when, handed_over=True)
        else:
            source = f"s{next(_source)}"
            caps.claim_ask(advocates[who].id, AskKind.MEDIUM, "test", source, at=when, handed_over=True)
            claimed.append(source)
        db.session.commit()
    by_hand: dict[dt.date, int] = {}
    for ask in db.session.scalars(select(Ask).where(Ask.cancelled_at.is_(None))):
        day = ask.asked_at.astimezone(dt.UTC).date()
        by_hand[day] = by_hand.get(day, 0) + 1
    assert kept() == by_hand
    months = ReportPeriod(dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    assert activity.asks_by_month(months) == {
        month: sum(n for day, n in by_hand.items() if f"{day:%Y-%m}" == month) for month in months.months()
    }
    caps.rebuild_ask_day_totals()
    assert kept() == by_hand


def test_a_released_ask_leaves_the_day_it_was_made(ctx, make_advocate):
    advocate = make_advocate()
    caps.claim_ask(
        advocate.id, AskKind.MEDIUM, "test", "made-in-january", at=dt.datetime(2025, 1, 31, 23, 30, tzinfo=dt.UTC)
    )
    caps.claim_ask(
        advocate.id, AskKind.MEDIUM, "test", "kept", at=dt.datetime(2025, 2, 1, 0, 30, tzinfo=dt.UTC), handed_over=True
    )
    db.session.commit()
    assert caps.release_ask("test", "made-in-january", at=dt.datetime(2025, 2, 10, tzinfo=dt.UTC))
    assert not caps.release_ask("test", "made-in-january")  # already released: nothing taken off twice
    db.session.commit()
    assert kept() == {dt.date(2025, 2, 1): 1}
    assert activity.asks_by_month(ReportPeriod(dt.date(2025, 1, 1), dt.date(2025, 2, 28))) == {
        "2025-01": 0,
        "2025-02": 1,
    }
