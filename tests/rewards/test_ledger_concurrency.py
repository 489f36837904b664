"""Ledger invariants under real concurrency on PostgreSQL (and SQLite's serialized writers)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from hub.errors import InsufficientPoints
from hub.extensions import db
from hub.models import Advocate
from rewards import ledger
from rewards.models import LedgerEntry
from tests.support.rewards import balance_of
from tests.support.threads import committing, run_together


def run_parallel(app, n: int, work) -> Counter:
    """Run `work(i)` in n threads released together; count the outcomes."""
    return run_together(n, committing(app, work, (InsufficientPoints,)))


def _same_source(advocate_id: int):
    def work(_i: int) -> str:
        posted = ledger.post_entry(
            advocate_id, 100, kind="earn", source_type="completion", source_id="race-1", memo="Race"
        )
        return "new" if posted.is_new else "duplicate"

    return work


def _debit(advocate_id: int):
    def work(i: int) -> str:
        ledger.post_entry(
            advocate_id, -80, kind="redeem", source_type="redemption", source_id=f"r{i}", memo="Parallel redemption"
        )
        return "debited"

    return work


@pytest.mark.services
@pytest.mark.parametrize("repeat", range(3))
@pytest.mark.multi_connection
def test_twenty_parallel_awards_of_one_source_write_one_entry(pg_app, make, repeat):
    with pg_app.app_context():
        advocate_id = make.advocate().id
    outcomes = run_parallel(pg_app, 20, _same_source(advocate_id))
    assert outcomes == Counter({"new": 1, "duplicate": 19})
    with pg_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
        assert db.session.get(Advocate, advocate_id).balance == 100


@pytest.mark.services
@pytest.mark.parametrize("repeat", range(3))
@pytest.mark.multi_connection
def test_two_parallel_debits_never_overdraw(pg_app, make, repeat):
    with pg_app.app_context():
        advocate_id = make.advocate(points=100).id
    outcomes = run_parallel(pg_app, 2, _debit(advocate_id))
    assert outcomes == Counter({"debited": 1, "insufficient_points": 1})
    with pg_app.app_context():
        assert db.session.get(Advocate, advocate_id).balance == 20
        assert balance_of(advocate_id) == 20


@pytest.mark.multi_connection
def test_sqlite_serializes_parallel_debits(app, make):
    with app.app_context():
        advocate_id = make.advocate(points=100).id
    outcomes = run_parallel(app, 6, _debit(advocate_id))
    assert outcomes == Counter({"debited": 1, "insufficient_points": 5})
    with app.app_context():
        assert balance_of(advocate_id) == 20 == db.session.get(Advocate, advocate_id).balance
