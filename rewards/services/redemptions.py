"""Redemptions: redeeming a reward all or nothing, the staff decisions (approve, reject with a
refund, fulfil), the advocate's cancellation, and the staff queue.

Every transition is a conditional UPDATE on the status, so of racing callers exactly one moves
it; a refund is a ledger entry unique on the redemption, so it happens once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from hub import trust
from hub.audit import record_audit
from hub.bulk import BulkOutcome, run_each
from hub.db import execute_dml, locked_row, utcnow
from hub.errors import (
    InvalidState,
    LimitReached,
    NotFound,
    OutOfStock,
    TierRequired,
    ValidationFailed,
    VouchError,
)
from hub.extensions import db
from hub.models import Advocate, Tier, User
from hub.notifications import notify
from rewards import tiers
from rewards.ledger import post_entry
from rewards.models import (
    HOLDING_STATUSES,
    SHIPPING_ADDRESS_MAX,
    EntryKind,
    Redemption,
    RedemptionStatus,
    Reward,
)

REDEMPTIONS_URL = "/me/redemptions"


class PriceChanged(VouchError):
    """The price changed after you confirmed it."""

    code = "price_changed"


def _lock_advocate(advocate_id: int) -> Advocate:
    """The advocate with its row locked: redemptions by one advocate run one at a time on
    PostgreSQL (SQLite's BEGIN IMMEDIATE already serializes every writer)."""
    advocate = locked_row(Advocate, advocate_id)
    if advocate is None or advocate.is_erased:
        raise NotFound("Advocate not found.")
    return advocate


def redeem_reward(
    advocate_id: int,
    reward_id: int,
    confirmed_cost: int | None = None,
    note: str | None = None,
    client_key: str | None = None,
    shipping_address: str | None = None,
) -> Redemption:
    """Redeem one unit, all or nothing, in the caller's transaction.

    Checks active, price, tier, the per-advocate limit (counted under the advocate's row lock),
    stock (a conditional UPDATE that also re-checks active and price) and balance (the
    ledger's conditional UPDATE). The `redeem` entry, the stock decrement and the redemption
    share one transaction: any refusal raises and the caller rolls all of it back. The debit
    is the price the advocate confirmed (`confirmed_cost`, else the price read now); a price
    changed in between is refused with `price_changed`, never charged twice or zero.
    A repeated `client_key` (a browser form submitted twice) returns the first redemption.
    A reward that `needs_shipping` needs a `shipping_address` (ValidationFailed naming it
    otherwise, at most SHIPPING_ADDRESS_MAX characters); other rewards keep none.
    Statements (issue 22: at most 6): the advocate's lock, the reward (its share lock when
    unlimited; else its decrement, one more), the redemption, and the ledger's three.
    """
    advocate = _lock_advocate(advocate_id)
    if client_key:
        first = db.session.scalar(
            select(Redemption).where(Redemption.advocate_id == advocate_id, Redemption.client_key == client_key)
        )
        if first is not None:
            if first.reward_id != reward_id:
                raise InvalidState("This form was already used for another reward; reload the page.")
            return first
    reward = _unlimited_reward(reward_id)
    if reward is None:
        # A limited reward (or none): one conditional decrement that re-checks active and the
        # confirmed price and returns the row, locked until this commits.
        reward = _take_one_unit(reward_id, confirmed_cost)
    out_of_stock = False
    if reward is None:
        # Nothing taken: the row says why, refused in the order of the checks below.
        reward = _shared_reward(reward_id)
        # Still unlimited here only if staff lifted the limit in between: redeemed as unlimited.
        out_of_stock = reward is not None and reward.stock_total is not None
    if reward is None or not reward.is_active:
        raise NotFound("Reward not found.")
    cost = reward.points_cost
    if confirmed_cost is not None and confirmed_cost != cost:
        raise PriceChanged(f"The price is now {cost:,} points; please confirm again.", points_cost=cost)
    address = _shipping_address(reward, shipping_address)
    if tiers.rank_of(advocate.tier) < tiers.rank_of(reward.min_tier):
        raise TierRequired(f"This reward needs {Tier(reward.min_tier).value.title()} status.")
    if reward.per_advocate_limit is not None:
        held = db.session.execute(
            select(func.count())
            .select_from(Redemption)
            .where(
                Redemption.advocate_id == advocate_id,
                Redemption.reward_id == reward_id,
                Redemption.status.in_(HOLDING_STATUSES),
            )
        ).scalar_one()
        if held >= reward.per_advocate_limit:
            raise LimitReached(f"You have reached the limit for this reward ({reward.per_advocate_limit}).")
    if out_of_stock:
        raise OutOfStock(f"{reward.name} is out of stock.")
    now = utcnow()
    # Below the owner's trust threshold every redemption waits for a person (product.md §15); the
    # score is the locked row's.
    needs_approval = reward.requires_approval or trust.score_is_below(advocate.trust_score)
    status = RedemptionStatus.REQUESTED if needs_approval else RedemptionStatus.APPROVED
    redemption = Redemption(
        reward=reward,  # held by the redemption: its reply reads the name without a query
        reward_id=reward_id,
        advocate_id=advocate_id,
        points=cost,
        status=status,
        note=(note or "").strip()[:500] or None,
        shipping_address=address,
        client_key=client_key,
        created_at=now,
        updated_at=now,
        decided_at=None if needs_approval else now,
    )
    db.session.add(redemption)
    db.session.flush()
    post_entry(
        advocate_id,
        -cost,
        kind=EntryKind.REDEEM,
        source_type="redemption",
        source_id=redemption.id,
        memo=f"Redeemed: {reward.name}",
    )
    return redemption


def _shipping_address(reward: Reward, given: str | None) -> str | None:
    """The address a shipped reward goes to (required, trimmed); None for other rewards."""
    if not reward.needs_shipping:
        return None
    address = (given or "").strip()
    if not address:
        raise ValidationFailed({"shipping_address": "Where should we send it? Give a shipping address."})
    if len(address) > SHIPPING_ADDRESS_MAX:
        raise ValidationFailed({"shipping_address": f"At most {SHIPPING_ADDRESS_MAX:,} characters."})
    return address


def _unlimited_reward(reward_id: int) -> Reward | None:
    """The reward when it has no stock limit, read with a shared row lock (one statement), else
    None. The share lock holds off a staff edit (price, active, stock) until this commits without
    making every redemption of a popular reward wait for the one before it, as an UPDATE's
    exclusive lock would. A limited reward's row fails the condition and is not locked.

    Made limited while this waited for the staff edit, the row's new version fails the re-check
    but PostgreSQL may keep the share lock, and the decrement that follows then needs the
    exclusive lock: two redeemers in that state deadlock, PostgreSQL aborts one, and its unit is
    re-run by the transaction boundary (hub.transactions.in_transaction retries deadlocks),
    which then finds the reward limited. A savepoint pair around this read would give the lock
    back instead, at two more statements on every redemption."""
    return db.session.scalar(
        select(Reward)
        .where(Reward.id == reward_id, Reward.stock_total.is_(None))
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )


def _take_one_unit(reward_id: int, confirmed_cost: int | None) -> Reward | None:
    """Decrement a limited reward's stock by one if it is active, in stock and (when confirmed)
    at the confirmed price: one `UPDATE … RETURNING` of the row, locked until the transaction
    ends; None when nothing matched (the caller reads the row to say why)."""
    conditions = [
        Reward.id == reward_id,
        Reward.stock_total.is_not(None),
        Reward.is_active.is_(True),
        Reward.stock_remaining > 0,
    ]
    if confirmed_cost is not None:
        conditions.append(Reward.points_cost == confirmed_cost)
    return db.session.scalars(
        update(Reward).where(*conditions).values(stock_remaining=Reward.stock_remaining - 1).returning(Reward),
        execution_options={"populate_existing": True, "synchronize_session": False},
    ).one_or_none()


def _shared_reward(reward_id: int) -> Reward | None:
    """The reward, whatever its stock, read with a shared row lock (a refused decrement's
    explanation: inactive, another price, out of stock)."""
    return db.session.scalar(
        select(Reward)
        .where(Reward.id == reward_id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )


def get_redemption(redemption_id: int, advocate_id: int | None = None) -> Redemption:
    """A redemption; with `advocate_id`, only that advocate's own (others are NotFound)."""
    redemption = db.session.get(Redemption, redemption_id)
    if redemption is None or (advocate_id is not None and redemption.advocate_id != advocate_id):
        raise NotFound("Redemption not found.")
    return redemption


def _move(
    redemption_id: int, allowed: tuple[RedemptionStatus, ...], target: RedemptionStatus, **values: Any
) -> Redemption:
    """Conditional UPDATE on the status: of racing callers exactly one moves it; the others
    get InvalidState (409), never a second effect."""
    now = utcnow()
    moved = execute_dml(
        update(Redemption)
        .where(Redemption.id == redemption_id, Redemption.status.in_(allowed))
        .values(status=target, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    redemption = db.session.scalar(
        select(Redemption).where(Redemption.id == redemption_id).execution_options(populate_existing=True)
    )
    if redemption is None:
        raise NotFound("Redemption not found.")
    if moved != 1:
        raise InvalidState(f"This redemption is already {redemption.status.value}.", status=str(redemption.status))
    return redemption


def _refund(redemption: Redemption, memo: str) -> None:
    """One `refund` entry (unique on the redemption) and the unit back in stock."""
    posted = post_entry(
        redemption.advocate_id,
        redemption.points,
        kind=EntryKind.REFUND,
        source_type="redemption",
        source_id=redemption.id,
        memo=memo,
    )
    if posted.is_new:
        db.session.execute(
            update(Reward)
            .where(Reward.id == redemption.reward_id, Reward.stock_remaining.is_not(None))
            .values(stock_remaining=Reward.stock_remaining + 1)
            .execution_options(synchronize_session=False)
        )
        reward = db.session.identity_map.get(db.session.identity_key(Reward, redemption.reward_id))
        if reward is not None:
            db.session.expire(reward, ["stock_remaining"])


def _tell(redemption: Redemption, text: str) -> None:
    user_id = db.session.execute(select(Advocate.user_id).where(Advocate.id == redemption.advocate_id)).scalar_one()
    notify(user_id, "redemption", text, REDEMPTIONS_URL)


def _audit(
    actor_id: int, action: str, redemption: Redemption, before: str, extra: dict[str, Any] | None = None
) -> None:
    record_audit(
        actor_id,
        action,
        "redemption",
        redemption.id,
        {"status": before},
        {"status": str(redemption.status)} | (extra or {}),
    )


def approve_redemption(redemption_id: int, actor_id: int) -> Redemption:
    """requested → approved (once; a second approval is InvalidState). Notifies the advocate."""
    redemption = _move(
        redemption_id,
        (RedemptionStatus.REQUESTED,),
        RedemptionStatus.APPROVED,
        decided_at=utcnow(),
        decided_by_id=actor_id,
    )
    _audit(actor_id, "redemption.approve", redemption, "requested")
    _tell(redemption, f"Your redemption of {redemption.reward.name} was approved.")
    return redemption


def reject_redemption(redemption_id: int, actor_id: int, reason: str) -> Redemption:
    """requested/approved → rejected with a reason: exactly one refund and one unit back in
    stock, however many times (or how concurrently) it is rejected."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": "Say why (the advocate sees it)."})
    if len(reason) > 500:
        raise ValidationFailed({"reason": "At most 500 characters."})
    before = get_redemption(redemption_id).status
    redemption = _move(
        redemption_id,
        (RedemptionStatus.REQUESTED, RedemptionStatus.APPROVED),
        RedemptionStatus.REJECTED,
        reason=reason,
        decided_at=utcnow(),
        decided_by_id=actor_id,
    )
    _refund(redemption, f"Refund: {redemption.reward.name} (declined)")
    _audit(actor_id, "redemption.reject", redemption, str(before), {"reason": reason})
    _tell(
        redemption,
        f"Your redemption of {redemption.reward.name} was declined: {reason} "
        f"{redemption.points:,} points are back in your balance.",
    )
    return redemption


def fulfil_redemption(redemption_id: int, actor_id: int, note: str | None = None) -> Redemption:
    """approved → fulfilled, with an optional note or tracking code the advocate sees."""
    note = (note or "").strip() or None
    if note is not None and len(note) > 500:
        raise ValidationFailed({"note": "At most 500 characters."})
    redemption = _move(
        redemption_id,
        (RedemptionStatus.APPROVED,),
        RedemptionStatus.FULFILLED,
        fulfil_note=note,
        fulfilled_at=utcnow(),
        fulfilled_by_id=actor_id,
    )
    _audit(actor_id, "redemption.fulfil", redemption, "approved", {"note": note})
    _tell(redemption, f"{redemption.reward.name} is fulfilled" + (f": {note}" if note else "."))
    return redemption


BULK_ACTIONS = ("approve", "fulfil", "reject")


def decide_redemptions(
    redemption_ids: list[int], actor_id: int, action: str, reason: str | None = None, note: str | None = None
) -> BulkOutcome:
    """Approve, fulfil (with one note for all) or reject (with one reason) several redemptions.

    Each goes through the same service as a single decision (approve_redemption,
    fulfil_redemption, reject_redemption: conditional UPDATE, one refund) in its own savepoint,
    so one that is already decided or gone is reported (BulkOutcome.failed) and the rest are
    done. The reason and note are checked once first: bad input refuses the whole batch
    (ValidationFailed) and writes nothing."""
    if action not in BULK_ACTIONS:
        raise ValidationFailed({"action": f"One of: {', '.join(BULK_ACTIONS)}."})
    if action == "reject":
        reason = (reason or "").strip()
        if not reason:
            raise ValidationFailed({"reason": "Say why (the advocates see it)."})
        if len(reason) > 500:
            raise ValidationFailed({"reason": "At most 500 characters."})
    if action == "fulfil" and note is not None and len(note.strip()) > 500:
        raise ValidationFailed({"note": "At most 500 characters."})
    if not redemption_ids:
        raise ValidationFailed({"ids": "Select at least one redemption."})

    def act(redemption_id: int) -> Redemption:
        if action == "approve":
            return approve_redemption(redemption_id, actor_id)
        if action == "fulfil":
            return fulfil_redemption(redemption_id, actor_id, note)
        return reject_redemption(redemption_id, actor_id, reason or "")

    return run_each(redemption_ids, act)


def cancel_redemption(redemption_id: int, advocate_id: int) -> Redemption:
    """The advocate cancels their own redemption while it is `requested`: exactly one refund."""
    get_redemption(redemption_id, advocate_id)
    redemption = _move(redemption_id, (RedemptionStatus.REQUESTED,), RedemptionStatus.CANCELLED, cancelled_at=utcnow())
    _refund(redemption, f"Refund: {redemption.reward.name} (cancelled)")
    _tell(redemption, f"You cancelled {redemption.reward.name}; {redemption.points:,} points are back.")
    return redemption


def redemptions_page(
    page: int,
    per_page: int,
    status: str | None = None,
    advocate_id: int | None = None,
    reward_id: int | None = None,
) -> tuple[list[Redemption], int]:
    """Redemptions newest first (the staff queue shows `requested` oldest first)."""
    query = select(Redemption)
    if status:
        query = query.where(Redemption.status == status)
    if advocate_id is not None:
        query = query.where(Redemption.advocate_id == advocate_id)
    if reward_id is not None:
        query = query.where(Redemption.reward_id == reward_id)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    oldest_first = status == RedemptionStatus.REQUESTED.value
    order = (
        (Redemption.created_at.asc(), Redemption.id.asc())
        if oldest_first
        else (Redemption.created_at.desc(), Redemption.id.desc())
    )
    items = db.session.scalars(
        query.options(selectinload(Redemption.reward), selectinload(Redemption.advocate).selectinload(Advocate.user))
        .order_by(*order)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(items), total


ExportRow = tuple[Any, ...]


def redemption_export_batches(status: RedemptionStatus | None, batch: int) -> Iterator[list[ExportRow]]:
    """Redemptions (one status's, or all) oldest first as CSV rows — id, status, advocate name,
    email, reward, kind, points, note, shipping address, requested/decided/fulfilled times (ISO 8601 UTC), fulfil
    note, reason — read `batch` rows at a time by id (keyset), so an export of any size holds
    one batch in memory. The cells are raw; the caller neutralises formulas."""
    after = 0
    while True:
        query = (
            select(
                Redemption.id,
                Redemption.status,
                User.name,
                User.email,
                Reward.name,
                Reward.kind,
                Redemption.points,
                Redemption.note,
                Redemption.shipping_address,
                Redemption.created_at,
                Redemption.decided_at,
                Redemption.fulfilled_at,
                Redemption.fulfil_note,
                Redemption.reason,
            )
            .join(Reward, Reward.id == Redemption.reward_id)
            .join(Advocate, Advocate.id == Redemption.advocate_id)
            .join(User, User.id == Advocate.user_id)
            .where(Redemption.id > after)
            .order_by(Redemption.id)
            .limit(batch)
        )
        if status is not None:
            query = query.where(Redemption.status == status)
        rows = db.session.execute(query).all()
        if not rows:
            return
        yield [_export_row(tuple(row)) for row in rows]
        after = rows[-1][0]


def _export_row(row: ExportRow) -> ExportRow:
    return tuple(
        value.isoformat().replace("+00:00", "Z") if hasattr(value, "isoformat") else "" if value is None else str(value)
        for value in row
    )


def redemption_counts() -> dict[str, int]:
    counts = dict(db.session.execute(select(Redemption.status, func.count()).group_by(Redemption.status)).all())
    return {s.value: counts.get(s, 0) for s in RedemptionStatus}
