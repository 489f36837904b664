"""The dashboard's monthly series (challenges.reports.monthly_rates) on the demo program:
each month's value must be the program report's own figure for that month as its period, read by
the report's other path (one period at a time)."""

from __future__ import annotations

import datetime as dt
import itertools

from challenges.crm.reports import references_and_attribution
from challenges.references.services import fill_metrics
from challenges.reports import monthly_rates, people, program, trailing_months
from hub.db import utcnow


def test_monthly_series_equal_the_report_of_each_month(app, ctx):
    assert app.test_cli_runner().invoke(args=["hub", "seed-demo"]).exit_code == 0
    now = utcnow()
    months = trailing_months(now.date())
    periods = monthly_rates.month_periods(months)
    # Twelve calendar months, back to back, the last one ending today.
    assert len(periods) == 12 and periods[-1].end == now.date() and periods[0].start == months.start
    assert all(b.start - a.end == dt.timedelta(days=1) for a, b in itertools.pairwise(periods))

    activation = monthly_rates.activation_by_month(months, now)
    fill = monthly_rates.fill_rate_by_month(months)
    influenced = monthly_rates.influenced_pipeline_by_month(months, "USD")
    tiers = monthly_rates.tiers_by_month(months, now)
    outstanding = monthly_rates.outstanding_by_month(months)
    for i, period in enumerate(periods):
        assert activation[i] == {"period": f"{period.start:%Y-%m}", "value": people.activation_rate(period, now)}
        by_tier = people.advocates_by_tier(period, now)
        assert {tier: tiers[tier][i] for tier in tiers} == {
            tier: {"period": f"{period.start:%Y-%m}", "value": n} for tier, n in by_tier.items()
        }
        points = program.points_figures(period, now)
        assert outstanding[i] == {"period": f"{period.start:%Y-%m}", "value": points["outstanding"]}
        metrics = fill_metrics(period.starts_at, period.ends_before)
        assert fill[i]["value"] == metrics.fill_rate, period
        report = references_and_attribution(period.start, period.end)
        assert influenced[i]["value"] == float(report["influenced_pipeline"]), period
    # The demo has activity to compare: some months have a rate and a pipeline.
    assert any(p["value"] for p in activation) and any(p["value"] for p in influenced)
    # …and tiers and points that moved over the year (advocates joined, rose, earned and spent).
    assert len({p["value"] for p in tiers["gold"]}) > 1 and len({p["value"] for p in outstanding}) > 1
