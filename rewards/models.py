"""Ledger entries, leaderboard scores, tier changes and badges."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import str_enum, utcnow
from hub.extensions import db
from hub.models import Advocate, Tier


class EntryKind(enum.StrEnum):
    EARN = "earn"
    BONUS = "bonus"
    REDEEM = "redeem"
    REFUND = "refund"
    ADJUST = "adjust"
    EXPIRE = "expire"


# Positive entries of these kinds raise lifetime points (and leaderboard scores).
LIFETIME_KINDS = frozenset({EntryKind.EARN, EntryKind.BONUS, EntryKind.ADJUST})


class LedgerEntry(db.Model):
    """Append-only. Written only by rewards.ledger; never updated or deleted."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("advocate_id", "kind", "source_type", "source_id", name="uq_ledger_source"),
        Index("ix_ledger_entries_advocate_created", "advocate_id", "created_at"),
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

    advocate: Mapped[Advocate] = relationship()


class LeaderboardScore(db.Model):
    """Points per (period, advocate): the indexed SQL leaderboard, kept in the ledger's transaction."""

    __tablename__ = "leaderboard_scores"
    __table_args__ = (Index("ix_leaderboard_scores_period_points", "period_key", "points", "advocate_id"),)

    period_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    advocate_id: Mapped[int] = mapped_column(
        ForeignKey("advocates.id", ondelete="CASCADE"), primary_key=True
    )
    points: Mapped[int] = mapped_column(BigInteger, default=0)


class TierChange(db.Model):
    __tablename__ = "tier_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"), index=True)
    from_tier: Mapped[Tier] = mapped_column(str_enum(Tier, 16, "from_tier"))
    to_tier: Mapped[Tier] = mapped_column(str_enum(Tier, 16, "to_tier"))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AdvocateBadge(db.Model):
    __tablename__ = "advocate_badges"
    __table_args__ = (UniqueConstraint("advocate_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    awarded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
