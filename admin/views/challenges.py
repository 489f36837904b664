"""Staff consoles for challenges: the catalog editor with live preview, the review queue,
and (owners) the caps policy. Routes live on the `admin` blueprint and its role gate."""

from __future__ import annotations

from typing import Annotated

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from admin.console import bp, owner_only, staff
from challenges import caps, quiz_builder, services, verifiers
from challenges.contracts import ChallengeListQuery
from challenges.forms import CapsPolicyForm, ChallengeForm, QuestionPickQuery, RejectForm, ReviewQueueQuery
from challenges.services import MAX_QUESTIONS
from challenges.services.definitions import MAX_OPTIONS
from challenges.simulations import challenge_point_changes
from hub.bulk import selected_ids
from hub.community.reads import pickable_questions
from hub.contracts import read_or_400
from hub.errors import ValidationFailed, VouchError
from hub.extensions import db
from hub.fields import WholeNumber, read_value
from hub.htmx import apply_errors, is_htmx, refusal_text, render_page_or_partial
from hub.models import Group
from hub.settings import get_setting
from hub.transactions import refusal_renders
from rewards.simulations import simulate

PAGE = 50
QUESTION_CHOICES = 50  # questions the picker lists at once (search narrows them)
AGES = {0: "Any age", 1: "Waiting 1+ day", 3: "Waiting 3+ days", 7: "Waiting a week+"}
ACTIONS = {
    "publish": (services.publish_challenge, "published"),
    "close": (services.close_challenge, "closed"),
    "archive": (services.archive_challenge, "archived"),
    "duplicate": (services.duplicate_challenge, "duplicated as a new draft"),
}


def _challenge_form(**kwargs) -> ChallengeForm:
    form = ChallengeForm(**kwargs)
    form.target_groups.choices = {g: g for g in db.session.scalars(select(Group.name).order_by(Group.name))}
    return form


def _question_choices(form: ChallengeForm) -> list[tuple[str, str]]:
    """The question picker's options without scripts: any question, then the newest visible
    questions with the chosen one kept (a hidden or unknown choice shows as its id, so its
    error reads against it)."""
    chosen = str(form.question_id.data or "")
    current = int(chosen) if chosen.isdigit() else None
    rows = [(str(qid), title) for qid, title in pickable_questions("", QUESTION_CHOICES, include_id=current)]
    if chosen and all(value != chosen for value, _ in rows):
        rows.insert(0, (chosen, f"Question {chosen} (not available)"))
    return [("", "Any question"), *rows]


def _quiz_op(form: ChallengeForm, challenge):
    """A quiz builder button pressed without scripts: the editor again with the change made
    (quiz_builder.apply_op), nothing saved."""
    form.quiz_rows = quiz_builder.apply_op(form.quiz_rows, request.form.get("quiz_op", ""))
    return _editor(form, challenge, status=200, preview=False)


