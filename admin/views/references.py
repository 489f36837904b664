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
from hub.errors import NotFound, VouchError
from hub.extensions import db
from hub.htmx import commit_or_refusal, is_htmx, render_page_or_partial

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
        statuses=[s.value for s in RequestStatus],
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


@bp.post("/references/<int:request_id>/assign")
@staff
def reference_assign(request_id: int):
    form = AssignForm()

    def assign() -> None:
        if not form.validate_on_submit() or not str(form.advocate_id.data).isdigit():
            raise VouchError("Choose an advocate.")
        services.assign(request_id, int(form.advocate_id.data), current_user.id)

    error = commit_or_refusal(assign)
    if error is None:
        flash("Asked. The advocate has been notified.", "success")
    if error is None and not is_htmx():
        return redirect(url_for("admin.reference", request_id=request_id))
    return _panel(db.session.get(ReferenceRequest, request_id), error, 409 if error and not is_htmx() else 200)


@bp.post("/references/<int:request_id>/unfilled")
@staff
def reference_unfilled(request_id: int):
    form = UnfilledForm()

    def mark() -> None:
        if not form.validate_on_submit():
            raise VouchError("; ".join(e for errs in form.errors.values() for e in errs) or "Check the note.")
        services.mark_unfilled(request_id, current_user.id, form.note.data)

    error = commit_or_refusal(mark)
    if error is None:
        flash("Marked unfilled; the sales rep sees the alternatives.", "success")
    if error is None and not is_htmx():
        return redirect(url_for("admin.reference", request_id=request_id))
    return _panel(db.session.get(ReferenceRequest, request_id), error, 409 if error and not is_htmx() else 200)


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
    try:
        referrals.dismiss_flag(referral_id, current_user.id)
    except NotFound:
        abort(404)
    db.session.commit()
    flash("Marked as reviewed.", "success")
    return redirect(url_for("admin.referrals_page", flagged="true"))
