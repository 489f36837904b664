"""Tiers: a pure function of points; changes are recorded with their date, badged and notified."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from hub.db import utcnow
from hub.errors import ValidationFailed
from hub.extensions import db
from hub.models import Advocate, Notification, Tier
from hub.settings import save_setting
from rewards import ledger, services, tiers
from rewards.badges import badges_of
from rewards.models import TierChange


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        (0, Tier.BRONZE),
        (999, Tier.BRONZE),
        (1000, Tier.SILVER),
        (4999, Tier.SILVER),
        (5000, Tier.GOLD),
        (10**9, Tier.GOLD),
    ],
)
def test_default_thresholds(points, expected):
    assert tiers.tier_for(points) is expected


def test_custom_thresholds():
    custom = {"silver": 10, "gold": 20}
    assert [tiers.tier_for(p, custom) for p in (9, 10, 19, 20)] == [
        Tier.BRONZE,
        Tier.SILVER,
        Tier.SILVER,
        Tier.GOLD,
    ]


@pytest.mark.parametrize(
    ("points", "next_tier", "to_next", "percent"),
    [
        (0, Tier.SILVER, 1000, 0),
        (320, Tier.SILVER, 680, 32),
        (999, Tier.SILVER, 1, 100),
        (1000, Tier.GOLD, 4000, 0),
        (3000, Tier.GOLD, 2000, 50),
        (5000, None, 0, 100),
    ],
)
def test_progress_to_next_tier(points, next_tier, to_next, percent):
    progress = tiers.progress(points)
    assert (progress.next_tier, progress.points_to_next, progress.percent) == (next_tier, to_next, percent)


def test_threshold_validation():
    assert tiers.validate_thresholds(1000, 5000) is None
    with pytest.raises(ValidationFailed) as silver:
        tiers.validate_thresholds(0, 5000)
    assert set(silver.value.fields) == {"silver"}
    with pytest.raises(ValidationFailed) as gold:
        tiers.validate_thresholds(500, 500)
    assert set(gold.value.fields) == {"gold"}


def test_promotion_is_recorded_badged_and_notified(make_advocate):
    advocate = make_advocate(points=900)
    before = utcnow()
    ledger.post_entry(advocate.id, 100, kind="earn", source_type="test", source_id="promo", memo="Webinar")
    db.session.commit()

    fresh = db.session.get(Advocate, advocate.id)
    assert fresh.tier is Tier.SILVER
    assert fresh.tier_changed_at >= before
    change = db.session.scalars(select(TierChange).where(TierChange.advocate_id == advocate.id)).one()
    assert (change.from_tier, change.to_tier) == (Tier.BRONZE, Tier.SILVER)
    assert change.changed_at >= before
    assert [badge.code for badge, _ in badges_of(advocate.id)] == ["tier_silver"]
    texts = db.session.scalars(select(Notification.text).where(Notification.user_id == advocate.user_id)).all()
    assert "You reached Silver status!" in texts


def test_jumping_two_tiers_awards_both_badges_once(make_advocate):
    advocate = make_advocate()
    ledger.post_entry(advocate.id, 6000, kind="earn", source_type="test", source_id="big", memo="Big win")
    ledger.post_entry(advocate.id, 100, kind="earn", source_type="test", source_id="more", memo="More")
    db.session.commit()
    assert db.session.get(Advocate, advocate.id).tier is Tier.GOLD
    assert sorted(b.code for b, _ in badges_of(advocate.id)) == ["tier_gold", "tier_silver"]
    assert len(db.session.scalars(select(TierChange).where(TierChange.advocate_id == advocate.id)).all()) == 1


def test_redeem_and_negative_adjustment_never_demote(make_advocate, make_user):
    owner = make_user("owner")
    advocate = make_advocate(points=1500)
    ledger.post_entry(advocate.id, -1400, kind="redeem", source_type="redemption", source_id=1, memo="Gift card")
    services.adjust_points(advocate.id, -50, "Correction", owner.id)
    db.session.commit()
    fresh = db.session.get(Advocate, advocate.id)
    assert (fresh.balance, fresh.lifetime_points, fresh.tier) == (50, 1500, Tier.SILVER)


def test_threshold_change_recomputes_with_demotion(make_advocate):
    silver = make_advocate(points=1200)
    bronze = make_advocate(points=300)
    save_setting("tier_thresholds", {"silver": 200, "gold": 1500}, None)
    assert services.recompute_all_tiers() == 1
    db.session.commit()
    assert db.session.get(Advocate, bronze.id).tier is Tier.SILVER
    assert db.session.get(Advocate, silver.id).tier is Tier.SILVER

    save_setting("tier_thresholds", {"silver": 1300, "gold": 5000}, None)
    assert services.recompute_all_tiers() == 2
    db.session.commit()
    assert db.session.get(Advocate, silver.id).tier is Tier.BRONZE
    assert db.session.get(Advocate, bronze.id).tier is Tier.BRONZE


def test_rolling_365_basis_counts_only_the_last_year(make_advocate):
    advocate = make_advocate()
    long_ago = utcnow() - dt.timedelta(days=400)
    ledger.post_entry(advocate.id, 4000, kind="earn", source_type="test", source_id="old", memo="Old work", at=long_ago)
    ledger.post_entry(advocate.id, 600, kind="earn", source_type="test", source_id="recent", memo="Recent work")
    db.session.commit()
    assert db.session.get(Advocate, advocate.id).tier is Tier.SILVER  # lifetime basis: 4,600

    save_setting("tier_basis", "rolling_365", None)
    assert services.tier_basis_points(advocate.id) == 600
    services.recompute_all_tiers()
    db.session.commit()
    fresh = db.session.get(Advocate, advocate.id)
    assert fresh.tier is Tier.BRONZE
    assert fresh.lifetime_points == 4600
    assert tiers.progress(services.tier_basis_points(advocate.id)).points_to_next == 400


def test_stored_tier_equals_tier_for_lifetime(make_advocate):
    """I8 over a spread of advocates: the stored tier is derived, never set by hand."""
    created = [make_advocate(points=p) for p in (0, 999, 1000, 4999, 5000, 12000)]
    for advocate in created:
        fresh = db.session.get(Advocate, advocate.id)
        assert fresh.tier is tiers.tier_for(fresh.lifetime_points)
