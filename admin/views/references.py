"""Manager pages for reference requests (matching, assigning, unfilled) and referrals."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from admin.console import bp, staff
from challenges.references import services
from challenges.references.contracts import RequestListQuery
from challenges.references.forms import AssignForm, UnfilledForm
from challenges.references.models import ReferenceAssignment, ReferenceRequest, RequestStatus
from challenges.referrals import services as referrals
from challenges.referrals.contracts import ReferralListQuery
from hub.contracts import read_or_400
from hub.extensions import db
from hub.htmx import is_htmx, render_page_or_partial
from hub.transactions import refusal_renders

CANDIDATES_SHOWN = 25


@bp.get("/references")
@staff
def references():
    args = read_or_400(RequestListQuery, request.args)
    status, page = args.status, args.page
    rows, total = services.list_requests(current_user, status, page, 50)
    return render_template(
        "admin/references.html",
        requests=rows,
        total=total,
        status=status or "",
        page=page,
        pages=max(1, -(-total // 50)),
        statuses=list(RequestStatus),
        statuses_by_value={s.value: s for s in RequestStatus},
    )


def _panel(rr: ReferenceRequest, error: str | None = None, status: int = 200):
    matches = services.find_matches(rr.id) if rr.status is RequestStatus.OPEN else None
    history = db.session.scalars(
        db.select(ReferenceAssignment)
        .where(ReferenceAssignment.request_id == rr.id)
        .order_by(ReferenceAssignment.asked_at)
    ).all()
    return render_page_or_partial(
        "admin/reference.html",
        "admin/_reference_panel.html",
        status=status,
        rr=rr,
        matches=matches,
        shown=CANDIDATES_SHOWN,
        history=history,
        error=error,
        assign_form=AssignForm(),
        unfilled_form=UnfilledForm(),
    )


@bp.get("/references/<int:request_id>")
@staff
def reference(request_id: int):
    rr = db.session.get(ReferenceRequest, request_id)
    if rr is None:
        abort(404)
    return _panel(rr)


def _panel_after(request_id: int, done: str = "", error: str | None = None):
    """After an action on a request: a plain POST that went through goes back to its page with
    `done`; htmx, and a refusal, get the panel (a refusal with its reason, 409 without htmx)."""
    if error is None:
        flash(done, "success")
        if not is_htmx():
            return redirect(url_for("admin.reference", request_id=request_id))
    rr = db.session.get(ReferenceRequest, request_id)
    if rr is None:
        abort(404)
    return _panel(rr, error, 409 if error and not is_htmx() else 200)


@bp.post("/references/<int:request_id>/assign")
@staff
@refusal_renders(lambda exc, request_id: _panel_after(request_id, error=exc.message))
def reference_assign(request_id: int):
    form = AssignForm()
    if not form.validate_on_submit() or not str(form.advocate_id.data).isdigit():
        return _panel_after(request_id, error="Choose an advocate.")
    services.assign(request_id, int(str(form.advocate_id.data)), current_user.id)
    return _panel_after(request_id, "Asked. The advocate has been notified.")


@bp.post("/references/<int:request_id>/unfilled")
@staff
@refusal_renders(lambda exc, request_id: _panel_after(request_id, error=exc.message))
def reference_unfilled(request_id: int):
    form = UnfilledForm()
    if not form.validate_on_submit():
        problems = "; ".join(e for errs in form.errors.values() for e in errs)
        return _panel_after(request_id, error=problems or "Check the note.")
    services.mark_unfilled(request_id, current_user.id, form.note.data)
    return _panel_after(request_id, "Marked unfilled; the sales rep sees the alternatives.")


@bp.post("/references/<int:request_id>/withdraw")
@staff
@refusal_renders(lambda exc, request_id: _panel_after(request_id, error=exc.message))
def reference_withdraw(request_id: int):
    services.withdraw(request_id, current_user)
    return _panel_after(request_id, "Withdrawn. An asked advocate was told and their ask released.")


@bp.get("/referrals")
@staff
def referrals_page():
    args = read_or_400(ReferralListQuery, request.args)
    flagged, page = args.flagged, args.page
    rows, total = referrals.list_referrals(None, flagged, page, 50)
    return render_template(
        "admin/referrals.html",
        referrals=rows,
        total=total,
        flagged=flagged,
        page=page,
        pages=max(1, -(-total // 50)),
        flag_text=referrals.FLAG_TEXT,
    )


@bp.post("/referrals/<int:referral_id>/reviewed")
@staff
def referral_reviewed(referral_id: int):
    referrals.dismiss_flag(referral_id, current_user.id)
    flash("Marked as reviewed.", "success")
    return redirect(url_for("admin.referrals_page", flagged="true"))
