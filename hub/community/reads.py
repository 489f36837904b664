"""What community readers see: who may post and moderate, which hidden posts a viewer may see,
the question list (search, filters, sort, one query per page), and a question with its answers
and the viewer's votes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.sql.elements import ColumnElement

from hub.community.models import Answer, AnswerVote, PostReport, Question
from hub.errors import NotFound
from hub.extensions import db
from hub.markup import markdown_text
from hub.models import STAFF_ROLES, Advocate, Role, User
from hub.privacy import FORMER_ADVOCATE
from hub.search import contains_text

POSTER_ROLES = frozenset({Role.ADVOCATE, Role.MANAGER, Role.OWNER})

# The name a post is signed with: an erased advocate's posts stay, signed "Former advocate"
# (issue 14), whatever their user row now says.
AUTHOR_NAME = case(
    (exists().where(Advocate.user_id == User.id, Advocate.is_erased.is_(True)), FORMER_ADVOCATE), else_=User.name
).label("author_name")


FILTERS = ("all", "unanswered", "mine")


SORTS = ("newest", "top")


def is_moderator(user: User) -> bool:
    return user.role in STAFF_ROLES


def visible_question(viewer: User, question_id: int) -> Question:
    """The question, or NotFound when unknown or hidden from this viewer."""
    question = db.session.get(Question, question_id)
    if question is None or (question.is_hidden and not is_moderator(viewer)):
        raise NotFound("Question not found.")
    return question


def visible_answer(viewer: User, answer_id: int) -> Answer:
    answer = db.session.get(Answer, answer_id)
    if answer is None:
        raise NotFound("Answer not found.")
    question = db.session.get_one(Question, answer.question_id)
    if not is_moderator(viewer) and (answer.is_hidden or question.is_hidden):
        raise NotFound("Answer not found.")
    return answer


@dataclass(frozen=True)
class QuestionRow:
    id: int
    title: str
    excerpt: str
    author_id: int
    author_name: str
    created_at: dt.datetime
    answer_count: int
    upvotes: int
    is_answered: bool
    is_hidden: bool


@dataclass(frozen=True)
class AnswerRow:
    answer: Answer
    author_name: str
    voted: bool
    can_upvote: bool
    can_accept: bool


@dataclass(frozen=True)
class QuestionDetail:
    question: Question
    author_name: str
    answers: list[AnswerRow]
    can_answer: bool
    can_moderate: bool


def list_questions(
    viewer: User, q: str | None = None, filter_by: str = "all", sort: str = "newest", page: int = 1, per_page: int = 20
) -> tuple[list[QuestionRow], int]:
    """Search (title and text), filter (all / unanswered / mine) and sort (newest / top) questions."""
    staff = is_moderator(viewer)
    answer_visible = [Answer.question_id == Question.id] + ([] if staff else [Answer.is_hidden.is_(False)])
    answer_count = select(func.count(Answer.id)).where(*answer_visible).correlate(Question).scalar_subquery()
    upvotes = (
        select(func.coalesce(func.sum(Answer.upvotes), 0)).where(*answer_visible).correlate(Question).scalar_subquery()
    )
    conditions: list[ColumnElement[bool]] = [] if staff else [Question.is_hidden.is_(False)]
    if q:
        conditions.append(contains_text(q, Question.title, Question.body))
    if filter_by == "unanswered":
        conditions.append(~exists().where(and_(*answer_visible)))
    elif filter_by == "mine":
        conditions.append(Question.author_id == viewer.id)
    total = db.session.scalar(select(func.count(Question.id)).where(*conditions)) or 0
    order = [upvotes.desc(), Question.created_at.desc()] if sort == "top" else [Question.created_at.desc()]
    rows = db.session.execute(
        select(Question, AUTHOR_NAME, answer_count.label("answers"), upvotes.label("votes"))
        .join(User, User.id == Question.author_id)
        .where(*conditions)
        .order_by(*order, Question.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [
        QuestionRow(
            id=question.id,
            title=question.title,
            excerpt=_excerpt(question.body),
            author_id=question.author_id,
            author_name=name,
            created_at=question.created_at,
            answer_count=answers,
            upvotes=votes,
            is_answered=question.accepted_answer_id is not None,
            is_hidden=question.is_hidden,
        )
        for question, name, answers, votes in rows
    ], total


def question_detail(viewer: User, question_id: int) -> QuestionDetail:
    """A question with its answers (accepted first, then most upvoted) and what the viewer may do."""
    question = visible_question(viewer, question_id)
    staff = is_moderator(viewer)
    conditions = [Answer.question_id == question.id] + ([] if staff else [Answer.is_hidden.is_(False)])
    rows = db.session.execute(
        select(Answer, AUTHOR_NAME)
        .join(User, User.id == Answer.author_id)
        .where(*conditions)
        .order_by(Answer.is_accepted.desc(), Answer.upvotes.desc(), Answer.created_at, Answer.id)
    ).all()
    voted = _voted_ids(viewer, [a.id for a, _ in rows])
    author_name = db.session.scalar(select(AUTHOR_NAME).where(User.id == question.author_id)) or ""
    answers = [_answer_row(viewer, question, answer, name, answer.id in voted) for answer, name in rows]
    return QuestionDetail(question, author_name, answers, viewer.role in POSTER_ROLES, staff)


def answer_row(viewer: User, answer_id: int) -> AnswerRow:
    """One answer as the viewer sees it (for re-rendering its card after a vote)."""
    answer = visible_answer(viewer, answer_id)
    question = db.session.get_one(Question, answer.question_id)
    name = db.session.scalar(select(AUTHOR_NAME).where(User.id == answer.author_id)) or ""
    return _answer_row(viewer, question, answer, name, bool(_voted_ids(viewer, [answer.id])))


def _answer_row(viewer: User, question: Question, answer: Answer, name: str, voted: bool) -> AnswerRow:
    may_accept = (viewer.id == question.author_id or is_moderator(viewer)) and answer.author_id != viewer.id
    return AnswerRow(
        answer=answer,
        author_name=name,
        voted=voted,
        can_upvote=viewer.role in POSTER_ROLES and answer.author_id != viewer.id and not voted,
        can_accept=may_accept and question.accepted_answer_id is None and not answer.is_hidden,
    )


def _voted_ids(viewer: User, answer_ids: list[int]) -> set[int]:
    if not answer_ids:
        return set()
    return set(
        db.session.scalars(
            select(AnswerVote.answer_id).where(AnswerVote.user_id == viewer.id, AnswerVote.answer_id.in_(answer_ids))
        )
    )


def _excerpt(body: str, limit: int = 180) -> str:
    """The question's Markdown as the text a reader sees, cut at `limit` characters."""
    text = markdown_text(body)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reported_by(viewer: User, question_id: int) -> set[tuple[str, int]]:
    """The posts on a question's page this viewer has reported: {("question", id), ("answer", id)}."""
    found = db.session.execute(
        select(PostReport.question_id, PostReport.answer_id)
        .outerjoin(Answer, Answer.id == PostReport.answer_id)
        .where(
            PostReport.reporter_id == viewer.id,
            (PostReport.question_id == question_id) | (Answer.question_id == question_id),
        )
    ).all()
    return {("question", q) if q is not None else ("answer", int(a or 0)) for q, a in found}


