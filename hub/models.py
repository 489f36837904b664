"""Users, advocates, groups, invitations, sessions, API tokens, settings, audit, notifications,
idempotency keys. (The email outbox is hub.email.models.)"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import str_enum, utcnow
from hub.extensions import Model, db


class Role(enum.StrEnum):
    ADVOCATE = "advocate"
    SALES = "sales"
    MANAGER = "manager"
    OWNER = "owner"


STAFF_ROLES = frozenset({Role.MANAGER, Role.OWNER})
ALL_ROLES = frozenset(Role)


class Tier(enum.StrEnum):
    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"


COMPANY_SIZES = ("1-50", "51-200", "201-1000", "1001-5000", "5000+")


class Persona(enum.StrEnum):
    """How an advocate prefers to help (product.md §13): staff-set, shown to the advocate."""

    PUBLIC_CHAMPION = "public_champion"
    PRIVATE_REFERENCE = "private_reference"
    PRODUCT_INFLUENCER = "product_influencer"
    COMMUNITY_CONTRIBUTOR = "community_contributor"
    REVIEW_ADVOCATE = "review_advocate"


class Account(Model):
    """A customer company (product.md §13). `name_key` is the normalized name (hub.account_links)
    that advocates' companies and CRM account names are matched on; `domain` a non-free-mail
    email domain. A merged account keeps its row (so its name and domain still resolve) and
    points at the survivor through `merged_into_id`; nothing else references it."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    name_key: Mapped[str] = mapped_column(String(160), unique=True)
    domain: Mapped[str | None] = mapped_column(String(253), unique=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class User(Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(str_enum(Role, 16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active_user: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    advocate: Mapped[Advocate | None] = relationship(back_populates="user", uselist=False)

    if TYPE_CHECKING:
        # Not a column: the server-side session id hub.accounts sets on the loaded user.
        _session_id: str

    @property
    def advocate_profile(self) -> Advocate:
        """An advocate user's profile: every advocate user has one (hub.accounts.create_user).
        LookupError for a staff user, who has none."""
        if self.advocate is None:
            raise LookupError(f"user {self.id} has no advocate profile")
        return self.advocate

    # Flask-Login protocol: the session stores a server-side session id, not the user id.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.is_active_user

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return getattr(self, "_session_id", "")


advocate_groups = Table(
    "advocate_groups",
    db.Model.metadata,
    Column("advocate_id", ForeignKey("advocates.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_advocate_groups_group_id", "group_id"),
)


class Advocate(Model):
    __tablename__ = "advocates"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_non_negative"),
        CheckConstraint("lifetime_points >= 0", name="lifetime_non_negative"),
        CheckConstraint("trust_score BETWEEN 0 AND 100", name="trust_score_range"),
        # The reports subtract the advocates not counted at a period's end (joined after it,
        # erased) from their tallies (challenges.reports.sql.uncounted_advocates): with id, tier,
        # the erasure mark and the first approval in the index, from the index alone.
        Index(
            "ix_advocates_joined_at",
            "joined_at",
            postgresql_include=["id", "tier", "is_erased", "first_approved_at"],
        ),
        # The program report counts advocates per tier, and finds a changed advocate's tier by
        # id, from the index alone.
        Index("ix_advocates_tier", "tier", "id"),
        # The burnout report counts the asks of the watched advocates one by one (few: see
        # `burnout_watch`), found from this index alone.
        Index(
            "ix_advocates_burnout_watch",
            "id",
            postgresql_include=["joined_at", "is_erased"],
            postgresql_where=text("burnout_watch"),
            sqlite_where=text("burnout_watch"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    title: Mapped[str | None] = mapped_column(String(120))
    company: Mapped[str | None] = mapped_column(String(160))
    industry: Mapped[str | None] = mapped_column(String(80))
    company_size: Mapped[str | None] = mapped_column(String(16))
    region: Mapped[str | None] = mapped_column(String(80))
    # The IANA zone the advocate reads times in (hub.timezones); NULL until they choose one.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    persona: Mapped[Persona | None] = mapped_column(str_enum(Persona, 32, "persona"))
    tier: Mapped[Tier] = mapped_column(str_enum(Tier, 16), default=Tier.BRONZE)
    tier_changed_at: Mapped[dt.datetime | None]
    # Caches of the ledger, updated by SQL expressions in the ledger's own transaction.
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    lifetime_points: Mapped[int] = mapped_column(BigInteger, default=0)
    # Points expiry (rewards.expiry): every credited entry up to this one, in FIFO order (time,
    # then entry id), has its `expire` entry or nothing left, so runs read only the lots after it.
    # Written by the expiry run; cleared by a refund, a credit dated before it (rewards.ledger)
    # and a cache rebuild.
    expiry_settled_at: Mapped[dt.datetime | None]
    expiry_settled_id: Mapped[int | None] = mapped_column(Integer)
    # The earliest (credit time − notice lead) among the advocate's unsettled lots: none of them
    # comes due or into a notice window before the policy's cutoff (now − N) reaches it, so the
    # run skips the advocate until then. NULL = visit at the next run. Written by the run; a
    # credit lowers it, a refund, a cache rebuild and a change of N clear it.
    expiry_watch_from: Mapped[dt.datetime | None]
    show_on_leaderboard: Mapped[bool] = mapped_column(Boolean, default=True)
    available_for_references: Mapped[bool] = mapped_column(Boolean, default=True)
    max_asks_per_quarter: Mapped[int | None] = mapped_column(Integer)
    # The burnout report's watch (challenges.caps, challenges.reports.people.asks_and_burnout_at):
    # set once, never cleared but by a rebuild, when the advocate's asks could put them outside
    # "healthy" at some moment or outside what the per-day totals give — 5 or more asks counted
    # in a 365-day window (written by the claim that finds them), an ask dated before they
    # joined, or their erasure. An advocate without it has at most 4 asks counted at every moment,
    # all made after joining, so the report counts them from the per-day totals alone.
    burnout_watch: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    preferences: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    consent_version: Mapped[str | None] = mapped_column(String(32))
    consented_at: Mapped[dt.datetime | None]
    joined_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[dt.datetime | None]
    # When the advocate's earliest approved completion was approved (their first ActiveSpell's
    # start); NULL before any. Lowered with the spells by challenges.services.act_tallies in the
    # approval's transaction, rebuilt with them. The reports need the approval tallies of an
    # advocate joined after a period's end only when this is before it (a late join set by hand).
    first_approved_at: Mapped[dt.datetime | None]
    is_erased: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # product.md §15: 100 minus the weights of the advocate's uncleared trust signals, written
    # only by hub.trust.recompute_score (a job after the events that feed it). Staff only.
    trust_score: Mapped[int] = mapped_column(Integer, default=100, server_default="100", index=True)

    user: Mapped[User] = relationship(back_populates="advocate")
    groups: Mapped[list[Group]] = relationship(secondary=advocate_groups, back_populates="advocates")

    @property
    def display_name(self) -> str:
        return self.user.name if self.show_on_leaderboard else "Anonymous advocate"


# Shards of TierDayTotal: an advocate's rows go to shard `advocate id mod TIER_DAY_SHARDS`, so
# concurrent joins and tier changes of one day spread over several rows.
TIER_DAY_SHARDS = 8


class TierDayTotal(Model):
    """Per UTC day, tier and shard: the net change that day in the advocates a report counts in
    that tier (hub.tier_totals). An advocate adds 1 to their tier on the day they joined; a tier
    change on a later day moves them (−1 the tier left, +1 the tier reached); an erased advocate's
    whole history is taken back out. So the advocates per tier at midnight starting a day are the
    sums over the days before it, and the sums over every day are the stored tiers of the advocates
    not erased (challenges.reports.people.tiers_at). Kept in the transaction of each join, tier
    change and erasure; rebuilt from the advocates and their tier history by
    `rewards.tier_changes.rebuild_tier_day_totals` (`flask rewards rebuild-caches`)."""

    __tablename__ = "tier_day_totals"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    tier: Mapped[Tier] = mapped_column(str_enum(Tier, 16, "tier_day_total_tier"), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    advocates: Mapped[int] = mapped_column(BigInteger, default=0)


class ConsentAcceptance(Model):
    """One version of the program terms accepted by an advocate (product.md §12): at joining,
    and again at the first login after the owner publishes a new version."""

    __tablename__ = "consent_acceptances"
    __table_args__ = (UniqueConstraint("advocate_id", "version", name="uq_consent_acceptances_advocate_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Group(Model):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    advocates: Mapped[list[Advocate]] = relationship(secondary=advocate_groups, back_populates="groups")


class InviteState(enum.StrEnum):
    """Where an invitation stands: waiting for its person, accepted, past its date, or taken back."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    REVOKED = "revoked"


class Invite(Model):
    """A single-use invitation; the token is stored hashed. Resending replaces the token (the old
    link stops working) and the date; revoking ends it at once (`expires_at` moves to then, so
    every "pending invitation" test — expiry in the future, not used — leaves it out)."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str | None] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(str_enum(Role, 16), default=Role.ADVOCATE)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    # When the link was last emailed (the first send or the latest resend).
    sent_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    def state(self, now: dt.datetime) -> InviteState:
        """The invitation's state at `now` (aware UTC)."""
        if self.used_at is not None:
            return InviteState.ACCEPTED
        if self.revoked_at is not None:
            return InviteState.REVOKED
        return InviteState.PENDING if self.expires_at > now else InviteState.EXPIRED


class PasswordReset(Model):
    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class UserSession(Model):
    """Server-side login sessions: logout and password changes end them for real."""

    __tablename__ = "user_sessions"
    # The shared-IP trust signal (hub.trust) looks up a day's logins from one address.
    __table_args__ = (Index("ix_user_sessions_ip_created", "ip", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))


class TrustSignal(Model):
    """One sign that an advocate may be gaming the program (product.md §15), with its evidence.
    `source_key` names the event that raised it, so a job run twice records it once. Staff clear
    a signal with a reason; a cleared signal no longer lowers the score."""

    __tablename__ = "trust_signals"
    __table_args__ = (
        UniqueConstraint("advocate_id", "kind", "source_key", name="uq_trust_signals_source"),
        Index("ix_trust_signals_advocate_cleared", "advocate_id", "cleared_at"),
        CheckConstraint("weight BETWEEN 0 AND 100", name="weight_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    weight: Mapped[int] = mapped_column(Integer)
    evidence: Mapped[str] = mapped_column(String(1000))
    source_key: Mapped[str] = mapped_column(String(160))
    detected_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    cleared_at: Mapped[dt.datetime | None]
    cleared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cleared_reason: Mapped[str | None] = mapped_column(String(500))


class ApiToken(Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class Setting(Model):
    """Owner-editable program settings; code defaults live in hub.settings."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CacheStamp(Model):
    """A version stamp of something processes cache (hub.stamps): a random token replaced by
    every transaction that changes the cached source, in that same transaction."""

    __tablename__ = "cache_stamps"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    token: Mapped[int] = mapped_column(BigInteger)


class AuditEntry(Model):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    actor: Mapped[User | None] = relationship()


class Notification(Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None]


class IdempotencyKey(Model):
    """A client's `Idempotency-Key`: claimed before the write, answered with the first response."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]
