"""The report figures on PostgreSQL (issue 17): months are UTC calendar months whatever the
session's time zone, and the grouped queries give the hand-computed values."""

from __future__ import annotations

import datetime as dt

import pytest

from challenges.models import Completion, CompletionStatus
from challenges.reports import activity, program
from challenges.reports.period import ReportPeriod
from challenges.services.act_tallies import count_approved_act, rebuild_act_totals
from hub import tier_totals
from hub.extensions import db
from rewards.ledger import post_entry
from tests.support.challenges import create_challenge
from tests.support.report_periods import check_fill_windows, check_several_periods

pytestmark = pytest.mark.services

Q1 = ReportPeriod(dt.date(2025, 1, 1), dt.date(2025, 3, 31))
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def test_monthly_series_and_points_on_postgresql(pg_ctx, make):
    db.session.execute(db.text("SET TIME ZONE 'America/Los_Angeles'"))  # months stay UTC months
    owner = make.user("owner")
    ada = make.advocate()
    tier_totals.move_join(ada, at(2024, 1, 1))
    review = create_challenge(owner.id, type="review", allowed_domains=["g2.com"], marker="vouch")
    for when in (at(2025, 1, 31, 23, 30), at(2025, 3, 1, 0, 0), at(2025, 4, 1, 0, 0)):
        db.session.add(
            Completion(
                challenge_id=review.id,
                advocate_id=ada.id,
                status=CompletionStatus.APPROVED,
                points_offered=5,
                submitted_at=when,
                decided_at=when,
            )
        )
        count_approved_act(ada.id, "review", when)
    post_entry(ada.id, 900, kind="earn", source_type="test", source_id="pg-1", at=at(2025, 2, 28, 23, 59))
    post_entry(ada.id, -100, kind="expire", source_type="ledger_entry", source_id="pg-1", at=at(2025, 3, 31, 23))
    post_entry(ada.id, -200, kind="redeem", source_type="redemption", source_id="pg-1", at=at(2025, 4, 1))
    db.session.commit()
    assert activity.review_velocity(Q1) == [
        {"month": "2025-01", "count": 1},
        {"month": "2025-02", "count": 0},
        {"month": "2025-03", "count": 1},
    ]
    assert [p["value"] for p in activity.trend("points_issued", Q1)] == [0, 900, 0]
    points = program.points_figures(Q1, NOW)
    assert (points["issued"], points["expired"], points["redeemed"], points["outstanding"]) == (900, 100, 0, 800)
    rebuild_act_totals()  # the rebuild reads the same UTC days as the approvals counted
    assert activity.review_velocity(Q1)[0] == {"month": "2025-01", "count": 1}
    figures = program.period_figures(Q1, NOW)
    assert figures["participation_rate"] == 1.0 and figures["activation_rate"] == 1.0


def test_several_periods_read_together_on_postgresql(pg_ctx, make):
    """The multi-period statements (FILTER, per-period buckets, hashed probes of the uncounted)
    give the hand counts on PostgreSQL as they do on SQLite."""
    owner = make.user("owner")
    challenge = create_challenge(owner.id, title="A custom act")

    def joined(when: dt.datetime = at(2020, 1, 1)):
        advocate = make.advocate()
        tier_totals.move_join(advocate, when)
        db.session.commit()
        return advocate

    def approve(advocate, when: dt.datetime) -> None:
        db.session.add(
            Completion(
                challenge_id=challenge.id,
                advocate_id=advocate.id,
                status=CompletionStatus.APPROVED,
                points_offered=10,
                points_awarded=10,
                submitted_at=when - dt.timedelta(hours=1),
                decided_at=when,
            )
        )
        count_approved_act(advocate.id, "custom", when)
        db.session.commit()

    check_several_periods(joined, approve)


def test_fill_rate_and_median_hours_per_window_on_postgresql(pg_ctx, make):
    """The median hours to fill computed in PostgreSQL (an interval's epoch is numeric there)."""
    check_fill_windows(make.user("sales").id)