@dataclass(frozen=True)
class ReportRow:
    """A report in the staff queue: the post it is about, said briefly, and who reported it."""

    report: PostReport
    kind: str
    question_id: int
    question_title: str
    excerpt: str
    author_name: str
    reporter_name: str
    open_reports: int


def report_queue(status: str, page: int, per_page: int) -> tuple[list[ReportRow], int]:
    """Reports of one status, oldest first (the open ones wait longest at the top), each with
    its post's question, an excerpt, the author's and reporter's names and how many open
    reports the post has; one query for the page plus one for the counts."""
    base = select(PostReport).where(PostReport.status == status)
    total = db.session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    reports = db.session.scalars(
        base.order_by(PostReport.created_at, PostReport.id).limit(per_page).offset((page - 1) * per_page)
    ).all()
    question_ids = {r.question_id for r in reports if r.question_id is not None}
    answers = {
        a.id: a
        for a in db.session.scalars(select(Answer).where(Answer.id.in_([r.answer_id for r in reports if r.answer_id])))
    }
    question_ids |= {a.question_id for a in answers.values()}
    questions = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(question_ids)))}
    people = {r.reporter_id for r in reports} | {q.author_id for q in questions.values()}
    people |= {a.author_id for a in answers.values()}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(people))).all())
    open_q = dict(
        db.session.execute(
            select(PostReport.question_id, func.count())
            .where(PostReport.status == "open", PostReport.question_id.in_(question_ids))
            .group_by(PostReport.question_id)
        ).all()
    )
    open_a = dict(
        db.session.execute(
            select(PostReport.answer_id, func.count())
            .where(PostReport.status == "open", PostReport.answer_id.in_(list(answers)))
            .group_by(PostReport.answer_id)
        ).all()
    )
    rows = []
    for r in reports:
        if r.question_id is not None:
            question = questions[r.question_id]
            body, author, opened = question.body, question.author_id, open_q.get(question.id, 0)
        else:
            answer = answers[int(r.answer_id or 0)]
            question = questions[answer.question_id]
            body, author, opened = answer.body, answer.author_id, open_a.get(answer.id, 0)
        rows.append(
            ReportRow(
                report=r,
                kind=r.kind,
                question_id=question.id,
                question_title=question.title,
                excerpt=_excerpt(body),
                author_name=names.get(author, ""),
                reporter_name=names.get(r.reporter_id, ""),
                open_reports=opened,
            )
        )
    return rows, total


def pickable_questions(text: str = "", limit: int = 20, include_id: int | None = None) -> list[tuple[int, str]]:
    """Visible (not hidden) community questions whose title contains `text` (case-insensitive;
    all when blank), newest first, at most `limit`: (id, title) pairs for the challenge editor's
    question picker. `include_id` adds that question first when it is visible and not already
    listed, so the picker keeps showing a challenge's current choice."""
    query = select(Question.id, Question.title).where(Question.is_hidden.is_(False))
    if text.strip():
        query = query.where(contains_text(text.strip(), Question.title))
    rows = [(qid, title) for qid, title in db.session.execute(query.order_by(Question.id.desc()).limit(limit))]
    if include_id is not None and all(qid != include_id for qid, _ in rows):
        current = db.session.execute(
            select(Question.id, Question.title).where(Question.id == include_id, Question.is_hidden.is_(False))
        ).first()
        if current is not None:
            rows.insert(0, (current[0], current[1]))
    return rows
