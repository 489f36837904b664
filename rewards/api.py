"""JSON routes for ledgers, owner adjustments, leaderboards, the reward catalog and redemptions."""

from __future__ import annotations

from flask import request, url_for
from sqlalchemy import func, select

from hub.api import advocate_for
from hub.endpoints import api_blueprint, endpoint, page_args, paginated
from hub.errors import NotFound
from hub.extensions import db
from hub.models import ALL_ROLES, STAFF_ROLES, Advocate, Role, User
from hub.validation import Fields, iso
from rewards import catalog, services
from rewards.leaderboard_view import leaderboard_payload
from rewards.models import LedgerEntry, Redemption, RedemptionStatus, Reward, RewardKind

bp = api_blueprint("rewards_api")


def entry_json(entry: LedgerEntry) -> dict:
    return {
        "id": entry.id,
        "delta": entry.delta,
        "kind": str(entry.kind),
        "source_type": entry.source_type,
        "source_id": entry.source_id,
        "memo": entry.memo,
        "created_at": iso(entry.created_at),
    }


@endpoint(
    bp,
    "/advocates/<int:advocate_id>/ledger",
    roles=ALL_ROLES - {Role.SALES},
    summary="An advocate's ledger with balance",
    tag="rewards",
    query={"page": "integer", "per_page": "integer"},
)
def ledger(user: User, advocate_id: int) -> dict:
    advocate = advocate_for(user, advocate_id)
    page, per_page = page_args()
    items, total = services.ledger_page(advocate.id, page, per_page)
    return paginated([entry_json(e) for e in items], page, per_page, total) | {"balance": advocate.balance}


@endpoint(
    bp,
    "/advocates/<int:advocate_id>/adjustments",
    "POST",
    roles={Role.OWNER},
    status=201,
    summary="Adjust an advocate's points (owner)",
    tag="rewards",
    idempotent=True,
    body={
        "type": "object",
        "required": ["points", "memo"],
        "properties": {"points": {"type": "integer"}, "memo": {"type": "string", "maxLength": 255}},
    },
)
def adjust(user: User, advocate_id: int, data: dict) -> tuple[dict, int]:
    advocate = advocate_for(user, advocate_id)
    checked = services.validate_adjustment(data.get("points"), data.get("memo"))
    entry = services.adjust_points(advocate.id, checked.points, checked.memo, user.id)
    return entry_json(entry) | {"balance": advocate.balance}, 201


@endpoint(
    bp,
    "/leaderboard",
    roles=ALL_ROLES,
    summary="Leaderboard with the caller's own rank",
    tag="rewards",
    query={"period": "string", "group": "string", "limit": "integer"},
)
def leaderboard(user: User) -> dict:
    f = Fields(request.args)
    period = f.choice("period", ["all", "month", "quarter"], default="all")
    group = f.str("group", max_length=80)
    limit = f.int("limit", minimum=1, maximum=100, default=10)
    f.done()
    return leaderboard_payload(user, period, group, limit)


# --- rewards and redemptions -------------------------------------------------------------------

