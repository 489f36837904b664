"""Column layouts of the tables the activity simulation fills (rows are plain tuples in this order)."""

from __future__ import annotations

COMPLETION_COLUMNS = (
    "id",
    "challenge_id",
    "advocate_id",
    "status",
    "evidence_url",
    "evidence_text",
    "answers",
    "points_offered",
    "points_awarded",
    "reason",
    "verification_note",
    "fetched_excerpt",
    "verification_attempts",
    "source_key",
    "submitted_at",
    "verifying_started_at",
    "decided_at",
    "decided_by_id",
    "is_auto_approved",
)

LEDGER_COLUMNS = (
    "id",
    "advocate_id",
    "delta",
    "kind",
    "source_type",
    "source_id",
    "memo",
    "created_at",
    "created_by_id",
)

ASK_COLUMNS = ("id", "advocate_id", "kind", "source_type", "source_id", "asked_at", "cancelled_at")

REDEMPTION_COLUMNS = (
    "id",
    "reward_id",
    "advocate_id",
    "points",
    "status",
    "note",
    "reason",
    "fulfil_note",
    "client_key",
    "created_at",
    "updated_at",
    "decided_at",
    "decided_by_id",
    "fulfilled_at",
    "fulfilled_by_id",
    "cancelled_at",
)

REFERRAL_COLUMNS = (
    "id",
    "advocate_id",
    "name",
    "email",
    "email_key",
    "claimed_email_key",
    "company",
    "title",
    "notes",
    "consent",
    "status",
    "flag_reason",
    "flag_reviewed_at",
    "challenge_id",
    "completion_id",
    "no_points_reason",
    "points",
    "bonus_points",
    "created_at",
    "opportunity_at",
    "won_at",
)

REQUEST_COLUMNS = (
    "id",
    "requested_by_id",
    "prospect_company",
    "industry",
    "company_size",
    "region",
    "use_case",
    "stage",
    "deal_amount",
    "currency",
    "needed_by",
    "format",
    "topics",
    "opportunity_external_id",
    "status",
    "advocate_id",
    "created_at",
    "matched_at",
    "accepted_at",
    "completed_at",
    "unfilled_at",
    "unfilled_note",
    "alternatives",
    "feedback_rating",
    "feedback_notes",
    "feedback_helped",
    "feedback_by_id",
    "completion_id",
    "points_note",
)

ASSIGNMENT_COLUMNS = ("id", "request_id", "advocate_id", "assigned_by_id", "status", "asked_at", "responded_at")

TIER_CHANGE_COLUMNS = ("id", "advocate_id", "from_tier", "to_tier", "changed_at")
