"""Finding advocates (product.md §2, §13): the advocacy-score import with progress and a per-line
error report, candidates best score first with invite one or many, and nominations to approve
or decline."""

from __future__ import annotations

from typing import Annotated

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from admin.console import bp, staff
from admin.forms.prospects import DeclineForm, ScoreImportForm
from challenges.prospects import candidates, nominations, scores
from challenges.prospects.models import Nomination, NominationStatus, ScoreImport
from hub.contracts import PageQuery, read_or_400
from hub.errors import InvalidState, NotFound
from hub.extensions import db
from hub.fields import Flag
from hub.htmx import apply_errors
from hub.models import User
from hub.transactions import refusal_renders

PAGE = 50


class CandidateFilter(PageQuery):
    qualified: Annotated[bool | None, Flag()] = None


def _candidates_page(import_form=None, status: int = 200):
    args = read_or_400(CandidateFilter, request.args)
    rows, total = candidates.candidates(bool(args.qualified), PAGE, (args.page - 1) * PAGE)
    recent = db.session.scalars(select(ScoreImport).order_by(ScoreImport.id.desc()).limit(5)).all()
    return render_template(
        "admin/candidates.html",
        rows=rows,
        total=total,
        page=args.page,
        pages=max(1, -(-total // PAGE)),
        qualified=bool(args.qualified),
        import_form=import_form or ScoreImportForm(),
        imports=recent,
        columns=",".join(scores.COLUMNS),
    ), status


@bp.get("/candidates")
@staff
def candidates_page():
    return _candidates_page()


@bp.post("/candidates/import")
@staff
@refusal_renders(lambda exc: _candidates_page(import_form=apply_errors(ScoreImportForm(), exc), status=422))
def candidates_import():
    form = ScoreImportForm()
    if not form.validate_on_submit():
        return _candidates_page(import_form=form, status=422)
    upload = form.file.data
    job = scores.start_import(upload.filename, upload.read(scores.MAX_IMPORT_BYTES + 1), current_user.id)
    return redirect(url_for("admin.score_import_page", import_id=job.id))


@bp.get("/candidates/imports/<int:import_id>")
@staff
def score_import_page(import_id: int):
    job = db.session.get(ScoreImport, import_id)
    if job is None:
        abort(404)
    return render_template("admin/score_import.html", job=job)


@bp.get("/candidates/imports/<int:import_id>/progress")
@staff
def score_import_progress(import_id: int):
    """The progress partial htmx polls every second until the import is done."""
    job = db.session.get(ScoreImport, import_id)
    if job is None:
        abort(404)
    return render_template("admin/_score_import_progress.html", job=job)


@bp.post("/candidates/invite")
@staff
def candidates_invite():
    """Invite the ticked candidates (or the one whose button was pressed)."""
    raw = request.form.getlist("candidate_id")
    ids = [int(v) for v in raw if v.isdigit()]
    if not ids:
        flash("Tick at least one candidate to invite.", "error")
        return redirect(url_for("admin.candidates_page"))
    result = candidates.invite_many(ids, current_user.id)
    if result.invited:
        flash(f"Invited {len(result.invited)} candidate{'s' if len(result.invited) != 1 else ''}.", "success")
    for _, reason in result.skipped:
        flash(f"Skipped one: {reason}", "error")
    qualified = "true" if request.form.get("qualified") == "true" else None
    return redirect(url_for("admin.candidates_page", qualified=qualified))


def _nominations_page(decline_form=None, declining: int | None = None, status: int = 200):
    args = read_or_400(PageQuery, request.args)
    query = select(Nomination)
    total = db.session.scalar(select(func.count()).select_from(Nomination)) or 0
    rows = db.session.scalars(
        query.order_by(
            (Nomination.status == NominationStatus.NOMINATED).desc(), Nomination.created_at.desc(), Nomination.id.desc()
        )
        .limit(PAGE)
        .offset((args.page - 1) * PAGE)
    ).all()
    nominators = dict(
        db.session.execute(select(User.id, User.name).where(User.id.in_({r.nominated_by_id for r in rows}))).all()
    )
    return render_template(
        "admin/nominations.html",
        rows=rows,
        nominators=nominators,
        total=total,
        page=args.page,
        pages=max(1, -(-total // PAGE)),
        decline_form=decline_form or DeclineForm(),
        declining=declining,
    ), status


@bp.get("/nominations")
@staff
def nominations_page():
    return _nominations_page()


@bp.post("/nominations/<int:nomination_id>/approve")
@staff
@refusal_renders(lambda exc, nomination_id: _flash_back(exc))
def nomination_approve(nomination_id: int):
    row = nominations.approve(nomination_id, current_user)
    flash(f"Approved: {row.name} has been invited.", "success")
    return redirect(url_for("admin.nominations_page"))


@bp.post("/nominations/<int:nomination_id>/decline")
@staff
@refusal_renders(
    lambda exc, nomination_id: (
        _nominations_page(apply_errors(DeclineForm(), exc), nomination_id, 422)
        if not isinstance(exc, InvalidState | NotFound)
        else _flash_back(exc)
    )
)
def nomination_decline(nomination_id: int):
    form = DeclineForm()
    if not form.validate_on_submit():
        return _nominations_page(form, nomination_id, 422)
    row = nominations.decline(nomination_id, current_user, form.reason.data or "")
    flash(f"Declined the nomination of {row.name}.", "success")
    return redirect(url_for("admin.nominations_page"))


def _flash_back(exc):
    flash(exc.message, "error")
    return redirect(url_for("admin.nominations_page"))
