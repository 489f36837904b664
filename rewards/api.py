"""JSON routes for ledgers, owner adjustments, leaderboards, the reward catalog and redemptions."""

from __future__ import annotations

import logging
from typing import Any

from flask import url_for
from pydantic import TypeAdapter, ValidationError
from pydantic_core import to_json
from sqlalchemy import func, select

from hub.api import advocate_for
from hub.api_validation import WrittenReply, validated_query
from hub.contracts import Body, BulkReply, PageQuery
from hub.endpoints import api_blueprint, endpoint, kept_api_caller
from hub.errors import NotFound
from hub.extensions import db
from hub.models import ALL_ROLES, STAFF_ROLES, Advocate, Role, User
from hub.redis_stamps import RedisRead
from hub.tokens import Caller
from rewards import catalog, services
from rewards import leaderboard as boards
from rewards.catalog import RewardBody, RewardPatch
from rewards.contracts import (
    AdjustmentReply,
    FulfilBody,
    LeaderboardEntry,
    LeaderboardQuery,
    LeaderboardReply,
    LedgerEntryReply,
    LedgerPage,
    RedeemBody,
    RedemptionBulkBody,
    RedemptionListQuery,
    RedemptionPage,
    RedemptionRejectBody,
    RedemptionReply,
    RewardListQuery,
    RewardPage,
    RewardReply,
)
from rewards.leaderboard import board_read, period_key
from rewards.leaderboard_view import GroupName, board_payload, group_name, kept_group, leaderboard_payload
from rewards.models import LedgerEntry, Redemption, Reward
from rewards.services import Adjustment

bp = api_blueprint("rewards_api")
log = logging.getLogger(__name__)


def _entry_fields(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "delta": entry.delta,
        "kind": entry.kind,
        "source_type": entry.source_type,
        "source_id": entry.source_id,
        "memo": entry.memo,
        "created_at": entry.created_at,
    }


@endpoint(
    bp,
    "/advocates/<int:advocate_id>/ledger",
    roles=ALL_ROLES - {Role.SALES},
    summary="An advocate's ledger with balance",
    tag="rewards",
    query=PageQuery,
    reply=LedgerPage,
)
def ledger(user: User, advocate_id: int, args: PageQuery) -> LedgerPage:
    advocate = advocate_for(user, advocate_id)
    items, total = services.ledger_page(advocate.id, args.page, args.per_page)
    entries = [LedgerEntryReply(**_entry_fields(e)) for e in items]
    return LedgerPage.of(entries, args, total, balance=advocate.balance)


@endpoint(
    bp,
    "/advocates/<int:advocate_id>/adjustments",
    "POST",
    roles={Role.OWNER},
    status=201,
    summary="Adjust an advocate's points (owner)",
    tag="rewards",
    idempotent=True,
    body=Adjustment,
    reply=AdjustmentReply,
)
def adjust(user: User, advocate_id: int, data: Adjustment) -> tuple[AdjustmentReply, int]:
    advocate = advocate_for(user, advocate_id)
    entry = services.adjust_points(advocate.id, data.points, data.memo, user.id, lifetime=data.lifetime)
    return AdjustmentReply(**_entry_fields(entry), balance=advocate.balance), 201


def plan_board_read() -> RedisRead | None:
    """The board read `GET /leaderboard` will make, planned before the rate limit so that the
    limit's script call makes it (`redis_read`, hub.endpoints): from the query string, the
    caller and the group name this process keeps — no I/O. None when it cannot tell (an invalid
    query, a caller or a group not kept yet). A wrong guess (the caller or the group changed
    since they were kept) only costs the route its own read: it takes the planned answer only
    for the very same read (hub.redis_stamps.prefetched)."""
    try:
        args = validated_query(LeaderboardQuery)  # spectree takes this instance: validated once
    except ValidationError:
        return None
    caller = kept_api_caller()
    if caller is None:
        return None
    group_id: int | None = None
    if args.group not in (None, ""):
        group = kept_group(args.group)
        if group is None:
            return None
        group_id = group.id
    me_id = caller.advocate_id if caller.role is Role.ADVOCATE else None
    return board_read(period_key(args.period), group_id, args.limit, 0, me_id)


