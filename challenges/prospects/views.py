"""The "Nominate a customer" page for sales, managers and owners: the form and the status of
their own nominations (approved → invited, or declined with the reason)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from challenges.prospects import nominations
from challenges.prospects.forms import NominationForm
from challenges.prospects.models import Nomination
from hub.auth import roles_required
from hub.extensions import db
from hub.fields import read
from hub.htmx import apply_errors
from hub.transactions import refusal_renders

bp = Blueprint("prospects", __name__)


def _page(form: NominationForm, status: int = 200):
    mine = db.session.scalars(
        select(Nomination)
        .where(Nomination.nominated_by_id == current_user.id)
        .order_by(Nomination.created_at.desc(), Nomination.id.desc())
        .limit(100)
    ).all()
    return render_template("prospects/nominate.html", form=form, mine=mine), status


@bp.route("/nominations", methods=["GET", "POST"])
@roles_required(*nominations.NOMINATORS)
@refusal_renders(lambda exc: _page(apply_errors(NominationForm(), exc), 409 if exc.code == "invalid_state" else 422))
def nominate():
    form = NominationForm()
    if not form.is_submitted():
        return _page(form)
    if not form.validate():
        return _page(form, 422)
    data = read(
        nominations.NominationBody,
        {k: form.data[k] for k in ("email", "name", "company", "title", "reason") if form.data.get(k)},
    )
    row = nominations.nominate(data, current_user)
    flash(f"Thank you: {row.name} is nominated. A manager will decide, and you will be told.", "success")
    return redirect(url_for("prospects.nominate"))
