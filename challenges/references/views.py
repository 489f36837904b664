"""Reference-request pages: sales file and follow requests; advocates answer the asks."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from challenges.crm import reports
from challenges.references import services
from challenges.references.forms import FeedbackForm, ReferenceRequestForm
from challenges.references.models import RequestStatus
from hub.auth import roles_required
from hub.errors import NotFound, VouchError
from hub.extensions import db
from hub.htmx import apply_errors, commit_or_refusal, is_htmx, render_page_or_partial
from hub.models import Role

bp = Blueprint("references", __name__)


SALES_AND_STAFF = (Role.SALES, Role.MANAGER, Role.OWNER)


def _form_data(form) -> dict:
    data = {k: v for k, v in form.data.items() if k not in {"csrf_token", "submit"}}
    if "needed_by" in data and data["needed_by"] is not None:
        data["needed_by"] = data["needed_by"].isoformat()
    return data


@bp.get("/references")
@roles_required(Role.SALES)
def sales_references():
    """The sales home: my requests and their status."""
    f = request.args.get("status") or None
    status = f if f in {s.value for s in RequestStatus} else None
    rows, total = services.list_requests(current_user, status, 1, 100)
    return render_template("references/sales_index.html", requests=rows, total=total, status=status)


@bp.route("/references/new", methods=["GET", "POST"])
@roles_required(*SALES_AND_STAFF)
def new_request():
    form = ReferenceRequestForm()
    if form.validate_on_submit():
        try:
            rr = services.file_request(current_user.id, services.parse_request(_form_data(form)))
            db.session.commit()
            flash("Your reference request is filed. We will tell you when an advocate accepts.", "success")
            return redirect(url_for("references.request_page", request_id=rr.id))
        except VouchError as exc:
            db.session.rollback()
            apply_errors(form, exc)
    return render_template("references/new.html", form=form), 200


@bp.get("/references/<int:request_id>")
@roles_required(*SALES_AND_STAFF)
def request_page(request_id: int):
    try:
        rr = services.request_for(current_user, request_id)
    except NotFound:
        abort(404)
    return render_template("references/request.html", rr=rr, form=FeedbackForm())


@bp.post("/references/<int:request_id>/feedback")
@roles_required(*SALES_AND_STAFF)
def give_feedback(request_id: int):
    try:
        services.request_for(current_user, request_id)
    except NotFound:
        abort(404)
    form = FeedbackForm()
    if form.validate_on_submit():
        try:
            services.give_feedback(request_id, current_user, services.parse_feedback(form.data))
            db.session.commit()
            flash("Thank you — the advocate has been thanked.", "success")
            return redirect(url_for("references.request_page", request_id=request_id))
        except VouchError as exc:
            db.session.rollback()
            apply_errors(form, exc)
    rr = services.request_for(current_user, request_id)
    return render_template("references/request.html", rr=rr, form=form), 200


@bp.get("/me/references")
@roles_required(Role.ADVOCATE)
def my_asks():
    return render_template("references/my_asks.html", asks=services.asks_for(current_user.advocate.id))


@bp.get("/me/references/<int:request_id>")
@roles_required(Role.ADVOCATE)
def my_ask(request_id: int):
    assignment = services.assignment_of(request_id, current_user.advocate.id)
    if assignment is None:
        abort(404)
    return render_template("references/my_ask.html", assignment=assignment, rr=assignment.request)


@bp.post("/me/references/<int:request_id>/accept")
@roles_required(Role.ADVOCATE)
def accept_ask(request_id: int):
    return _answer(request_id, "accept")


@bp.post("/me/references/<int:request_id>/decline")
@roles_required(Role.ADVOCATE)
def decline_ask(request_id: int):
    return _answer(request_id, "decline")


def _answer(request_id: int, answer: str):
    """One click: accept or decline; htmx swaps the ask card in place."""
    error = commit_or_refusal(lambda: services.respond(request_id, current_user.advocate.id, answer == "accept"))
    assignment = services.assignment_of(request_id, current_user.advocate.id)
    if error is None and not is_htmx():
        flash(
            "Thank you! The sales rep will be in touch."
            if answer == "accept"
            else "No problem — we will ask someone else.",
            "success",
        )
    return render_page_or_partial(
        "references/my_ask.html", "references/_ask_card.html", assignment=assignment, rr=assignment.request, error=error
    )


def home_section(advocate) -> tuple[str, dict] | None:
    """The hub home's card: pending reference asks, a referral prompt, deals helped."""
    pending = [(a, rr) for a, rr in services.asks_for(advocate.id) if a.status.value == "asked"]
    deals = reports.deals_helped(advocate.id, limit=3)
    return "references/_home_section.html", {"pending": pending, "deals": deals}
