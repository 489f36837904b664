"""Program terms console (owner): publish a new text of the terms every advocate accepts;
advocates accept it at their next visit (hub.consent; issue 14)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from admin.console import bp, owner_only
from hub import consent
from hub.errors import ValidationFailed
from hub.extensions import db
from hub.models import Advocate, ConsentAcceptance


def _terms_page(text: str, errors: list[str] | None = None, status: int = 200):
    version, _ = consent.current_terms()
    accepted = db.session.scalar(
        select(func.count())
        .select_from(ConsentAcceptance)
        .join(Advocate, Advocate.id == ConsentAcceptance.advocate_id)
        .where(ConsentAcceptance.version == version, Advocate.is_erased.is_(False))
    )
    advocates = db.session.scalar(select(func.count()).select_from(Advocate).where(Advocate.is_erased.is_(False)))
    return render_template(
        "admin/terms.html", text=text, version=version, errors=errors or [], accepted=accepted, advocates=advocates
    ), status


@bp.route("/settings/terms", methods=["GET", "POST"])
@owner_only
def terms():
    if request.method == "GET":
        return _terms_page(consent.current_terms()[1])
    text = request.form.get("text", "")
    try:
        version = consent.publish_terms(text, current_user.id)
    except ValidationFailed as exc:
        return _terms_page(text, exc.fields.get("text", [exc.message]), 422)
    flash(f"Terms version {version} in force; advocates accept it at their next visit.", "success")
    return redirect(url_for("admin.terms"))
