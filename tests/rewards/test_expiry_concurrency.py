"""Expiry on PostgreSQL while the advocate redeems, and two expiry runs at once: no overdraft,
no double expiry (row lock + unique key per earning entry)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select

from hub.db import utcnow
from hub.errors import InsufficientPoints
from hub.extensions import db
from hub.models import Advocate
from hub.settings import save_setting
from rewards import expiry, ledger
from rewards.models import EntryKind, LedgerDayTotal, LedgerEntry
from tests.support.rewards import balance_of
from tests.support.threads import committing, run_together


@pytest.mark.services
@pytest.mark.multi_connection
@pytest.mark.parametrize("repeat", range(4))
def test_expiry_racing_a_redemption_and_itself(pg_app, make, repeat):
    now = utcnow()
    with pg_app.app_context():
        save_setting("points_expiry_days", 30, None)
        save_setting("points_expiry_since", (now - dt.timedelta(days=60)).isoformat(), None)
        advocate_id = make.advocate().id
        ledger.post_entry(
            advocate_id,
            100,
            kind="earn",
            source_type="test",
            source_id="lot",
            memo="Lot",
            at=now - dt.timedelta(days=40),
        )
        db.session.commit()

    def work(i: int) -> str:
        if i == 0:
            ledger.post_entry(advocate_id, -80, kind="redeem", source_type="redemption", source_id="r", memo="Hoodie")
            return "redeemed"
        return f"expired {expiry.expire_points(now=now).entries_points}"

    outcomes = run_together(3, committing(pg_app, work, (InsufficientPoints,)))
    with pg_app.app_context():
        expires = list(
            db.session.scalars(
                select(LedgerEntry.delta).where(
                    LedgerEntry.advocate_id == advocate_id, LedgerEntry.kind == EntryKind.EXPIRE
                )
            )
        )
        advocate = db.session.get(Advocate, advocate_id)
        assert len(expires) == 1  # one expiry for the one earning entry
        assert advocate.balance == balance_of(advocate_id) == 0
        assert advocate.lifetime_points == 100
        if outcomes["redeemed"]:
            assert expires == [-20] and outcomes == Counter({"redeemed": 1, "expired 20": 1, "expired 0": 1})
        else:
            assert expires == [-100]
            assert outcomes == Counter({"insufficient_points": 1, "expired 100": 1, "expired 0": 1})
        assert (
            db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 1 + len(expires) + outcomes["redeemed"]
        )


@pytest.mark.services
@pytest.mark.multi_connection
def test_two_runs_in_parallel_workers_each_expire_every_lot_once(pg_app, make, monkeypatch):
    """Two committing runs at once, each splitting small batches between two workers: every
    due lot gets exactly one `expire` entry of what it held, balances and the per-day totals
    follow, and the points expired are reported once across both runs."""
    monkeypatch.setattr(expiry, "BATCH", 3)
    monkeypatch.setattr(expiry, "WORKERS", 2)
    split = []
    in_workers = expiry._run_in_workers
    monkeypatch.setattr(expiry, "_run_in_workers", lambda ids, *args: split.append(len(ids)) or in_workers(ids, *args))
    now = utcnow()
    held: dict[int, int] = {}
    with pg_app.app_context():
        save_setting("points_expiry_days", 30, None)
        save_setting("points_expiry_since", (now - dt.timedelta(days=90)).isoformat(), None)
        for n in range(16):
            advocate_id = make.advocate().id
            for lot in range(2):  # a due lot (40 days old) and one that is not (10 days old)
                ledger.post_entry(
                    advocate_id,
                    10 + n + lot,
                    kind="earn",
                    source_type="test",
                    source_id=f"{n}-{lot}",
                    at=now - dt.timedelta(days=40 - 30 * lot),
                )
            held[advocate_id] = 10 + n
        db.session.commit()

    outcomes = run_together(2, committing(pg_app, lambda i: expiry.expire_points(now=now, commit_each=True)))
    with pg_app.app_context():
        expires = db.session.execute(
            select(LedgerEntry.advocate_id, func.count(), func.sum(LedgerEntry.delta))
            .where(LedgerEntry.kind == EntryKind.EXPIRE)
            .group_by(LedgerEntry.advocate_id)
        ).all()
        assert {advocate_id: (count, -points) for advocate_id, count, points in expires} == {
            advocate_id: (1, points) for advocate_id, points in held.items()
        }
        for advocate_id, points in held.items():
            advocate = db.session.get(Advocate, advocate_id)
            assert advocate.balance == balance_of(advocate_id) == points + 1  # the newer lot stays
        assert sum(run.entries_points * times for run, times in outcomes.items()) == sum(held.values())
        assert 16 in split  # a run took the workers' path with every advocate
        assert db.session.scalar(
            select(func.sum(LedgerDayTotal.points)).where(LedgerDayTotal.kind == EntryKind.EXPIRE)
        ) == -sum(held.values())


@pytest.mark.services
@pytest.mark.multi_connection
def test_a_failing_worker_stops_the_run_and_its_batch_writes_nothing(pg_app, make, monkeypatch):
    """A batch failing in the second worker: the run raises that error, the failed batch wrote
    nothing (rolled back), every batch the workers committed stays whole, and the next run does
    the rest."""
    monkeypatch.setattr(expiry, "BATCH", 2)
    monkeypatch.setattr(expiry, "WORKERS", 2)
    now = utcnow()
    with pg_app.app_context():
        save_setting("points_expiry_days", 30, None)
        save_setting("points_expiry_since", (now - dt.timedelta(days=90)).isoformat(), None)
        ids = []
        for n in range(8):
            ids.append(make.advocate().id)
            ledger.post_entry(
                ids[-1], 20, kind="earn", source_type="test", source_id=str(n), at=now - dt.timedelta(days=40)
            )
        db.session.commit()
    second_worker = sorted(i for i in ids if expiry._worker_of(i, 2) == 1)
    poisoned = second_worker[:2]  # that worker's first batch
    real_batch = expiry.expire_batch

    def failing(advocate_ids, policy, at):
        written = real_batch(advocate_ids, policy, at)
        if advocate_ids == poisoned:
            raise RuntimeError("the database went away")
        return written

    monkeypatch.setattr(expiry, "expire_batch", failing)
    with pg_app.app_context():
        with pytest.raises(RuntimeError, match="went away"):
            expiry.expire_points(now=now, commit_each=True)
        db.session.rollback()
        expired = dict(
            db.session.execute(
                select(LedgerEntry.advocate_id, func.count())
                .where(LedgerEntry.kind == EntryKind.EXPIRE)
                .group_by(LedgerEntry.advocate_id)
            ).all()
        )
        assert not set(poisoned) & set(expired)
        assert all(count == 1 for count in expired.values())
        for advocate_id in ids:
            assert db.session.get(Advocate, advocate_id).balance == balance_of(advocate_id)
        monkeypatch.setattr(expiry, "expire_batch", real_batch)
        rest = expiry.expire_points(now=now, commit_each=True)
        db.session.commit()
        assert rest.entries_points == 20 * (len(ids) - len(expired))
        assert db.session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == EntryKind.EXPIRE)
        ) == len(ids)
        db.session.remove()
