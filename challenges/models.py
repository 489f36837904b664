"""Challenges, completions and asks (the unit the caps policy counts)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import str_enum, utcnow
from hub.extensions import Model, db
from hub.models import Advocate, Group


class Effort(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ChallengeStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"
    ARCHIVED = "archived"


class CompletionStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    VERIFYING = "verifying"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"


# Completions that still hold a place: they count against max_per_advocate and max_total.
IN_FLIGHT = (CompletionStatus.SUBMITTED, CompletionStatus.VERIFYING, CompletionStatus.PENDING_REVIEW)
UNDECIDED = IN_FLIGHT
COUNTING = (*IN_FLIGHT, CompletionStatus.APPROVED)


class AskKind(enum.StrEnum):
    """What the caps policy counts: reference calls and medium/high-effort completions."""

    REFERENCE_CALL = "reference_call"
    MEDIUM = "medium"
    HIGH = "high"


challenge_groups = Table(
    "challenge_groups",
    db.Model.metadata,
    Column("challenge_id", ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_challenge_groups_group_id", "group_id"),
)


class Challenge(Model):
    """A thing advocates can do for points. `type` and `verification` are keys of the
    registry in challenges.verifiers (plain strings, so adding a type needs no migration)."""

    __tablename__ = "challenges"
    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("bonus_points >= 0", name="bonus_non_negative"),
        CheckConstraint("cooldown_days >= 0", name="cooldown_non_negative"),
        CheckConstraint("max_per_advocate >= 1", name="max_per_advocate_positive"),
        CheckConstraint("retry_limit >= 1", name="retry_limit_positive"),
        CheckConstraint("retry_wait_hours >= 0", name="retry_wait_non_negative"),
        CheckConstraint("max_total IS NULL OR max_total >= 1", name="max_total_positive"),
        Index("ix_challenges_status_starts", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(160))
    type: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    points: Mapped[int] = mapped_column(Integer)
    bonus_points: Mapped[int] = mapped_column(Integer, default=0)
    question_id: Mapped[int | None] = mapped_column(Integer)
    effort: Mapped[Effort] = mapped_column(str_enum(Effort, 16))
    verification: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    allowed_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    marker: Mapped[str | None] = mapped_column(String(200))
    quiz: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cooldown_days: Mapped[int] = mapped_column(Integer, default=0)
    max_per_advocate: Mapped[int] = mapped_column(Integer, default=1)
    # Tries after rejections (issue 19): `retry_limit` rejected tries in a row, then a wait of
    # `retry_wait_hours` from the last of them before the next round (feed.retry_block).
    retry_limit: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    retry_wait_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    max_total: Mapped[int | None] = mapped_column(Integer)
    starts_at: Mapped[dt.datetime | None]
    ends_at: Mapped[dt.datetime | None]
    target_tiers: Mapped[list[str]] = mapped_column(JSON, default=list)
    # review challenges (product.md §15): the review site and the disclosure the advocate includes
    platform: Mapped[str | None] = mapped_column(String(16))
    disclosure: Mapped[str | None] = mapped_column(String(500))
    # The card's optional banner, a key of verifiers.BANNERS (NULL: no banner).
    banner: Mapped[str | None] = mapped_column(String(32))
    # With "file" among `evidence`: the kinds of file taken, of hub.uploads.FAMILIES ("image",
    # "pdf"); NULL or empty: both.
    file_kinds: Mapped[list[str] | None] = mapped_column(JSON)
    status: Mapped[ChallengeStatus] = mapped_column(str_enum(ChallengeStatus, 16), default=ChallengeStatus.DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    published_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    archived_at: Mapped[dt.datetime | None]

    target_groups: Mapped[list[Group]] = relationship(secondary=challenge_groups, lazy="selectin")


# Rows per challenge in `challenge_places`: completions of different advocates add to different
# rows, so parallel submissions of one popular challenge do not queue on one counter row.
PLACE_SHARDS = 8


class ChallengePlaces(Model):
    """Places taken per challenge: its completions that count (COUNTING: in flight or approved),
    the sum over the challenge's rows (one per shard = advocate_id % PLACE_SHARDS). Kept by
    database triggers on `completions` in the transaction that inserts, deletes or changes the
    status or challenge of a completion — whatever the writer (a request, a job, a bulk UPDATE,
    an erasure). `flask challenges rebuild-places` recounts them. A challenge nobody has taken
    yet has no rows (0). A shard alone means nothing (it may even go below 0 if a completion
    ever moved to another advocate); only the sum per challenge is the count."""

    __tablename__ = "challenge_places"

    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    taken: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Completion(Model):
    """One advocate's attempt at a challenge; its status is what the htmx chip polls.

    At most one undecided completion per (challenge, advocate) — a partial unique index —
    so parallel identical submissions collapse into one.
    """

    __tablename__ = "completions"
    __table_args__ = (
        UniqueConstraint("challenge_id", "source_key", name="uq_completions_challenge_source"),
        Index(
            "uq_completions_one_open",
            "challenge_id",
            "advocate_id",
            unique=True,
            postgresql_where=text("status IN ('submitted', 'verifying', 'pending_review')"),
            sqlite_where=text("status IN ('submitted', 'verifying', 'pending_review')"),
        ),
        Index("ix_completions_advocate_challenge", "advocate_id", "challenge_id"),
        Index("ix_completions_status_submitted", "status", "submitted_at"),
        # The hub's program activity: approvals of the last week (challenges.services.activity).
        Index("ix_completions_status_decided", "status", "decided_at"),
        # Places taken of a challenge with a total limit (feed, submit): an index-only count.
        Index("ix_completions_challenge_status", "challenge_id", "status"),
        # Trust signals (challenges.trust): an advocate's recent submissions, and who else sent
        # the same answer text — indexed look-ups, never a scan of history.
        Index("ix_completions_advocate_submitted", "advocate_id", "submitted_at"),
        Index("ix_completions_text_digest", "text_digest"),
        # The reports' approved acts by when they were approved (challenges.reports): a range of
        # approval times read from the index alone.
        Index(
            "ix_completions_approved_decided",
            "decided_at",
            "advocate_id",
            "challenge_id",
            postgresql_where=text("status = 'approved'"),
            sqlite_where=text("status = 'approved'"),
        ),
        CheckConstraint("points_offered >= 0", name="points_offered_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"))
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"))
    status: Mapped[CompletionStatus] = mapped_column(str_enum(CompletionStatus, 16), default=CompletionStatus.SUBMITTED)
    evidence_url: Mapped[str | None] = mapped_column(String(2000))
    evidence_text: Mapped[str | None] = mapped_column(Text)
    answers: Mapped[list[Any] | None] = mapped_column(JSON)
    # The challenge's points when the advocate submitted: what approval awards (I6).
    points_offered: Mapped[int] = mapped_column(Integer)
    points_awarded: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(1000))
    verification_note: Mapped[str | None] = mapped_column(String(1000))
    fetched_excerpt: Mapped[str | None] = mapped_column(Text)
    verification_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Set by automatic completions (community answers, referrals, reference calls): the
    # event that created it, so a repeated event never creates a second completion.
    source_key: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    verifying_started_at: Mapped[dt.datetime | None]
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    is_auto_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why no verifier may approve it on its own (a duplicate evidence URL): it goes to review.
    hold_reason: Mapped[str | None] = mapped_column(String(500))
    # sha256 of the normalised evidence text and free-text answers (repeated-answer signal).
    text_digest: Mapped[str | None] = mapped_column(String(64))
    # A review's disclosure as the advocate was shown it when submitting (the incentive log).
    disclosure_shown: Mapped[str | None] = mapped_column(String(500))

    challenge: Mapped[Challenge] = relationship()
    advocate: Mapped[Advocate] = relationship()


class EvidenceFile(Model):
    """The file an advocate uploaded as a completion's evidence (issue 19), one per completion.
    The bytes live under VOUCH_UPLOAD_DIR/evidence/<storage_key> (hub.uploads): a random name,
    never the sender's; `name` is their file name cleaned, for display only; `sha256` and
    `size_bytes` are of the stored bytes (images are stored re-written without metadata)."""

    __tablename__ = "evidence_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    completion_id: Mapped[int] = mapped_column(ForeignKey("completions.id", ondelete="CASCADE"), unique=True)
    storage_key: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EvidenceClaim(Model):
    """The first completion to use an evidence URL (normalised, hashed). Its primary key makes
    the database decide between two parallel submissions of one URL: the second finds the claim
    taken and, if another advocate holds it, is held for review (product.md §15)."""

    __tablename__ = "evidence_claims"

    url_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    completion_id: Mapped[int] = mapped_column(ForeignKey("completions.id", ondelete="CASCADE"), index=True)
    claimed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# Rows of act_day_totals per (day, type): an advocate's approvals always land in the same one of
# this many, so concurrent approvals for different advocates seldom wait on one row.
ACT_TOTAL_SHARDS = 8
# product.md §11: an advocate is active with an approval in the last 90 days (ActiveSpell).
ACTIVE_SPELL_GAP = dt.timedelta(days=90)


class ActDayTotal(Model):
    """Approved completions per UTC day (of approval) and challenge type, counted by
    challenges.services.approve_completion in the approval's transaction — the reports' acts,
    reviews and review velocity read these instead of scanning completions. Rebuilt from the
    completions by `challenges.services.act_tallies.rebuild_act_totals`."""

    __tablename__ = "act_day_totals"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    challenge_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The review platform (Challenge.platform) for a review, "" otherwise: review velocity per platform.
    platform: Mapped[str] = mapped_column(String(16), primary_key=True, default="")
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    acts: Mapped[int] = mapped_column(BigInteger, default=0)


class CompletionDayTotal(Model):
    """Completions per challenge and UTC day of *submission* (the reports' per-challenge table
    is a cohort of completions submitted in the period): how many were submitted, approved and
    rejected, the points awarded on approval and the active asks they hold. Kept by
    challenges.services.completion_tallies in the transaction of each change (submission,
    decision, an ask claimed or released); rebuilt from the completions by
    `completion_tallies.rebuild_completion_totals`."""

    __tablename__ = "completion_day_totals"

    # Day first in the key: the reports read a range of days for every challenge.
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    completions: Mapped[int] = mapped_column(BigInteger, default=0)
    approved: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    points_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    asks_spent: Mapped[int] = mapped_column(BigInteger, default=0)


class ApprovalHourCount(Model):
    """A histogram of time to approve per challenge and UTC day of submission: how many of the
    completions submitted that day were approved after `hours` whole hours (decided_at −
    submitted_at, rounded down). The per-challenge median time to approve is read from it, so it
    is exact to the hour. Kept and rebuilt with CompletionDayTotal."""

    __tablename__ = "approval_hour_counts"

    # Day first in the key: the reports read a range of days for every challenge.
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    hours: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    approvals: Mapped[int] = mapped_column(BigInteger, default=0)


# Rows per (group, day) of the group tallies, by advocate id: a group's members submitting on
# the same day do not queue on one row.
GROUP_TOTAL_SHARDS = 8


class GroupTallyMember(Model):
    """The group memberships the group tallies (GroupDayTotal, GroupApprovalHourCount) include:
    hub's `advocate_groups` as the tallies last followed it. An advocate's change of groups is
    followed in the changing transaction (challenges.services.group_tallies.follow_memberships:
    a group joined gets the advocate's whole history of completions, a group left loses it), so
    the per-group table counts each completion for the groups its advocate is in *now*."""

    __tablename__ = "group_tally_members"

    advocate_id: Mapped[int] = mapped_column(
        ForeignKey("advocates.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )


class GroupDayTotal(Model):
    """CompletionDayTotal's figures per group of advocates (membership now, GroupTallyMember),
    UTC day of submission and shard (advocate id mod GROUP_TOTAL_SHARDS). Kept by
    challenges.services.group_tallies with the per-challenge tallies in the transaction of each
    change, and when an advocate's groups change; rebuilt by `group_tallies.rebuild_group_totals`."""

    __tablename__ = "group_day_totals"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    completions: Mapped[int] = mapped_column(BigInteger, default=0)
    approved: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    points_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    asks_spent: Mapped[int] = mapped_column(BigInteger, default=0)


class GroupApprovalHourCount(Model):
    """ApprovalHourCount per group (membership now), UTC day of submission, whole hours to
    approve and shard: the per-group median time to approve, exact to the hour. Kept and rebuilt
    with GroupDayTotal."""

    __tablename__ = "group_approval_hour_counts"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    hours: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    approvals: Mapped[int] = mapped_column(BigInteger, default=0)


# One of these many rows per day holds an ask's count (by advocate id), so claims for different
# advocates on the same day do not queue on one row.
ASK_TOTAL_SHARDS = 8


class AskDayTotal(Model):
    """Asks made per UTC day (of `asked_at`) and shard that are not cancelled, kept by
    challenges.caps in the ask's transaction (`claim_ask` adds one, `release_ask` takes the
    released ones off their day) — the asks trend reads these instead of counting the asks.
    Rebuilt from the asks by `challenges.caps.rebuild_ask_day_totals`."""

    __tablename__ = "ask_day_totals"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    asks: Mapped[int] = mapped_column(BigInteger, default=0)


class ActiveAdvocatePeriod(Model):
    """An advocate had at least one completion approved in a calendar month (`span` 1) or quarter
    (`span` 3) starting on `starts` (UTC, by the time of approval). Inserted once (ON CONFLICT DO
    NOTHING) by challenges.services.act_tallies in the approval's transaction; the reports count
    active advocates per month and quarterly participation from these (with ActiveAdvocateTotal)
    instead of counting distinct advocates over the approvals."""

    __tablename__ = "active_advocate_periods"

    span: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    starts: Mapped[dt.date] = mapped_column(primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"), primary_key=True)


class ActiveSpell(Model):
    """A run of an advocate's approvals (by time of approval) in which no two consecutive ones are
    more than ACTIVE_SPELL_GAP (90 days) apart: `started_at` is its first approval, `last_at` its
    last. An advocate had a completion approved in the 90 days before a moment T exactly when one
    of their spells has `started_at < T <= last_at + 90 days` (a gap inside a spell is never
    longer than the window). Kept by challenges.services.act_tallies in the approval's
    transaction (under the advocate's row lock); the activation rate counts these."""

    __tablename__ = "active_spells"
    __table_args__ = (
        Index("ix_active_spells_last_started", "last_at", "started_at"),
        # A run ends no earlier than it starts: the reports find the spells started on a day
        # among those with last_at on or after it (ActiveSpellDayTotal, the index above).
        CheckConstraint("last_at >= started_at", name="last_not_before_start"),
    )

    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(primary_key=True)
    last_at: Mapped[dt.datetime]


class ActiveSpellDayTotal(Model):
    """How many spells (ActiveSpell) start and how many end (their last approval) on each UTC
    day, per shard of advocate ids (concurrent approvals of different advocates seldom share a
    row). Active advocates at T = spells started before T − spells whose last approval is before
    T − 90 days (such a spell started before T too), so the activation figure is two sums of
    these rows and the part of one day read from the spells' index. Kept by
    challenges.services.act_tallies in the transaction that inserts or deletes the spells (under
    the advocate's row lock); rebuilt with them (`act_tallies.rebuild_spells`)."""

    __tablename__ = "active_spell_day_totals"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # Spells whose started_at falls on `day`.
    starts: Mapped[int] = mapped_column(BigInteger, default=0)
    # Spells whose last_at falls on `day`.
    lasts: Mapped[int] = mapped_column(BigInteger, default=0)


class ActiveAdvocateTotal(Model):
    """How many ActiveAdvocatePeriod rows each (span, starts) has, per shard of advocate ids (the
    shards keep concurrent approvals of different advocates off one hot row); added to in the
    transaction that inserts the row."""

    __tablename__ = "active_advocate_totals"

    span: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    starts: Mapped[dt.date] = mapped_column(primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    advocates: Mapped[int] = mapped_column(BigInteger, default=0)


class Ask(Model):
    """A request on an advocate's time, counted by challenges.caps. One per source event."""

    __tablename__ = "asks"
    __table_args__ = (
        UniqueConstraint("source_type", "source_id", name="uq_asks_source"),
        Index("ix_asks_advocate_asked", "advocate_id", "asked_at"),
        # The burnout report's total of asks (challenges.reports.people): the asks of the two
        # part days at a 365-day window's ends, and those released since a past period's end
        # (which the per-day totals no longer count), each from its index alone on PostgreSQL.
        Index("ix_asks_asked_at", "asked_at", postgresql_include=["cancelled_at"]),
        Index(
            "ix_asks_cancelled_at",
            "cancelled_at",
            postgresql_include=["asked_at"],
            postgresql_where=text("cancelled_at IS NOT NULL"),
            sqlite_where=text("cancelled_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("advocates.id"))
    kind: Mapped[AskKind] = mapped_column(str_enum(AskKind, 16, "ask_kind"))
    source_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(64))
    asked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[dt.datetime | None]
