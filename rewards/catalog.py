"""The reward catalog: staff edits (validated, audited), images, and what an advocate may redeem.

Stock: `stock_total` NULL means unlimited. Otherwise `stock_remaining` = `stock_total` −
redemptions holding a unit (requested, approved, fulfilled), and a staff change of the total
moves `stock_remaining` by the same amount under the reward's row lock, so a redemption in
flight is never lost from the count.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from flask import current_app
from sqlalchemy import func, select

from hub.audit import record_audit
from hub.contracts import Body, patch_of
from hub.db import locked_row, utcnow
from hub.errors import NotFound, ValidationFailed
from hub.extensions import db
from hub.fields import Flag, MultiLine, OneLine, OneOf, WholeNumber, read
from hub.markup import render_markdown
from hub.models import Advocate, Tier
from hub.queue import call_after_commit
from rewards import tiers
from rewards.models import HOLDING_STATUSES, SHIPPED_KINDS, Redemption, Reward, RewardKind

MAX_COST = 1_000_000
MAX_STOCK = 1_000_000
MAX_LIMIT = 1_000
MAX_DESCRIPTION = 5_000
LOW_STOCK = 5  # units left at or under which a reward something was taken from is low
# …or fewer than its last PACE_DAYS' redemptions would take in RUN_OUT_DAYS (it runs out soon).
PACE_DAYS = 30
RUN_OUT_DAYS = 14
MAX_IMAGE_BYTES = 1024 * 1024
IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}

# Field name in the API / forms → model attribute.
_ATTRS = {
    "name": "name",
    "description": "description",
    "kind": "kind",
    "points_cost": "points_cost",
    "stock": "stock_total",
    "min_tier": "min_tier",
    "per_advocate_limit": "per_advocate_limit",
    "requires_approval": "requires_approval",
    "needs_shipping": "needs_shipping",
    "active": "is_active",
}


class RewardBody(Body):
    """A catalog item as staff write it (API body or the admin form). `stock` and
    `per_advocate_limit` null mean unlimited; `min_tier` null means everyone (Bronze)."""

    name: Annotated[str, OneLine(120)]
    description: Annotated[str | None, MultiLine(MAX_DESCRIPTION)] = None
    kind: Annotated[RewardKind, OneOf(RewardKind)]
    points_cost: Annotated[int, WholeNumber(1, MAX_COST)]
    stock: Annotated[int | None, WholeNumber(0, MAX_STOCK)] = None
    min_tier: Annotated[Tier | None, OneOf(Tier)] = None
    per_advocate_limit: Annotated[int | None, WholeNumber(1, MAX_LIMIT)] = None
    requires_approval: Annotated[bool, Flag()] = False
    # Left out (or null): the kind's default (models.SHIPPED_KINDS) when creating, unchanged in a patch.
    needs_shipping: Annotated[bool | None, Flag()] = None
    active: Annotated[bool, Flag()] = True


RewardPatch = patch_of(RewardBody)


def reward_values(body: Body, *, partial: bool) -> dict[str, Any]:
    """The fields of a RewardBody (all) or a RewardPatch (those sent) as the catalog's values:
    no description is an empty one, no minimum tier is Bronze, and no `needs_shipping` is the
    kind's default when creating (models.SHIPPED_KINDS) and no change in a patch."""
    names = body.model_fields_set if partial else set(type(body).model_fields)
    values = {name: getattr(body, name) for name in names}
    if "description" in values and values["description"] is None:
        values["description"] = ""
    if "min_tier" in values and values["min_tier"] is None:
        values["min_tier"] = Tier.BRONZE
    if values.get("needs_shipping", False) is None:
        if partial:
            del values["needs_shipping"]
        else:
            values["needs_shipping"] = RewardKind(values["kind"]) in SHIPPED_KINDS
    return values


def read_reward_input(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """A reward body (JSON or form) read through RewardBody, or RewardPatch when `partial`:
    the values given (every field when creating). Raises ValidationFailed."""
    return reward_values(read(RewardPatch if partial else RewardBody, data), partial=partial)


def _snapshot(reward: Reward) -> dict[str, Any]:
    return {
        "name": reward.name,
        "kind": str(reward.kind),
        "points_cost": reward.points_cost,
        "stock": reward.stock_total,
        "stock_remaining": reward.stock_remaining,
        "min_tier": str(reward.min_tier),
        "per_advocate_limit": reward.per_advocate_limit,
        "requires_approval": reward.requires_approval,
        "needs_shipping": reward.needs_shipping,
        "active": reward.is_active,
        "image": reward.image_name,
    }


def create_reward(values: dict[str, Any], actor_id: int | None) -> Reward:
    """Add a catalog item (audited). `values` comes from read_reward_input(partial=False)."""
    stock = values.get("stock")
    reward = Reward(
        name=values["name"],
        description=values.get("description", ""),
        description_html=render_markdown(values.get("description", "")),
        kind=RewardKind(values["kind"]),
        points_cost=values["points_cost"],
        stock_total=stock,
        stock_remaining=stock,
        min_tier=Tier(values.get("min_tier", Tier.BRONZE)),
        per_advocate_limit=values.get("per_advocate_limit"),
        requires_approval=values.get("requires_approval", False),
        needs_shipping=values.get("needs_shipping", False),
        is_active=values.get("active", True),
        created_by_id=actor_id,
    )
    db.session.add(reward)
    db.session.flush()
    record_audit(actor_id, "reward.create", "reward", reward.id, None, _snapshot(reward))
    return reward


def lock_reward(reward_id: int) -> Reward:
    """The reward with its row locked (PostgreSQL; SQLite already holds the writer lock)."""
    reward = locked_row(Reward, reward_id)
    if reward is None:
        raise NotFound("Reward not found.")
    return reward


def held_units(reward_id: int) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(Redemption)
        .where(Redemption.reward_id == reward_id, Redemption.status.in_(HOLDING_STATUSES))
    ).scalar_one()


