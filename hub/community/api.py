"""Community JSON API (api.md: questions and answers) on the same services as the pages."""

from __future__ import annotations

from hub.community import reads, services
from hub.community.contracts import (
    AnswerBody,
    AnswerReply,
    HideBody,
    PostReportPage,
    PostReportQuery,
    PostReportReply,
    QuestionBody,
    QuestionDetailReply,
    QuestionListItem,
    QuestionListQuery,
    QuestionPage,
    QuestionReply,
    ReportBody,
)
from hub.community.models import Answer, PostReport, Question
from hub.community.reads import POSTER_ROLES
from hub.endpoints import api_blueprint, endpoint
from hub.extensions import db
from hub.models import ALL_ROLES, STAFF_ROLES, User

bp = api_blueprint("community_api")


def _moderation(post: Question | Answer, viewer: User) -> dict:
    return {"is_hidden": post.is_hidden, "hidden_reason": post.hidden_reason} if reads.is_moderator(viewer) else {}


def question_reply(question: Question, author_name: str, viewer: User) -> QuestionReply:
    return QuestionReply(**_question_fields(question, author_name, viewer))


def _question_fields(question: Question, author_name: str, viewer: User) -> dict:
    return {
        "id": question.id,
        "title": question.title,
        "body": question.body,
        "body_html": question.body_html,
        "author_id": question.author_id,
        "author_name": author_name,
        "created_at": question.created_at,
        "accepted_answer_id": question.accepted_answer_id,
    } | _moderation(question, viewer)


def answer_reply(answer: Answer, author_name: str, viewer: User, voted: bool | None = None) -> AnswerReply:
    reply = AnswerReply(
        id=answer.id,
        question_id=answer.question_id,
        body=answer.body,
        body_html=answer.body_html,
        author_id=answer.author_id,
        author_name=author_name,
        upvotes=answer.upvotes,
        is_accepted=answer.is_accepted,
        created_at=answer.created_at,
        **_moderation(answer, viewer),
    )
    if voted is not None:
        reply.voted = voted
    return reply


def _single_answer(viewer: User, answer_id: int) -> AnswerReply:
    row = reads.answer_row(viewer, answer_id)
    return answer_reply(row.answer, row.author_name, viewer, row.voted)


@endpoint(
    bp,
    "/questions",
    "POST",
    roles=reads.POSTER_ROLES,
    summary="Ask a question (Markdown body)",
    status=201,
    body=QuestionBody,
    reply=QuestionReply,
    idempotent=True,
    tag="community",
)
def create_question(user: User, data: QuestionBody) -> tuple[QuestionReply, int]:
    question = services.ask_question(user, data.title, data.body)
    return question_reply(question, user.name, user), 201


@endpoint(
    bp,
    "/questions",
    roles=ALL_ROLES,
    summary="List questions: search, filter, sort",
    tag="community",
    query=QuestionListQuery,
    reply=QuestionPage,
)
def list_questions(user: User, args: QuestionListQuery) -> QuestionPage:
    rows, total = reads.list_questions(user, args.q, args.filter, args.sort, args.page, args.per_page)
    moderator = reads.is_moderator(user)
    items = [
        QuestionListItem(
            id=r.id,
            title=r.title,
            excerpt=r.excerpt,
            author_id=r.author_id,
            author_name=r.author_name,
            created_at=r.created_at,
            answer_count=r.answer_count,
            upvotes=r.upvotes,
            is_answered=r.is_answered,
            **({"is_hidden": r.is_hidden} if moderator else {}),
        )
        for r in rows
    ]
    return QuestionPage.of(items, args, total)


@endpoint(
    bp,
    "/questions/<int:question_id>",
    roles=ALL_ROLES,
    summary="A question with its answers",
    tag="community",
    reply=QuestionDetailReply,
)
def get_question(user: User, question_id: int) -> QuestionDetailReply:
    detail = reads.question_detail(user, question_id)
    return QuestionDetailReply(
        **_question_fields(detail.question, detail.author_name, user),
        answers=[answer_reply(r.answer, r.author_name, user, r.voted) for r in detail.answers],
    )


@endpoint(
    bp,
    "/questions/<int:question_id>/answers",
    "POST",
    roles=reads.POSTER_ROLES,
    summary="Answer a question (Markdown body)",
    status=201,
    body=AnswerBody,
    reply=AnswerReply,
    idempotent=True,
    tag="community",
)
def create_answer(user: User, data: AnswerBody, question_id: int) -> tuple[AnswerReply, int]:
    answer = services.post_answer(user, question_id, data.body)
    return answer_reply(answer, user.name, user, False), 201


