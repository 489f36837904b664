"""Browser journeys for issue 17: the owner switches the report period and every table on the
page changes together (attribution, per challenge, per group, redemptions, asks); a reversed range
is a message on the page; the audit log filter narrows the table. Screenshots at phone and
desktop widths (test-artifacts/)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.environment import TEST_PASSWORD
from tests.support.report_program import at, build_program

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def seed(live) -> dict:
    from challenges.crm import attribution, opportunities
    from hub import accounts
    from hub.audit import record_audit
    from hub.extensions import db
    from tests.support.factories import Factory

    with live.app.app_context():
        owner = accounts.create_user("owner@example.com", "Olive Owner", "owner", TEST_PASSWORD)
        manager = accounts.create_user("mo@example.com", "Mo Manager", "manager", TEST_PASSWORD)
        ids = build_program(Factory())
        ids["owner"], ids["manager"] = owner.id, manager.id
        accounts.create_advocate(
            accounts.AdvocateProfile(email="ina@example.com", name="Ina Insider", company="Acme"), None
        )
        opps = []
        for created, amount in (("2026-05-05", "300.00"), ("2026-08-05", "700.00")):
            item = opportunities.parse_opportunity(
                {
                    "external_id": f"opp-{created}",
                    "name": "Deal",
                    "account": "Acme",
                    "amount": amount,
                    "currency": "USD",
                    "stage": "Discovery",
                    "is_closed": False,
                    "is_won": False,
                    "created_date": created,
                }
            )
            opps.append(opportunities.upsert_opportunity(item, tally=False).opportunity.id)
        attribution.tally(opps)
        for who, action, when, before, after in (
            (
                owner.id,
                "settings.update",
                "2026-05-01 10:00",
                {"tier_basis": "lifetime"},
                {"tier_basis": "rolling_365"},
            ),
            (manager.id, "group.create", "2026-05-02 10:00", None, {"name": "Beta"}),
            (owner.id, "group.create", "2026-05-03 10:00", None, {"name": "Gamma"}),
        ):
            record_audit(who, action, "group", 7, before, after).created_at = at(when)
        db.session.commit()
        db.session.remove()
        return ids


def switch_to(page, since: str, until: str) -> None:
    page.get_by_label("From").fill(since)
    page.get_by_label("To", exact=True).fill(until)
    page.get_by_role("button", name="Show custom range").click()
    page.wait_for_load_state()
    # The period switches in place (htmx): measure the page once the swap has settled, not midway.
    page.wait_for_url(f"**from={since}**")
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


@pytest.mark.parametrize("width", [390, 1366])
def test_owner_switches_periods_and_every_table_changes_together(pages, live, log_in, width):
    seed(live)
    page = pages.new(width=width, height=900)
    log_in(page, "owner@example.com")
    page.goto("/admin/reports")
    switch_to(page, "2026-04-01", "2026-06-30")
    expect(page.get_by_test_id("period-label")).to_have_text("Custom: Apr 1, 2026 – Jun 30, 2026")
    challenges, groups = page.get_by_test_id("challenge-table"), page.get_by_test_id("group-table")
    # Q2 by hand (tests.support.report_program): Review on G2 4 completions, 67 %, 13 h.
    expect(challenges.get_by_role("row", name="Review on G2")).to_contain_text("67%")
    expect(challenges.get_by_role("row", name="Review on G2")).to_contain_text("13.0 h")
    expect(groups.get_by_role("row", name="NA")).to_contain_text("14.0 h")
    expect(page.get_by_test_id("redemption-table").get_by_role("row")).to_have_count(3)  # header + r1, r2
    expect(page.get_by_test_id("asks-table")).to_contain_text("Dan Drained")
    expect(page.get_by_test_id("attribution-table")).to_contain_text("300.00")
    expect(page.get_by_test_id("attribution-table")).not_to_contain_text("700.00")
    expect(page.get_by_test_id("chart-pipeline")).to_contain_text("300")  # the chart's table, same period
    expect(page.get_by_test_id("chart-pipeline")).not_to_contain_text("700")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report-tables-q2-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the reports page scrolls sideways"

    switch_to(page, "2026-07-01", "2026-09-30")
    expect(page.get_by_test_id("period-label")).to_have_text("Custom: Jul 1, 2026 – Sep 30, 2026")
    # Q3: only a5 (Review on G2, approved in 1 h), r3, and the August deal; no group completions
    # but Bob's (a5: NA and EMEA).
    expect(challenges.get_by_role("row", name="Review on G2")).to_contain_text("1.0 h")
    expect(challenges.get_by_role("row", name="Case study")).to_have_count(0)
    expect(page.get_by_test_id("redemption-table").get_by_role("row")).to_have_count(2)
    expect(page.get_by_test_id("attribution-table")).to_contain_text("700.00")
    expect(page.get_by_test_id("attribution-table")).not_to_contain_text("300.00")
    expect(page.get_by_test_id("chart-pipeline")).to_contain_text("700")

    # The switch works in place (ux.md): the page is not reloaded, its address follows, and focus
    # returns to the tab chosen.
    page.evaluate("window.beforeSwitch = true")
    page.get_by_role("link", name="This quarter").click()
    expect(page.get_by_role("link", name="This quarter")).to_be_focused()
    expect(page).to_have_url(re.compile(r"/admin/reports\?period=this_quarter$"))
    assert page.evaluate("window.beforeSwitch === true"), "the period switch reloaded the page"
    today = dt.datetime.now(dt.UTC).date()
    first = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    expect(page.get_by_role("link", name="This quarter")).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("period-label")).to_contain_text(f"This quarter: {first:%b %-d, %Y}")
    if first > dt.date(2026, 9, 30):  # the program's rows are all before this quarter
        for empty in ("challenge-table-empty", "group-table-empty", "redemption-table-empty", "attribution-empty"):
            expect(page.get_by_test_id(empty)).to_be_visible()
    assert pages.errors == []


@pytest.mark.parametrize("width", [390, 1366])
def test_the_dashboard_cards_and_table_follow_the_period(pages, live, log_in, width):
    seed(live)
    page = pages.new(width=width, height=900)
    log_in(page, "owner@example.com")
    page.goto("/admin/")
    switch_to(page, "2026-04-01", "2026-06-30")
    influenced, table = page.get_by_test_id("headline-influenced"), page.get_by_test_id("dashboard-challenge-table")
    expect(influenced).to_contain_text("300")
    expect(table.get_by_role("row", name="Review on G2")).to_contain_text("67%")
    expect(table.get_by_role("row", name="Case study")).to_contain_text("250")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-q2-{width}.png"), full_page=True)
    switch_to(page, "2026-07-01", "2026-09-30")
    expect(influenced).to_contain_text("700")
    expect(table.get_by_role("row", name="Review on G2")).to_contain_text("100%")
    expect(table.get_by_role("row", name="Case study")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the dashboard scrolls sideways"
    assert pages.errors == []


@pytest.mark.parametrize("width", [390, 1366])
def test_a_reversed_range_is_a_message_on_the_page(pages, live, log_in, width):
    seed(live)
    page = pages.new(width=width, height=900)
    log_in(page, "owner@example.com")
    for path in ("/admin/reports", "/admin/"):
        page.goto(path)
        switch_to(page, "2026-06-30", "2026-04-01")
        expect(
            page.get_by_text("The period ended before it began, so it is shown from Apr 1, 2026 to Jun 30, 2026.")
        ).to_be_visible()
        expect(page.get_by_test_id("period-label")).to_have_text("Custom: Apr 1, 2026 – Jun 30, 2026")
    expect(page.get_by_test_id("dashboard-challenge-table")).to_contain_text("Review on G2")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-period-reversed-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the dashboard scrolls sideways"
    assert pages.errors == []


@pytest.mark.parametrize("width", [390, 1366])
def test_the_audit_log_filter_narrows_the_table(pages, live, log_in, width):
    seed(live)
    page = pages.new(width=width, height=900)
    log_in(page, "owner@example.com")
    page.goto("/admin/audit")
    table = page.get_by_test_id("audit-table")
    expect(table).to_contain_text("rolling_365")
    page.get_by_label("Who").select_option(label="Mo Manager <mo@example.com>")
    page.get_by_label("What").select_option("group.create")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("audit-count")).to_have_text("1 entry matches the filter, newest first.")
    expect(table).to_contain_text("Beta")
    expect(table).not_to_contain_text("Gamma")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"audit-filtered-{width}.png"), full_page=True)
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("From").fill("2026-05-03")
    page.get_by_label("To", exact=True).fill("2026-05-02")
    page.get_by_role("button", name="Filter").click()
    expect(
        page.get_by_text("The dates ended before they began, so entries from May 2, 2026 to May 3, 2026 are shown.")
    ).to_be_visible()
    expect(table).to_contain_text("Gamma")
    expect(table).not_to_contain_text("rolling_365")
    page.screenshot(path=str(ARTIFACTS / f"audit-dates-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the audit log scrolls sideways"
    assert pages.errors == []
