"""The staff dashboard: the period's headline figures (challenges.reports) beside the previous
period's, each with a small trend; advocates per tier, the points economy and its liability,
redemptions and low stock; for owners, the funnel from qualified candidates to advocates with a
first approved act; the period switch (admin.periods, default this quarter) that every figure
and table on it honours, with the challenges that had most completions in the period."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from admin import charts
from admin.console import bp, staff
from admin.periods import PRESETS, chosen_period
from challenges import report_tables, reports
from challenges.prospects import candidates
from hub.db import utcnow
from hub.models import Role
from rewards.catalog import low_stock

TOP_CHALLENGES = 5


@bp.get("/")
@staff
def dashboard():
    period = chosen_period(request.args)
    report = reports.program_report(period.report)
    # Every figure on the page is the period's, from the one report (issue 17: the dashboard, the
    # reports page and the API never disagree); only low stock is a standing state, labelled so.
    rewards_section = (
        "admin/_rewards_economy.html",
        {"points": report["points"], "by_status": report["redemptions_by_status"], "low_stock": low_stock()},
    )
    sections = [rewards_section]
    if current_user.role is Role.OWNER:  # product.md §13: the funnel is on the owner's dashboard
        sections.append(("admin/_advocate_funnel.html", {"funnel": candidates.funnel()}))
    months = reports.trailing_months(min(period.end, utcnow().date()))
    return render_template(
        "admin/dashboard.html",
        headlines=charts.dashboard_headlines(report, months),
        previous=period.report.previous,
        dashboard_sections=sections,
        period=period,
        presets=PRESETS,
        top_challenges=report_tables.challenge_performance(period.starts_at, period.ends_before)[:TOP_CHALLENGES],
    )
