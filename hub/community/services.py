"""Community rules: asking, answering, one upvote per user per answer, acceptance, moderation
(a hidden post's author is told why), members' reports of posts and the staff's report queue.

Invariants held by the database: one vote per (answer, user) (unique key, INSERT … ON
CONFLICT DO NOTHING, so parallel clicks give one vote); the upvote counter moves by an SQL
expression in the vote's transaction; a question gets one accepted answer (conditional
UPDATE … WHERE accepted_answer_id IS NULL); one report per member per post (unique keys); a
report is decided once (conditional UPDATE … WHERE status = 'open'). When an answer is accepted or gets its 3rd
upvote, the jobs registered in hub.hooks are enqueued after commit and the blinker
signals in hub.signals are sent after commit.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from hub import trust
from hub.audit import record_audit
from hub.community.contracts import HideReason, MarkdownBody, QuestionTitle
from hub.community.models import Answer, AnswerVote, PostReport, Question, ReportStatus
from hub.community.reads import POSTER_ROLES, is_moderator, visible_answer, visible_question
from hub.db import execute_dml, insert_ignore, utcnow
from hub.errors import AlreadyVoted, Forbidden, InvalidState, NotFound, ValidationFailed
from hub.extensions import db
from hub.fields import read_value
from hub.hooks import hooks
from hub.markup import render_markdown
from hub.models import Advocate, Role, User
from hub.notifications import notify
from hub.queue import call_after_commit, enqueue_after_commit
from hub.signals import answer_accepted, answer_upvote_threshold

UPVOTE_THRESHOLD = 3


def clean_body(body: object, field: str = "body") -> tuple[str, str]:
    """Markdown source (hub.community.contracts.MarkdownBody) and its sanitized HTML; refuses
    empty, oversized or all-unsafe text."""
    text = read_value(MarkdownBody, body, field)
    html = render_markdown(text).strip()
    if not html:
        raise ValidationFailed({field: "Nothing is left once unsafe markup is removed."})
    return text, html


def clean_title(title: object) -> str:
    """A question's title on one line, runs of spaces and line breaks folded into one space."""
    return read_value(QuestionTitle, " ".join(title.split()) if isinstance(title, str) else title, "title")


def clean_reason(reason: object) -> str:
    return read_value(HideReason, reason, "reason")


def ask_question(author: User, title: object, body: object) -> Question:
    """Create a question with sanitized HTML; advocates and staff only."""
    _require_poster(author)
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for name, fn in (("title", lambda: clean_title(title)), ("body", lambda: clean_body(body))):
        try:
            clean[name] = fn()
        except ValidationFailed as exc:
            errors.update({k: v[0] for k, v in exc.fields.items()})
    if errors:
        raise ValidationFailed(errors)
    source, html = clean["body"]
    question = Question(author_id=author.id, title=clean["title"], body=source, body_html=html)
    db.session.add(question)
    db.session.flush()
    _touch_activity(author)
    return question


def post_answer(author: User, question_id: int, body: object) -> Answer:
    """Answer a visible question; advocates and staff only."""
    _require_poster(author)
    question = visible_question(author, question_id)
    source, html = clean_body(body)
    answer = Answer(question_id=question.id, author_id=author.id, body=source, body_html=html)
    db.session.add(answer)
    db.session.flush()
    _touch_activity(author)
    if question.author_id != author.id:
        notify(
            question.author_id,
            "question_answered",
            f'{author.name} answered your question "{_short(question.title)}".',
            f"/community/questions/{question.id}#answer-{answer.id}",
        )
    return answer


