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
from rewards.models import EntryKind, LedgerEntry
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
