"""The challenges API's contract: the list query strings, the reject body and the replies for
challenges (what staff, sales and an advocate's feed each see) and completions. A challenge's own
body is `challenges.services.ChallengeBody`, a completion's `EvidenceBody`."""

from __future__ import annotations

from typing import Annotated

from challenges.models import ChallengeStatus, CompletionStatus, Effort
from challenges.services import MAX_REASON
from hub.contracts import Body, BulkIds, Page, PageQuery, Query, Reply
from hub.fields import ROW_ID, OneLine, OneOf, Timestamp
from hub.models import Tier


class ChallengeListQuery(PageQuery):
    """Staff filter by `status`; advocates get their feed, sales the published challenges."""

    status: Annotated[ChallengeStatus | None, OneOf(ChallengeStatus)] = None


class CompletionListQuery(PageQuery):
    status: Annotated[CompletionStatus | None, OneOf(CompletionStatus)] = None
    challenge_id: Annotated[int | None, ROW_ID] = None
    advocate_id: Annotated[int | None, ROW_ID] = None


class CompletionBulkBody(Body):
    """Approve or reject several completions; `reason` (the advocates see it) is required to reject."""

    ids: BulkIds
    decision: Annotated[str, OneOf(("approve", "reject"))]
    reason: Annotated[str | None, OneLine(MAX_REASON)] = None


class CompletionRejectBody(Body):
    """The reason the advocate sees."""

    reason: Annotated[str, OneLine(MAX_REASON, missing="Say why, so the advocate knows what to fix.")]


class QuizQuestionReply(Reply):
    prompt: str
    options: list[str]
    answer: int | None = None  # staff only: the right option's position in a graded quiz


class QuizReply(Reply):
    questions: list[QuizQuestionReply]
    pass_mark: int | None = None  # staff only


class CompletionCounts(Reply):
    approved: int
    in_flight: int
    rejected: int


class ChallengeReply(Reply):
    id: int
    title: str
    type: str
    description: str
    description_html: str
    points: int
    bonus_points: int
    question_id: int | None
    effort: Effort
    time_estimate: str
    verification: str
    evidence: list[str]
    allowed_domains: list[str]
    cooldown_days: int
    max_per_advocate: int
    retry_limit: int
    retry_wait_hours: int
    max_total: int | None
    starts_at: Timestamp | None
    ends_at: Timestamp | None
    target_tiers: list[Tier]
    target_groups: list[str]
    status: ChallengeStatus
    self_service: bool
    how_to: str
    quiz: QuizReply | None
    # review challenges: the review site and the disclosure line asked of the advocate
    platform: str | None = None
    disclosure: str | None = None
    published_at: Timestamp | None
    banner: str | None = None  # the card's banner (a key of the editor's list), or null
    # with "file" among `evidence`: the kinds of file taken ("image", "pdf")
    file_kinds: list[str] = []
    # staff only
    marker: str | None = None
    created_at: Timestamp | None = None
    closed_at: Timestamp | None = None
    archived_at: Timestamp | None = None
    completions: CompletionCounts | None = None
    # an advocate's feed: whether they may take it now, and their own record
    available: bool = False
    locked_reason: str | None = None
    available_at: Timestamp | None = None
    my_status: CompletionStatus | None = None
    my_latest_completion_id: int | None = None
    times_completed: int = 0


class ChallengePage(Page[ChallengeReply]):
    pass


class EvidenceFileReply(Reply):
    """The file sent with a completion: its display name (the sender's, cleaned), stored type,
    size in bytes and sha256 of the stored bytes; `download_url` answers the bytes."""

    completion_id: int
    name: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: Timestamp
    download_url: str


class EvidenceFileQuery(Query):
    """`?format=file` answers the file's bytes instead of this JSON description."""

    format: Annotated[str | None, OneOf(("json", "file"))] = None


class CompletionReply(Reply):
    id: int
    challenge_id: int
    advocate_id: int
    status: CompletionStatus
    points_offered: int
    points_awarded: int | None
    reason: str | None
    evidence_url: str | None
    evidence_text: str | None
    answers: list[int | str] | None
    submitted_at: Timestamp
    decided_at: Timestamp | None
    evidence_file: EvidenceFileReply | None = None
    # staff only
    verification_note: str | None = None
    fetched_excerpt: str | None = None
    verification_attempts: int = 0
    decided_by_id: int | None = None
    is_auto_approved: bool = False


class CompletionPage(Page[CompletionReply]):
    pass


class IncentiveQuery(PageQuery):
    """`?format=csv` answers the whole log as CSV (offers, then awards) instead of a JSON page."""

    format: Annotated[str | None, OneOf(("json", "csv"))] = None


class IncentiveOffered(Reply):
    """A review incentive offered: a published review challenge and who could see it."""

    challenge_id: int
    title: str
    platform: str
    points: int
    offered_at: Timestamp
    status: str
    audience: str
    disclosure: str


class IncentiveAwarded(Reply):
    """A review incentive awarded (api.md): the advocate, platform, points, when they submitted
    and were awarded, and the disclosure they were shown."""

    advocate_id: int
    advocate_name: str
    challenge_id: int
    title: str
    platform: str
    points: int
    submitted_at: Timestamp
    awarded_at: Timestamp | None
    disclosure: str


class IncentivePage(Page[IncentiveAwarded]):
    """Awards, newest first (paged), and every offer (a short list: published review challenges)."""

    offered: list[IncentiveOffered]
