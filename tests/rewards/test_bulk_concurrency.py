"""Bulk fulfil racing single decisions on PostgreSQL (issue 20): every redemption ends in one
state, each is refunded at most once, and the bulk names the ones another manager took."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from hub.errors import InvalidState
from hub.extensions import db
from rewards import services
from rewards.models import EntryKind, LedgerEntry, Redemption, RedemptionStatus
from tests.support.rewards import new_reward


@pytest.mark.services
@pytest.mark.multi_connection
def test_bulk_fulfil_and_single_rejects_in_parallel_decide_each_once(pg_app, make):
    with pg_app.app_context():
        manager, other = make.user("manager"), make.user("manager")
        advocate = make.advocate(points=10_000)
        reward_id = new_reward(points_cost=100, requires_approval=False)
        ids = [services.redeem_reward(advocate.id, reward_id).id for _ in range(6)]
        db.session.commit()
        manager_id, other_id, advocate_id = manager.id, other.id, advocate.id
    barrier = threading.Barrier(2)
    outcome: dict = {}

    def bulk() -> None:
        with pg_app.app_context():
            barrier.wait()
            outcome["bulk"] = services.decide_redemptions(ids, manager_id, "fulfil", note="DHL")
            db.session.commit()
            db.session.remove()

    def rejects() -> None:
        with pg_app.app_context():
            barrier.wait()
            for redemption_id in ids[::2]:
                try:
                    services.reject_redemption(redemption_id, other_id, "Out of stock")
                    db.session.commit()
                except InvalidState:  # the bulk fulfilled it first
                    db.session.rollback()
            db.session.remove()

    threads = [threading.Thread(target=bulk), threading.Thread(target=rejects)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with pg_app.app_context():
        statuses = dict(
            db.session.execute(select(Redemption.id, Redemption.status).where(Redemption.id.in_(ids))).all()
        )
        fulfilled = {i for i, s in statuses.items() if s is RedemptionStatus.FULFILLED}
        rejected = {i for i, s in statuses.items() if s is RedemptionStatus.REJECTED}
        assert fulfilled | rejected == set(ids) and not fulfilled & rejected
        assert set(outcome["bulk"].done) == fulfilled
        assert {f.id for f in outcome["bulk"].failed} == rejected
        refunds = db.session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.advocate_id == advocate_id, LedgerEntry.kind == EntryKind.REFUND)
        )
        assert refunds == len(rejected)
