"""Reference-request pages: sales file and follow requests; advocates answer the asks."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from challenges.crm import reports
from challenges.references import services
from challenges.references.forms import FeedbackForm, ReferenceRequestForm
from challenges.references.models import WITHDRAWABLE, RequestStatus
from hub.auth import roles_required
from hub.htmx import apply_errors, is_htmx, render_page_or_partial
from hub.models import Role
from hub.transactions import refusal_renders

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
    return render_template(
        "references/sales_index.html", requests=rows, total=total, status=status, statuses=list(RequestStatus)
    )


@bp.route("/references/new", methods=["GET", "POST"])
@roles_required(*SALES_AND_STAFF)
@refusal_renders(lambda exc: render_template("references/new.html", form=apply_errors(ReferenceRequestForm(), exc)))
def new_request():
    form = ReferenceRequestForm()
    if form.validate_on_submit():
        rr = services.file_request(current_user.id, services.parse_request(_form_data(form)))
        flash("Your reference request is filed. We will tell you when an advocate accepts.", "success")
        return redirect(url_for("references.request_page", request_id=rr.id))
    return render_template("references/new.html", form=form), 200


def _request_page(request_id: int, form: FeedbackForm, error: str | None = None, status: int = 200):
    rr = services.request_for(current_user, request_id)
    return render_template("references/request.html", rr=rr, form=form, error=error, withdrawable=WITHDRAWABLE), status


@bp.get("/references/<int:request_id>")
@roles_required(*SALES_AND_STAFF)
def request_page(request_id: int):
    return _request_page(request_id, FeedbackForm())


@bp.post("/references/<int:request_id>/feedback")
@roles_required(*SALES_AND_STAFF)
@refusal_renders(lambda exc, request_id: _request_page(request_id, apply_errors(FeedbackForm(), exc)))
def give_feedback(request_id: int):
    services.request_for(current_user, request_id)
    form = FeedbackForm()
    if form.validate_on_submit():
        services.give_feedback(request_id, current_user, services.parse_feedback(form.data))
        flash("Thank you — the advocate has been thanked.", "success")
        return redirect(url_for("references.request_page", request_id=request_id))
    return _request_page(request_id, form)


@bp.post("/references/<int:request_id>/withdraw")
@roles_required(*SALES_AND_STAFF)
@refusal_renders(lambda exc, request_id: _request_page(request_id, FeedbackForm(), exc.message, 409))
def withdraw_request(request_id: int):
    """The rep takes back a request nobody has agreed to yet (a second click: the reason, 409)."""
    services.withdraw(request_id, current_user)
    flash("Request withdrawn. Nobody will be asked for it.", "success")
    return redirect(url_for("references.request_page", request_id=request_id))


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
@refusal_renders(lambda exc, request_id: _ask_card(request_id, exc.message))
def accept_ask(request_id: int):
    services.respond(request_id, current_user.advocate.id, True)
    if not is_htmx():
        flash("Thank you! The sales rep will be in touch.", "success")
    return _ask_card(request_id)


@bp.post("/me/references/<int:request_id>/decline")
@roles_required(Role.ADVOCATE)
@refusal_renders(lambda exc, request_id: _ask_card(request_id, exc.message))
def decline_ask(request_id: int):
    services.respond(request_id, current_user.advocate.id, False)
    if not is_htmx():
        flash("You declined. The request goes back to the program team; it does not count toward your asks.", "success")
    return _ask_card(request_id)


def _ask_card(request_id: int, error: str | None = None):
    """The ask after one click (accept or decline), or the refusal; htmx swaps the card in place."""
    assignment = services.assignment_of(request_id, current_user.advocate.id)
    if assignment is None:
        abort(404)
    return render_page_or_partial(
        "references/my_ask.html", "references/_ask_card.html", assignment=assignment, rr=assignment.request, error=error
    )


def home_section(advocate) -> tuple[str, dict] | None:
    """The hub home's card: pending reference asks, a referral prompt, deals helped."""
    pending = services.pending_asks(advocate.id)
    deals = reports.deals_helped(advocate.id, limit=3)
    return "references/_home_section.html", {"pending": pending, "deals": deals}
