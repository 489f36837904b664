"""Invitations console: pending, expired, revoked and accepted invitations, each pending or expired
one resent (a new link) or revoked in place (hub.invitations; issue 20, "People housekeeping")."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from admin.console import bp, staff
from hub import invitations
from hub.contracts import InvitationListQuery, read_or_400
from hub.db import utcnow
from hub.errors import NotFound, VouchError
from hub.extensions import db
from hub.htmx import is_htmx, refusal_text, render_page_or_partial
from hub.models import Invite, InviteState
from hub.transactions import refusal_renders

PAGE = 50


@bp.get("/invitations")
@staff
def invitations_page():
    args = read_or_400(InvitationListQuery, request.args)
    state = args.state or InviteState.PENDING
    rows, total = invitations.invitations_page(state, args.offset, PAGE)
    return render_page_or_partial(
        "admin/invitations.html",
        "admin/_invitation_rows.html",
        invitations=rows,
        state=state,
        states=list(InviteState),
        counts=invitations.state_counts(),
        now=utcnow(),
        page=args.page,
        pages=max(1, -(-total // PAGE)),
    )


def _after(invite_id: int, done: str = "", error: str | None = None):
    """htmx gets the row back (with the refusal if any) and the tab counts out of band; a plain
    form post goes back to the list with what happened."""
    row = db.session.get(Invite, invite_id)
    if row is None:
        raise NotFound("Invitation not found.")
    if not is_htmx():
        flash(error or done.format(email=row.email), "error" if error else "success")
        return redirect(url_for("admin.invitations_page", state=request.args.get("state") or None))
    return make_response(
        render_template(
            "admin/_invitation_row.html",
            invitation=row,
            now=utcnow(),
            error=error,
            done=None if error else done.format(email=row.email),
            counts=invitations.state_counts(),
            states=list(InviteState),
            state=InviteState(request.args.get("state") or InviteState.PENDING),
            oob_counts=True,
        )
    )


def _refused(exc: VouchError, invite_id: int):
    return _after(invite_id, error=refusal_text(exc))


@bp.post("/invitations/<int:invite_id>/resend")
@staff
@refusal_renders(_refused)
def invitation_resend(invite_id: int):
    invitations.resend(invite_id, current_user)
    return _after(invite_id, "Sent again to {email} with a new link; the old link no longer works.")


@bp.post("/invitations/<int:invite_id>/revoke")
@staff
@refusal_renders(_refused)
def invitation_revoke(invite_id: int):
    invitations.revoke(invite_id, current_user)
    return _after(invite_id, "Revoked the invitation of {email}; its link no longer works.")
