"""Referrals: an advocate's referral of a peer, its status and why it was flagged."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from challenges.models import Completion  # noqa: F401  (the FK targets' tables)
from hub.db import str_enum, utcnow
from hub.extensions import Model
from hub.models import Advocate


class ReferralStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    OPPORTUNITY = "opportunity"
    WON = "won"
    FLAGGED = "flagged"


class FlagReason(enum.StrEnum):
    SELF_REFERRAL = "self_referral"
    EXISTING_USER = "existing_user"
    ALREADY_REFERRED = "already_referred"


class Referral(Model):
    """An advocate's referral of a peer.

    `email_key` is the case- and +tag-insensitive form of the email; `claimed_email_key`
    carries it only on the first referral of that key, and its unique index is what makes a
    second referral of the same person a flagged duplicate, even when both arrive at once.
    """

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("claimed_email_key", name="uq_referrals_claimed_email_key"),
        Index("ix_referrals_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254), index=True)
    claimed_email_key: Mapped[str | None] = mapped_column(String(254))
    company: Mapped[str] = mapped_column(String(160))
    title: Mapped[str | None] = mapped_column(String(120))
    notes: Mapped[str | None] = mapped_column(Text)
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[ReferralStatus] = mapped_column(
        str_enum(ReferralStatus, 16, "referral_status"), default=ReferralStatus.SUBMITTED
    )
    flag_reason: Mapped[FlagReason | None] = mapped_column(str_enum(FlagReason, 24, "referral_flag"))
    flag_reviewed_at: Mapped[dt.datetime | None]
    challenge_id: Mapped[int | None] = mapped_column(ForeignKey("challenges.id"))
    completion_id: Mapped[int | None] = mapped_column(ForeignKey("completions.id"), index=True)
    no_points_reason: Mapped[str | None] = mapped_column(String(300))
    # Points offered when the referral was made (awarded later, at the offered price).
    points: Mapped[int] = mapped_column(Integer, default=0)
    bonus_points: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    opportunity_at: Mapped[dt.datetime | None]
    won_at: Mapped[dt.datetime | None]

    advocate: Mapped[Advocate] = relationship()

    @property
    def is_flagged(self) -> bool:
        return self.flag_reason is not None
