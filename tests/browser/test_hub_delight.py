"""The hub's delight in Chromium (issue 19): an approval celebrates (points counting up, the tier
bar moving, a badge unveiled) and stays still under prefers-reduced-motion; the badge catalogue
shows what is earned and what is still to earn; the program's activity shows on the hub.
Screenshots at 1366 and 390 px are saved in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.environment import TEST_PASSWORD

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
QUIZ = {"questions": [{"prompt": "How many days between reference calls?", "options": ["7", "30"], "answer": 1}]}


def seed(live_app, live_factory) -> str:
    from challenges import services
    from hub.extensions import db

    with live_app.app_context():
        advocate = live_factory.advocate(name="Grace Hopper", points=100)
        peer = live_factory.advocate(name="Alan Turing")
        created = services.create_challenge(
            services.clean_challenge({"title": "Caps quiz", "type": "quiz", "quiz": QUIZ, "points": 75}), None
        )
        services.publish_challenge(created.id, None)
        webinar = services.create_challenge(
            services.clean_challenge({"title": "Spring webinar", "type": "webinar", "points": 50}), None
        )
        services.publish_challenge(webinar.id, None)
        services.auto_complete(webinar.id, peer.id, "browser-peer", {"evidence_text": "Joined"})
        db.session.commit()
        return advocate.user.email


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # Signed in: the hub greets them (on a phone "Log out" sits in the header's menu).
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")


def complete_quiz(page: Page):
    card = page.get_by_test_id("challenge-card").filter(has_text="Caps quiz")
    card.get_by_role("button", name="Complete").click()
    card.get_by_label("30").check()
    card.get_by_role("button", name="Submit").click()
    return card.get_by_test_id("celebration")


def test_an_approval_celebrates_and_the_badges_show(live_app, live_factory, pages):
    email = seed(live_app, live_factory)
    page = pages.new(1366, 900)
    sign_in(page, email)
    expect(page.locator("#program-activity")).to_contain_text("Alan joined “Spring webinar”")
    to_earn = page.get_by_test_id("badges-to-earn")
    expect(to_earn).to_contain_text("First step")
    expect(to_earn).to_contain_text("Have any challenge approved.")
    celebration = complete_quiz(page)
    expect(celebration).to_be_visible()
    expect(celebration).to_have_class("celebration playing")
    expect(celebration.locator("[data-count-to]")).to_have_text("75")  # counted up to the points
    expect(celebration.get_by_test_id("celebration-badge")).to_contain_text("New badge: First step")
    bar = celebration.locator("progress")
    expect(bar).to_have_attribute("data-from", "10")
    expect(bar).to_have_js_property("value", 18)  # the bar moved from 10 % to 18 %
    expect(page.get_by_test_id("header-balance")).to_have_text("175")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "hub-delight-celebration-1366.png"), full_page=True)
    page.goto("/me/activity")
    expect(page.get_by_test_id("badges-earned")).to_contain_text("First step")
    expect(page.get_by_test_id("badges-to-earn")).to_contain_text("1 of 5 so far")
    page.screenshot(path=str(ARTIFACTS / "hub-delight-activity-1366.png"), full_page=True)
    assert pages.errors == []


def test_reduced_motion_shows_the_final_values_without_moving(live_app, live_factory, pages):
    email = seed(live_app, live_factory)
    context = pages.browser.new_context(
        base_url=pages.live.url, viewport={"width": 390, "height": 844}, reduced_motion="reduce"
    )
    pages.opened.append(context)
    page = context.new_page()
    page.on("console", lambda msg: msg.type == "error" and pages.errors.append(f"console: {msg.text}"))
    sign_in(page, email)
    celebration = complete_quiz(page)
    expect(celebration).to_have_class("celebration still")
    expect(celebration.locator("[data-count-to]")).to_have_text("75")
    assert page.evaluate("document.querySelector('[data-celebrate] progress').value") == 18
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / "hub-delight-celebration-390.png"), full_page=True)
    page.goto("/")
    page.screenshot(path=str(ARTIFACTS / "hub-delight-hub-390.png"), full_page=True)
    assert pages.errors == []
