"""The "low stock" notice (admin rewards, redemptions, dashboard): a reward is low when it is
empty, or something was taken and few units are left or the last 30 days' pace empties it
within 14 days — never a full stock nothing was taken from, nor an unlimited one."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.db import utcnow
from hub.extensions import db
from rewards import catalog
from rewards.models import Redemption, Reward
from rewards.services.redemptions import redeem_reward


@pytest.mark.parametrize(
    ("remaining", "total", "taken", "low"),
    [
        (None, None, 50, False),  # unlimited
        (3, 3, 0, False),  # nothing taken: the size staff chose, however small
        (100, 100, 0, False),
        (0, 0, 0, True),  # empty
        (0, 10, 0, True),
        (5, 6, 0, True),  # LOW_STOCK units left after something was taken
        (6, 10, 0, False),
        (6, 10, 13, True),  # 13 in 30 days → 6.07 in 14 days ≥ 6 left: runs out within 14 days
        (7, 10, 15, False),  # 15 in 30 days → 7 in 14 days: the 7 left last the 14 days
        (100, 1000, 200, False),
        (100, 1000, 215, True),  # 215 / 30 × 14 = 100.3
    ],
)
def test_the_rule(remaining, total, taken, low):
    assert catalog.stock_is_low(remaining, total, taken) is low


def test_the_notice_reads_the_recent_pace_of_redemptions(ctx, make, make_reward):
    full = make_reward(name="Full", stock=3)
    unlimited = make_reward(name="Unlimited")
    few = make_reward(name="Few", stock=6)
    busy = make_reward(name="Busy", stock=40, points_cost=10)
    advocate = make.advocate(points=10_000)
    redeem_reward(advocate.id, few)
    for _ in range(20):
        redeem_reward(advocate.id, busy)
    db.session.commit()
    # Few: 5 of 6 left. Busy: 20 of 40 left, 20 taken today → empty in 30 days at most: not low
    # by pace (20 × 30 > 20 × 14)…
    assert [r.name for r in catalog.low_stock()] == ["Few"]
    # …but 20 left with 50 taken in the last 30 days (30 more, 10 days ago) runs out in 12 days.
    for _ in range(30):
        db.session.add(
            Redemption(
                reward_id=busy,
                advocate_id=advocate.id,
                points=10,
                status="fulfilled",
                created_at=utcnow() - dt.timedelta(days=10),
            )
        )
    db.session.flush()
    assert [r.name for r in catalog.low_stock()] == ["Few", "Busy"]
    # Redemptions older than the pace window do not count.
    assert [r.name for r in catalog.low_stock(now=utcnow() + dt.timedelta(days=31))] == ["Few"]
    assert {full, unlimited}.isdisjoint(r.id for r in catalog.low_stock())
    # Retired rewards are not noticed.
    db.session.get(Reward, few).is_active = False
    db.session.flush()
    assert [r.name for r in catalog.low_stock()] == ["Busy"]


def test_the_rewards_page_marks_only_low_rows(as_role, make_reward):
    staff = as_role("manager")
    make_reward(name="Tiny", stock=2)
    html = staff.get("/admin/rewards").get_data(as_text=True)
    assert 'data-testid="low-stock"' not in html and "stock-low" not in html