def upvote_answer(user: User, answer_id: int) -> Answer:
    """One upvote per user per answer (unique key); never on one's own answer.

    Raises AlreadyVoted on a repeat and InvalidState on one's own answer. The 3rd upvote
    triggers the answer's milestone (exactly one transaction sees the counter reach 3).
    """
    _require_poster(user)
    answer = visible_answer(user, answer_id)
    if answer.author_id == user.id:
        raise InvalidState("You cannot upvote your own answer.")
    added = insert_ignore(
        db.session, AnswerVote.__table__, {"answer_id": answer.id, "user_id": user.id, "created_at": utcnow()}
    )
    if not added:
        raise AlreadyVoted("You already upvoted this answer.")
    count = db.session.execute(
        update(Answer)
        .where(Answer.id == answer.id)
        .values(upvotes=Answer.upvotes + 1)
        .returning(Answer.upvotes)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    db.session.expire(answer, ["upvotes"])
    _touch_activity(user)
    trust.after_upvote(user.id, answer.author_id, answer.id)
    if count == UPVOTE_THRESHOLD:
        _milestone(answer, answer_upvote_threshold)
    return answer


def accept_answer(user: User, answer_id: int) -> Answer:
    """The asker (or a manager/owner) accepts one answer per question; repeating it is a no-op.

    Another answer already accepted → InvalidState; one's own answer → InvalidState.
    """
    answer = visible_answer(user, answer_id)
    question = db.session.get_one(Question, answer.question_id)
    if user.id != question.author_id and not is_moderator(user):
        raise Forbidden("Only the person who asked, or a community manager, can accept an answer.")
    if answer.author_id == user.id:
        raise InvalidState("You cannot accept your own answer.")
    if question.accepted_answer_id == answer.id:
        return answer
    moved = execute_dml(
        update(Question)
        .where(Question.id == question.id, Question.accepted_answer_id.is_(None))
        .values(accepted_answer_id=answer.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.expire(question, ["accepted_answer_id"])
    if not moved:
        if question.accepted_answer_id == answer.id:
            return answer
        raise InvalidState("This question already has an accepted answer.")
    now = utcnow()
    db.session.execute(
        update(Answer)
        .where(Answer.id == answer.id)
        .values(is_accepted=True, accepted_at=now, accepted_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(answer, ["is_accepted", "accepted_at", "accepted_by_id"])
    if user.id != question.author_id:
        record_audit(user.id, "community.accept", "answer", answer.id, None, {"question_id": question.id})
    _touch_activity(user)
    notify(
        answer.author_id,
        "answer_accepted",
        f'Your answer to "{_short(question.title)}" was accepted.',
        f"/community/questions/{question.id}#answer-{answer.id}",
    )
    _milestone(answer, answer_accepted)
    return answer


def set_hidden(actor: User, kind: str, post_id: int, hidden: bool, reason: object = None) -> Question | Answer:
    """Managers hide an abusive question or answer with a reason (or restore it). Audited."""
    if not is_moderator(actor):
        raise Forbidden("Only community managers can hide posts.")
    models: dict[str, type[Question] | type[Answer]] = {"question": Question, "answer": Answer}
    model = models[kind]
    post: Question | Answer | None = (
        db.session.get(Question, post_id) if model is Question else db.session.get(Answer, post_id)
    )
    if post is None:
        raise NotFound(f"{kind.title()} not found.")
    text = clean_reason(reason) if hidden else None
    values = (
        {"is_hidden": True, "hidden_reason": text, "hidden_by_id": actor.id, "hidden_at": utcnow()}
        if hidden
        else {"is_hidden": False, "hidden_reason": None, "hidden_by_id": None, "hidden_at": None}
    )
    moved = execute_dml(
        update(model)
        .where(model.id == post_id, model.is_hidden.is_(not hidden))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        raise InvalidState(f"This {kind} is already {'hidden' if hidden else 'visible'}.")
    before = {"is_hidden": post.is_hidden, "hidden_reason": post.hidden_reason}
    db.session.refresh(post)
    if hidden:
        _tell_author_hidden(post, kind, text or "")
        _close_reports(kind, post_id, actor.id, ReportStatus.ACTIONED)
    record_audit(
        actor.id,
        f"community.{'hide' if hidden else 'restore'}",
        kind,
        post_id,
        before,
        {"is_hidden": post.is_hidden, "hidden_reason": post.hidden_reason, "author_id": post.author_id},
    )
    return post


def _post_link(post: Question | Answer, kind: str) -> tuple[str, str]:
    """The post's question title and its URL (an answer's anchor on its question's page)."""
    if isinstance(post, Question):
        return post.title, f"/community/questions/{post.id}"
    question = db.session.get_one(Question, post.question_id)
    return question.title, f"/community/questions/{question.id}#answer-{post.id}"


def _tell_author_hidden(post: Question | Answer, kind: str, reason: str) -> None:
    """The author learns that a manager hid their post, and why (issue 20)."""
    title, url = _post_link(post, kind)
    where = f'Your question "{_short(title)}"' if kind == "question" else f'Your answer to "{_short(title)}"'
    notify(post.author_id, "post_hidden", f"{where} was hidden by a community manager: {reason}", url)


def _report_target(kind: str, post_id: int) -> dict[str, int | None]:
    return (
        {"question_id": post_id, "answer_id": None}
        if kind == "question"
        else {"question_id": None, "answer_id": post_id}
    )


def report_post(reporter: User, kind: str, post_id: int, reason: object) -> PostReport:
    """A member (advocate or staff) reports a question or answer they can see, once: a second
    report of the same post by the same member is InvalidState, held by the unique keys (the
    INSERT runs in a savepoint, so a racing duplicate is refused the same way). Their own post,
    or one already hidden, is InvalidState; one they cannot see is NotFound. The reason is one
    line of at most 300 characters (hub.community.contracts.HideReason)."""
    _require_poster(reporter)
    post: Question | Answer = (
        visible_question(reporter, post_id) if kind == "question" else visible_answer(reporter, post_id)
    )
    if post.author_id == reporter.id:
        raise InvalidState(f"You cannot report your own {kind}.")
    if post.is_hidden:
        raise InvalidState(f"This {kind} is already hidden.")
    text = clean_reason(reason)
    report = PostReport(reporter_id=reporter.id, reason=text, **_report_target(kind, post_id))
    try:
        with db.session.begin_nested():
            db.session.add(report)
            db.session.flush()
    except IntegrityError:
        raise InvalidState(f"You already reported this {kind}.") from None
    return report


def _close_reports(kind: str, post_id: int, actor_id: int, status: ReportStatus) -> int:
    """Every open report of the post decided at once; returns how many."""
    column = PostReport.question_id if kind == "question" else PostReport.answer_id
    return execute_dml(
        update(PostReport)
        .where(column == post_id, PostReport.status == ReportStatus.OPEN)
        .values(status=status, decided_at=utcnow(), decided_by_id=actor_id)
        .execution_options(synchronize_session=False)
    ).rowcount


def get_report(report_id: int) -> PostReport:
    """A report, for staff (NotFound when there is none)."""
    report = db.session.get(PostReport, report_id)
    if report is None:
        raise NotFound("Report not found.")
    return report


def dismiss_report(actor: User, report_id: int) -> PostReport:
    """A manager leaves the post up: this report and the post's other open ones are dismissed
    (conditional UPDATE on `open`, so a report already decided is InvalidState). Audited."""
    if not is_moderator(actor):
        raise Forbidden("Only community managers can decide reports.")
    report = get_report(report_id)
    if report.status is not ReportStatus.OPEN:
        raise InvalidState(f"This report is already {report.status.value}.")
    if not _close_reports(report.kind, report.post_id, actor.id, ReportStatus.DISMISSED):
        raise InvalidState("This report was decided meanwhile.")
    db.session.refresh(report)
    record_audit(
        actor.id, "community.report.dismiss", report.kind, report.post_id, {"status": "open"}, {"status": "dismissed"}
    )
    return report


def hide_reported(actor: User, report_id: int, reason: object) -> PostReport:
    """A manager hides the reported post with a reason (set_hidden: the author is told why)
    and every open report of it is marked actioned."""
    report = get_report(report_id)
    if report.status is not ReportStatus.OPEN:
        raise InvalidState(f"This report is already {report.status.value}.")
    set_hidden(actor, report.kind, report.post_id, True, reason)
    db.session.refresh(report)
    return report


def report_counts() -> dict[str, int]:
    """Reports per status (the queue's tabs)."""
    counts = dict(db.session.execute(select(PostReport.status, func.count()).group_by(PostReport.status)).all())
    return {s.value: counts.get(s, 0) for s in ReportStatus}


def _milestone(answer: Answer, signal) -> None:
    for job in hooks().answer_milestone_jobs:
        enqueue_after_commit(job, answer.id, job_id=milestone_job_id(job, answer.id))
    answer_id, question_id, author_id = answer.id, answer.question_id, answer.author_id
    call_after_commit(
        lambda: signal.send("hub.community", answer_id=answer_id, question_id=question_id, author_id=author_id)
    )


def milestone_job_id(job, answer_id: int) -> str:
    """Deterministic RQ job id (letters, digits, `_` and `-` only) for one job and one answer."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"answer-{answer_id}-{job.__module__}-{job.__name__}")


def _require_poster(user: User) -> None:
    if user.role not in POSTER_ROLES:
        raise Forbidden("Only advocates and community managers can post in the community.")


def _touch_activity(user: User) -> None:
    if user.role is Role.ADVOCATE:
        db.session.execute(
            update(Advocate)
            .where(Advocate.user_id == user.id)
            .values(last_activity_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def _short(title: str, limit: int = 80) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"
