"""Browser journey: an advocate answers (with the live preview), the asker accepts, and the
answerer's header shows the new notifications and the points the community challenge paid."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from hub.extensions import db

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def test_answer_accept_bell_and_points(live_app, live_server, live_factory, browser_page, pages):
    make = live_factory
    with live_app.app_context():
        from challenges import services as challenge_services
        from hub.community import services

        challenge = challenge_services.create_challenge(
            challenge_services.clean_challenge(
                {"title": "Answer a community question", "type": "community_answer", "points": 40}
            ),
            None,
        )
        challenge_services.publish_challenge(challenge.id, None)
        asker = make.advocate(name="Ada Asker")
        answerer = make.advocate(name="Grace Answerer")
        question = services.ask_question(asker.user, "How do you roll out SSO?", "Any **tips** for contractors?")
        db.session.commit()
        asker_email, answerer_email, question_id = asker.user.email, answerer.user.email, question.id
        db.session.remove()
    base = live_server

    answerer_page = browser_page
    log_in(answerer_page, base, answerer_email)
    answerer_page.get_by_role("link", name="Community", exact=True).click()
    answerer_page.get_by_role("link", name="How do you roll out SSO?").click()
    answer_box = answerer_page.get_by_label("Your answer (Markdown)")
    answer_box.fill("Use a **dedicated group** <img src=x onerror=alert(1)>")
    expect(answerer_page.locator("#answer-preview strong")).to_have_text("dedicated group")
    expect(answerer_page.locator("#answer-preview img")).to_have_count(0)
    answerer_page.get_by_role("button", name="Post answer").click()
    expect(answerer_page.locator("#answers-section h2")).to_have_text("1 answer")
    expect(answerer_page.locator("article.answer .markdown strong")).to_have_text("dedicated group")
    expect(answerer_page.locator("#bell .count")).to_have_count(0)
    points_before = answerer_page.locator("#summary").inner_text()

    asker_page = pages.new()  # a second person in their own browser context
    log_in(asker_page, base, asker_email)
    asker_page.goto(f"{base}/community/questions/{question_id}")
    expect(asker_page.locator("#bell .count")).to_have_text("1")  # "Grace answered your question"
    asker_page.get_by_role("button", name="Accept this answer").click()
    expect(asker_page.locator(".accepted-mark")).to_contain_text("Accepted answer")
    expect(asker_page.get_by_role("button", name="Accept this answer")).to_have_count(0)

    live_app.extensions["vouch_queue"].join()  # a background job creates and approves the completion
    # The answerer's page has not been reloaded: the bell's poll (fired here by the same event
    # mark-all-read sends, rather than waiting 30 s) shows the news and pulls the points along.
    answerer_page.evaluate("document.body.dispatchEvent(new Event('notifications-changed'))")
    bell = answerer_page.locator("#bell .count")
    expect(bell).to_have_text(re.compile(r"^[2-9]$"))  # answer accepted + completion approved (+ badge)
    expect(answerer_page.locator("#summary")).to_contain_text("40")
    assert answerer_page.locator("#summary").inner_text() != points_before
    expect(answerer_page.locator("#answers-section h2")).to_have_text("1 answer")  # still the same page
    answerer_page.locator("#bell").click()
    expect(
        answerer_page.get_by_text(re.compile(r"Your answer to .How do you roll out SSO\?. was accepted"))
    ).to_be_visible()
    expect(answerer_page.get_by_text(re.compile(r"\+40 points"))).to_be_visible()
    answerer_page.get_by_role("button", name="Mark all read").click()
    expect(answerer_page.locator("#bell .count")).to_have_count(0)  # HX-Trigger refreshed the bell in place
