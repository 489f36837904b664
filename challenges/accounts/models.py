"""The per-account summary row the coverage list reads (product.md §13; issue 15's 100 ms
target): what `challenges.accounts.queries.account_rows` computes for one account, stored.

Kept by the transactions that change its inputs (challenges.accounts.summaries), refreshed
daily for readiness that changes with time alone, rebuilt by the full relink."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Money, utcnow
from hub.extensions import Model

# Python orders names by code point (str.casefold() then <); PostgreSQL's "C" collation is
# byte order of UTF-8, which is the same order. SQLite compares bytes already.
SortName = String(320).with_variant(String(320, collation="C"), "postgresql")


class AccountSummary(Model):
    """One live account's advocates, reference-ready advocates, open pipeline, won sourced and
    influenced revenue (program currency, `currency`), last act and whether it is a coverage
    gap. `refreshed_at` (aware UTC) is when the values last changed (a refresh that finds the
    same values writes nothing). Merged and deleted accounts have no row."""

    __tablename__ = "account_summaries"
    __table_args__ = (
        # the coverage list: gaps only, best pipeline first, then name, then id. Scanned backwards
        # for the pipeline order; PostgreSQL sorts each run of equal pipeline by name (an
        # incremental sort), which the page's LIMIT keeps short
        Index(
            "ix_account_summaries_gap_order",
            "open_pipeline",
            "sort_name",
            "account_id",
            postgresql_where=text("is_gap"),
            sqlite_where=text("is_gap"),
        ),
    )

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    sort_name: Mapped[str] = mapped_column(SortName)
    advocates: Mapped[int] = mapped_column(Integer)
    reference_ready: Mapped[int] = mapped_column(Integer)
    open_pipeline: Mapped[Decimal] = mapped_column(Money)
    influenced_won: Mapped[Decimal] = mapped_column(Money)
    sourced_won: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    last_act_at: Mapped[dt.datetime | None]
    is_gap: Mapped[bool] = mapped_column(Boolean)
    refreshed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