@bp.get("/challenges")
@staff
def challenges():
    args = read_or_400(ChallengeListQuery, request.args)
    status, page = args.status, args.page
    items, total = services.list_challenges(status, page, PAGE)
    stats = services.completion_stats([c.id for c in items])
    return render_template(
        "admin/challenges.html",
        challenges=items,
        stats=stats,
        status=status or "",
        page=page,
        pages=max(1, -(-total // PAGE)),
        types=verifiers.TYPES,
    )


@bp.route("/challenges/new", methods=["GET", "POST"])
@staff
@refusal_renders(lambda exc: _editor(apply_errors(_challenge_form(), exc), None))
def challenge_new():
    form = _challenge_form()
    if request.method == "POST" and "quiz_op" in request.form:
        return _quiz_op(form, None)
    if form.validate_on_submit():
        challenge = services.create_challenge(services.clean_challenge(form.to_data()), current_user.id)
        flash("Draft saved. Publish it when it looks right.", "success")
        return redirect(url_for("admin.challenge_edit", challenge_id=challenge.id))
    return _editor(form, None)


@bp.route("/challenges/<int:challenge_id>/edit", methods=["GET", "POST"])
@staff
@refusal_renders(
    lambda exc, challenge_id: _editor(apply_errors(_challenge_form(), exc), services.get_challenge(challenge_id))
)
def challenge_edit(challenge_id: int):
    challenge = services.get_challenge(challenge_id)
    form = _challenge_form()
    if request.method == "GET":
        form.fill_from(services.definition_dict(challenge))
    elif "quiz_op" in request.form:
        return _quiz_op(form, challenge)
    elif form.validate_on_submit():
        services.update_challenge(challenge_id, services.clean_challenge(form.to_data()), current_user.id)
        flash("Challenge saved.", "success")
        return redirect(url_for("admin.challenge_edit", challenge_id=challenge_id))
    return _editor(form, challenge)


def _editor(form: ChallengeForm, challenge, status: int | None = None, preview: bool = True):
    shown = preview and (request.method == "POST" or challenge)
    card, problems = _preview_of(form) if shown else (None, None)
    return render_template(
        "admin/challenge_form.html",
        form=form,
        challenge=challenge,
        preview=card,
        problems=problems,
        types=verifiers.TYPES,
        field_map=verifiers.editor_field_map(),
        used_by={name: verifiers.used_by(name) for name in verifiers.TYPE_SPECIFIC_FIELDS},
        used=form.used_fields(),
        question_choices=_question_choices(form),
        quiz_rows=form.quiz_rows,
        max_questions=MAX_QUESTIONS,
        max_options=MAX_OPTIONS,
    ), status or (422 if request.method == "POST" else 200)


def _preview_of(form: ChallengeForm):
    """(the card as advocates will see it, with warnings) or (None, field problems)."""
    if form.quiz_problems():
        return None, form.quiz_problems()
    try:
        inp = services.clean_challenge(form.to_data())
    except ValidationFailed as exc:
        return None, exc.fields
    return {"item": services.preview_challenge(inp), "warnings": services.challenge_warnings(inp)}, None


@bp.post("/challenges/preview")
@staff
def challenge_preview():
    """Live preview for the editor (htmx): the advocate's card and page text, never saved."""
    form = _challenge_form()
    form.validate()
    preview, problems = _preview_of(form)
    return render_template("admin/_challenge_preview.html", preview=preview, problems=problems)


@bp.get("/challenges/questions")
@staff
def challenge_question_search():
    """The question picker's search (htmx): the visible community questions whose title holds
    `q`, as the picker's options, the chosen one (`question_id`) kept and selected."""
    query = read_or_400(QuestionPickQuery, request.args)
    rows = pickable_questions(query.q or "", QUESTION_CHOICES, include_id=query.question_id)
    return render_template("admin/_question_options.html", rows=rows, chosen=query.question_id)


@bp.post("/challenges/<int:challenge_id>/points-whatif")
@staff
# Like the card preview's problems, a what-if's are shown in the panel (htmx swaps 2xx only).
@refusal_renders(lambda exc, challenge_id: render_template("admin/_whatif_refused.html", message=refusal_text(exc)))
def challenge_points_whatif(challenge_id: int):
    """The editor's what-if (htmx): the challenge's approved completions valued at the proposed
    points — tier movers, liability now and then (rewards.simulations; writes nothing)."""
    services.get_challenge(challenge_id)
    points = read_value(Annotated[int, WholeNumber(1, 1_000_000)], request.form.get("points"), "points")
    preview = simulate({}, challenge_point_changes({challenge_id: points}))
    return render_template("admin/_whatif.html", preview=preview)


def _action_refused(exc: VouchError, challenge_id: int, action: str):
    flash(exc.message, "error")
    return _row(challenge_id) if is_htmx() else redirect(url_for("admin.challenge_edit", challenge_id=challenge_id))


@bp.post("/challenges/<int:challenge_id>/<action>")
@staff
@refusal_renders(_action_refused)
def challenge_action(challenge_id: int, action: str):
    if action not in ACTIONS:
        abort(404)
    service, done = ACTIONS[action]
    result = service(challenge_id, current_user.id)
    if action == "duplicate":
        flash(f"“{result.title}” created.", "success")
        return redirect(url_for("admin.challenge_edit", challenge_id=result.id))
    if is_htmx():
        return _row(challenge_id)
    flash(f"Challenge {done}.", "success")
    return redirect(url_for("admin.challenge_edit", challenge_id=challenge_id))


def _row(challenge_id: int):
    challenge = services.get_challenge(challenge_id)
    stats = services.completion_stats([challenge_id])
    return render_template("admin/_challenge_row.html", c=challenge, stats=stats, types=verifiers.TYPES)


# --- review queue --------------------------------------------------------------------------


def _queue_args() -> dict:
    query = read_or_400(ReviewQueueQuery, request.values)
    return {
        "challenge_id": query.challenge,
        "challenge_type": query.type,
        "min_age_days": query.age,
        "page": query.page,
    }


def _queue_context(message: str | None = None) -> dict:
    args = _queue_args()
    items, total = services.review_queue(
        args["challenge_id"], args["challenge_type"], args["min_age_days"], args["page"], PAGE
    )
    return {
        "items": items,
        "total": total,
        "args": args,
        "pages": max(1, -(-total // PAGE)),
        "ages": AGES,
        "types": verifiers.TYPES,
        "message": message,
        "reject_form": RejectForm(formdata=None),
        "challenges": services.list_challenges(None, 1, 200)[0],
    }


@bp.get("/review")
@staff
def review():
    return render_page_or_partial("admin/review.html", "admin/_review_list.html", **_queue_context())


def _review_decided(completion_id: int, error: str | None = None):
    """The decided completion's row (htmx) or, for a plain POST, the queue with what happened."""
    completion = services.completion_for(completion_id, None)
    if not is_htmx():
        flash(error or f"Completion {completion.status.value.replace('_', ' ')}.", "error" if error else "success")
        return redirect(url_for("admin.review"))
    args = _queue_args()
    _, waiting = services.review_queue(args["challenge_id"], args["challenge_type"], args["min_age_days"], 1, 1)
    return render_template("admin/_review_decided.html", completion=completion, error=error, total=waiting)


@bp.post("/review/<int:completion_id>/<decision>")
@staff
@refusal_renders(lambda exc, completion_id, decision: _review_decided(completion_id, refusal_text(exc)))
def review_decide(completion_id: int, decision: str):
    if decision not in ("approve", "reject"):
        abort(404)
    form = RejectForm()
    if decision == "approve":
        services.approve_completion(completion_id, current_user.id)
    elif not form.validate_on_submit():
        return _review_decided(completion_id, "; ".join(form.reason.errors or ["Say why."]))
    else:
        services.reject_completion(completion_id, current_user.id, form.reason.data or "")
    return _review_decided(completion_id)


def _bulk_decided(message: str):
    if not is_htmx():
        flash(message, "info")
        return redirect(url_for("admin.review"))
    return render_template("admin/_review_list.html", **_queue_context(message))


@bp.post("/review/bulk")
@staff
@refusal_renders(lambda exc: _bulk_decided(refusal_text(exc)))
def review_bulk():
    ids = selected_ids(request.form)
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400)
    result = services.decide_many(ids, current_user.id, decision == "approve", request.form.get("reason"))
    return _bulk_decided(result.summary("Approved" if decision == "approve" else "Rejected"))


# --- caps policy (owners) ------------------------------------------------------------------


@bp.route("/settings/caps", methods=["GET", "POST"])
@owner_only
@refusal_renders(lambda exc: (render_template("admin/caps.html", form=apply_errors(CapsPolicyForm(), exc)), 422))
def caps_policy():
    form = CapsPolicyForm(data=get_setting("caps_policy")) if request.method == "GET" else CapsPolicyForm()
    if form.validate_on_submit():
        caps.save_policy({name: form[name].data for name in caps.POLICY_FIELDS}, current_user.id)
        flash("Caps policy saved. It applies to every feed, submission and reference match from now on.", "success")
        return redirect(url_for("admin.caps_policy"))
    return render_template("admin/caps.html", form=form), 422 if request.method == "POST" else 200
