"""The emails console: failed emails (permanent refusals, attempts used up) and a retry button."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from admin.console import bp, staff
from hub.contracts import PageQuery, read_or_400
from hub.email.models import OutboxEmail
from hub.email.sending import failed_emails, retry_failed_email
from hub.extensions import db
from hub.htmx import is_htmx
from hub.transactions import refusal_renders

PAGE = 50


@bp.get("/emails/")
@staff
def emails():
    page = read_or_400(PageQuery, request.args).page
    rows, total = failed_emails(page, PAGE)
    counts = dict(db.session.execute(select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)).all())
    return render_template(
        "admin/emails.html", rows=rows, total=total, counts=counts, page=page, pages=max(1, -(-total // PAGE))
    )


@bp.post("/emails/<int:message_id>/retry")
@staff
@refusal_renders(lambda exc, message_id: _retried(db.session.get(OutboxEmail, message_id), exc.message))
def retry_email(message_id: int):
    return _retried(retry_failed_email(message_id, current_user.id))


def _retried(message: OutboxEmail | None, error: str | None = None):
    """The email's row again (htmx), or the console with what happened."""
    if is_htmx():
        return render_template("admin/_email_row.html", m=message, error=error, retried=error is None)
    flash(error or "The email is back in the queue.", "error" if error else "success")
    return redirect(url_for("admin.emails"))
