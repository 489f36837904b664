"""Advocacy scores (one row per email, updated by re-imports), their CSV imports (a job with
progress), and nominations of customer contacts."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import str_enum, utcnow
from hub.extensions import Model


class AdvocacyScore(Model):
    """A customer contact's signals and the §2 score derived from them; `email` is lower-case."""

    __tablename__ = "advocacy_scores"
    __table_args__ = (Index("ix_advocacy_scores_score", "score", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    company: Mapped[str | None] = mapped_column(String(160))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    nps: Mapped[int | None] = mapped_column(Integer)
    feature_adoption_pct: Mapped[float | None] = mapped_column(Numeric(5, 2))
    health_score: Mapped[float | None] = mapped_column(Numeric(5, 2))
    tenure_months: Mapped[int | None] = mapped_column(Integer)
    social_mentions: Mapped[int | None] = mapped_column(Integer)
    responded_before: Mapped[bool] = mapped_column(Boolean, default=False)
    score: Mapped[int] = mapped_column(Integer)
    qualified: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    invited_at: Mapped[dt.datetime | None]
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ScoreImportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ScoreImport(Model):
    """An uploaded advocacy-score CSV, imported batch by batch by a job that records progress."""

    __tablename__ = "score_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    csv_text: Mapped[str] = mapped_column(Text)
    status: Mapped[ScoreImportStatus] = mapped_column(
        str_enum(ScoreImportStatus, 16, "score_import_status"), default=ScoreImportStatus.QUEUED
    )
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    # where the next batch starts in csv_text (a character offset; 0: after the header), so a
    # batch reads its own rows instead of the file from the top
    resume_offset: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    imported_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else min(100, self.processed_rows * 100 // self.total_rows)


class NominationStatus(enum.StrEnum):
    NOMINATED = "nominated"
    INVITED = "invited"
    DECLINED = "declined"


class Nomination(Model):
    """A customer contact nominated by sales or staff; at most one open nomination per email
    (a partial unique index), decided by a manager: approved → invitation, or declined."""

    __tablename__ = "nominations"
    __table_args__ = (
        Index(
            "uq_nominations_open_email",
            "email",
            unique=True,
            postgresql_where=text("status = 'nominated'"),
            sqlite_where=text("status = 'nominated'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(120))
    company: Mapped[str] = mapped_column(String(160))
    title: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[NominationStatus] = mapped_column(
        str_enum(NominationStatus, 16, "nomination_status"), default=NominationStatus.NOMINATED
    )
    nominated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
