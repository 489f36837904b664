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
from rewards import services as rewards_services
from rewards.catalog import low_stock

TOP_CHALLENGES = 5


@bp.get("/")
@staff
def dashboard():
    period = chosen_period(request.args)
    economy = rewards_services.points_economy()
    rewards_section = (
        "admin/_rewards_economy.html",
        {
            "points": economy,
            "liability": rewards_services.liability_figures(),
            "by_status": rewards_services.redemption_counts(),
            "low_stock": low_stock(),
        },
    )
    sections = [rewards_section]
    if current_user.role is Role.OWNER:  # product.md §13: the funnel is on the owner's dashboard
        sections.append(("admin/_advocate_funnel.html", {"funnel": candidates.funnel()}))
    months = reports.trailing_months(min(period.end, utcnow().date()))
    headlines = charts.dashboard_headlines(reports.program_report(period.report), months)
    return render_template(
        "admin/dashboard.html",
        headlines=headlines,
        by_tier=rewards_services.tier_counts(),
        outstanding=economy["outstanding"],
        issued=economy["issued"],
        dashboard_sections=sections,
        period=period,
        presets=PRESETS,
        top_challenges=report_tables.challenge_performance(period.starts_at, period.ends_before)[:TOP_CHALLENGES],
    )