REWARD_PROPERTIES = {
    "name": {"type": "string", "maxLength": 120},
    "description": {"type": "string", "maxLength": catalog.MAX_DESCRIPTION},
    "kind": {"type": "string", "enum": [k.value for k in RewardKind]},
    "points_cost": {"type": "integer", "minimum": 1, "maximum": catalog.MAX_COST},
    "stock": {"type": "integer", "minimum": 0, "maximum": catalog.MAX_STOCK, "nullable": True},
    "min_tier": {"type": "string", "enum": ["bronze", "silver", "gold"], "nullable": True},
    "per_advocate_limit": {"type": "integer", "minimum": 1, "maximum": catalog.MAX_LIMIT, "nullable": True},
    "requires_approval": {"type": "boolean"},
    "active": {"type": "boolean"},
}
REWARD_BODY = {"type": "object", "required": ["name", "kind", "points_cost"], "properties": REWARD_PROPERTIES}
REWARD_PATCH = {"type": "object", "properties": REWARD_PROPERTIES}
REDEEM_BODY = {
    "type": "object",
    "properties": {
        "note": {"type": "string", "maxLength": 500},
        "confirmed_cost": {"type": "integer", "minimum": 1, "maximum": catalog.MAX_COST},
    },
}
REJECT_BODY = {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string", "maxLength": 500}}}
FULFIL_BODY = {"type": "object", "properties": {"note": {"type": "string", "maxLength": 500}}}


def reward_json(reward: Reward, item: catalog.CatalogItem | None = None) -> dict:
    payload = {
        "id": reward.id,
        "name": reward.name,
        "description": reward.description,
        "description_html": reward.description_html,
        "kind": str(reward.kind),
        "points_cost": reward.points_cost,
        "stock": reward.stock_total,
        "stock_remaining": reward.stock_remaining,
        "min_tier": str(reward.min_tier),
        "per_advocate_limit": reward.per_advocate_limit,
        "requires_approval": reward.requires_approval,
        "active": reward.is_active,
        "image_url": url_for("rewards.reward_image", name=reward.image_name) if reward.image_name else None,
        "created_at": iso(reward.created_at),
        "updated_at": iso(reward.updated_at),
    }
    if item is not None:
        payload |= {
            "can_redeem": item.can_redeem,
            "blocked_reason": item.blocked_reason,
            "blocked_message": item.blocked_message,
            "redeemed_count": item.held,
        }
    return payload


def redemption_json(redemption: Redemption) -> dict:
    return {
        "id": redemption.id,
        "reward_id": redemption.reward_id,
        "reward_name": redemption.reward.name,
        "advocate_id": redemption.advocate_id,
        "points": redemption.points,
        "status": str(redemption.status),
        "note": redemption.note,
        "reason": redemption.reason,
        "fulfil_note": redemption.fulfil_note,
        "created_at": iso(redemption.created_at),
        "updated_at": iso(redemption.updated_at),
        "decided_at": iso(redemption.decided_at),
        "fulfilled_at": iso(redemption.fulfilled_at),
        "cancelled_at": iso(redemption.cancelled_at),
    }


def _own_advocate(user: User) -> Advocate:
    if user.advocate is None or user.advocate.is_erased:
        raise NotFound("Advocate not found.")
    return user.advocate


@endpoint(
    bp,
    "/rewards",
    "POST",
    roles=STAFF_ROLES,
    status=201,
    summary="Add a catalog item",
    tag="rewards",
    body=REWARD_BODY,
    idempotent=True,
)
def create_reward(user: User, data: dict) -> tuple[dict, int]:
    reward = catalog.create_reward(catalog.read_reward_input(data, partial=False), user.id)
    return reward_json(reward), 201


@endpoint(
    bp,
    "/rewards/<int:reward_id>",
    "PATCH",
    roles=STAFF_ROLES,
    summary="Change a catalog item",
    tag="rewards",
    body=REWARD_PATCH,
    idempotent=True,
)
def update_reward(user: User, reward_id: int, data: dict) -> dict:
    values = catalog.read_reward_input(data, partial=True)
    return reward_json(catalog.update_reward(reward_id, values, user.id))


@endpoint(
    bp,
    "/rewards",
    roles=ALL_ROLES,
    summary="The catalog (advocates: active, with can_redeem)",
    tag="rewards",
    query={"active": "boolean", "kind": "string", "page": "integer", "per_page": "integer"},
)
def list_rewards(user: User) -> dict:
    page, per_page = page_args()
    f = Fields(request.args)
    active = f.bool("active")
    kind = f.choice("kind", [k.value for k in RewardKind])
    f.done()
    if user.role is Role.ADVOCATE:
        items = [i for i in catalog.catalog_for(_own_advocate(user)) if kind is None or i.reward.kind == kind]
        window = items[(page - 1) * per_page : page * per_page]
        return paginated([reward_json(i.reward, i) for i in window], page, per_page, len(items))
    query = select(Reward)
    if user.role not in STAFF_ROLES:
        active = True
    if active is not None:
        query = query.where(Reward.is_active.is_(active))
    if kind:
        query = query.where(Reward.kind == kind)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rewards = db.session.scalars(
        query.order_by(Reward.is_active.desc(), Reward.points_cost, Reward.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return paginated([reward_json(r) for r in rewards], page, per_page, total)


@endpoint(bp, "/rewards/<int:reward_id>", roles=ALL_ROLES, summary="One catalog item", tag="rewards")
def get_reward(user: User, reward_id: int) -> dict:
    if user.role is Role.ADVOCATE:
        item = catalog.catalog_item(_own_advocate(user), reward_id)
        return reward_json(item.reward, item)
    reward = db.session.get(Reward, reward_id)
    if reward is None or (user.role not in STAFF_ROLES and not reward.is_active):
        raise NotFound("Reward not found.")
    return reward_json(reward)


@endpoint(
    bp,
    "/rewards/<int:reward_id>/redemptions",
    "POST",
    roles={Role.ADVOCATE},
    status=201,
    summary="Redeem a reward (send confirmed_cost to pay exactly the price you saw)",
    tag="rewards",
    body=REDEEM_BODY,
    idempotent=True,
)
def redeem(user: User, reward_id: int, data: dict) -> tuple[dict, int]:
    f = Fields(data)
    note = f.str("note", max_length=500)
    confirmed = f.int("confirmed_cost", minimum=1, maximum=catalog.MAX_COST)
    if data.get("confirmed_cost") == "":
        f.errors.setdefault("confirmed_cost", "A whole number of points.")
    f.done()
    redemption = services.redeem_reward(_own_advocate(user).id, reward_id, confirmed, note)
    return redemption_json(redemption), 201


@endpoint(
    bp,
    "/redemptions",
    roles=STAFF_ROLES | {Role.ADVOCATE},
    summary="Redemptions (advocates: their own)",
    tag="rewards",
    query={
        "status": "string",
        "reward_id": "integer",
        "advocate_id": "integer",
        "page": "integer",
        "per_page": "integer",
    },
)
def list_redemptions(user: User) -> dict:
    page, per_page = page_args()
    f = Fields(request.args)
    status = f.choice("status", [s.value for s in RedemptionStatus])
    reward_id = f.int("reward_id", minimum=1)
    advocate_id = f.int("advocate_id", minimum=1)
    f.done()
    if user.role is Role.ADVOCATE:
        advocate_id = _own_advocate(user).id
    items, total = services.redemptions_page(page, per_page, status, advocate_id, reward_id)
    return paginated([redemption_json(r) for r in items], page, per_page, total)


@endpoint(
    bp,
    "/redemptions/<int:redemption_id>",
    roles=STAFF_ROLES | {Role.ADVOCATE},
    summary="One redemption (staff, or its advocate)",
    tag="rewards",
)
def get_redemption(user: User, redemption_id: int) -> dict:
    own = _own_advocate(user).id if user.role is Role.ADVOCATE else None
    return redemption_json(services.get_redemption(redemption_id, own))


@endpoint(
    bp,
    "/redemptions/<int:redemption_id>/approve",
    "POST",
    roles=STAFF_ROLES,
    tag="rewards",
    summary="Approve a requested redemption",
    idempotent=True,
)
def approve_redemption(user: User, redemption_id: int) -> dict:
    return redemption_json(services.approve_redemption(redemption_id, user.id))


@endpoint(
    bp,
    "/redemptions/<int:redemption_id>/reject",
    "POST",
    roles=STAFF_ROLES,
    tag="rewards",
    summary="Reject a redemption with a reason (refunds once)",
    body=REJECT_BODY,
    idempotent=True,
)
def reject_redemption(user: User, redemption_id: int, data: dict) -> dict:
    f = Fields(data)
    reason = f.str("reason", required=True, max_length=500)
    f.done()
    return redemption_json(services.reject_redemption(redemption_id, user.id, reason))


@endpoint(
    bp,
    "/redemptions/<int:redemption_id>/fulfill",
    "POST",
    roles=STAFF_ROLES,
    tag="rewards",
    summary="Mark an approved redemption fulfilled (note or tracking code)",
    body=FULFIL_BODY,
    idempotent=True,
)
def fulfil_redemption(user: User, redemption_id: int, data: dict) -> dict:
    f = Fields(data)
    note = f.str("note", max_length=500)
    f.done()
    return redemption_json(services.fulfil_redemption(redemption_id, user.id, note))


@endpoint(
    bp,
    "/redemptions/<int:redemption_id>/cancel",
    "POST",
    roles={Role.ADVOCATE},
    tag="rewards",
    summary="Cancel your own redemption while it is requested (refunds once)",
    idempotent=True,
)
def cancel_redemption(user: User, redemption_id: int) -> dict:
    return redemption_json(services.cancel_redemption(redemption_id, _own_advocate(user).id))


__all__ = ["STAFF_ROLES", "bp"]
