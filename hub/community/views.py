"""Community pages: question list (search, filters, sort), ask, question page, answer, upvote, accept, hide.

htmx: the list refreshes in place; answering, upvoting and accepting swap the answers
section or one answer card; domain refusals (already voted, own answer) come back as the
same partial with a message (200), per hub.htmx.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from hub.auth import roles_required
from hub.community import reads, services
from hub.community.contracts import QuestionListQuery
from hub.community.forms import AnswerForm, HideForm, QuestionForm
from hub.community.models import BODY_MAX
from hub.contracts import read_or_400
from hub.errors import ValidationFailed, VouchError
from hub.extensions import db, limiter
from hub.htmx import is_htmx, render_page_or_partial
from hub.markup import render_markdown
from hub.models import ALL_ROLES, STAFF_ROLES

bp = Blueprint("community", __name__, url_prefix="/community")

POSTERS = tuple(reads.POSTER_ROLES)
PAGE_SIZE = 20
POST_LIMIT = "30/minute;300/day"


def _apply_errors(form, exc: VouchError) -> None:
    for name, messages in (exc.details.get("fields") or {}).items():
        field = getattr(form, name, None)
        (field.errors if field is not None else form.form_errors).extend(messages)
    if not exc.details.get("fields"):
        form.form_errors.append(exc.message)


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
def ask():
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            question = services.ask_question(current_user, form.title.data, form.body.data)
        except ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc)
        else:
            db.session.commit()
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
    return render_template("community/question.html", detail=detail, form=AnswerForm(), hide_form=HideForm())


@bp.post("/questions/<int:question_id>/answers")
@roles_required(*POSTERS)
@limiter.limit(POST_LIMIT)
def answer(question_id: int):
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            posted = services.post_answer(current_user, question_id, form.body.data)
        except ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc)
        else:
            db.session.commit()
            if not is_htmx():
                return redirect(url_for(".question", question_id=question_id, _anchor=f"answer-{posted.id}"))
            form = AnswerForm(formdata=None)
    detail = reads.question_detail(current_user, question_id)
    return render_page_or_partial(
        "community/question.html", "community/_answers.html", detail=detail, form=form, hide_form=HideForm()
    )


@bp.post("/answers/<int:answer_id>/upvote")
@roles_required(*POSTERS)
def upvote(answer_id: int):
    question_id = reads.visible_answer(current_user, answer_id).question_id
    message = _attempt(lambda: services.upvote_answer(current_user, answer_id))
    if not is_htmx():
        return redirect(url_for(".question", question_id=question_id, _anchor=f"answer-{answer_id}"))
    return render_template(
        "community/_answer.html",
        row=reads.answer_row(current_user, answer_id),
        error=message,
        can_moderate=current_user.role in STAFF_ROLES,
        hide_form=HideForm(),
    )


@bp.post("/answers/<int:answer_id>/accept")
@roles_required(*POSTERS)
def accept(answer_id: int):
    question_id = reads.visible_answer(current_user, answer_id).question_id
    message = _attempt(lambda: services.accept_answer(current_user, answer_id))
    if not is_htmx():
        return redirect(url_for(".question", question_id=question_id, _anchor=f"answer-{answer_id}"))
    detail = reads.question_detail(current_user, question_id)
    return render_template(
        "community/_answers.html", detail=detail, form=AnswerForm(formdata=None), hide_form=HideForm(), error=message
    )


@bp.post("/<any(question, answer):kind>s/<int:post_id>/<any(hide, restore):action>")
@roles_required(*STAFF_ROLES)
def moderate(kind: str, post_id: int, action: str):
    """Managers hide an abusive post with a reason (or show it again); audited by the service."""
    hiding = action == "hide"
    question_id = post_id if kind == "question" else reads.visible_answer(current_user, post_id).question_id
    message = _attempt(lambda: services.set_hidden(current_user, kind, post_id, hiding, HideForm().reason.data))
    flash(message or f"The {kind} is {'hidden' if hiding else 'visible again'}.", "error" if message else "success")
    return redirect(url_for(".question", question_id=question_id))


def _attempt(action) -> str | None:
    """Run one service call and commit; a business-rule refusal becomes a message."""
    try:
        action()
    except VouchError as exc:
        db.session.rollback()
        if exc.status in (403, 404):
            abort(exc.status)
        return exc.message
    db.session.commit()
    return None
