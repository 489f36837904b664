"""Email preferences (/me/preferences/email) and the one-click unsubscribe link (no login)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from hub.auth import public, roles_required
from hub.email.preferences import (
    ALL,
    EMAIL_KINDS,
    disabled_kinds,
    kind_label,
    read_unsubscribe_token,
    set_enabled_kinds,
    unsubscribe,
)
from hub.extensions import csrf, limiter
from hub.htmx import render_page_or_partial
from hub.models import Role
from hub.transactions import refusal_renders

bp = Blueprint("email", __name__)


@bp.route("/me/preferences/email", methods=["GET", "POST"])
@roles_required(Role.ADVOCATE)
def preferences():
    saved = False
    if request.method == "POST":
        set_enabled_kinds(current_user.advocate.id, set(request.form.getlist("kinds")))
        saved = True
    return render_page_or_partial(
        "hub/email_preferences.html",
        "hub/_email_preferences_form.html",
        kinds=list(EMAIL_KINDS.values()),
        off=disabled_kinds(current_user.advocate),
        saved=saved,
    )


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@public
@csrf.exempt  # the signed token is the credential; mail clients POST here (RFC 8058 one-click)
@limiter.limit("60/minute")
@refusal_renders(lambda exc, token: (render_template("hub/unsubscribe_invalid.html", message=exc.message), 400))
def unsubscribe_link(token: str):
    user, kind = read_unsubscribe_token(token)
    if request.method == "GET":
        return render_template("hub/unsubscribe.html", token=token, kind=kind, label=kind_label(kind), done=False)
    scope = ALL if request.form.get("scope") == ALL else kind
    unsubscribe(user.id, scope)
    return render_template("hub/unsubscribe.html", token=token, kind=scope, label=kind_label(scope), done=True)
