"""The staff dashboard: advocates per tier, the points economy and its liability, redemptions and low stock."""

from __future__ import annotations

from flask import render_template

from admin.console import bp, staff
from rewards import services as rewards_services
from rewards.catalog import low_stock


@bp.get("/")
@staff
def dashboard():
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
    return render_template(
        "admin/dashboard.html",
        by_tier=rewards_services.tier_counts(),
        outstanding=economy["outstanding"],
        issued=economy["issued"],
        dashboard_sections=[rewards_section],
    )
