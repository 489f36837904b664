"""Reference requests and their asks, referrals, CRM opportunities, attribution tables, webhooks."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from challenges.models import Completion  # noqa: F401  (the FK targets' tables)
from hub.db import str_enum, utcnow
from hub.extensions import db
from hub.models import Advocate, User

Money = Numeric(18, 2)


class RequestStatus(enum.StrEnum):
    OPEN = "open"
    MATCHED = "matched"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    UNFILLED = "unfilled"
    CANCELLED = "cancelled"


class Stage(enum.StrEnum):
    EVALUATION = "evaluation"
    POC = "poc"
    NEGOTIATION = "negotiation"


class CallFormat(enum.StrEnum):
    PHONE = "phone"
    VIDEO = "video"
    EMAIL = "email"


class AssignmentStatus(enum.StrEnum):
    ASKED = "asked"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    COMPLETED = "completed"


class ReferenceRequest(db.Model):
    """A sales user's ask for a customer reference; at most one live assignment at a time."""

    __tablename__ = "reference_requests"
    __table_args__ = (
        CheckConstraint("deal_amount IS NULL OR deal_amount >= 0", name="deal_amount_non_negative"),
        CheckConstraint("feedback_rating IS NULL OR (feedback_rating BETWEEN 1 AND 5)", name="rating_range"),
        Index("ix_reference_requests_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    prospect_company: Mapped[str] = mapped_column(String(160))
    industry: Mapped[str] = mapped_column(String(80))
    company_size: Mapped[str] = mapped_column(String(16))
    region: Mapped[str | None] = mapped_column(String(80))
    use_case: Mapped[str] = mapped_column(String(200))
    stage: Mapped[Stage] = mapped_column(str_enum(Stage, 16, "reference_stage"))
    deal_amount: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    needed_by: Mapped[dt.date] = mapped_column(Date)
    format: Mapped[CallFormat] = mapped_column(str_enum(CallFormat, 16, "reference_format"))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    opportunity_external_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, 16, "reference_status"), default=RequestStatus.OPEN
    )
    advocate_id: Mapped[int | None] = mapped_column(ForeignKey("advocates.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    matched_at: Mapped[dt.datetime | None]
    accepted_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    unfilled_at: Mapped[dt.datetime | None]
    unfilled_note: Mapped[str | None] = mapped_column(String(500))
    alternatives: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    feedback_rating: Mapped[int | None] = mapped_column(Integer)
    feedback_notes: Mapped[str | None] = mapped_column(Text)
    feedback_helped: Mapped[bool | None] = mapped_column(Boolean)
    feedback_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    completion_id: Mapped[int | None] = mapped_column(ForeignKey("completions.id"))
    points_note: Mapped[str | None] = mapped_column(String(300))

    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    advocate: Mapped[Advocate | None] = relationship(foreign_keys=[advocate_id])

    @property
    def contact_visible(self) -> bool:
        """Sales sees the advocate's contact details only once the advocate accepted."""
        return self.status in (RequestStatus.ACCEPTED, RequestStatus.COMPLETED) and self.advocate_id is not None


class ReferenceAssignment(db.Model):
    """One ask of one advocate for one request (an advocate is asked at most once per request).

    While `asked` or `accepted` it holds a `reference_call` ask in challenges.caps, claimed with
    source ("reference_assignment", id) and released on decline.
    """

    __tablename__ = "reference_assignments"
    __table_args__ = (
        UniqueConstraint("request_id", "advocate_id"),
        Index("ix_reference_assignments_advocate_asked", "advocate_id", "asked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("reference_requests.id", ondelete="CASCADE"))
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[AssignmentStatus] = mapped_column(
        str_enum(AssignmentStatus, 16, "assignment_status"), default=AssignmentStatus.ASKED
    )
    asked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[dt.datetime | None]

    request: Mapped[ReferenceRequest] = relationship()
    advocate: Mapped[Advocate] = relationship()


class ReferralStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    OPPORTUNITY = "opportunity"
    WON = "won"
    FLAGGED = "flagged"


class FlagReason(enum.StrEnum):
    SELF_REFERRAL = "self_referral"
    EXISTING_USER = "existing_user"
    ALREADY_REFERRED = "already_referred"


class Referral(db.Model):
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
    completion_id: Mapped[int | None] = mapped_column(ForeignKey("completions.id"))
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


class Opportunity(db.Model):
    """A CRM opportunity, upserted by `external_id` from the API or a CSV import."""

    __tablename__ = "opportunities"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    account: Mapped[str] = mapped_column(String(160))
    account_key: Mapped[str] = mapped_column(String(160), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    stage: Mapped[str] = mapped_column(String(80))
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    is_won: Mapped[bool] = mapped_column(Boolean, default=False)
    created_date: Mapped[dt.date] = mapped_column(Date)
    close_date: Mapped[dt.date | None] = mapped_column(Date)
    # Touches count for a closed deal only if they happened before this instant (the start
    # of the day after close_date, UTC); NULL while the deal is open.
    close_cutoff_at: Mapped[dt.datetime | None]
    cycle_days: Mapped[int | None] = mapped_column(Integer)
    contact_emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    reference_request_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    won_at: Mapped[dt.datetime | None]
    # Bumped by every upsert; names the tally job of each version (a later event is never
    # coalesced into a job that already read the earlier one).
    version: Mapped[int] = mapped_column(Integer, default=1)

    referral: Mapped[Referral | None] = relationship()


class OpportunityReference(db.Model):
    """Links a reference request to an opportunity by external id (from either side)."""

    __tablename__ = "opportunity_references"

    opportunity_external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reference_request_id: Mapped[int] = mapped_column(
        ForeignKey("reference_requests.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TouchKind(enum.StrEnum):
    REFERRAL = "referral"
    REFERENCE_CALL = "reference_call"
    SAME_ACCOUNT = "same_account"


class AttributionTouch(db.Model):
    """Derived: an advocate act on an opportunity before it closed. Rebuilt by the tally."""

    __tablename__ = "attribution_touches"

    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"), primary_key=True, index=True)
    kind: Mapped[TouchKind] = mapped_column(str_enum(TouchKind, 16, "touch_kind"), primary_key=True)
    touched_at: Mapped[dt.datetime]


class AttributionCredit(db.Model):
    """Derived: one advocate's credit on one opportunity. Sourced = the whole amount to the
    referrer; influenced = the amount split equally among the touching advocates (cent
    remainders to the lowest advocate ids), so a deal's influenced credits sum to its amount."""

    __tablename__ = "attribution_credits"

    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"), primary_key=True, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    is_closed: Mapped[bool] = mapped_column(Boolean)
    is_won: Mapped[bool] = mapped_column(Boolean)
    sourced_amount: Mapped[Decimal] = mapped_column(Money)
    influenced_amount: Mapped[Decimal] = mapped_column(Money)


class DealThanks(db.Model):
    """Once per (won deal, advocate): the 'your reference helped win …' note was sent."""

    __tablename__ = "deal_thanks"

    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ImportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class CrmImport(db.Model):
    """A CSV import of opportunities, processed by a job that records progress as it goes."""

    __tablename__ = "crm_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    csv_text: Mapped[str] = mapped_column(Text)
    status: Mapped[ImportStatus] = mapped_column(
        str_enum(ImportStatus, 16, "crm_import_status"), default=ImportStatus.QUEUED
    )
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else min(100, self.processed_rows * 100 // self.total_rows)


class WebhookEndpoint(db.Model):
    """An owner-configured receiver of signed event posts (HMAC-SHA256 with `secret`)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(128))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(db.Model):
    """One event for one endpoint; unique per (endpoint, event key) so an event is queued once."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_key"),
        Index("ix_webhook_deliveries_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))
    event_key: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, 16, "delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    replays: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]

    endpoint: Mapped[WebhookEndpoint] = relationship()
