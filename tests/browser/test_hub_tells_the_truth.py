"""Issue 19 "untrue or dead ends", in Chromium: what the page shows after an act is what is true.

- Redeeming refreshes every balance-dependent part of the catalog in the same response (the
  other cards' "N more points needed", both balances), without a reload.
- A failed quiz comes back in place with its reason, the tries left and the form; the right
  answers then approve it and "Done by N advocates" and the header balance move at once.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

QUIZ = {
    "questions": [
        {"prompt": "Which plan has SSO?", "options": ["Basic", "Pro", "Enterprise"], "answer": 2},
        {"prompt": "Where are exports?", "options": ["Settings", "Reports", "Nowhere"], "answer": 1},
    ]
}


def test_redeeming_refreshes_the_other_cards_and_both_balances_in_place(pages, make, log_in):
    from tests.support.rewards import new_reward

    advocate = make.advocate(name="Ada Redeemer", points=500)
    hoodie = new_reward(name="Hoodie", points_cost=300)
    mug = new_reward(name="Mug", points_cost=150)
    jacket = new_reward(name="Jacket", points_cost=700)
    page = pages.new(width=1366)
    log_in(page, advocate.user.email)
    page.goto("/rewards")
    jacket_card, mug_card = page.locator(f"#reward-{jacket}"), page.locator(f"#reward-{mug}")
    expect(jacket_card.get_by_test_id("blocked-reason")).to_have_text("200 more points needed.")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    card = page.locator(f"#reward-{hoodie}")
    card.get_by_test_id("redeem").click()
    card.get_by_test_id("confirm-redeem").click()
    expect(card.get_by_test_id("redeemed")).to_be_visible()
    expect(jacket_card.get_by_test_id("blocked-reason")).to_have_text("500 more points needed.")  # 700 − 200
    expect(mug_card.get_by_test_id("redeem")).to_be_visible()  # 150 ≤ 200: still affordable
    expect(page.get_by_test_id("catalog-balance")).to_have_text("200")
    expect(page.get_by_test_id("header-balance")).to_have_text("200")
    assert navigations == []  # all in place
    assert pages.errors == []


def test_a_failed_quiz_comes_back_in_place_and_the_right_answers_count_at_once(pages, make, log_in):
    from tests.support.challenges import create_challenge

    advocate = make.advocate(name="Quinn Quizzer", points=10)
    challenge = create_challenge(None, title="Product quiz", type="quiz", quiz=QUIZ, points=40)
    page = pages.new(width=390, height=844)
    log_in(page, advocate.user.email)
    page.goto(f"/challenges/{challenge.id}")
    expect(page.get_by_test_id("done-count")).to_have_text("0 advocates")
    area = page.locator("#submit-area")
    area.get_by_label("Basic").check()
    area.get_by_label("Settings").check()
    area.get_by_role("button", name="Submit").click()
    expect(area.get_by_test_id("rejection-reason")).to_have_text("0 of 2 answers were right; 2 are needed.")
    expect(area.get_by_test_id("tries-left")).to_have_text("2 tries left, then a 24-hour wait.")
    area.get_by_label("Enterprise").check()
    area.get_by_label("Reports").check()
    area.get_by_role("button", name="Submit").click()
    expect(area.get_by_test_id("completion-status")).to_have_attribute("data-status", "approved")
    expect(page.get_by_test_id("done-count")).to_have_text("1 advocate")
    expect(page.get_by_test_id("header-balance")).to_have_text("50")  # 10 + 40
    assert pages.errors == []


def test_the_hub_says_the_advocate_is_on_a_break_and_every_challenge_waits(pages, make, log_in):
    import datetime as dt

    from hub.extensions import db
    from tests.support.challenges import create_challenge
    from tests.support.page_audit import audit_page

    advocate = make.advocate(name="Brea Break")
    today = dt.datetime.now(dt.UTC).date()
    last = today + dt.timedelta(days=6)
    advocate.preferences = {"blackouts": [{"start": today.isoformat(), "end": last.isoformat()}]}
    db.session.commit()
    create_challenge(None, title="Product quiz", type="quiz", quiz=QUIZ, points=40)
    create_challenge(None, title="Write a case study", type="case_study", points=300)
    page = pages.new(width=1366)
    log_in(page, advocate.user.email)
    expect(page.get_by_test_id("on-break")).to_contain_text("You are on a break")
    locks = page.get_by_test_id("locked-reason")
    expect(locks).to_have_count(2)
    for n in range(2):
        expect(locks.nth(n)).to_contain_text(f"You are on a break until {last:%b} {last.day}")
    assert audit_page(page, "/", name="advocate-hub-on-break", widths=(390, 1366)) == []
    assert pages.errors == []
