"""Finding advocates in a real browser (issue 15): a sales user nominates a customer, a manager
approves, the customer accepts the invitation; an owner imports a score file and invites the
top candidate; the account page shows the new advocate."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from hub.email.models import OutboxEmail
from hub.extensions import db
from hub.models import User

pytestmark = pytest.mark.browser
NEW_PASSWORD = "a fresh long password"
HEADER = "email,name,company,nps,feature_adoption_pct,health_score,tenure_months,social_mentions,responded_before"


def _accept_invitation(pages, live, email: str, name: str) -> None:
    db.session.rollback()  # a fresh snapshot: see what the server wrote
    message = db.session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == email))
    link = re.search(r"http://\S+", message.body_text).group(0)
    assert link.startswith(live.url + "/invite/")
    invitee = pages.new()
    invitee.goto(link)
    expect(invitee.get_by_label("Your name")).to_have_value(name)
    invitee.get_by_label("New password").fill(NEW_PASSWORD)
    invitee.get_by_label("Repeat it").fill(NEW_PASSWORD)
    invitee.get_by_label(re.compile("I agree")).check()
    invitee.get_by_role("button", name="Join").click()
    expect(invitee.get_by_text("Welcome aboard!")).to_be_visible()


def test_sales_nominates_a_manager_approves_and_the_customer_joins(page, pages, live, make, log_in):
    sales, manager = make.user("sales"), make.user("manager")
    log_in(page, sales.email)
    page.get_by_role("link", name="Nominate a customer").click()
    page.get_by_label("Name").fill("Nia Nominee")
    page.get_by_label("Email").fill("nia@initech.com")
    page.get_by_label("Company").fill("Initech")
    page.get_by_label("Why this customer?").fill("Praised us on the QBR call")
    page.get_by_role("button", name="Nominate").click()
    expect(page.get_by_text("Nia Nominee is nominated")).to_be_visible()
    expect(page.get_by_test_id("my-nominations")).to_contain_text("waiting for a decision")

    staff = pages.new()
    log_in(staff, manager.email)
    staff.goto("/admin/nominations")
    row = staff.get_by_test_id(re.compile(r"nomination-\d+"))
    expect(row).to_contain_text("Praised us on the QBR call")
    row.get_by_role("button", name="Approve and invite").click()
    expect(staff.get_by_text("Approved: Nia Nominee has been invited.")).to_be_visible()

    page.reload()
    expect(page.get_by_test_id("my-nominations")).to_contain_text("approved — invited")
    _accept_invitation(pages, live, "nia@initech.com", "Nia Nominee")
    db.session.rollback()
    joined = db.session.scalar(select(User).where(User.email == "nia@initech.com"))
    assert joined is not None and joined.advocate.account_id is not None
    staff.goto(f"/admin/accounts/{joined.advocate.account_id}")
    expect(staff.get_by_test_id("account-advocates")).to_contain_text("Nia Nominee")


def test_owner_imports_scores_and_invites_the_top_candidate(page, pages, live, make, log_in, tmp_path):
    owner = make.user("owner")
    scores = tmp_path / "scores.csv"
    scores.write_text(
        f"{HEADER}\n"
        "mid@globex.com,Mia Mid,Globex,9,75,85,3,0,no\n"
        "not-an-email,Broken,,,,,,,\n"
        "top@umbrella.co,Tom Top,Umbrella,10,90,95,36,4,yes\n",
        encoding="utf-8",
    )
    log_in(page, owner.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Candidates").click()
    page.get_by_label("Score CSV").set_input_files(str(scores))
    page.get_by_role("button", name="Import scores").click()
    expect(page.get_by_test_id("import-summary")).to_have_text("2 imported, 0 updated, 1 rows with errors.")
    expect(page.get_by_test_id("import-errors")).to_contain_text("3")
    page.get_by_role("link", name="See the qualified candidates").click()
    rows = page.get_by_test_id(re.compile(r"candidate-\d+"))
    expect(rows.first).to_contain_text("Tom Top")
    expect(rows.first).to_contain_text("100")
    rows.first.get_by_role("button", name="Invite").click()
    expect(page.get_by_text("Invited 1 candidate.")).to_be_visible()
    expect(rows.first).to_contain_text("invited")
    _accept_invitation(pages, live, "top@umbrella.co", "Tom Top")
    page.goto("/admin/")
    expect(page.get_by_test_id("advocate-funnel")).to_contain_text("Joined")
    funnel = page.get_by_test_id("advocate-funnel").inner_text()
    assert re.search(r"Qualified candidates\s*2\s*Invited\s*1\s*Joined\s*1\s*First approved act\s*0", funnel, re.I), (
        funnel
    )
