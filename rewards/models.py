"""Ledger entries, leaderboard scores, tier changes, badges, the reward catalog and redemptions."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    case,
    false,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from hub.db import str_enum, utcnow
from hub.extensions import Model
from hub.models import Advocate, Tier


class EntryKind(enum.StrEnum):
    EARN = "earn"
    BONUS = "bonus"
    REDEEM = "redeem"
    REFUND = "refund"
    ADJUST = "adjust"
    EXPIRE = "expire"


# Positive entries of these kinds raise lifetime points (and leaderboard scores); they are the
# credited points that expire under the expiry policy (product.md §14).
LIFETIME_KINDS = frozenset({EntryKind.EARN, EntryKind.BONUS, EntryKind.ADJUST})

# Points expiry notices go out this many days before a lot expires (rewards.expiry), widest first.
EXPIRY_NOTICE_DAYS = (30, 7)

# An owner's correction (product.md §14): a negative `adjust` entry with this source type lowers
# lifetime points (and leaderboard scores) as well as the balance.
CORRECTION_SOURCE = "correction"


def lifetime_condition() -> ColumnElement[bool]:
    """SQL: whether a ledger entry moves lifetime points (a credited entry or a correction)."""
    credited = (LedgerEntry.delta > 0) & LedgerEntry.kind.in_([k.value for k in LIFETIME_KINDS])
    correction = (
        (LedgerEntry.delta < 0)
        & (LedgerEntry.kind == EntryKind.ADJUST.value)
        & (LedgerEntry.source_type == CORRECTION_SOURCE)
    )
    return credited | correction


def lifetime_expression() -> ColumnElement[int]:
    """SQL: the lifetime points in a group of ledger entries: positive entries of LIFETIME_KINDS
    minus corrections."""
    return func.coalesce(func.sum(case((lifetime_condition(), LedgerEntry.delta), else_=0)), 0)


# The partial index of credited entries (rewards.expiry's lots): its predicate, also written
# into queries with literal values, so PostgreSQL can prove a query's rows lie in the index
# (bound parameters would hide the values from a generic plan).
CREDITED_PREDICATE = "delta > 0 AND kind IN ('adjust', 'bonus', 'earn')"


def credited_condition() -> ColumnElement[bool]:
    """SQL: a credited entry (positive, of LIFETIME_KINDS): an expiry lot (product.md §14),
    matching ix_ledger_entries_credited."""
    kinds = sorted(k.value for k in LIFETIME_KINDS)
    return LedgerEntry.kind.in_([literal_column(f"'{k}'") for k in kinds]) & (LedgerEntry.delta > literal_column("0"))


class LedgerEntry(Model):
    """Append-only. Written only by rewards.ledger; never updated or deleted."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("advocate_id", "kind", "source_type", "source_id", name="uq_ledger_source"),
        Index("ix_ledger_entries_advocate_created", "advocate_id", "created_at"),
        # Credited entries in FIFO order per advocate, with their points: expiry reads only these.
        Index(
            "ix_ledger_entries_credited",
            "advocate_id",
            "created_at",
            "id",
            postgresql_include=["delta"],
            postgresql_where=text(CREDITED_PREDICATE),
            sqlite_where=text(CREDITED_PREDICATE),
        ),
        # Expire entries by advocate and lot, with their points: expiry's per-lot lookup.
        Index(
            "ix_ledger_entries_expired_lots",
            "advocate_id",
            "lot_id",
            postgresql_include=["delta"],
            postgresql_where=text("lot_id IS NOT NULL"),
            sqlite_where=text("lot_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"))
    delta: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind, 16))
    source_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(64))
    memo: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # On an `expire` entry: the credited entry (lot) it expires, at most one per lot (the unique
    # key), so a lot's expiry is found by a join (rewards.expiry). No foreign key: it locked each
    # lot's row FOR KEY SHARE per expiry written; the expiry reads its lot from the ledger in the
    # statement that writes it, and entries are never deleted.
    lot_id: Mapped[int | None] = mapped_column(unique=True)

    advocate: Mapped[Advocate] = relationship()


# Rows of ledger_day_totals per (day, kind, sign): an advocate's entries always land in the same
# one of this many, so concurrent ledger writes for different advocates seldom wait on one row.
DAY_TOTAL_SHARDS = 8


class LedgerDayTotal(Model):
    """Points and entries per UTC day, kind and sign (`is_credit`: delta > 0), written by
    rewards.ledger in the same transaction as each entry — the report figures and monthly
    trends read these instead of scanning the ledger. `shard` (advocate id mod DAY_TOTAL_SHARDS)
    spreads one day's writes over several rows. Rebuilt from the ledger by
    `rewards.ledger.rebuild_day_totals` (`flask rewards rebuild-day-totals`)."""

    __tablename__ = "ledger_day_totals"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind, 16, "day_total_kind"), primary_key=True)
    is_credit: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    entries: Mapped[int] = mapped_column(BigInteger, default=0)