@endpoint(
    bp,
    "/leaderboard",
    roles=ALL_ROLES,
    summary="Leaderboard with the caller's own rank",
    tag="rewards",
    query=LeaderboardQuery,
    reply=LeaderboardReply,
    caller=True,
    redis_read=plan_board_read,
)
def leaderboard(user: Caller, args: LeaderboardQuery) -> LeaderboardReply | WrittenReply:
    # From Redis the reply is written as bytes (its entries kept per raw board answer); the
    # model only when the board is read from SQL (issue 22).
    written = leaderboard_json(user, args.period, args.group, args.limit)
    if written is not None:
        return written
    return LeaderboardReply.model_validate(leaderboard_payload(user, args.period, args.group, args.limit))


# The `entries` of a reply as LeaderboardReply writes them (JSON bytes), by what they are made
# of: (staff viewer, the viewer's advocate id when they are on the page else None, the page's
# members and scores and their display rows as the read script returned them). The entries are
# a function of exactly these, so a kept one is never stale: an award changes a score, a
# rename or opt-out the display row's bytes, and either is another key. Shared by every
# viewer outside the page (issue 22: a warm read writes bytes, not a pydantic model).
_kept_entries: dict[tuple[Any, ...], bytes] = {}
_KEPT_ENTRIES_MAX = 512
# LeaderboardReply's JSON around its entries, `{"period":…,"group":…,"entries":` … `,"me":…}`:
# the fixed parts, written once.
_ME_NONE = b"null"
_ME_UNRANKED = b'{"rank":null,"points":0}'


def leaderboard_json(viewer: Caller, period: str, group: str | int | None, limit: int) -> WrittenReply | None:
    """`GET /leaderboard`'s reply (`LeaderboardReply` for `leaderboard_payload(viewer, period,
    group, limit)`) written as JSON bytes from the board's raw Redis answer: the entries kept
    per answer (`_kept_entries`), `period`, `group` and `me` written around them — byte for byte
    what `LeaderboardReply.model_dump_json()` writes (tests/rewards/test_leaderboard_reply_bytes.py).
    None when the board is not read from Redis (no Redis, the sets stale or not in this
    encoding, a score outside the exact range, Redis failing): the caller then builds the reply
    from `leaderboard_payload`. NotFound for an unknown group, as there."""
    grp = group_name(group)
    me_id = viewer.advocate_id if viewer.role is Role.ADVOCATE else None
    try:
        answer = boards.warm_answer(boards.period_key(period), grp.id if grp else None, limit, me_id)
    except Exception:
        log.warning("leaderboard read from Redis failed; using the payload's own read", exc_info=True)
        return None
    if answer is None or int(answer[0]):
        return None
    _, page, mine, _page_above, mine_above, shown, generation = answer
    me_json = _ME_NONE
    if me_id is not None:
        my_score = float(mine) if mine is not None else None
        if my_score is None or my_score < boards.SCORE_PER_POINT:
            me_json = _ME_UNRANKED
        elif not boards.exact_score(my_score):
            return None
        else:
            me_json = b'{"rank":%d,"points":%d}' % (int(mine_above) + 1, boards.points_of(my_score))
    staff = viewer.role in STAFF_ROLES
    members = page[0::2]
    me_on_page = None
    if me_id is not None:
        me_member = boards.member(me_id)  # the page's members are bytes, or text from a decoding client
        me_on_page = me_id if me_member in members or me_member.encode() in members else None
    complete = shown is not None and len(shown) == len(members) and None not in shown
    key = (staff, me_on_page, tuple(page), tuple(shown)) if complete else None
    entries = _kept_entries.get(key) if key is not None else None
    if entries is None:
        found = boards.decode_answer(answer, 0, me_id)
        if found is None:
            return None
        rows, me, cached, _ = found
        try:
            described = boards.complete_display(rows, cached, generation)
        except Exception:
            log.warning("leaderboard display rows from Redis failed; using the payload's own read", exc_info=True)
            return None
        reply = LeaderboardReply.model_validate(board_payload(period, grp, staff, me_id, rows, me, described))
        written = reply.model_dump_json().encode()
        entries = _ENTRIES.dump_json(reply.entries)
        if _around(period, grp, entries, me_json) != written:  # pragma: no cover - a pydantic change
            log.warning("leaderboard reply bytes differ from the model's; not kept")
            return WrittenReply(LeaderboardReply, written)
        if key is not None:
            if len(_kept_entries) >= _KEPT_ENTRIES_MAX:
                _kept_entries.clear()
            _kept_entries[key] = entries
        return WrittenReply(LeaderboardReply, written)
    return WrittenReply(LeaderboardReply, _around(period, grp, entries, me_json))


_ENTRIES: TypeAdapter[list[LeaderboardEntry]] = TypeAdapter(list[LeaderboardEntry])