@endpoint(
    bp,
    "/answers/<int:answer_id>/upvote",
    "POST",
    roles=reads.POSTER_ROLES,
    summary="Upvote an answer (once; never one's own)",
    tag="community",
    reply=AnswerReply,
)
def upvote_answer(user: User, answer_id: int) -> AnswerReply:
    services.upvote_answer(user, answer_id)
    return _single_answer(user, answer_id)


@endpoint(
    bp,
    "/answers/<int:answer_id>/accept",
    "POST",
    roles=reads.POSTER_ROLES,
    summary="Accept an answer (the question's author, manager, owner)",
    tag="community",
    reply=AnswerReply,
)
def accept_answer(user: User, answer_id: int) -> AnswerReply:
    services.accept_answer(user, answer_id)
    return _single_answer(user, answer_id)


@endpoint(
    bp,
    "/questions/<int:question_id>/hide",
    "POST",
    roles=STAFF_ROLES,
    body=HideBody,
    reply=QuestionReply,
    summary="Hide an abusive question with a reason (audited)",
    tag="community",
)
def hide_question(user: User, data: HideBody, question_id: int) -> QuestionReply:
    question = services.set_hidden(user, "question", question_id, True, data.reason)
    assert isinstance(question, Question)
    name = db.session.get_one(User, question.author_id).name
    return question_reply(question, name, user)


@endpoint(
    bp,
    "/answers/<int:answer_id>/hide",
    "POST",
    roles=STAFF_ROLES,
    body=HideBody,
    reply=AnswerReply,
    summary="Hide an abusive answer with a reason (audited)",
    tag="community",
)
def hide_answer(user: User, data: HideBody, answer_id: int) -> AnswerReply:
    services.set_hidden(user, "answer", answer_id, True, data.reason)
    return _single_answer(user, answer_id)


# --- members' reports of posts -------------------------------------------------------------


def report_reply(report: PostReport, viewer: User) -> PostReportReply:
    reply = PostReportReply(
        id=report.id,
        kind=report.kind,
        post_id=report.post_id,
        question_id=report.question_id,
        answer_id=report.answer_id,
        reason=report.reason,
        status=report.status,
        created_at=report.created_at,
        decided_at=report.decided_at,
    )
    if reads.is_moderator(viewer):
        reply.reporter_id = report.reporter_id
    return reply


@endpoint(
    bp,
    "/questions/<int:question_id>/reports",
    "POST",
    roles=POSTER_ROLES,
    body=ReportBody,
    reply=PostReportReply,
    status=201,
    summary="Report a question to the community managers (once per member; repeat → 409 invalid_state)",
    tag="community",
)
def report_question(user: User, data: ReportBody, question_id: int) -> tuple[PostReportReply, int]:
    return report_reply(services.report_post(user, "question", question_id, data.reason), user), 201


@endpoint(
    bp,
    "/answers/<int:answer_id>/reports",
    "POST",
    roles=POSTER_ROLES,
    body=ReportBody,
    reply=PostReportReply,
    status=201,
    summary="Report an answer to the community managers (once per member; repeat → 409 invalid_state)",
    tag="community",
)
def report_answer(user: User, data: ReportBody, answer_id: int) -> tuple[PostReportReply, int]:
    return report_reply(services.report_post(user, "answer", answer_id, data.reason), user), 201


@endpoint(
    bp,
    "/post-reports",
    roles=STAFF_ROLES,
    query=PostReportQuery,
    reply=PostReportPage,
    summary="Members' reports of posts, oldest first; filter `status` (open, dismissed, actioned)",
    tag="community",
)
def list_post_reports(user: User, args: PostReportQuery) -> PostReportPage:
    rows, total = reads.report_queue(args.status.value, args.page, args.per_page)
    return PostReportPage.of([report_reply(row.report, user) for row in rows], args, total)


@endpoint(
    bp,
    "/post-reports/<int:report_id>/dismiss",
    "POST",
    roles=STAFF_ROLES,
    reply=PostReportReply,
    summary="Dismiss a report: the post stays up (the post's other open reports are dismissed too)",
    tag="community",
)
def dismiss_post_report(user: User, report_id: int) -> PostReportReply:
    return report_reply(services.dismiss_report(user, report_id), user)