def update_reward(reward_id: int, values: dict[str, Any], actor_id: int | None) -> Reward:
    """Change the given fields (audited). A new stock total keeps I5: remaining moves by the
    same amount, under the row lock; a total below what is already redeemed is refused."""
    reward = lock_reward(reward_id)
    before = _snapshot(reward)
    if "stock" in values:
        _set_stock(reward, values["stock"])
    for key, value in values.items():
        if key == "stock":
            continue
        if key == "kind":
            value = RewardKind(value)
        elif key == "min_tier":
            value = Tier(value)
        setattr(reward, _ATTRS[key], value)
    if "description" in values:
        reward.description_html = render_markdown(reward.description)
    reward.updated_at = utcnow()
    db.session.flush()
    after = _snapshot(reward)
    if after != before or "description" in values:
        changed = {k for k in after if after[k] != before[k]}
        record_audit(
            actor_id,
            "reward.update",
            "reward",
            reward.id,
            {k: before[k] for k in changed} or None,
            {k: after[k] for k in changed} | ({"description": "changed"} if "description" in values else {}),
        )
    return reward


def _set_stock(reward: Reward, total: int | None) -> None:
    if total is None:
        reward.stock_total = reward.stock_remaining = None
        return
    if reward.stock_total is None or reward.stock_remaining is None:  # both or neither (CHECK)
        held = held_units(reward.id)
    else:
        held = reward.stock_total - reward.stock_remaining
    if total < held:
        raise ValidationFailed({"stock": f"At least {held:,}: that many are already redeemed."})
    reward.stock_total, reward.stock_remaining = total, total - held


def set_active(reward_id: int, active: bool, actor_id: int | None) -> Reward:
    """Retire (hide from advocates; open redemptions carry on) or bring back a reward."""
    return update_reward(reward_id, {"active": active}, actor_id)


# --- images ----------------------------------------------------------------------------------


def upload_dir() -> Path:
    return Path(current_app.config.get("VOUCH_UPLOAD_DIR") or Path(current_app.instance_path) / "uploads") / "rewards"


def image_type(raw: bytes) -> str | None:
    """The image type from its magic bytes (never from the name or the browser's claim)."""
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if raw.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if len(raw) >= 12 and raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "webp"
    return None


def check_image(raw: bytes) -> str:
    """The extension for an acceptable image; ValidationFailed on size or type."""
    if not raw:
        raise ValidationFailed({"image": "The file is empty."})
    if len(raw) > MAX_IMAGE_BYTES:
        raise ValidationFailed({"image": "The image is larger than 1 MiB."})
    kind = image_type(raw)
    if kind is None:
        raise ValidationFailed({"image": "A PNG, JPEG or WebP image, please."})
    return kind


def set_reward_image(reward_id: int, raw: bytes, actor_id: int | None) -> Reward:
    """Store a checked image under a random name; the old file is removed after commit."""
    ext = check_image(raw)
    reward = lock_reward(reward_id)
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{ext}"
    (folder / name).write_bytes(raw)
    old = reward.image_name
    reward.image_name = name
    reward.updated_at = utcnow()
    db.session.flush()
    record_audit(actor_id, "reward.image", "reward", reward.id, {"image": old}, {"image": name})
    if old:
        call_after_commit(lambda: (folder / old).unlink(missing_ok=True))
    return reward


def clear_reward_image(reward_id: int, actor_id: int | None) -> Reward:
    """Drop the reward's image (the file is removed after commit)."""
    reward = lock_reward(reward_id)
    old, reward.image_name = reward.image_name, None
    reward.updated_at = utcnow()
    db.session.flush()
    if old:
        record_audit(actor_id, "reward.image", "reward", reward.id, {"image": old}, {"image": None})
        folder = upload_dir()
        call_after_commit(lambda: (folder / old).unlink(missing_ok=True))
    return reward


