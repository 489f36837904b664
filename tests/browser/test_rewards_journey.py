"""Browser journeys for rewards: redeeming charges once even on a double click, and a
manager's rejection shows up as a refund on the advocate's side."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def seed(live_server, *, points: int, rewards: list[dict], staff: bool = False) -> dict:
    from hub import accounts
    from hub.extensions import db
    from rewards import catalog
    from rewards.ledger import post_entry

    with live_server.app.app_context():
        advocate = accounts.create_advocate(
            accounts.AdvocateProfile(email="ada@example.com", name="Ada Lovelace"), None, PASSWORD
        )
        post_entry(advocate.id, points, kind="earn", source_type="test", source_id="seed", memo="Seed points")
        # Sent by post only when a test says so (swag would be by default: rewards.models.SHIPPED_KINDS).
        bodies = [{"needs_shipping": False} | r for r in rewards]
        ids = [catalog.create_reward(catalog.read_reward_input(r, partial=False), None).id for r in bodies]
        if staff:
            accounts.create_user("manager@example.com", "Manny Manager", "manager", PASSWORD)
        db.session.commit()
        return {"advocate_id": advocate.id, "reward_ids": ids}


def state(live_server, advocate_id: int) -> tuple[int, int, int]:
    """(balance, redemptions, redeem entries) as the database has them."""
    from hub.extensions import db
    from hub.models import Advocate
    from rewards.models import LedgerEntry, Redemption

    with live_server.app.app_context():
        balance = db.session.get(Advocate, advocate_id).balance
        made = db.session.scalar(select(func.count()).select_from(Redemption))
        debits = db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "redeem"))
        db.session.remove()
        return balance, made, debits


def log_in(page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_redeem_double_click_charges_once_and_the_header_balance_drops(page, live_server):
    seeded = seed(
        live_server,
        points=500,
        rewards=[
            {"name": "Vouch hoodie", "kind": "swag", "points_cost": 200, "stock": 5},
            {"name": "Sticker pack", "kind": "swag", "points_cost": 50},
        ],
    )
    hoodie, stickers = seeded["reward_ids"]
    log_in(page, live_server, "ada@example.com")
    page.get_by_role("link", name="Rewards", exact=True).click()
    header = page.get_by_test_id("header-balance")
    expect(header).to_have_text("500")

    card = page.locator(f"#reward-{hoodie}")
    card.get_by_test_id("redeem").click()
    expect(card.get_by_test_id("confirm-price")).to_have_text("200 points")
    # htmx wires up swapped-in content in its settle step (a timer after the swap); a double
    # click before that is a plain form POST (charged once all the same, see below), which
    # lands on My redemptions instead. This test is about the in-place flow: wait for htmx.
    card.locator("form").evaluate(
        "form => new Promise(done => { const ready = () => "
        "'htmx-internal-data' in form ? done() : setTimeout(ready, 10); ready(); })"
    )
    card.get_by_test_id("confirm-redeem").dblclick()
    expect(card.get_by_test_id("redeemed")).to_be_visible()
    expect(header).to_have_text("300")
    expect(page.get_by_test_id("catalog-balance")).to_have_text("300")
    assert state(live_server, seeded["advocate_id"]) == (300, 1, 1)

    # Two real POSTs of the very same confirm form (what a double submit sends, bypassing
    # the disabled button): the per-render request key makes the second one a replay.
    card = page.locator(f"#reward-{stickers}")
    card.get_by_test_id("redeem").click()
    form = card.locator("form")
    expect(form).to_be_visible()
    statuses = form.evaluate("""async (form) => {
        const send = () => fetch(form.action, {method: "POST", body: new URLSearchParams(new FormData(form)),
                                               headers: {"HX-Request": "true"}});
        const answers = await Promise.all([send(), send()]);
        return answers.map((r) => r.status);
    }""")
    assert statuses == [200, 200]
    assert state(live_server, seeded["advocate_id"]) == (250, 2, 2)
    page.goto(f"{live_server.url}/me/redemptions")
    expect(page.get_by_test_id("redemption-row")).to_have_count(2)
    expect(page.get_by_test_id("header-balance")).to_have_text("250")


def test_manager_rejects_and_the_advocate_sees_the_refund(page, browser, live_server):
    seeded = seed(
        live_server,
        points=500,
        staff=True,
        rewards=[
            {
                "name": "Conference pass",
                "kind": "experience",
                "points_cost": 400,
                "stock": 1,
                "requires_approval": True,
            },
        ],
    )
    (reward_id,) = seeded["reward_ids"]
    advocate_context = browser.new_context()
    advocate = advocate_context.new_page()
    try:
        log_in(advocate, live_server, "ada@example.com")
        advocate.goto(f"{live_server.url}/rewards")
        card = advocate.locator(f"#reward-{reward_id}")
        card.get_by_test_id("redeem").click()
        card.get_by_test_id("confirm-redeem").click()
        expect(card).to_contain_text("A manager will approve it soon")
        expect(advocate.get_by_test_id("header-balance")).to_have_text("100")

        log_in(page, live_server, "manager@example.com")
        page.get_by_role("link", name="Redemptions", exact=True).click()
        row = page.get_by_test_id("queue-row").filter(has_text="Conference pass")
        expect(row).to_contain_text("Ada Lovelace")
        row.get_by_test_id("reject-reason").fill("The conference is sold out this year.")
        row.get_by_test_id("reject").click()
        expect(row.get_by_test_id("queue-status")).to_have_text("Rejected")

        advocate.goto(f"{live_server.url}/me/redemptions")
        mine = advocate.get_by_test_id("redemption-row")
        expect(mine.get_by_test_id("redemption-status")).to_have_text("Rejected")
        expect(mine).to_contain_text("The conference is sold out this year.")
        expect(mine.get_by_test_id("refunded")).to_have_text("400 points refunded")
        expect(advocate.get_by_test_id("header-balance")).to_have_text("500")
        expect(advocate.locator("#bell .count")).to_have_text(re.compile(r"[1-9]"))
        assert state(live_server, seeded["advocate_id"]) == (500, 1, 1)
    finally:
        advocate_context.close()
