"""The community API's contract: question, answer and moderation bodies, the list's query string,
and the replies (what moderators see beyond others: `is_hidden`, `hidden_reason`)."""

from __future__ import annotations

from typing import Annotated

from hub.community.models import BODY_MAX, REASON_MAX, TITLE_MAX, ReportStatus
from hub.community.reads import FILTERS, SORTS
from hub.contracts import Body, Page, PageQuery, Reply
from hub.fields import MultiLine, OneLine, OneOf, Timestamp

TITLE_MIN = 5


QuestionTitle = Annotated[str, OneLine(TITLE_MAX, min_length=TITLE_MIN)]
MarkdownBody = Annotated[str, MultiLine(BODY_MAX)]
HideReason = Annotated[str, OneLine(REASON_MAX, min_length=3)]


class QuestionBody(Body):
    title: QuestionTitle
    body: MarkdownBody


class AnswerBody(Body):
    body: MarkdownBody


class HideBody(Body):
    """Why the post is hidden (its author's text stays in the audit log)."""

    reason: HideReason


class ReportBody(Body):
    """Why a member reports the post (only community managers see it)."""

    reason: HideReason


class PostReportReply(Reply):
    """A report of a question or an answer. Staff also see who reported it."""

    id: int
    kind: str
    post_id: int
    question_id: int | None
    answer_id: int | None
    reason: str
    status: ReportStatus
    created_at: Timestamp
    decided_at: Timestamp | None
    reporter_id: int | None = None


class PostReportPage(Page[PostReportReply]):
    pass


class PostReportQuery(PageQuery):
    status: Annotated[ReportStatus, OneOf(ReportStatus)] = ReportStatus.OPEN


class QuestionListQuery(PageQuery):
    q: Annotated[str | None, OneLine(100)] = None
    filter: Annotated[str, OneOf(FILTERS)] = "all"
    sort: Annotated[str, OneOf(SORTS)] = "newest"


class AnswerReply(Reply):
    id: int
    question_id: int
    body: str
    body_html: str
    author_id: int
    author_name: str
    upvotes: int
    is_accepted: bool
    created_at: Timestamp
    voted: bool = False  # whether the caller upvoted it
    is_hidden: bool = False  # moderators only
    hidden_reason: str | None = None  # moderators only


class QuestionReply(Reply):
    id: int
    title: str
    body: str
    body_html: str
    author_id: int
    author_name: str
    created_at: Timestamp
    accepted_answer_id: int | None
    is_hidden: bool = False  # moderators only
    hidden_reason: str | None = None  # moderators only


class QuestionDetailReply(QuestionReply):
    answers: list[AnswerReply]


class QuestionListItem(Reply):
    id: int
    title: str
    excerpt: str
    author_id: int
    author_name: str
    created_at: Timestamp
    answer_count: int
    upvotes: int
    is_answered: bool
    is_hidden: bool = False  # moderators only


class QuestionPage(Page[QuestionListItem]):
    pass
