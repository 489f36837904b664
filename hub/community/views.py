"""Community pages: question list (search, filters, sort), ask, question page, answer, upvote,
accept, hide, and members' reports of a post.

htmx: the list refreshes in place; answering, upvoting and accepting swap the answers
section or one answer card; domain refusals (already voted, own answer) come back as the
same partial with a message (200), per hub.htmx.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from hub.auth import roles_required
from hub.community import reads, services
from hub.community.contracts import QuestionListQuery
from hub.community.forms import AnswerForm, HideForm, QuestionForm
from hub.community.models import BODY_MAX
from hub.contracts import read_or_400
from hub.extensions import limiter
from hub.htmx import apply_errors, is_htmx, refusal_text, render_page_or_partial
from hub.markup import render_markdown
from hub.models import ALL_ROLES, STAFF_ROLES
from hub.transactions import refusal_renders

bp = Blueprint("community", __name__, url_prefix="/community")

POSTERS = tuple(reads.POSTER_ROLES)
PAGE_SIZE = 20
POST_LIMIT = "30/minute;300/day"


@bp.get("/")
@roles_required(*ALL_ROLES)
def index():
    args = read_or_400(QuestionListQuery, request.args)
    q, filter_by, sort, page = args.q, args.filter, args.sort, args.page
    rows, total = reads.list_questions(current_user, q, filter_by, sort, page, PAGE_SIZE)
    return render_page_or_partial(
        "community/index.html",
        "community/_question_list.html",
        rows=rows,
        total=total,
        q=q or "",
        filter_by=filter_by,
        sort=sort,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        can_ask=current_user.role in reads.POSTER_ROLES,
    )


@bp.route("/ask", methods=["GET", "POST"])
@roles_required(*POSTERS)
@limiter.limit(POST_LIMIT, methods=["POST"])
@refusal_renders(lambda exc: render_template("community/ask.html", form=apply_errors(QuestionForm(), exc)))
def ask():
    form = QuestionForm()
    if form.validate_on_submit():
        question = services.ask_question(current_user, form.title.data, form.body.data)
        flash("Your question is posted.", "success")
        return redirect(url_for(".question", question_id=question.id))
    return render_template("community/ask.html", form=form)


@bp.post("/preview")
@roles_required(*POSTERS)
def preview():
    """The live Markdown preview: exactly the sanitized HTML the post will show."""
    body = request.form.get("body", "")
    too_long = len(body) > BODY_MAX
    return render_template("community/_preview.html", html="" if too_long else render_markdown(body), too_long=too_long)


@bp.get("/questions/<int:question_id>")
@roles_required(*ALL_ROLES)
def question(question_id: int):
    detail = reads.question_detail(current_user, question_id)
    return render_template(
        "community/question.html",
        detail=detail,
        form=AnswerForm(),
        hide_form=HideForm(),
        **_report_context(question_id),
    )


def _report_context(question_id: int) -> dict:
    """Whether the viewer may report posts (members who cannot hide them) and which they have."""
    can_report = current_user.role in reads.POSTER_ROLES and not reads.is_moderator(current_user)
    return {"can_report": can_report, "reported": reads.reported_by(current_user, question_id) if can_report else set()}


def _answers(question_id: int, form: AnswerForm, error: str | None = None):
    """The question page, or (htmx) its answers section, with the answer form as given."""
    detail = reads.question_detail(current_user, question_id)
    return render_page_or_partial(
        "community/question.html",
        "community/_answers.html",
        detail=detail,
        form=form,
        hide_form=HideForm(),
        error=error,
        **_report_context(question_id),
    )


@bp.post("/questions/<int:question_id>/answers")
@roles_required(*POSTERS)
@limiter.limit(POST_LIMIT)
@refusal_renders(lambda exc, question_id: _answers(question_id, apply_errors(AnswerForm(), exc)))
def answer(question_id: int):
    form = AnswerForm()
    if form.validate_on_submit():
        posted = services.post_answer(current_user, question_id, form.body.data)
        if not is_htmx():
            return redirect(url_for(".question", question_id=question_id, _anchor=f"answer-{posted.id}"))
        form = AnswerForm(formdata=None)
    return _answers(question_id, form)


def _back_to_answer(answer_id: int, error: str | None = None):
    """A plain POST on an answer goes back to it on the question page (with the refusal, if any)."""
    if error:
        flash(error, "error")
    question_id = reads.visible_answer(current_user, answer_id).question_id
    return redirect(url_for(".question", question_id=question_id, _anchor=f"answer-{answer_id}"))


def _answer_card(answer_id: int, error: str | None = None):
    if not is_htmx():
        return _back_to_answer(answer_id, error)
    row = reads.answer_row(current_user, answer_id)
    return render_template(
        "community/_answer.html",
        row=row,
        error=error,
        can_moderate=current_user.role in STAFF_ROLES,
        hide_form=HideForm(),
        **_report_context(row.answer.question_id),
    )


@bp.post("/answers/<int:answer_id>/upvote")
@roles_required(*POSTERS)
@refusal_renders(lambda exc, answer_id: _answer_card(answer_id, exc.message))
def upvote(answer_id: int):
    services.upvote_answer(current_user, answer_id)
    return _answer_card(answer_id)


def _accepted(answer_id: int, error: str | None = None):
    if not is_htmx():
        return _back_to_answer(answer_id, error)
    return _answers(reads.visible_answer(current_user, answer_id).question_id, AnswerForm(formdata=None), error)


@bp.post("/answers/<int:answer_id>/accept")
@roles_required(*POSTERS)
@refusal_renders(lambda exc, answer_id: _accepted(answer_id, exc.message))
def accept(answer_id: int):
    services.accept_answer(current_user, answer_id)
    return _accepted(answer_id)


def _question_of(kind: str, post_id: int) -> int:
    return post_id if kind == "question" else reads.visible_answer(current_user, post_id).question_id


def _moderated(kind: str, question_id: int, action: str, error: str | None = None):
    shown = "hidden" if action == "hide" else "visible again"
    flash(error or f"The {kind} is {shown}.", "error" if error else "success")
    return redirect(url_for(".question", question_id=question_id))


@bp.post("/<any(question, answer):kind>s/<int:post_id>/<any(hide, restore):action>")
@roles_required(*STAFF_ROLES)
@refusal_renders(lambda exc, kind, post_id, action: _moderated(kind, _question_of(kind, post_id), action, exc.message))
def moderate(kind: str, post_id: int, action: str):
    """Managers hide an abusive post with a reason (or show it again); audited by the service."""
    question_id = _question_of(kind, post_id)
    services.set_hidden(current_user, kind, post_id, action == "hide", HideForm().reason.data)
    return _moderated(kind, question_id, action)


def _reported(question_id: int, kind: str, error: str | None = None):
    flash(error or f"Thanks — a community manager will look at this {kind}.", "error" if error else "success")
    return redirect(url_for(".question", question_id=question_id))


@bp.post("/<any(question, answer):kind>s/<int:post_id>/report")
@roles_required(*POSTERS)
@limiter.limit(POST_LIMIT)
@refusal_renders(lambda exc, kind, post_id: _reported(_question_of(kind, post_id), kind, refusal_text(exc)))
def report(kind: str, post_id: int):
    """A member reports a post to the community managers, once (hub.community.services.report_post)."""
    services.report_post(current_user, kind, post_id, request.form.get("reason"))
    return _reported(_question_of(kind, post_id), kind)
