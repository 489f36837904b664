"""The demo reward catalog and a few redemptions in every state (for `hub seed-demo`)."""

from __future__ import annotations

from sqlalchemy import select

from hub.extensions import db
from hub.models import Advocate, Role, User
from rewards.models import RedemptionStatus

CATALOG = [
    (
        "Vouch hoodie",
        "swag",
        400,
        25,
        "bronze",
        1,
        False,
        "A soft **organic cotton** hoodie with the program logo. Tell us your size in the note.",
    ),
    ("Sticker pack", "swag", 50, None, "bronze", None, False, "Ten vinyl stickers for laptops and water bottles."),
    ("$25 gift card", "gift_card", 500, 40, "bronze", 2, True, "A $25 gift card for a store of your choice."),
    ("$100 gift card", "gift_card", 1800, 4, "silver", 1, True, "A $100 gift card. *Silver* advocates and above."),
    (
        "Plant a tree",
        "donation",
        100,
        None,
        "bronze",
        None,
        False,
        "We plant one tree with [One Tree Planted](https://onetreeplanted.org) in your name.",
    ),
    (
        "Charity donation ($50)",
        "donation",
        900,
        None,
        "bronze",
        None,
        True,
        "We give $50 to a registered charity you name in the note.",
    ),
    (
        "Conference pass",
        "experience",
        4000,
        2,
        "gold",
        1,
        True,
        "A full pass to our annual user conference, travel not included. Gold advocates only.",
    ),
    (
        "Roadmap preview call",
        "access",
        700,
        3,
        "silver",
        1,
        True,
        "A 30-minute call with a product manager about what is coming next.",
    ),
]

REDEMPTIONS = [
    # (advocate email, reward name, what happens next)
    ("grace@example.com", "Conference pass", "requested"),
    ("grace@example.com", "$25 gift card", "approve"),
    ("margaret@example.com", "Vouch hoodie", "fulfil"),
    ("katherine@example.com", "Roadmap preview call", "reject"),
    ("ada@example.com", "Sticker pack", "approved"),
    ("radia@example.com", "Plant a tree", "approved"),
]


def seed_rewards() -> str:
    """Create the demo catalog and redemptions through the same services the app uses."""
    from rewards import catalog, services

    manager_id = db.session.scalar(select(User.id).where(User.role == Role.MANAGER).limit(1))
    rewards = {}
    for name, kind, cost, stock, tier, limit, approval, description in CATALOG:
        values = catalog.read_reward_input(
            {
                "name": name,
                "kind": kind,
                "points_cost": cost,
                "stock": stock,
                "min_tier": tier,
                "per_advocate_limit": limit,
                "requires_approval": approval,
                "description": description,
            },
            partial=False,
        )
        rewards[name] = catalog.create_reward(values, manager_id)
    made = 0
    for email, reward_name, then in REDEMPTIONS:
        advocate_id = db.session.scalar(select(Advocate.id).join(User).where(User.email == email))
        if advocate_id is None or manager_id is None:
            continue
        redemption = services.redeem_reward(advocate_id, rewards[reward_name].id, note="Demo")
        if then in {"approve", "fulfil"} and redemption.status == RedemptionStatus.REQUESTED:
            services.approve_redemption(redemption.id, manager_id)
        if then == "fulfil":
            services.fulfil_redemption(redemption.id, manager_id, "Shipped — tracking 1Z999AA10123456784")
        if then == "reject":
            services.reject_redemption(redemption.id, manager_id, "No product manager slots left this quarter.")
        made += 1
    return f"{len(rewards)} rewards and {made} redemptions"
