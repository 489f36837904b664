"""The prospects API's contract (api.md "Endpoints of the second release"): the advocacy-score
import's result, candidates and their invitation, nominations. Nomination bodies live with
their service (challenges.prospects.nominations)."""

from __future__ import annotations

from typing import Annotated

from hub.contracts import Page, PageQuery, Reply
from hub.fields import Flag, Timestamp


class ScoreImportError(Reply):
    line: int
    reason: str


class ScoreImportReply(Reply):
    imported: int
    updated: int
    errors: list[ScoreImportError]


class ScoreCandidateQuery(PageQuery):
    qualified: Annotated[bool | None, Flag()] = None


class ScoreCandidateReply(Reply):
    id: int
    email: str
    name: str
    company: str | None
    account_id: int | None
    score: int
    qualified: bool
    reasons: list[str]
    status: str
    advocate_id: int | None


class ScoreCandidatePage(Page[ScoreCandidateReply]):
    pass


class CandidateInvited(Reply):
    candidate_id: int
    email: str
    status: str


class NominationReply(Reply):
    id: int
    email: str
    name: str
    company: str
    title: str | None
    reason: str
    status: str
    nominated_by: int
    decided_at: Timestamp | None
    decline_reason: str | None


class NominationPage(Page[NominationReply]):
    pass
