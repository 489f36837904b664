"""Challenge rules, one module per concern, re-exported here (`from challenges import services`).

- definitions: the limits of each field and the validation of a challenge definition;
- catalog: the draft → published → closed → archived lifecycle, duplicates, listing;
- feed: targeting, and whether an advocate can take a challenge now (and if not, why/when);
- submissions: submitting (evidence, limits, places, caps) and queueing the verification;
- verification: the verifier's evidence snapshot and its verdict, applied once;
- decisions: approving (points, badges) or rejecting exactly once, alone or in bulk;
- completions: reading completions;
- preferences: the advocate's own caps, breaks and reference availability;
- review: the review queue and the editor's live preview;
- evidence_files: the file a completion carries (checked, stored, served, erased).

Services flush and never commit.
"""

from __future__ import annotations

from challenges.services.catalog import (
    archive_challenge,
    close_challenge,
    completion_stats,
    create_challenge,
    definition_dict,
    duplicate_challenge,
    get_challenge,
    input_from,
    list_challenges,
    publish_challenge,
    update_challenge,
)
from challenges.services.completions import (
    completion_for,
    has_approved_completion,
    list_completions,
    stuck_completions,
)
from challenges.services.decisions import (
    BADGE_STEPS,
    approve_completion,
    auto_complete,
    decide_many,
    reject_completion,
)
from challenges.services.definitions import (
    EDITABLE,
    MAX_DESCRIPTION,
    MAX_EVIDENCE_TEXT,
    MAX_OPTIONS,
    MAX_POINTS,
    MAX_QUESTIONS,
    MAX_REASON,
    MAX_URL,
    ChallengeBody,
    ChallengeInput,
    ChallengePatch,
    challenge_warnings,
    clean_challenge,
)
from challenges.services.evidence_files import SentFile, file_of, files_for
from challenges.services.feed import (
    FeedItem,
    RetryRound,
    feed_for,
    feed_item,
    feed_of,
    is_open,
    is_targeted,
    open_challenges,
    retry_round,
    visible_challenge,
)
from challenges.services.preferences import (
    MAX_BLACKOUTS,
    PreferencesInput,
    add_blackout,
    remove_blackout,
    save_preferences,
)
from challenges.services.review import (
    ReviewItem,
    highlight,
    preview_challenge,
    review_queue,
)
from challenges.services.submissions import (
    EvidenceBody,
    EvidenceInput,
    clean_evidence,
    schedule_verification,
    submit_completion,
)
from challenges.services.verification import (
    apply_verdict,
    apply_verdicts,
    claim_for_verification,
    send_to_review,
    start_verification,
)

__all__ = [
    "BADGE_STEPS",
    "EDITABLE",
    "MAX_BLACKOUTS",
    "MAX_DESCRIPTION",
    "MAX_EVIDENCE_TEXT",
    "MAX_OPTIONS",
    "MAX_POINTS",
    "MAX_QUESTIONS",
    "MAX_REASON",
    "MAX_URL",
    "ChallengeBody",
    "ChallengeInput",
    "ChallengePatch",
    "EvidenceBody",
    "EvidenceInput",
    "FeedItem",
    "PreferencesInput",
    "RetryRound",
    "ReviewItem",
    "SentFile",
    "add_blackout",
    "apply_verdict",
    "apply_verdicts",
    "approve_completion",
    "archive_challenge",
    "auto_complete",
    "challenge_warnings",
    "claim_for_verification",
    "clean_challenge",
    "clean_evidence",
    "close_challenge",
    "completion_for",
    "completion_stats",
    "create_challenge",
    "decide_many",
    "definition_dict",
    "duplicate_challenge",
    "feed_for",
    "feed_item",
    "feed_of",
    "file_of",
    "files_for",
    "get_challenge",
    "has_approved_completion",
    "highlight",
    "input_from",
    "is_open",
    "is_targeted",
    "list_challenges",
    "list_completions",
    "open_challenges",
    "preview_challenge",
    "publish_challenge",
    "reject_completion",
    "remove_blackout",
    "retry_round",
    "review_queue",
    "save_preferences",
    "schedule_verification",
    "send_to_review",
    "start_verification",
    "stuck_completions",
    "submit_completion",
    "update_challenge",
    "visible_challenge",
]
