"""Reference journey in Chromium: sales files a request → a manager assigns the best fit →
the advocate accepts in one click → sales sees the contact details and gives feedback →
the advocate sees the thank-you (and the points)."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

PASSWORD = "correct horse battery"
pytestmark = pytest.mark.browser


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_sales_request_to_advocate_thank_you(live_app, live_server, live_factory, browser_page):
    from challenges import services
    from hub.extensions import db

    with live_app.app_context():
        sales = live_factory.user("sales", name="Sam Sales").email
        manager = live_factory.user("manager").email
        ada = live_factory.advocate(
            name="Ada Lovelace",
            industry="Healthcare",
            company_size="201-1000",
            company="Analytical Engines",
            title="CTO",
        )
        ada_email = ada.user.email
        live_factory.advocate(name="Bob Builder", industry="Construction")
        challenge = services.create_challenge(
            services.clean_challenge(
                {
                    "title": "Take a reference call",
                    "type": "reference_call",
                    "description": "",
                    "points": 250,
                    "max_per_advocate": 10,
                }
            ),
            None,
        )
        services.publish_challenge(challenge.id, None)
        db.session.commit()
    page = browser_page

    log_in(page, live_server, sales)
    expect(page.get_by_role("heading", name="Reference requests")).to_be_visible()
    page.get_by_role("link", name="File a request").click()
    page.get_by_label("Prospect company").fill("Globex")
    page.get_by_label("Industry").fill("Healthcare")
    page.get_by_label("Company size").select_option("201-1000")
    page.get_by_label("Use case").fill("Patient intake")
    page.get_by_label("Deal stage").select_option("poc")
    page.get_by_label("Deal size").fill("48000")
    page.get_by_label("Needed by").fill((dt.date.today() + dt.timedelta(days=10)).isoformat())
    page.get_by_label("Format").select_option("video")
    page.get_by_label("Topics (comma-separated)").fill("security, rollout")
    page.get_by_role("button", name="File request").click()
    expect(page.get_by_test_id("status")).to_contain_text("Open")
    expect(page.locator("#advocate")).not_to_contain_text(ada_email)
    log_out(page)

    log_in(page, live_server, manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="References", exact=True).click()
    page.get_by_role("link", name="Globex").click()
    best = page.get_by_test_id("candidate").first
    expect(best).to_contain_text("Ada Lovelace")
    expect(best).to_contain_text("same industry")
    expect(best).to_contain_text("never asked for a reference")
    best.get_by_role("button", name="Ask Ada Lovelace").click()
    expect(page.get_by_test_id("status")).to_contain_text("Advocate asked")
    log_out(page)

    log_in(page, live_server, ada_email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="References", exact=True).click()
    card = page.get_by_test_id("ask-card")
    expect(card).to_contain_text("Globex")
    expect(card).not_to_contain_text("48000")
    card.get_by_role("button", name="Accept").click()
    expect(page.get_by_test_id("ask-card")).to_contain_text("You accepted")
    log_out(page)

    log_in(page, live_server, sales)
    page.get_by_role("link", name="Globex").click()
    expect(page.get_by_test_id("contact")).to_contain_text(ada_email)
    expect(page.get_by_test_id("contact")).to_contain_text("Analytical Engines")
    page.get_by_label("How did the call go? (1–5)").select_option("5")
    page.get_by_label("Did it help the deal?").select_option("true")
    page.get_by_label("Notes").fill("Ada was brilliant.")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_test_id("feedback")).to_contain_text("Rating 5/5")
    log_out(page)

    log_in(page, live_server, ada_email)
    page.goto(f"{live_server}/me/references")
    expect(page.get_by_test_id("thanks")).to_contain_text("Thank you for the reference call with Globex!")
    page.goto(f"{live_server}/notifications")
    expect(page.locator("main")).to_contain_text("+250 points")
