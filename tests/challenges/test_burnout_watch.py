"""The burnout report's watch (issue 17): `Advocate.burnout_watch`, set by the claim that finds 5
asks counted at some moment, an ask dated before joining, or an erasure, lets the report count
only the watched advocates' asks one by one and take the total from the per-day totals. For
random histories of claims (checked and handed over, in any order of time), releases and
erasures the figures equal the direct count over every ask (tests/support/burnout.py, the
statement the report ran before), the kept watch holds every advocate a rebuild finds, and the
rebuild and the migration's fill decide alike. A claim pays no statement for the watch but the
one that first finds 5 asks."""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import pathlib
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from challenges import caps
from challenges.models import AskKind
from challenges.reports import people
from challenges.reports.period import ReportPeriod
from hub import privacy
from hub.errors import CapReached
from hub.extensions import db
from hub.models import Advocate
from hub.settings import save_setting
from tests.support.burnout import asks_and_burnout_directly

START = dt.datetime(2024, 12, 31, 22, tzinfo=dt.UTC)  # near a year's and a day's end
MINUTES = 60 * 24 * 520  # histories of about 17 months: windows of 365 days start and end inside
_source = itertools.count(1)
SEASON = st.integers(min_value=MINUTES // 2, max_value=MINUTES // 2 + 60 * 24 * 90)
AFTER_SEASON = st.integers(min_value=MINUTES // 2, max_value=MINUTES)

HISTORY = st.lists(
    st.tuples(
        st.sampled_from(["claim"] * 4 + ["hand over"] * 3 + ["release"] * 2 + ["erase"]),
        st.integers(min_value=0, max_value=2),  # which advocate
        # minutes after START: anywhere, or within a season (so that 5 or more fall in a year)
        st.integers(min_value=0, max_value=MINUTES)
        | st.integers(min_value=MINUTES // 2, max_value=MINUTES // 2 + 60 * 24 * 90),
    ),
    min_size=1,
    max_size=40,
)
JOINED = st.lists(st.integers(min_value=-MINUTES // 2, max_value=MINUTES // 2), min_size=3, max_size=3)
# Moments the figures are read at: a running period's `now` and past periods' ends.
NOWS = st.lists(
    st.integers(min_value=0, max_value=MINUTES + 60 * 24 * 400)
    | st.integers(min_value=MINUTES // 2, max_value=MINUTES),
    min_size=1,
    max_size=3,
)


def periods_at(now_minutes: list[int]) -> tuple[dt.datetime, list[ReportPeriod]]:
    """A running month (its end after `now`) and the months ending at each other moment's day."""
    now = START + dt.timedelta(minutes=max(now_minutes))
    periods = [ReportPeriod(now.date().replace(day=1), now.date() + dt.timedelta(days=3))]
    for minutes in now_minutes:
        end = (START + dt.timedelta(minutes=minutes)).date()
        periods.append(ReportPeriod(end - dt.timedelta(days=40), end))
    return now, periods


def watched() -> set[int]:
    return set(db.session.scalars(select(Advocate.id).where(Advocate.burnout_watch.is_(True))))


def figures_equal_the_direct_count(now: dt.datetime, periods: list[ReportPeriod]) -> None:
    whole = [people.advocate_count(p.as_of(now)) for p in periods]
    assert people.asks_and_burnout_at(periods, now, whole) == asks_and_burnout_directly(periods, now, whole)


def play(advocates: list[Advocate], history: list[tuple[str, int, int]]) -> None:
    """Run the history through the services, each step committed."""
    claimed: list[str] = []
    for op, who, minutes in history:
        when = START + dt.timedelta(minutes=minutes)
        advocate_id = advocates[who].id
        if op == "release" and claimed:
            caps.release_ask("test", claimed[minutes % len(claimed)], at=when)
        elif op == "erase":
            privacy.erase_advocate(advocate_id, None, "operator")
        else:
            source = f"w{next(_source)}"
            try:
                caps.claim_ask(advocate_id, AskKind.MEDIUM, "test", source, at=when, handed_over=op == "hand over")
            except CapReached:
                db.session.rollback()
                continue
            claimed.append(source)
        db.session.commit()


def check_history(make_advocate, joined: list[int], history, nows: list[int]) -> None:
    advocates = []
    for minutes in joined:
        advocate = make_advocate()
        advocate.joined_at = START + dt.timedelta(minutes=minutes)
        advocates.append(advocate)
    db.session.commit()
    play(advocates, history)
    now, periods = periods_at(nows)
    figures_equal_the_direct_count(now, periods)
    kept = watched()
    caps.rebuild_burnout_watch()
    db.session.commit()
    assert watched() <= kept  # every advocate the rebuild watches, the claims watched already
    figures_equal_the_direct_count(now, periods)


@pytest.fixture()
def generous_caps(ctx):
    """Caps no history here reaches, so checked claims are recorded (the cap rules are tested
    in test_caps.py)."""
    policy = {
        "reference_calls_per_30_days": 100,
        "medium_asks_per_60_days": 100,
        "high_asks_per_90_days": 100,
        "asks_per_365_days": 100,
    }
    save_setting("caps_policy", policy, None)
    db.session.commit()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(joined=JOINED, history=HISTORY, nows=NOWS)
def test_figures_from_the_watch_equal_the_direct_count(generous_caps, make_advocate, joined, history, nows):
    check_history(make_advocate, joined, history, nows)


@pytest.mark.services
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(joined=JOINED, history=HISTORY, nows=NOWS)
def test_figures_from_the_watch_equal_the_direct_count_on_postgresql(pg_ctx, make, joined, history, nows):
    save_setting(
        "caps_policy",
        {k: 100 for k in caps.POLICY_FIELDS},
        None,
    )
    db.session.commit()
    check_history(make.advocate, joined, history, nows)


ASKS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=MINUTES),
        st.none() | st.integers(min_value=-60 * 24 * 30, max_value=MINUTES),  # released that long after
    ),
    max_size=12,
)


@given(asks=ASKS)
def test_the_migrations_fill_decides_as_the_rebuild(asks):
    path = next(pathlib.Path("hub/migrations/versions").glob("*_b5d6a358210a_burnout_watch.py"))
    spec = importlib.util.spec_from_file_location("burnout_watch_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    history = [
        (START + dt.timedelta(minutes=m), None if r is None else START + dt.timedelta(minutes=m + r)) for m, r in asks
    ]
    assert migration._watched_by_their_asks(history) == caps.watched_by_their_asks(history)


def test_the_watch_edges(generous_caps, make_advocate):
    """Five asks within 365 days (the window is open at both ends, as the report's) watch; the
    same five spread one microsecond wider, or one released before the fifth, do not."""
    day = dt.timedelta(days=1)
    year = dt.timedelta(days=365)
    inside = [(START + i * day, None) for i in range(4)] + [(START + year - dt.timedelta(microseconds=1), None)]
    assert caps.watched_by_their_asks(inside)
    assert not caps.watched_by_their_asks([*inside[:4], (START + year, None)])
    released = [(START, START + 2 * day), *inside[1:]]
    assert not caps.watched_by_their_asks(released)
    # released just after the fifth ask: counted at the moment right after it
    assert caps.watched_by_their_asks([(START, START + year), *inside[1:]])


def claim_statements(sql_statements: list[str], advocate_id: int, n: int) -> list[str]:
    sql_statements.clear()
    caps.claim_ask(advocate_id, AskKind.MEDIUM, "test", f"cost-{advocate_id}-{n}", at=START + dt.timedelta(days=n))
    ran = list(sql_statements)
    db.session.commit()
    return ran


def test_only_the_claim_that_finds_five_asks_pays_a_statement(generous_caps, make_advocate, sql_statements):
    advocate = make_advocate()
    advocate.joined_at = START - dt.timedelta(days=1)
    db.session.commit()
    ordinary = [claim_statements(sql_statements, advocate.id, n) for n in range(4)]
    # as before the watch: the source's ask, the advocate's lock, the source's ask again, the
    # settings' stamp (the caps policy; once per request in the API), the asks of the cap check,
    # the insert and the day's total
    assert [
        re.search(r"\bFROM (\w+)", s)[1] if s.startswith("SELECT") else " ".join(s.split()[:3]) for s in ordinary[-1]
    ] == [
        "asks",
        "advocates",
        "asks",
        "cache_stamps",
        "asks",
        "INSERT INTO asks",
        "INSERT INTO ask_day_totals",
    ], ordinary[-1]
    assert not [s for ran in ordinary for s in ran if s.lstrip().upper().startswith("UPDATE")]
    fifth = claim_statements(sql_statements, advocate.id, 4)
    assert [s for s in fifth if s.lstrip().upper().startswith("UPDATE")] == [
        next(s for s in fifth if s.lstrip().upper().startswith("UPDATE ADVOCATES"))
    ]
    assert len(fifth) == len(ordinary[-1]) + 1
    sixth = claim_statements(sql_statements, advocate.id, 5)
    assert len(sixth) == len(ordinary[-1])  # watched already: nothing more
    assert db.session.get(Advocate, advocate.id).burnout_watch


def test_an_erased_advocate_is_watched_and_left_out(generous_caps, make_advocate):
    advocate = make_advocate()
    advocate.joined_at = START - dt.timedelta(days=1)
    db.session.commit()
    caps.claim_ask(advocate.id, AskKind.MEDIUM, "test", "before-erasure", at=START)
    db.session.commit()
    assert not db.session.get(Advocate, advocate.id).burnout_watch
    privacy.erase_advocate(advocate.id, None, "operator")
    db.session.commit()
    assert db.session.get(Advocate, advocate.id).burnout_watch
    period = ReportPeriod(START.date(), START.date() + dt.timedelta(days=30))
    now = START + dt.timedelta(days=40)
    assert people.asks_and_burnout_at([period], now, [people.advocate_count(period.as_of(now))])[0]["asks"] == 0
    figures_equal_the_direct_count(now, [period])
