"""Browser: the owner's charts (issue 17) — Chart.js draws every chart from the JSON on the page,
each chart's table holds the numbers the chart drew, no console error, nothing overflows at phone
and desktop widths."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from tests.support.environment import TEST_PASSWORD

pytestmark = pytest.mark.browser

REPORT_CHARTS = ("tiers", "acts", "reviews", "points", "burnout", "pipeline")
# What a chart drew, per category: Chart.js's own datasets, read back from the figure.
DRAWN = """figure => figure.chart.data.labels.map(
    (label, i) => [label, ...figure.chart.data.datasets.map(d => d.data[i])])"""
# What its table says, per row: the label and every number, thousands separators removed ("—",
# a month without a rate, is the chart's gap: null).
TABULATED = """figure => [...figure.querySelectorAll('table tbody tr')].map(row => [
    row.querySelector('th').textContent,
    ...[...row.querySelectorAll('td')].map(
        td => td.textContent === '—' ? null : Number(td.textContent.replaceAll(',', '')))])"""
OVERFLOWING = """() => [...document.querySelectorAll('.tile .big')]
    .filter(e => e.getBoundingClientRect().right > e.closest('.tile').getBoundingClientRect().right + 1)
    .map(e => e.textContent)"""
# A figure's number broken across lines: a line of the figure's text that ends or starts inside
# a number (each line's text read back through a Range per character).
BROKEN_NUMBERS = """() => [...document.querySelectorAll('.tile .big')].filter(e => {
    const text = e.firstChild; if (!text || text.nodeType !== 3) return false;
    const tops = []; const range = document.createRange();
    for (let i = 0; i < text.length; i++) {
      range.setStart(text, i); range.setEnd(text, i + 1);
      const rect = range.getClientRects()[0]; tops.push(rect ? Math.round(rect.top) : null);
    }
    for (let i = 1; i < text.length; i++) {
      if (tops[i] !== null && tops[i - 1] !== null && tops[i] > tops[i - 1]
          && /[0-9.,]/.test(text.data[i]) && /[0-9.,]/.test(text.data[i - 1])) return true;
    }
    return false;
  }).map(e => e.textContent)"""
# Keyboard stops nobody can see: a chart's screen-reader table must never take focus.
HIDDEN_STOPS = "() => document.querySelectorAll('.sr-only [tabindex], .sr-only[tabindex]').length"


def seed(live) -> None:
    from challenges import services
    from challenges.models import Completion, CompletionStatus
    from challenges.services.act_tallies import count_approved_act
    from hub import accounts
    from hub.db import utcnow
    from hub.extensions import db
    from hub.settings import save_setting
    from rewards.ledger import post_entry

    with live.app.app_context():
        owner = accounts.create_user("owner@example.com", "Olive Owner", "owner", TEST_PASSWORD)
        review = services.create_challenge(
            services.clean_challenge(
                {
                    "title": "Review us on G2",
                    "type": "review",
                    "points": 100,
                    "allowed_domains": ["g2.com"],
                    "marker": "vouch",
                }
            ),
            owner.id,
        )
        now = utcnow()
        for n, points in enumerate((9_876_543, 4_200, 300)):
            advocate = accounts.create_advocate(
                accounts.AdvocateProfile(email=f"adv{n}@example.com", name=f"Advocate {n}"), None
            )
            post_entry(advocate.id, points, kind="earn", source_type="test", source_id="seed", memo="Seed")
            db.session.add(
                Completion(
                    challenge_id=review.id,
                    advocate_id=advocate.id,
                    status=CompletionStatus.APPROVED,
                    points_offered=100,
                    submitted_at=now - dt.timedelta(minutes=5),
                    decided_at=now - dt.timedelta(minutes=n + 1),
                )
            )
            count_approved_act(advocate.id, "review", now - dt.timedelta(minutes=n + 1))
        # A point value that makes the liability a long figure: 9,881,043 × 0.37 = 3,655,985.91 USD.
        save_setting("point_value", {"amount": "0.37", "currency": "USD"}, owner.id)
        db.session.commit()
        db.session.remove()


@pytest.mark.parametrize("width", [390, 1366])
def test_the_owner_sees_every_chart_drawn_with_its_numbers(pages, live, log_in, width):
    seed(live)
    page = pages.new(width=width, height=900)
    log_in(page, "owner@example.com")

    page.goto("/admin/reports")
    for key in REPORT_CHARTS:
        figure = page.get_by_test_id(f"chart-{key}")
        expect(figure).to_have_attribute("data-drawn", "true")
        assert figure.locator("canvas").bounding_box()["width"] > 100
        assert figure.locator("figcaption").inner_text()
        assert figure.evaluate(DRAWN) == figure.evaluate(TABULATED), key
    # the review chart counted the three approved reviews in this month
    reviews = page.get_by_test_id("chart-reviews").evaluate(DRAWN)
    assert sum(row[1] for row in reviews) == 3
    expect(page.get_by_test_id("report-liability")).to_have_text("3,655,985.91 USD")
    assert page.evaluate(OVERFLOWING) == []
    assert page.evaluate(BROKEN_NUMBERS) == []
    assert page.evaluate(HIDDEN_STOPS) == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.goto("/admin/")
    sparks = page.locator(".headline figure[data-chart]")
    expect(sparks.first).to_have_attribute("data-drawn", "true")
    # Bronze, silver and gold advocates, active advocates, activation, asks, reviews, fill rate,
    # points issued, redeemed and outstanding, influenced pipeline.
    assert sparks.count() == 12
    for i in range(sparks.count()):
        spark = sparks.nth(i)
        expect(spark).to_have_attribute("data-drawn", "true")
        assert spark.evaluate(DRAWN) == spark.evaluate(TABULATED)
    expect(page.get_by_test_id("headline-reviews").locator(".big")).to_have_text("3")
    expect(page.get_by_test_id("liability")).to_have_text("3,655,985.91 USD")
    assert page.evaluate(OVERFLOWING) == []
    assert page.evaluate(BROKEN_NUMBERS) == []
    assert page.evaluate(HIDDEN_STOPS) == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert pages.errors == []