def _around(period: str, grp: GroupName | None, entries: bytes, me_json: bytes) -> bytes:
    """LeaderboardReply's JSON from its parts (pydantic's own string writer for the texts)."""
    group_json = to_json(grp.name) if grp is not None else b"null"
    return b'{"period":%s,"group":%s,"entries":%s,"me":%s}' % (to_json(period), group_json, entries, me_json)


def forget_kept_replies() -> None:
    """Drop the reply entries this process keeps (tests)."""
    _kept_entries.clear()


# --- rewards and redemptions -------------------------------------------------------------------


def reward_reply(reward: Reward, item: catalog.CatalogItem | None = None) -> RewardReply:
    reply = RewardReply(
        id=reward.id,
        name=reward.name,
        description=reward.description,
        description_html=reward.description_html,
        kind=reward.kind,
        points_cost=reward.points_cost,
        stock=reward.stock_total,
        stock_remaining=reward.stock_remaining,
        min_tier=reward.min_tier,
        per_advocate_limit=reward.per_advocate_limit,
        requires_approval=reward.requires_approval,
        needs_shipping=reward.needs_shipping,
        active=reward.is_active,
        image_url=url_for("rewards.reward_image", name=reward.image_name) if reward.image_name else None,
        created_at=reward.created_at,
        updated_at=reward.updated_at,
    )
    if item is not None:
        reply.can_redeem = item.can_redeem
        reply.blocked_reason = item.blocked_reason
        reply.blocked_message = item.blocked_message
        reply.redeemed_count = item.held
    return reply


def redemption_reply(redemption: Redemption) -> RedemptionReply:
    return RedemptionReply(
        id=redemption.id,
        reward_id=redemption.reward_id,
        reward_name=redemption.reward.name,
        advocate_id=redemption.advocate_id,
        points=redemption.points,
        status=redemption.status,
        note=redemption.note,
        reason=redemption.reason,
        fulfil_note=redemption.fulfil_note,
        shipping_address=redemption.shipping_address,
        created_at=redemption.created_at,
        updated_at=redemption.updated_at,
        decided_at=redemption.decided_at,
        fulfilled_at=redemption.fulfilled_at,
        cancelled_at=redemption.cancelled_at,
    )


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
    body=RewardBody,
    reply=RewardReply,
    idempotent=True,
)
def create_reward(user: User, data: RewardBody) -> tuple[RewardReply, int]:
    reward = catalog.create_reward(catalog.reward_values(data, partial=False), user.id)
    return reward_reply(reward), 201


@endpoint(
    bp,
    "/rewards/<int:reward_id>",
    "PATCH",
    roles=STAFF_ROLES,
    summary="Change a catalog item",
    tag="rewards",
    body=RewardPatch,
    reply=RewardReply,
    idempotent=True,
)
def update_reward(user: User, reward_id: int, data: Body) -> RewardReply:
    return reward_reply(catalog.update_reward(reward_id, catalog.reward_values(data, partial=True), user.id))


@endpoint(
    bp,
    "/rewards",
    roles=ALL_ROLES,
    summary="The catalog (advocates: active, with can_redeem)",
    tag="rewards",
    query=RewardListQuery,
    reply=RewardPage,
)
def list_rewards(user: User, args: RewardListQuery) -> RewardPage:
    if user.role is Role.ADVOCATE:
        items = [i for i in catalog.catalog_for(_own_advocate(user)) if args.kind is None or i.reward.kind == args.kind]
        return RewardPage.of([reward_reply(i.reward, i) for i in args.window(items)], args, len(items))
    active = args.active if user.role in STAFF_ROLES else True
    query = select(Reward)
    if active is not None:
        query = query.where(Reward.is_active.is_(active))
    if args.kind:
        query = query.where(Reward.kind == args.kind)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rewards = db.session.scalars(
        query.order_by(Reward.is_active.desc(), Reward.points_cost, Reward.id).limit(args.per_page).offset(args.offset)
    ).all()
    return RewardPage.of([reward_reply(r) for r in rewards], args, total)


@endpoint(bp, "/rewards/<int:reward_id>", roles=ALL_ROLES, summary="One catalog item", tag="rewards", reply=RewardReply)
def get_reward(user: User, reward_id: int) -> RewardReply:
    if user.role is Role.ADVOCATE:
        item = catalog.catalog_item(_own_advocate(user), reward_id)
        return reward_reply(item.reward, item)
    reward = db.session.get(Reward, reward_id)
    if reward is None or (user.role not in STAFF_ROLES and not reward.is_active):
        raise NotFound("Reward not found.")
    return reward_reply(reward)


