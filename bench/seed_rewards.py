"""The seeded reward catalog: rewards of every kind, tier and stock, as rewards.catalog stores them."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from bench.seed_program import DAY, HISTORY_DAYS, INF, TIER_RANK, Staff, at, ts

REWARDS = (
    # name, kind, points, stock, min tier, per-advocate limit, requires approval
    ("Acme sticker pack", "swag", 150, None, "bronze", 3, False),
    ("Acme mug", "swag", 400, None, "bronze", 2, False),
    ("Acme T-shirt", "swag", 600, 5000, "bronze", 2, False),
    ("Acme hoodie", "swag", 1500, 2000, "bronze", 1, False),
    ("Wireless charger", "swag", 1800, 1500, "bronze", 1, False),
    ("Noise-cancelling headphones", "swag", 9000, 300, "gold", 1, True),
    ("Backpack", "swag", 2500, 1200, "silver", 1, False),
    ("Water bottle", "swag", 350, None, "bronze", 3, False),
    ("$10 coffee card", "gift_card", 1000, None, "bronze", None, False),
    ("$25 Amazon gift card", "gift_card", 2500, None, "bronze", None, True),
    ("$50 Amazon gift card", "gift_card", 5000, None, "silver", None, True),
    ("$100 Visa gift card", "gift_card", 10000, 800, "gold", 4, True),
    ("$25 bookstore card", "gift_card", 2500, None, "bronze", None, False),
    ("Donate $10 to Code.org", "donation", 1000, None, "bronze", None, False),
    ("Donate $25 to Girls Who Code", "donation", 2500, None, "bronze", None, False),
    ("Plant 10 trees", "donation", 800, None, "bronze", None, False),
    ("Donate $50 to Doctors Without Borders", "donation", 5000, None, "silver", None, False),
    ("Acme Summit ticket", "experience", 12000, 150, "gold", 1, True),
    ("Dinner with the product team", "experience", 8000, 40, "gold", 1, True),
    ("Executive briefing seat", "experience", 6000, 60, "silver", 1, True),
    ("Certification exam voucher", "experience", 4000, 500, "silver", 1, True),
    ("Early access to the beta", "access", 500, None, "bronze", 1, False),
    ("Roadmap preview session", "access", 1200, 400, "silver", 1, False),
    ("Private Slack channel with engineers", "access", 2000, None, "silver", 1, False),
    ("Office hours with the CTO", "access", 3000, 100, "gold", 1, True),
    ("Premium support upgrade (1 month)", "access", 3500, None, "silver", 2, True),
    ("Conference travel stipend", "experience", 20000, 25, "gold", 1, True),
    ("Limited-edition jacket", "swag", 4500, 250, "silver", 1, False),
    ("Training course seat", "access", 7000, 200, "silver", 1, True),
    ("Retired: 2024 summit tote", "swag", 300, 600, "bronze", 1, False),
)


@dataclass(slots=True)
class RewardSpec:
    id: int
    name: str
    cost: int
    stock: int | None
    min_rank: int
    limit: int | None
    requires_approval: bool
    available_from: float
    available_until: float
    weight: float


REWARD_COLUMNS = (
    "id",
    "name",
    "description",
    "description_html",
    "kind",
    "points_cost",
    "stock_total",
    "stock_remaining",
    "min_tier",
    "per_advocate_limit",
    "requires_approval",
    "is_active",
    "image_name",
    "created_at",
    "updated_at",
    "created_by_id",
)


def seed_rewards(loader, ids, rng: random.Random, n: int, now: dt.datetime, staff: Staff) -> list[RewardSpec]:
    """`n` catalog items (cycling through REWARDS); stock_remaining is set once redemptions exist."""
    from hub.markup import render_markdown

    rows = loader.rows("rewards")
    specs: list[RewardSpec] = []
    now_s = ts(now)
    rid = ids.take("rewards", n)
    for i in range(n):
        name, kind, cost, stock, tier, limit, approval = REWARDS[i % len(REWARDS)]
        if i >= len(REWARDS):
            name = f"{name} #{i // len(REWARDS) + 1}"
        retired = name.startswith("Retired")
        created = now_s - rng.uniform(30, HISTORY_DAYS) * DAY
        until = now_s - rng.uniform(30, 200) * DAY if retired else INF
        description = f"**{name}**. Redeem for {cost:,} points." + (" Ships worldwide." if kind == "swag" else "")
        rows.append(
            (
                rid + i,
                name,
                description,
                render_markdown(description),
                kind,
                cost,
                stock,
                stock,
                tier,
                limit,
                approval,
                not retired,
                None,
                at(created),
                at(min(until, now_s)),
                staff.owner,
            )
        )
        specs.append(
            RewardSpec(
                rid + i,
                name,
                cost,
                stock,
                TIER_RANK[tier],
                limit,
                approval,
                created,
                until,
                weight=3000 / cost * rng.uniform(0.5, 1.5),
            )
        )
    return specs
