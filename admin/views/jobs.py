"""Staff view of background jobs: the queue at a glance and RQ's failed jobs, with a retry button."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from admin.console import bp, staff
from hub.contracts import PageQuery, read_or_400
from hub.failed_jobs import failed_jobs, queue_summary, retry_failed_job
from hub.htmx import is_htmx
from hub.transactions import refusal_renders

PAGE = 50


@bp.get("/jobs/")
@staff
def failed_jobs_page():
    page = read_or_400(PageQuery, request.args).page
    rows, total = failed_jobs(page, PAGE)
    return render_template(
        "admin/jobs.html", summary=queue_summary(), rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE))
    )


@bp.post("/jobs/<job_id>/retry")
@staff
@refusal_renders(lambda exc, job_id: _retried(job_id, error=exc.message))
def retry_job(job_id: str):
    return _retried(job_id, retry_failed_job(job_id, current_user.id))


def _retried(job_id: str, function: str = "", error: str | None = None):
    """The job's row again (htmx), or the Jobs page with what happened."""
    if is_htmx():
        return render_template("admin/_job_retried.html", job_id=job_id, error=error)
    flash(error or f"{function} is back in the queue.", "error" if error else "success")
    return redirect(url_for(".failed_jobs_page"))
