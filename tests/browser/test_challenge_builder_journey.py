"""The challenge editor by type in a browser (issue 20): switching the type shows its fields and
fills its defaults; a quiz built with the builder's buttons (keyboard included) is saved and
reopens in order; the preview is the advocate's card; queue actions stay on a phone screen.
Screenshots go to test-artifacts/screens/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from challenges.models import Challenge
from hub.extensions import db
from tests.browser.test_journeys import assert_no_horizontal_overflow
from tests.support.page_audit import SCREENS
from tests.support.rewards import new_reward

pytestmark = pytest.mark.browser


def fill_question(page, n: int, prompt: str, options: list[str], right: int) -> None:
    page.locator(f"[name=questions-{n}-prompt]").fill(prompt)
    for m, option in enumerate(options):
        if m >= 2:  # a new question comes with two option boxes
            page.locator(f"[data-quiz-op=add-option][value=add-option-{n}]").click()
        page.locator(f"[name=questions-{n}-options-{m}]").fill(option)
    page.locator(f"[name=questions-{n}-correct][value='{right}']").check()


def test_build_a_quiz_reorder_remove_save_and_reopen(pages, make, log_in):
    owner = make.user("owner")
    db.session.commit()
    page = pages.new(width=1366, height=900)
    log_in(page, owner.email)
    page.goto("/admin/challenges/new")
    builder = page.get_by_test_id("quiz-builder")
    link_check = page.locator("fieldset", has=page.get_by_text("Link check", exact=True))
    review_site = page.get_by_test_id("review-compliance")

    # The first type (Review) shows its site and link check; a quiz shows only its questions.
    expect(review_site).to_be_visible()
    expect(link_check).to_be_visible()
    expect(builder).to_be_hidden()
    expect(page.get_by_text("Used by: Review, Social share.")).to_be_hidden()
    page.get_by_label("Type", exact=True).select_option("quiz")
    expect(builder).to_be_visible()
    expect(review_site).to_be_hidden()
    expect(link_check).to_be_hidden()
    expect(page.get_by_label("Effort")).to_have_value("low")
    expect(page.get_by_label("Verification")).to_have_value("auto")
    expect(page.get_by_label("Quiz or survey answers")).to_be_checked()
    page.get_by_label("Type", exact=True).select_option("referral")
    expect(builder).to_be_hidden()
    expect(page.get_by_label("Bonus points (referral won)")).to_be_visible()
    expect(page.get_by_label("Effort")).to_have_value("medium")
    page.get_by_label("Type", exact=True).select_option("quiz")

    page.get_by_label("Title", exact=True).fill("Product basics")
    page.get_by_label("Points", exact=True).fill("40")
    fill_question(page, 0, "Which plan has SSO?", ["Starter", "Business"], 1)
    page.get_by_test_id("quiz-add").click()
    fill_question(page, 1, "Where do exports go?", ["Email", "S3", "Nowhere"], 1)
    page.get_by_test_id("quiz-add").click()
    expect(page.locator("[name=questions-2-prompt]")).to_be_focused()
    fill_question(page, 2, "How many admins?", ["One", "Any number"], 1)
    # Reorder with the keyboard: question 3 up to second place.
    page.get_by_role("button", name="Move question 3 up").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Move question 2 up")).to_be_focused()
    expect(page.locator("[name=questions-1-prompt]")).to_have_value("How many admins?")
    page.get_by_role("button", name="Remove question 1").click()
    expect(page.get_by_test_id("quiz-question")).to_have_count(2)
    expect(page.locator("[name=questions-0-prompt]")).to_have_value("How many admins?")

    # The preview is the advocate's card, built from the unsaved form.
    card = page.locator("#preview [data-testid=challenge-card]")
    expect(card).to_contain_text("Product basics")
    expect(card).to_contain_text("+40 pts")
    expect(page.locator("#preview [data-testid=preview]")).to_contain_text("How many admins?")
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "challenge-builder-quiz-1366.png"), full_page=True)

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", name="Edit challenge")).to_be_visible()
    db.session.rollback()  # a fresh read of what the live server saved
    quiz = db.session.scalar(select(Challenge.quiz))
    assert [q["prompt"] for q in quiz["questions"]] == ["How many admins?", "Where do exports go?"]
    assert [q["answer"] for q in quiz["questions"]] == [1, 1]
    page.reload()
    expect(page.locator("[name=questions-0-prompt]")).to_have_value("How many admins?")
    expect(page.locator("[name=questions-1-prompt]")).to_have_value("Where do exports go?")
    expect(page.locator("[name=questions-1-options-2]")).to_have_value("Nowhere")
    expect(page.locator("[name=questions-1-correct][value='1']")).to_be_checked()
    phone = pages.new(width=390, height=844)
    log_in(phone, owner.email)
    assert_no_horizontal_overflow(phone, "/admin/challenges/new")
    phone.get_by_label("Type", exact=True).select_option("quiz")
    phone.screenshot(path=str(SCREENS / "challenge-builder-quiz-390.png"), full_page=True)
    assert pages.errors == []


@pytest.mark.parametrize("width", [360, 390])
def test_fulfil_and_reject_are_on_screen_on_a_phone(pages, make, log_in, width):
    from rewards.ledger import post_entry
    from rewards.services import approve_redemption, redeem_reward

    owner = make.user("owner")
    advocate = make.advocate(name="Katherine Johnson-Smith")
    reward = new_reward(name="Conference pass with a rather long name", points_cost=100, requires_approval=True)
    post_entry(advocate.id, 500, kind="earn", source_type="test", source_id="seed", memo="Seed")
    approve_redemption(redeem_reward(advocate.id, reward, note="Size L please").id, owner.id)
    db.session.commit()
    page = pages.new(width=width, height=844)
    log_in(page, owner.email)
    assert_no_horizontal_overflow(page, "/admin/redemptions?status=approved")
    row = page.get_by_test_id("queue-row")
    for name in ("Fulfil", "Reject & refund"):
        button = row.get_by_role("button", name=name, exact=True)
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (name, box)
    # caret="initial": hiding the caret would inject a style the CSP refuses (a console error).
    row.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENS / f"redemptions-approved-{width}.png"), caret="initial")
    assert pages.errors == []
    row.get_by_placeholder("Note or tracking code").fill("1Z999")
    row.get_by_role("button", name="Fulfil", exact=True).click()
    expect(page.get_by_test_id("queue-status")).to_have_text("Fulfilled")
    assert pages.errors == []