def image_path(name: str) -> Path | None:
    """The stored file for a served image name, or None (names are our own random hex)."""
    stem, _, ext = name.partition(".")
    if len(stem) != 32 or ext not in IMAGE_TYPES or not all(c in "0123456789abcdef" for c in stem):
        return None
    path = upload_dir() / name
    return path if path.is_file() else None


# --- what an advocate sees -------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogItem:
    reward: Reward
    held: int
    blocked_reason: str | None
    blocked_message: str | None

    @property
    def can_redeem(self) -> bool:
        return self.blocked_reason is None


def blocked(reward: Reward, advocate: Advocate, held: int) -> tuple[str | None, str | None]:
    """Why this advocate cannot redeem this reward now (api.md code and text), or (None, None)."""
    if tiers.rank_of(advocate.tier) < tiers.rank_of(reward.min_tier):
        return "tier_required", f"{Tier(reward.min_tier).value.title()} status or higher."
    if reward.per_advocate_limit is not None and held >= reward.per_advocate_limit:
        times = "once" if reward.per_advocate_limit == 1 else f"{reward.per_advocate_limit} times"
        return "limit_reached", f"You can redeem this {times}."
    if reward.stock_remaining is not None and reward.stock_remaining <= 0:
        return "out_of_stock", "Out of stock."
    if advocate.balance < reward.points_cost:
        return "insufficient_points", f"{reward.points_cost - advocate.balance:,} more points needed."
    return None, None


def held_by(advocate_id: int, reward_ids: list[int] | None = None) -> dict[int, int]:
    """Per reward, how many of this advocate's redemptions hold a unit (count toward limits)."""
    query = (
        select(Redemption.reward_id, func.count())
        .where(Redemption.advocate_id == advocate_id, Redemption.status.in_(HOLDING_STATUSES))
        .group_by(Redemption.reward_id)
    )
    if reward_ids is not None:
        query = query.where(Redemption.reward_id.in_(reward_ids))
    return dict(db.session.execute(query).all())


def catalog_for(advocate: Advocate, limit: int = 500) -> list[CatalogItem]:
    """Active rewards with the advocate's blocked reasons: redeemable first, then by cost."""
    rewards = db.session.scalars(
        select(Reward).where(Reward.is_active.is_(True)).order_by(Reward.points_cost, Reward.name).limit(limit)
    ).all()
    held = held_by(advocate.id)
    items = []
    for reward in rewards:
        reason, message = blocked(reward, advocate, held.get(reward.id, 0))
        items.append(CatalogItem(reward, held.get(reward.id, 0), reason, message))
    items.sort(key=lambda i: (not i.can_redeem, i.reward.points_cost > advocate.balance, i.reward.points_cost))
    return items


def catalog_item(advocate: Advocate, reward_id: int) -> CatalogItem:
    """One active reward as this advocate sees it; NotFound when missing or retired."""
    reward = db.session.get(Reward, reward_id)
    if reward is None or not reward.is_active:
        raise NotFound("Reward not found.")
    held = held_by(advocate.id, [reward_id]).get(reward_id, 0)
    reason, message = blocked(reward, advocate, held)
    return CatalogItem(reward, held, reason, message)


def stock_is_low(remaining: int | None, total: int | None, taken_recently: int) -> bool:
    """Whether a reward's stock needs the staff's attention: never for unlimited stock nor for a
    full one (nothing taken: its size is what staff chose); always when it is empty; else when
    `remaining` ≤ LOW_STOCK units, or when at the pace of the last PACE_DAYS (`taken_recently`
    units taken by redemptions requested in them) it runs out within RUN_OUT_DAYS."""
    if remaining is None or total is None:
        return False
    if remaining == 0:
        return True
    if remaining >= total:
        return False
    return remaining <= LOW_STOCK or remaining * PACE_DAYS < taken_recently * RUN_OUT_DAYS


def low_stock(now: dt.datetime | None = None) -> list[Reward]:
    """The active rewards whose stock is low (`stock_is_low`), fewest left first: one query for
    the limited rewards and one for their units taken in the last PACE_DAYS (redemptions that
    hold stock, requested since)."""
    since = (now or utcnow()) - dt.timedelta(days=PACE_DAYS)
    limited = list(
        db.session.scalars(
            select(Reward)
            .where(Reward.is_active.is_(True), Reward.stock_remaining.is_not(None))
            .order_by(Reward.stock_remaining, Reward.name)
        )
    )
    if not limited:
        return []
    taken = dict(
        db.session.execute(
            select(Redemption.reward_id, func.count())
            .where(
                Redemption.reward_id.in_([r.id for r in limited]),
                Redemption.status.in_(HOLDING_STATUSES),
                Redemption.created_at >= since,
            )
            .group_by(Redemption.reward_id)
        ).all()
    )
    return [r for r in limited if stock_is_low(r.stock_remaining, r.stock_total, int(taken.get(r.id, 0)))]
