"""Community JSON API (api.md: questions and answers) on the same services as the pages."""

from __future__ import annotations

from flask import request

from hub.community import reads, services
from hub.community.models import BODY_MAX, REASON_MAX, TITLE_MAX, Answer, Question
from hub.endpoints import api_blueprint, endpoint, page_args, paginated
from hub.extensions import db
from hub.models import ALL_ROLES, STAFF_ROLES, User
from hub.validation import Fields, iso

bp = api_blueprint("community_api")

QUESTION_BODY = {
    "type": "object",
    "required": ["title", "body"],
    "properties": {
        "title": {"type": "string", "minLength": services.TITLE_MIN, "maxLength": TITLE_MAX},
        "body": {"type": "string", "minLength": 1, "maxLength": BODY_MAX, "description": "Markdown"},
    },
}
ANSWER_BODY = {
    "type": "object",
    "required": ["body"],
    "properties": {"body": {"type": "string", "minLength": 1, "maxLength": BODY_MAX, "description": "Markdown"}},
}
HIDE_BODY = {
    "type": "object",
    "required": ["reason"],
    "properties": {"reason": {"type": "string", "minLength": 3, "maxLength": REASON_MAX}},
}


def question_json(question: Question, author_name: str, viewer: User) -> dict:
    payload = {
        "id": question.id,
        "title": question.title,
        "body": question.body,
        "body_html": question.body_html,
        "author_id": question.author_id,
        "author_name": author_name,
        "created_at": iso(question.created_at),
        "accepted_answer_id": question.accepted_answer_id,
    }
    if reads.is_moderator(viewer):
        payload |= {"is_hidden": question.is_hidden, "hidden_reason": question.hidden_reason}
    return payload


def answer_json(answer: Answer, author_name: str, viewer: User, voted: bool | None = None) -> dict:
    payload = {
        "id": answer.id,
        "question_id": answer.question_id,
        "body": answer.body,
        "body_html": answer.body_html,
        "author_id": answer.author_id,
        "author_name": author_name,
        "upvotes": answer.upvotes,
        "is_accepted": answer.is_accepted,
        "created_at": iso(answer.created_at),
    }
    if voted is not None:
        payload["voted"] = voted
    if reads.is_moderator(viewer):
        payload |= {"is_hidden": answer.is_hidden, "hidden_reason": answer.hidden_reason}
    return payload


def _single_answer(viewer: User, answer_id: int) -> dict:
    row = reads.answer_row(viewer, answer_id)
    return answer_json(row.answer, row.author_name, viewer, row.voted)


@endpoint(
    bp,
    "/questions",
    "POST",
    roles=reads.POSTER_ROLES,
    summary="Ask a question (Markdown body)",
    status=201,
    body=QUESTION_BODY,
    idempotent=True,
    tag="community",
)
def create_question(user: User, data: dict) -> tuple[dict, int]:
    question = services.ask_question(user, data.get("title"), data.get("body"))
    return question_json(question, user.name, user), 201


@endpoint(
    bp,
    "/questions",
    roles=ALL_ROLES,
    summary="List questions: search, filter, sort",
    tag="community",
    query={"q": "string", "filter": "string", "sort": "string", "page": "integer", "per_page": "integer"},
)
def list_questions(user: User) -> dict:
    page, per_page = page_args()
    f = Fields(request.args)
    q = f.str("q", max_length=100)
    filter_by = f.choice("filter", reads.FILTERS, default="all")
    sort = f.choice("sort", reads.SORTS, default="newest")
    f.done()
    rows, total = reads.list_questions(user, q, filter_by, sort, page, per_page)
    items = [
        {
            "id": r.id,
            "title": r.title,
            "excerpt": r.excerpt,
            "author_id": r.author_id,
            "author_name": r.author_name,
            "created_at": iso(r.created_at),
            "answer_count": r.answer_count,
            "upvotes": r.upvotes,
            "is_answered": r.is_answered,
        }
        | ({"is_hidden": r.is_hidden} if reads.is_moderator(user) else {})
        for r in rows
    ]
    return paginated(items, page, per_page, total)


@endpoint(bp, "/questions/<int:question_id>", roles=ALL_ROLES, summary="A question with its answers", tag="community")
def get_question(user: User, question_id: int) -> dict:
    detail = reads.question_detail(user, question_id)
    payload = question_json(detail.question, detail.author_name, user)
    payload["answers"] = [answer_json(r.answer, r.author_name, user, r.voted) for r in detail.answers]
    return payload


@endpoint(
    bp,
    "/questions/<int:question_id>/answers",
    "POST",
    roles=reads.POSTER_ROLES,
    summary="Answer a question (Markdown body)",
    status=201,
    body=ANSWER_BODY,
    idempotent=True,
    tag="community",
)
def create_answer(user: User, data: dict, question_id: int) -> tuple[dict, int]:
    answer = services.post_answer(user, question_id, data.get("body"))
    return answer_json(answer, user.name, user, False), 201


@endpoint(
    bp,
    "/answers/<int:answer_id>/upvote",
    "POST",
    roles=reads.POSTER_ROLES,
    summary="Upvote an answer (once; never one's own)",
    tag="community",
)
def upvote_answer(user: User, answer_id: int) -> dict:
    services.upvote_answer(user, answer_id)
    return _single_answer(user, answer_id)


@endpoint(
    bp,
    "/answers/<int:answer_id>/accept",
    "POST",
    roles=reads.POSTER_ROLES,
    summary="Accept an answer (the question's author, manager, owner)",
    tag="community",
)
def accept_answer(user: User, answer_id: int) -> dict:
    services.accept_answer(user, answer_id)
    return _single_answer(user, answer_id)


@endpoint(
    bp,
    "/questions/<int:question_id>/hide",
    "POST",
    roles=STAFF_ROLES,
    body=HIDE_BODY,
    summary="Hide an abusive question with a reason (audited)",
    tag="community",
)
def hide_question(user: User, data: dict, question_id: int) -> dict:
    question = services.set_hidden(user, "question", question_id, True, data.get("reason"))
    name = db.session.get(User, question.author_id).name
    return question_json(question, name, user)


@endpoint(
    bp,
    "/answers/<int:answer_id>/hide",
    "POST",
    roles=STAFF_ROLES,
    body=HIDE_BODY,
    summary="Hide an abusive answer with a reason (audited)",
    tag="community",
)
def hide_answer(user: User, data: dict, answer_id: int) -> dict:
    services.set_hidden(user, "answer", answer_id, True, data.get("reason"))
    return _single_answer(user, answer_id)
