"""CRM opportunities and their links to reference requests, the attribution tables derived from
them, CSV imports, and outbound webhooks."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from challenges.references.models import ReferenceRequest  # noqa: F401  (a foreign key's table)
from challenges.referrals.models import Referral
from hub.db import Money, str_enum, utcnow
from hub.extensions import Model
from hub.import_runs import ImportRun, ImportStatus


class Opportunity(Model):
    """A CRM opportunity, upserted by `external_id` from the API or a CSV import."""

    __tablename__ = "opportunities"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    account: Mapped[str] = mapped_column(String(160))
    account_key: Mapped[str] = mapped_column(String(160), index=True)
    # The customer account (hub.account_links: by account name, else a contact email's domain).
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    stage: Mapped[str] = mapped_column(String(80))
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    is_won: Mapped[bool] = mapped_column(Boolean, default=False)
    # Indexed: every attribution figure of a period reads the opportunities created in it.
    created_date: Mapped[dt.date] = mapped_column(Date, index=True)
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


class OpportunityReference(Model):
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


class AttributionTouch(Model):
    """Derived: an advocate act on an opportunity before it closed. Rebuilt by the tally."""

    __tablename__ = "attribution_touches"

    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"), primary_key=True, index=True)
    kind: Mapped[TouchKind] = mapped_column(str_enum(TouchKind, 16, "touch_kind"), primary_key=True)
    touched_at: Mapped[dt.datetime]


class AttributionCredit(Model):
    """Derived: one advocate's credit on one opportunity. Sourced = the whole amount to the
    referrer; influenced = the amount split equally among the touching advocates (cent
    remainders to the lowest advocate ids), so a deal's influenced credits sum to its amount."""

    __tablename__ = "attribution_credits"
    __table_args__ = (
        # The per-advocate table of a period (challenges.crm.reports.per_advocate) reads the
        # period's credits from this index alone on PostgreSQL, not every credit joined to its deal.
        Index(
            "ix_attribution_credits_created_date",
            "created_date",
            postgresql_include=[
                "advocate_id",
                "currency",
                "is_closed",
                "is_won",
                "sourced_amount",
                "influenced_amount",
            ],
        ),
    )

    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"), primary_key=True, index=True)
    # The opportunity's created_date as of the tally (the period rule of every attribution figure).
    created_date: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    is_closed: Mapped[bool] = mapped_column(Boolean)
    is_won: Mapped[bool] = mapped_column(Boolean)
    sourced_amount: Mapped[Decimal] = mapped_column(Money)
    influenced_amount: Mapped[Decimal] = mapped_column(Money)


class OpportunityTally(Model):
    """Derived: one row per opportunity, written by the tally with its touches and credits (same
    statements, same transaction), holding what the program report filters and groups on, so a
    period's figures are one range scan of `ix_opportunity_tallies_created_date` (index-only on
    PostgreSQL) — no join of credits to opportunities, no look-up of reference touches.
    `sourced_amount` is the amount when a referral touched the deal (its one referrer's sourced
    credit), `influenced_amount` the amount when any advocate touched it (the sum of its
    influenced credits), else 0; is_closed / is_won / cycle_days are the opportunity's as of the
    tally (as the credits' are)."""

    __tablename__ = "opportunity_tallies"
    __table_args__ = (
        Index(
            "ix_opportunity_tallies_created_date",
            "created_date",
            postgresql_include=[
                "currency",
                "is_closed",
                "is_won",
                "cycle_days",
                "has_reference_call",
                "advocates",
                "sourced_amount",
                "influenced_amount",
            ],
        ),
    )

    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True)
    created_date: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    is_closed: Mapped[bool] = mapped_column(Boolean)
    is_won: Mapped[bool] = mapped_column(Boolean)
    cycle_days: Mapped[int | None] = mapped_column(Integer)
    # An advocate took a reference call for it (an accepted request, before the close).
    has_reference_call: Mapped[bool] = mapped_column(Boolean)
    # The advocates who touched it (its credit rows); 0 = no attribution.
    advocates: Mapped[int] = mapped_column(Integer)
    sourced_amount: Mapped[Decimal] = mapped_column(Money)
    influenced_amount: Mapped[Decimal] = mapped_column(Money)


class DealThanks(Model):
    """Once per (won deal, advocate): the 'your reference helped win …' note was sent."""

    __tablename__ = "deal_thanks"

    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CrmImport(ImportRun, Model):
    """A CSV import of opportunities, processed by a job that records progress as it goes."""

    __tablename__ = "crm_imports"

    status: Mapped[ImportStatus] = mapped_column(
        str_enum(ImportStatus, 16, "crm_import_status"), default=ImportStatus.QUEUED
    )
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    # A recognised CRM export (challenges.crm.export_formats); such an import waits for the
    # user to confirm the column mapping before its job is queued.
    source_format: Mapped[str | None] = mapped_column(String(32))
    awaiting_confirmation: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class WebhookEndpoint(Model):
    """An owner-configured receiver of signed event posts (HMAC-SHA256 with `secret`)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Normalised (challenges.crm.webhooks.normalise_url); one receiver is registered once.
    url: Mapped[str] = mapped_column(String(500), index=True, unique=True)
    secret: Mapped[str] = mapped_column(String(128))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(Model):
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