class LeaderboardScore(Model):
    """Points per (period, advocate): the indexed SQL leaderboard, kept in the ledger's transaction."""

    __tablename__ = "leaderboard_scores"
    __table_args__ = (
        Index("ix_leaderboard_scores_period_points", "period_key", "points", "reached_at", "advocate_id"),
    )

    period_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id", ondelete="CASCADE"), primary_key=True)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    # When the advocate reached `points` (their last change in the period): the earlier one is
    # listed first within a tie (product.md §14).
    reached_at: Mapped[dt.datetime | None]


class ExpiryNotice(Model):
    """An advocate told that points expire on a date, `days_ahead` (30 or 7) before: the unique
    key makes the notice go out once however often the expiry job runs."""

    __tablename__ = "expiry_notices"
    __table_args__ = (UniqueConstraint("advocate_id", "expires_on", "days_ahead"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id", ondelete="CASCADE"))
    expires_on: Mapped[dt.date]
    days_ahead: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TierChange(Model):
    __tablename__ = "tier_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"), index=True)
    from_tier: Mapped[Tier] = mapped_column(str_enum(Tier, 16, "from_tier"))
    to_tier: Mapped[Tier] = mapped_column(str_enum(Tier, 16, "to_tier"))
    # Indexed: a past period's tiers read only the changes after its end (challenges.reports.people).
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class AdvocateBadge(Model):
    __tablename__ = "advocate_badges"
    __table_args__ = (UniqueConstraint("advocate_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    awarded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RewardKind(enum.StrEnum):
    SWAG = "swag"
    GIFT_CARD = "gift_card"
    DONATION = "donation"
    EXPERIENCE = "experience"
    ACCESS = "access"


# The kinds sent by post: a new reward of one of these asks for a shipping address unless staff
# untick it (issue 20: "when the reward kind needs one"); other kinds may still opt in.
SHIPPED_KINDS = frozenset({RewardKind.SWAG})

SHIPPING_ADDRESS_MAX = 1000


class RedemptionStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    FULFILLED = "fulfilled"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


# Redemptions holding a unit of stock and counting toward the per-advocate limit.
HOLDING_STATUSES = (RedemptionStatus.REQUESTED, RedemptionStatus.APPROVED, RedemptionStatus.FULFILLED)


class Reward(Model):
    """A catalog item. `stock_total` NULL = unlimited; otherwise
    stock_remaining = stock_total − redemptions holding stock, never below zero (CHECK)."""

    __tablename__ = "rewards"
    __table_args__ = (
        CheckConstraint("points_cost > 0", name="points_cost_positive"),
        CheckConstraint("stock_remaining >= 0", name="stock_non_negative"),
        CheckConstraint(
            "(stock_total IS NULL AND stock_remaining IS NULL)"
            " OR (stock_total IS NOT NULL AND stock_remaining IS NOT NULL AND stock_remaining <= stock_total)",
            name="stock_consistent",
        ),
        CheckConstraint("per_advocate_limit IS NULL OR per_advocate_limit > 0", name="limit_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[RewardKind] = mapped_column(str_enum(RewardKind, 16, "reward_kind"))
    points_cost: Mapped[int] = mapped_column(Integer)
    stock_total: Mapped[int | None] = mapped_column(Integer)
    stock_remaining: Mapped[int | None] = mapped_column(Integer)
    min_tier: Mapped[Tier] = mapped_column(str_enum(Tier, 16, "min_tier"), default=Tier.BRONZE)
    per_advocate_limit: Mapped[int | None] = mapped_column(Integer)
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    # Sent by post: redeeming it asks for a shipping address (rewards.services.redeem_reward).
    needs_shipping: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    image_name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Redemption(Model):
    """An advocate's redemption. `points` is the price they confirmed (snapshot); its one
    `redeem` ledger entry and (if rejected/cancelled) one `refund` point at ("redemption", id)."""

    __tablename__ = "redemptions"
    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        # A browser form's per-render key: a double submit finds the first redemption.
        UniqueConstraint("advocate_id", "client_key", name="uq_redemptions_client_key"),
        Index("ix_redemptions_status_created", "status", "created_at"),
        Index("ix_redemptions_advocate_reward", "advocate_id", "reward_id", "status"),
        Index("ix_redemptions_reward_status", "reward_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"))
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"))
    points: Mapped[int] = mapped_column(Integer)
    status: Mapped[RedemptionStatus] = mapped_column(str_enum(RedemptionStatus, 16, "redemption_status"))
    note: Mapped[str | None] = mapped_column(String(500))
    reason: Mapped[str | None] = mapped_column(String(500))
    fulfil_note: Mapped[str | None] = mapped_column(String(500))
    # Where a reward that needs shipping goes: seen by staff and the advocate only, exported
    # and erased with the advocate (rewards.privacy).
    shipping_address: Mapped[str | None] = mapped_column(String(SHIPPING_ADDRESS_MAX))
    client_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    fulfilled_at: Mapped[dt.datetime | None]
    fulfilled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[dt.datetime | None]

    reward: Mapped[Reward] = relationship()
    advocate: Mapped[Advocate] = relationship()