@endpoint(
    bp,
    "/rewards/<int:reward_id>/redemptions",
    "POST",
    roles={Role.ADVOCATE},
    status=201,
    summary="Redeem a reward (send confirmed_cost to pay exactly the price you saw)",
    tag="rewards",
    body=RedeemBody,
    reply=RedemptionReply,
    idempotent=True,
)
def redeem(user: User, reward_id: int, data: RedeemBody) -> tuple[RedemptionReply, int]:
    redemption = services.redeem_reward(
        _own_advocate(user).id, reward_id, data.confirmed_cost, data.note, shipping_address=data.shipping_address
    )
    return redemption_reply(redemption), 201


@endpoint(
    bp,
    "/redemptions",
    roles=STAFF_ROLES | {Role.ADVOCATE},
    summary="Redemptions (advocates: their own)",
    tag="rewards",
    query=RedemptionListQuery,
    reply=RedemptionPage,
)
def list_redemptions(user: User, args: RedemptionListQuery) -> RedemptionPage:
    advocate_id = _own_advocate(user).id if user.role is Role.ADVOCATE else args.advocate_id
    items, total = services.redemptions_page(args.page, args.per_page, args.status, advocate_id, args.reward_id)
    return RedemptionPage.of([redemption_reply(r) for r in items], args, total)


@endpoint(
    bp,
    "/redemptions/<int:redemption_id>",
    roles=STAFF_ROLES | {Role.ADVOCATE},
    summary="One redemption (staff, or its advocate)",
    tag="rewards",
    reply=RedemptionReply,
)
def get_redemption(user: User, redemption_id: int) -> RedemptionReply:
    own = _own_advocate(user).id if user.role is Role.ADVOCATE else None
    return redemption_reply(services.get_redemption(redemption_id, own))


@endpoint(
    bp,
    "/redemptions/<int:redemption_id>/approve",
    "POST",
    roles=STAFF_ROLES,
    tag="rewards",
    summary="Approve a requested redemption",
    reply=RedemptionReply,
    idempotent=True,
)
def approve_redemption(user: User, redemption_id: int) -> RedemptionReply:
    return redemption_reply(services.approve_redemption(redemption_id, user.id))


@endpoint(
    bp,
    "/redemptions/<int:redemption_id>/reject",
    "POST",
    roles=STAFF_ROLES,
    tag="rewards",
    summary="Reject a redemption with a reason (refunds once)",
    body=RedemptionRejectBody,
    reply=RedemptionReply,
    idempotent=True,
)
def reject_redemption(user: User, redemption_id: int, data: RedemptionRejectBody) -> RedemptionReply:
    return redemption_reply(services.reject_redemption(redemption_id, user.id, data.reason))


@endpoint(
    bp,
    "/redemptions/bulk",
    "POST",
    roles=STAFF_ROLES,
    tag="rewards",
    summary="Approve, fulfill (one note) or reject (one reason) several redemptions; refusals listed",
    body=RedemptionBulkBody,
    reply=BulkReply,
    idempotent=True,
)
def decide_redemptions(user: User, data: RedemptionBulkBody) -> BulkReply:
    action = "fulfil" if data.action == "fulfill" else data.action
    outcome = services.decide_redemptions(list(data.ids), user.id, action, reason=data.reason, note=data.note)
    return BulkReply.of(outcome)


@endpoint(
    bp,
    "/redemptions/<int:redemption_id>/fulfill",
    "POST",
    roles=STAFF_ROLES,
    tag="rewards",
    summary="Mark an approved redemption fulfilled (note or tracking code)",
    body=FulfilBody,
    reply=RedemptionReply,
    idempotent=True,
)
def fulfil_redemption(user: User, redemption_id: int, data: FulfilBody) -> RedemptionReply:
    return redemption_reply(services.fulfil_redemption(redemption_id, user.id, data.note))


@endpoint(
    bp,
    "/redemptions/<int:redemption_id>/cancel",
    "POST",
    roles={Role.ADVOCATE},
    tag="rewards",
    summary="Cancel your own redemption while it is requested (refunds once)",
    reply=RedemptionReply,
    idempotent=True,
)
def cancel_redemption(user: User, redemption_id: int) -> RedemptionReply:
    return redemption_reply(services.cancel_redemption(redemption_id, _own_advocate(user).id))


__all__ = ["STAFF_ROLES", "bp"]
