"""The community report queue (`/admin/community/reports`): members' reports of posts, oldest
first; a manager dismisses a report (the post stays) or hides the post with a reason (its
author is told why and the post's other open reports are closed with it)."""

from __future__ import annotations

from typing import Annotated

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from admin.console import bp, staff
from hub.community import reads, services
from hub.community.models import ReportStatus
from hub.contracts import PageQuery, read_or_400
from hub.errors import VouchError
from hub.fields import OneOf
from hub.htmx import is_htmx, refusal_text, render_page_or_partial
from hub.transactions import refusal_renders

PAGE = 50


class ReportQueueQuery(PageQuery):
    """One status at a time; the open reports first."""

    status: Annotated[ReportStatus, OneOf(ReportStatus)] = ReportStatus.OPEN


def _context(status: ReportStatus, page: int = 1) -> dict:
    rows, total = reads.report_queue(status.value, page, PAGE)
    return {
        "rows": rows,
        "current_status": status.value,
        "statuses": [s.value for s in ReportStatus],
        "counts": services.report_counts(),
        "page": page,
        "pages": max(1, -(-total // PAGE)),
    }


@bp.get("/community/reports")
@staff
def post_reports():
    args = read_or_400(ReportQueueQuery, request.args)
    return render_page_or_partial(
        "admin/post_reports.html", "admin/_post_report_rows.html", **_context(args.status, args.page)
    )


def _decided(report_id: int, done: str, error: str | None = None):
    """htmx: the report's row in its new state and the tab counts out of band; else a flash and
    the queue."""
    if not is_htmx():
        flash(error or done, "error" if error else "success")
        return redirect(url_for("admin.post_reports"))
    report = services.get_report(report_id)
    return render_template(
        "admin/_post_report_decided.html",
        report=report,
        message=error or done,
        error=error,
        counts=services.report_counts(),
        statuses=[s.value for s in ReportStatus],
        current_status=ReportStatus.OPEN.value,
        oob=True,
    )


def _refused(exc: VouchError, report_id: int, action: str):
    return _decided(report_id, "", refusal_text(exc))


@bp.post("/community/reports/<int:report_id>/<any(dismiss, hide):action>")
@staff
@refusal_renders(_refused)
def post_report_decide(report_id: int, action: str):
    """Dismiss the report (the post stays up) or hide the post with a reason."""
    if action == "dismiss":
        services.dismiss_report(current_user, report_id)
        return _decided(report_id, "Dismissed: the post stays up.")
    services.hide_reported(current_user, report_id, request.form.get("reason"))
    return _decided(report_id, "Hidden; the author was told why.")
