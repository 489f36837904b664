"""What a redemption costs (issue 22: at most 6 statements): the advocate's lock, the reward's
share lock (unlimited) or its conditional decrement (limited, one statement more), the
redemption and the ledger's three (balance, entry, day totals); no SAVEPOINT pair. The races
(stock exact, a reward switched to limited while redeeming) are test_redemption_concurrency's."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub.errors import OutOfStock
from hub.extensions import db
from hub.models import Advocate
from rewards import services
from rewards.models import LedgerEntry, Redemption, RedemptionStatus, Reward
from rewards.services import redemptions
from rewards.services.redemptions import PriceChanged


def begun(statements: list[str]) -> list[str]:
    """Open the session's transaction and forget what it ran (see test_submit_cost)."""
    db.session.execute(select(1))
    statements.clear()
    return statements


def reward(stock: int | None = None, cost: int = 100) -> int:
    row = Reward(
        name="Mug",
        description="",
        kind="swag",
        points_cost=cost,
        requires_approval=False,
        stock_total=stock,
        stock_remaining=stock,
    )
    db.session.add(row)
    db.session.commit()
    return row.id


def savepoints(statements: list[str]) -> list[str]:
    return [s for s in statements if "SAVEPOINT" in s.upper()]


def test_an_unlimited_reward_is_redeemed_in_six_statements(make_advocate, sql_statements):
    reward_id, advocate_id = reward(), make_advocate(points=500).id
    ran = begun(sql_statements)
    redemption = services.redeem_reward(advocate_id, reward_id, confirmed_cost=100)
    assert len(ran) <= 6 and not savepoints(ran), ran
    db.session.commit()
    assert redemption.status is RedemptionStatus.APPROVED and redemption.reward.name == "Mug"
    db.session.expire_all()
    assert db.session.get(Advocate, advocate_id).balance == 400
    assert db.session.scalar(select(Redemption.points).where(Redemption.id == redemption.id)) == 100


def test_a_limited_reward_takes_its_unit_with_one_update_and_no_reread(make_advocate, sql_statements):
    reward_id, advocate_id = reward(stock=3), make_advocate(points=500).id
    ran = begun(sql_statements)
    redemption = services.redeem_reward(advocate_id, reward_id, confirmed_cost=100)
    assert len(ran) <= 7 and not savepoints(ran), ran
    assert len([s for s in ran if s.lstrip().upper().startswith("UPDATE REWARDS")]) == 1
    # The decrement returned the row: nothing reads the reward after it.
    decrement = next(n for n, s in enumerate(ran) if s.lstrip().upper().startswith("UPDATE REWARDS"))
    assert not [s for s in ran[decrement + 1 :] if "FROM rewards" in s]
    assert redemption.reward.stock_remaining == 2
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Reward, reward_id).stock_remaining == 2
    assert db.session.get(Advocate, advocate_id).balance == 400


def test_the_last_unit_goes_once_then_out_of_stock_writes_nothing(make_advocate):
    reward_id = reward(stock=1)
    first, second = make_advocate(points=500).id, make_advocate(points=500).id
    services.redeem_reward(first, reward_id, confirmed_cost=100)
    db.session.commit()
    with pytest.raises(OutOfStock, match="out of stock"):
        services.redeem_reward(second, reward_id, confirmed_cost=100)
    db.session.rollback()
    assert db.session.get(Reward, reward_id).stock_remaining == 0
    assert db.session.get(Advocate, second).balance == 500
    assert db.session.scalar(select(func.count()).select_from(Redemption).where(Redemption.advocate_id == second)) == 0


def test_a_limited_reward_at_another_price_is_refused_with_the_new_price(make_advocate):
    reward_id, advocate_id = reward(stock=3, cost=120), make_advocate(points=500).id
    with pytest.raises(PriceChanged) as refused:
        services.redeem_reward(advocate_id, reward_id, confirmed_cost=100)
    assert refused.value.details == {"points_cost": 120}
    db.session.rollback()
    assert db.session.get(Reward, reward_id).stock_remaining == 3
    assert (
        db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.advocate_id == advocate_id))
        == 1
    )


def test_a_reward_made_unlimited_after_the_share_read_is_redeemed_as_unlimited(make_advocate, monkeypatch):
    """Staff lifted the stock limit between the share read (which saw it limited) and the
    decrement (which then matched nothing): the redemption goes on, no unit is counted."""
    reward_id, advocate_id = reward(), make_advocate(points=500).id
    monkeypatch.setattr(redemptions, "_unlimited_reward", lambda _reward_id: None)
    redemption = services.redeem_reward(advocate_id, reward_id, confirmed_cost=100)
    db.session.commit()
    assert redemption.status is RedemptionStatus.APPROVED
    db.session.expire_all()
    stored = db.session.get(Reward, reward_id)
    assert stored.stock_total is None and stored.stock_remaining is None
    assert db.session.get(Advocate, advocate_id).balance == 400
