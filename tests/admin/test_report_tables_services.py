"""PostgreSQL: the report tables' grouped SQL (EXTRACT(EPOCH …) for the time to approve, the
window-function median, the ask join on a text source id) give the hand-computed figures of
tests.support.report_program, as on SQLite; and the CSV streams from PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest

from challenges import report_tables
from hub.audit import AuditFilter, audit_page, record_audit
from rewards.services import redemption_table
from tests.support.environment import TEST_PASSWORD
from tests.support.report_program import at, build_program

pytestmark = pytest.mark.services
START, END = at("2026-04-01 00:00"), at("2026-07-01 00:00")


def test_tables_on_postgresql(pg_ctx, make):
    ids = build_program(make)
    review, case = report_tables.challenge_performance(START, END)
    assert (review.completions, review.approved, review.rejected, review.approval_rate) == (4, 2, 1, 0.6667)
    assert (review.median_hours_to_approve, review.points_paid, review.asks_spent) == (13.0, 200, 3)
    assert (case.completions, case.median_hours_to_approve, case.points_paid, case.asks_spent) == (1, 4.0, 250, 1)
    groups = {
        g.name: (g.completions, g.approved, g.median_hours_to_approve, g.points_paid, g.asks_spent)
        for g in report_tables.group_performance(START, END)
    }
    assert groups == {"EMEA": (4, 3, 4.0, 450, 4), "NA": (2, 2, 14.0, 350, 2)}
    rows, total = report_tables.advocate_asks(START, END)
    assert total == 3
    assert [(r.name, r.asks, r.asks_last_365, r.burnout) for r in rows] == [
        ("Dan Drained", 0, 5, "acceptable"),
        ("Ann Able", 2, 2, "healthy"),
        ("Bob Busy", 2, 2, "healthy"),
    ]
    redemptions, count = redemption_table.redemption_table(START, END)
    assert ([r.redemption_id for r in redemptions], count) == ([ids["r2"], ids["r1"]], 2)


def test_csv_and_audit_filter_on_postgresql(pg_app, pg_ctx, make):
    build_program(make)
    owner = make.user("owner", name="Olive Owner")
    entry = record_audit(owner.id, "group.create", "group", 1, None, {"name": "Beta"})
    entry.created_at = at("2026-05-01 12:00")
    from hub.extensions import db

    db.session.commit()
    assert (
        audit_page(
            AuditFilter(
                actor_id=owner.id, action="group.create", since=START.date(), until=START.date().replace(month=5)
            ),
            50,
            0,
        )[1]
        == 1
    )
    client = pg_app.test_client()
    client.post("/login", data={"email": owner.email, "password": TEST_PASSWORD})
    response = client.get("/admin/reports/groups.csv?period=custom&from=2026-04-01&to=2026-06-30")
    assert response.status_code == 200 and response.is_streamed
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert {row[1]: row[2:] for row in rows[1:]} == {
        "EMEA": ["4", "3", "0", "1.0", "4.0", "450", "4"],
        "NA": ["2", "2", "0", "1.0", "14.0", "350", "2"],
    }
    page = client.get("/admin/reports?from=2026-06-30&to=2026-04-01")
    assert page.status_code == 200 and "13.0 h" in page.get_data(as_text=True)
