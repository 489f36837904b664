"""The reference-request API's contract: the list query, the assign body, and the replies — a
request as sales and staff see it (the deal, the advocate's contact once they accepted, the
feedback) or as an asked advocate sees it (no amounts), and the ranked candidates. The filing,
feedback and unfilled bodies are the services' (`RequestBody`, `FeedbackBody`, `UnfilledBody`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from challenges.references.models import AssignmentStatus, CallFormat, RequestStatus, Stage
from hub.contracts import Body, Page, PageQuery, Reply
from hub.fields import Amount, Date, OneOf, RowId, Timestamp


class RequestListQuery(PageQuery):
    status: Annotated[RequestStatus | None, OneOf(RequestStatus)] = None


class AssignBody(Body):
    advocate_id: RowId


class FeedbackReply(Reply):
    helped: bool | None
    rating: int | None = None  # sales and staff
    notes: str | None = None  # sales and staff


class RequesterReply(Reply):
    id: int
    name: str


class ContactReply(Reply):
    """The advocate taking the call: staff always, the sales rep once the advocate accepted."""

    advocate_id: int
    name: str
    email: str
    title: str | None
    company: str | None


class AlternativeReply(Reply):
    """A published case study or review sales can use when no advocate can take the call."""

    kind: str
    title: str
    url: str | None
    company: str | None
    industry: str | None


class RequestReply(Reply):
    id: int
    status: RequestStatus
    prospect_company: str
    industry: str
    company_size: str
    region: str | None
    use_case: str
    stage: Stage
    needed_by: Date
    format: CallFormat
    topics: list[str]
    created_at: Timestamp
    matched_at: Timestamp | None
    accepted_at: Timestamp | None
    completed_at: Timestamp | None
    feedback: FeedbackReply | None
    # sales and staff
    deal_size: Annotated[Decimal | None, Amount()] = None
    currency: str | None = None
    opportunity_external_id: str | None = None
    requested_by: RequesterReply | None = None
    advocate: ContactReply | None = None
    unfilled_at: Timestamp | None = None
    unfilled_note: str | None = None
    alternatives: list[AlternativeReply] = []
    completion_id: int | None = None  # staff
    points_note: str | None = None  # staff
    # an advocate's list of asks: their answer
    my_answer: AssignmentStatus | None = None


class RequestPage(Page[RequestReply]):
    pass


class CandidateReply(Reply):
    advocate_id: int
    name: str
    company: str | None
    score: int
    reasons: list[str]
    last_tapped_at: Timestamp | None


class ExclusionCount(Reply):
    code: str
    label: str
    count: int


class ExclusionReply(Reply):
    advocate_id: int
    name: str
    code: str
    reason: str
    detail: str | None
    available_at: Timestamp | None


class Exclusions(Reply):
    total: int
    by_reason: list[ExclusionCount]
    items: list[ExclusionReply]


class MatchesReply(Reply):
    """Candidates best first (fit, then least recently tapped), and who was left out and why."""

    items: list[CandidateReply]
    excluded: Exclusions
