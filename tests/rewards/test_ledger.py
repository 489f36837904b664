"""The ledger: exactly-once entries, no overdraft, caches that match the ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub.errors import InsufficientPoints
from hub.extensions import db
from hub.models import Advocate, Tier
from rewards import ledger
from rewards.models import LedgerEntry
from tests.support.rewards import balance_of


def test_post_is_idempotent_on_source(make_advocate):
    advocate = make_advocate()
    first = ledger.post_entry(
        advocate.id, 150, kind="earn", source_type="completion", source_id=7, memo="Review approved"
    )
    second = ledger.post_entry(
        advocate.id, 150, kind="earn", source_type="completion", source_id=7, memo="Review approved"
    )
    db.session.commit()
    assert first.is_new and not second.is_new
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    assert db.session.get(Advocate, advocate.id).balance == 150


def test_overdraft_is_refused_and_writes_nothing(make_advocate):
    advocate = make_advocate(points=100)
    with pytest.raises(InsufficientPoints):
        ledger.post_entry(advocate.id, -101, kind="redeem", source_type="redemption", source_id=1, memo="Too expensive")
    db.session.rollback()
    assert balance_of(advocate.id) == 100
    assert db.session.get(Advocate, advocate.id).balance == 100


def test_spending_keeps_lifetime_and_tier(make_advocate):
    advocate = make_advocate(points=1200)
    assert db.session.get(Advocate, advocate.id).tier is Tier.SILVER
    ledger.post_entry(advocate.id, -1100, kind="redeem", source_type="redemption", source_id=1, memo="Gift card")
    db.session.commit()
    fresh = db.session.get(Advocate, advocate.id)
    assert (fresh.balance, fresh.lifetime_points, fresh.tier) == (100, 1200, Tier.SILVER)


def test_rebuild_caches_restores_ledger_sums(make_advocate):
    advocate = make_advocate(points=300)
    ledger.post_entry(advocate.id, -50, kind="redeem", source_type="redemption", source_id=9, memo="Mug")
    db.session.commit()
    db.session.execute(db.update(Advocate).values(balance=999999, lifetime_points=5))
    db.session.commit()
    ledger.rebuild_caches()
    db.session.commit()
    fresh = db.session.get(Advocate, advocate.id)
    assert (fresh.balance, fresh.lifetime_points) == (250, 300)
