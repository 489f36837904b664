"""Issue 18 in Chromium: a manager asking for 5-star reviews sees the rule explained on the
field; the review queue shows a duplicate-URL signal and the hold next to the evidence. The
pages are saved at 390 and 1366 px in test-artifacts/ (trust-*.png)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def setup(live_app, fn):
    from hub.extensions import db

    with live_app.app_context():
        result = fn()
        db.session.commit()
        return result


def shots(page: Page, name: str) -> None:
    """The page at a phone's and a laptop's width, for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (390, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"trust-{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        wide = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8)
              .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""
        )
        assert not overflow, f"{name} overflows at {width} px: {wide}"


def test_manager_sees_the_refusal_when_asking_for_five_stars(live_app, live_server, live_factory, browser_page):
    email = setup(live_app, lambda: live_factory.user("manager").email)
    page = browser_page
    log_in(page, live_server, email)
    page.goto(f"{live_server}/admin/challenges/new")
    page.get_by_label("Title", exact=True).fill("Leave us a 5-star review on G2")
    page.get_by_label("Type", exact=True).select_option("review")
    page.get_by_label("Points", exact=True).fill("200")
    page.get_by_label("Review site (reviews)").select_option("g2")
    expect(page.get_by_label("Disclosure the advocate includes in the review")).to_have_value(
        "I received an incentive from the vendor for writing this review. "
        "The incentive did not depend on my rating or on what I wrote."
    )
    page.get_by_role("button", name="Save draft").click()
    title_field = page.locator(".field.has-error", has=page.get_by_label("Title", exact=True))
    expect(title_field).to_contain_text("Review incentives cannot depend on the review's rating or sentiment")
    expect(title_field).to_contain_text("Remove “5 star”")
    shots(page, "five-star-refused")
    page.get_by_label("Title", exact=True).fill("Share your honest experience on G2")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_test_id("challenge-status")).to_have_text("Draft")


def test_review_queue_shows_the_duplicate_url_signal(live_app, live_server, live_factory, browser_page):
    def data():
        from challenges import services
        from challenges import trust as challenge_trust
        from hub.extensions import db

        created = services.create_challenge(
            services.clean_challenge(
                {"title": "Review us on G2", "type": "review", "platform": "g2", "points": 150, "marker": "Acme"}
            ),
            None,
        )
        services.publish_challenge(created.id, None)
        first = live_factory.advocate(name="Ada First")
        second = live_factory.advocate(name="Bob Copy")
        url = "https://www.g2.com/products/acme/reviews/4242"
        services.submit_completion(created.id, first.id, {"evidence_url": url})
        copy = services.submit_completion(created.id, second.id, {"evidence_url": url + "/"})
        db.session.info.pop("vouch_pending_jobs", None)  # no fetch from the internet: the hold is enough
        db.session.commit()
        challenge_trust.detect_submission_signals(copy.id)
        services.send_to_review(copy.id, copy.hold_reason)
        return live_factory.user("manager").email

    email = setup(live_app, data)
    page = browser_page
    log_in(page, live_server, email)
    page.goto(f"{live_server}/admin/review")
    item = page.get_by_test_id("review-item").filter(has_text="Bob Copy")
    expect(item.get_by_test_id("hold-reason")).to_contain_text(
        "Duplicate evidence link: already used by another advocate"
    )
    signals = item.get_by_test_id("trust-signals")
    expect(signals).to_contain_text("Evidence link already used by another advocate")
    expect(signals).to_contain_text("https://www.g2.com/products/acme/reviews/4242/")
    expect(item.get_by_test_id("trust-score")).to_have_text("Trust 60")
    shots(page, "review-queue")
    item.get_by_role("link", name="review or clear").click()
    expect(page.get_by_test_id("admin-trust-score")).to_have_text("60")
    shots(page, "advocate-profile")


def test_advocate_sees_the_disclosure_and_a_wrong_site_link_is_refused_inline(
    live_app, live_server, live_factory, browser_page
):
    def data():
        from challenges import services

        created = services.create_challenge(
            services.clean_challenge({"title": "Review us on G2", "type": "review", "platform": "g2", "points": 150}),
            None,
        )
        services.publish_challenge(created.id, None)
        return live_factory.advocate(name="Ada Advocate").user.email, created.id

    email, challenge_id = setup(live_app, data)
    page = browser_page
    log_in(page, live_server, email)
    page.goto(f"{live_server}/challenges/{challenge_id}")
    expect(page.get_by_test_id("review-disclosure")).to_contain_text("Include this line in your review on G2")
    expect(page.get_by_test_id("submit-disclosure")).to_contain_text("did not depend on my rating")
    page.get_by_label("Link to your review").fill("https://www.capterra.com/reviews/123")
    page.get_by_role("button", name="Submit").click()
    field = page.locator(".field.has-error", has=page.get_by_label("Link to your review"))
    expect(field).to_contain_text("This challenge asks for a review on g2.com; www.capterra.com is not one of them.")
    shots(page, "wrong-site")
    with live_app.app_context():
        from sqlalchemy import func, select

        from challenges.models import Completion
        from hub.extensions import db

        assert db.session.scalar(select(func.count()).select_from(Completion)) == 0
