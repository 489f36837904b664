"""Staff consoles for challenges: the catalog editor with live preview, the review queue,
and (owners) the caps policy. Routes live on the `admin` blueprint and its role gate."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from admin.console import bp, owner_only, staff
from challenges import caps, services, verifiers
from challenges.contracts import ChallengeListQuery
from challenges.forms import QUIZ_HELP, CapsPolicyForm, ChallengeForm, RejectForm, ReviewQueueQuery
from hub.contracts import read_or_400
from hub.errors import ValidationFailed, VouchError
from hub.extensions import db
from hub.htmx import apply_errors, is_htmx, render_page_or_partial
from hub.models import Group
from hub.settings import get_setting

PAGE = 50
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
def challenge_new():
    form = _challenge_form()
    if form.validate_on_submit():
        try:
            challenge = services.create_challenge(services.clean_challenge(form.to_data()), current_user.id)
            db.session.commit()
            flash("Draft saved. Publish it when it looks right.", "success")
            return redirect(url_for("admin.challenge_edit", challenge_id=challenge.id))
        except VouchError as exc:
            db.session.rollback()
            apply_errors(form, exc)
    return _editor(form, None)


@bp.route("/challenges/<int:challenge_id>/edit", methods=["GET", "POST"])
@staff
def challenge_edit(challenge_id: int):
    challenge = _challenge_or_404(challenge_id)
    form = _challenge_form()
    if request.method == "GET":
        form.fill_from(services.definition_dict(challenge))
    elif form.validate_on_submit():
        try:
            services.update_challenge(challenge_id, services.clean_challenge(form.to_data()), current_user.id)
            db.session.commit()
            flash("Challenge saved.", "success")
            return redirect(url_for("admin.challenge_edit", challenge_id=challenge_id))
        except VouchError as exc:
            db.session.rollback()
            apply_errors(form, exc)
    return _editor(form, challenge)


def _editor(form: ChallengeForm, challenge):
    preview, problems = _preview_of(form) if request.method == "POST" or challenge else (None, None)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/challenge_form.html",
        form=form,
        challenge=challenge,
        preview=preview,
        problems=problems,
        types=verifiers.TYPES,
        quiz_help=QUIZ_HELP,
    ), status


def _preview_of(form: ChallengeForm):
    """(the card as advocates will see it, with warnings) or (None, field problems)."""
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


@bp.post("/challenges/<int:challenge_id>/<action>")
@staff
def challenge_action(challenge_id: int, action: str):
    if action not in ACTIONS:
        abort(404)
    service, done = ACTIONS[action]
    try:
        result = service(challenge_id, current_user.id)
        db.session.commit()
    except VouchError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
        return _row(challenge_id) if is_htmx() else redirect(url_for("admin.challenge_edit", challenge_id=challenge_id))
    if action == "duplicate":
        flash(f"“{result.title}” created.", "success")
        return redirect(url_for("admin.challenge_edit", challenge_id=result.id))
    if is_htmx():
        return _row(challenge_id)
    flash(f"Challenge {done}.", "success")
    return redirect(url_for("admin.challenge_edit", challenge_id=challenge_id))


def _row(challenge_id: int):
    challenge = _challenge_or_404(challenge_id)
    stats = services.completion_stats([challenge_id])
    return render_template("admin/_challenge_row.html", c=challenge, stats=stats, types=verifiers.TYPES)


def _challenge_or_404(challenge_id: int):
    try:
        return services.get_challenge(challenge_id)
    except VouchError:
        abort(404)


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


@bp.post("/review/<int:completion_id>/<decision>")
@staff
def review_decide(completion_id: int, decision: str):
    if decision not in ("approve", "reject"):
        abort(404)
    form = RejectForm()
    error = None
    try:
        if decision == "approve":
            completion = services.approve_completion(completion_id, current_user.id)
        elif not form.validate_on_submit():
            raise ValidationFailed({"reason": form.reason.errors or ["Say why."]})
        else:
            completion = services.reject_completion(completion_id, current_user.id, form.reason.data)
        db.session.commit()
    except VouchError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        error = "; ".join(m for ms in (exc.details.get("fields") or {}).values() for m in ms) or exc.message
        completion = services.completion_for(completion_id, None)
    if not is_htmx():
        flash(error or f"Completion {completion.status.value.replace('_', ' ')}.", "error" if error else "success")
        return redirect(url_for("admin.review"))
    return render_template("admin/_review_decided.html", completion=completion, error=error)


@bp.post("/review/bulk")
@staff
def review_bulk():
    ids = [int(v) for v in request.form.getlist("ids") if v.isdigit() and len(v) < 12][:PAGE]
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400)
    try:
        result = services.decide_many(ids, current_user.id, decision == "approve", request.form.get("reason"))
        db.session.commit()
        verb = "Approved" if decision == "approve" else "Rejected"
        message = f"{verb} {len(result.done)}" + (
            f"; {len(result.skipped)} were already decided." if result.skipped else "."
        )
    except VouchError as exc:
        db.session.rollback()
        message = "; ".join(m for ms in (exc.details.get("fields") or {}).values() for m in ms) or exc.message
    if not is_htmx():
        flash(message, "info")
        return redirect(url_for("admin.review"))
    return render_template("admin/_review_list.html", **_queue_context(message))


# --- caps policy (owners) ------------------------------------------------------------------


@bp.route("/settings/caps", methods=["GET", "POST"])
@owner_only
def caps_policy():
    form = CapsPolicyForm(data=get_setting("caps_policy")) if request.method == "GET" else CapsPolicyForm()
    if form.validate_on_submit():
        try:
            caps.save_policy({name: getattr(form, name).data for name in caps.POLICY_FIELDS}, current_user.id)
            db.session.commit()
            flash("Caps policy saved. It applies to every feed, submission and reference match from now on.", "success")
            return redirect(url_for("admin.caps_policy"))
        except VouchError as exc:
            db.session.rollback()
            apply_errors(form, exc)
    return render_template("admin/caps.html", form=form), 422 if request.method == "POST" else 200
