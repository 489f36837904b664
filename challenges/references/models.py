"""Reference requests (a sales user's ask for a customer reference) and the asks of advocates for them."""

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
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from challenges.models import Completion  # noqa: F401  (the FK targets' tables)
from hub.db import Money, str_enum, utcnow
from hub.extensions import Model
from hub.models import Advocate, User


class RequestStatus(enum.StrEnum):
    OPEN = "open"
    MATCHED = "matched"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    UNFILLED = "unfilled"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        """What a sales user reads for this status (a tab, a chip)."""
        return _STATUS_LABELS[self]

    @property
    def explained(self) -> str:
        """The status with what it means for the sales user (the request's status chip)."""
        return _STATUS_EXPLAINED[self]


_STATUS_LABELS = {
    RequestStatus.OPEN: "Open",
    RequestStatus.MATCHED: "Advocate asked",
    RequestStatus.ACCEPTED: "Accepted",
    RequestStatus.COMPLETED: "Completed",
    RequestStatus.UNFILLED: "Unfilled",
    RequestStatus.CANCELLED: "Withdrawn",
}
_STATUS_EXPLAINED = {
    RequestStatus.OPEN: "Open — finding an advocate",
    RequestStatus.MATCHED: "Advocate asked — waiting for their answer",
    RequestStatus.ACCEPTED: "Accepted — contact details below",
    RequestStatus.COMPLETED: "Completed",
    RequestStatus.UNFILLED: "Unfilled",
    RequestStatus.CANCELLED: "Withdrawn by the sales team",
}

# Requests the sales user who filed them (or staff) may still withdraw: nobody has agreed yet.
WITHDRAWABLE = frozenset({RequestStatus.OPEN, RequestStatus.MATCHED})


class Stage(enum.StrEnum):
    EVALUATION = "evaluation"
    POC = "poc"
    NEGOTIATION = "negotiation"

    @property
    def label(self) -> str:
        """The deal stage as sales says it ("Proof of concept", not "poc")."""
        return {"evaluation": "Evaluation", "poc": "Proof of concept", "negotiation": "Negotiation"}[self.value]


class CallFormat(enum.StrEnum):
    PHONE = "phone"
    VIDEO = "video"
    EMAIL = "email"

    @property
    def label(self) -> str:
        """The format as a form option or a fact ("Video call")."""
        return {"phone": "Phone call", "video": "Video call", "email": "Email exchange"}[self.value]


class AssignmentStatus(enum.StrEnum):
    ASKED = "asked"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    COMPLETED = "completed"

    @property
    def label(self) -> str:
        """The advocate's answer as staff read it in a request's history."""
        return self.value.capitalize()


class ReferenceRequest(Model):
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


class ReferenceAssignment(Model):
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
