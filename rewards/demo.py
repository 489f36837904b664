"""The demo reward catalog and a few redemptions in every state (a demo seeder for `hub
seed-demo`), and the points each demo advocate reaches in the history challenges.demo_history
makes of real acts."""

from __future__ import annotations

from sqlalchemy import select

from hub.extensions import db
from hub.models import Advocate, Role, User
from rewards import catalog, services
from rewards.models import RedemptionStatus

# The lifetime points each demo advocate (hub.demo) earns at most in the demo's history
# (challenges.demo_history stops their acts once reached): all three tiers.
LIFETIME_POINTS = {
    "ada@example.com": 1450,
    "grace@example.com": 5600,
    "alan@example.com": 820,
    "katherine@example.com": 2300,
    "linus@example.com": 400,
    "margaret@example.com": 5200,
    "tim@example.com": 150,
    "radia@example.com": 1120,
    "barbara@example.com": 60,
    "donald@example.com": 0,
    "frances@example.com": 7200,
    "edsger@example.com": 5400,
    "hedy@example.com": 980,
    "john@example.com": 2650,
    "sophie@example.com": 1890,
    "ken@example.com": 5150,
    "dennis@example.com": 3300,
    "jean@example.com": 700,
    "kristen@example.com": 530,
    "annie@example.com": 1250,
    "shafi@example.com": 6100,
    "vint@example.com": 2050,
    "lynn@example.com": 310,
    "niklaus@example.com": 1600,
    "adele@example.com": 890,
    "leslie@example.com": 240,
    "evelyn@example.com": 1760,
    "carl@example.com": 120,
    "mary@example.com": 430,
    "whitfield@example.com": 50,
}

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
    """Create the demo catalog and redemptions through the same services the app uses, after
    the history (redemptions spend earned points), and Ada's welcome gift from the owner (an
    adjustment)."""
    manager_id = db.session.scalar(select(User.id).where(User.role == Role.MANAGER).limit(1))
    owner_id = db.session.scalar(select(User.id).where(User.role == Role.OWNER).order_by(User.id).limit(1))
    ada_id = db.session.scalar(select(Advocate.id).join(User).where(User.email == "ada@example.com"))
    if ada_id is not None and owner_id is not None:
        services.adjust_points(ada_id, 25, "Welcome gift for joining the beta", owner_id)
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
        reward = rewards[reward_name]
        # Swag is sent by post (models.SHIPPED_KINDS), so its demo redemptions carry an address.
        address = "1 Demo Street, Springfield" if reward.needs_shipping else None
        redemption = services.redeem_reward(advocate_id, reward.id, note="Demo", shipping_address=address)
        if then in {"approve", "fulfil"} and redemption.status == RedemptionStatus.REQUESTED:
            services.approve_redemption(redemption.id, manager_id)
        if then == "fulfil":
            services.fulfil_redemption(redemption.id, manager_id, "Shipped — tracking 1Z999AA10123456784")
        if then == "reject":
            services.reject_redemption(redemption.id, manager_id, "No product manager slots left this quarter.")
        made += 1
    return f"{len(rewards)} rewards and {made} redemptions"
