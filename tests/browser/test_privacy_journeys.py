"""Issue 14 in a real browser: an advocate downloads their data and erases their account, then
cannot log in; an owner deactivates a manager whose open session then ends."""

from __future__ import annotations

import json
import os
import re

import pytest
from playwright.sync_api import expect

from hub.extensions import db
from hub.models import Advocate

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("VOUCH_SCREENSHOTS")  # a directory: the pages are saved there at 390 and 1366 px


def shoot(page, name: str) -> None:
    if SHOTS:
        for width in (390, 1366):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)


def test_advocate_downloads_their_data_and_erases_their_account(page, pages, make, log_in, tmp_path):
    ada = make.advocate(name="Ada Private", email="ada.private@example.com", points=250, company="Engines")
    log_in(page, "ada.private@example.com")
    page.get_by_text("Your account: Ada Private").click()  # the header's account menu (issue 19)
    page.get_by_role("link", name="Preferences", exact=True).click()
    expect(page.get_by_role("heading", name="Your data")).to_be_visible()
    shoot(page, "preferences")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data").click()
    saved = tmp_path / "my-data.json"
    download.value.save_as(saved)
    document = json.loads(saved.read_text())
    assert document["profile"]["email"] == "ada.private@example.com"
    assert [e["delta"] for e in document["ledger"]] == [250]
    assert re.fullmatch(r"vouch-my-data-\d{4}-\d{2}-\d{2}\.json", download.value.suggested_filename)

    page.get_by_role("link", name="Erase my account…").click()
    shoot(page, "erase")
    page.get_by_label("Your password").fill("not the password")
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Erase my account").click()
    expect(page.get_by_text("That is not your password.")).to_be_visible()
    page.get_by_label("Your password").fill("correct horse battery")
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Erase my account").click()
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_text("Your account and personal data were erased.")).to_be_visible()

    log_in(page, "ada.private@example.com")
    expect(page.get_by_text("That email and password do not match an account.")).to_be_visible()
    db.session.rollback()
    advocate = db.session.get(Advocate, ada.id)
    assert advocate.is_erased and advocate.balance == 250 and advocate.company is None
    # the wrong password's form came back as 422 (the browser logs that status); nothing else
    assert [e for e in pages.errors if "status of 422" not in e] == []


def test_owner_deactivates_a_manager_whose_open_session_ends(pages, make, log_in):
    owner = make.user("owner", name="Olivia Owner")
    manager = make.user("manager", name="Mike Manager", email="mike.manager@example.com")
    mike = pages.new()
    log_in(mike, manager.email)
    mike.goto("/admin/challenges")
    expect(mike.get_by_role("heading", name="Challenges")).to_be_visible()

    olivia = pages.new()
    log_in(olivia, owner.email)
    olivia.get_by_role("link", name="Users").click()
    expect(olivia.get_by_role("heading", name="Users")).to_be_visible()
    shoot(olivia, "users")
    olivia.get_by_role("button", name="Deactivate mike.manager@example.com").click()
    expect(olivia.locator(f"#user-{manager.id}")).to_contain_text("deactivated")
    olivia.get_by_role("button", name=f"Deactivate {owner.email}").click()
    expect(olivia.get_by_text("last active owner")).to_be_visible()

    mike.goto("/admin/challenges")  # the next request of the open session
    expect(mike).to_have_url(re.compile(r"/login"))
    log_in(mike, manager.email)
    expect(mike.get_by_text("That email and password do not match an account.")).to_be_visible()

    olivia.get_by_role("button", name="Reactivate mike.manager@example.com").click()
    log_in(mike, manager.email)
    expect(mike).not_to_have_url(re.compile(r"/login"))
    assert pages.errors == []


def test_profile_page_from_the_header(page, pages, make, log_in):
    ada = make.advocate(name="Ada Profile", email="ada.profile@example.com")
    log_in(page, ada.user.email)
    page.get_by_text("Your account: Ada Profile").click()  # the header's account menu (issue 19)
    page.get_by_role("link", name="Profile", exact=True).click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    page.get_by_label("Title").fill("Head of Data")
    page.get_by_label("Company size").select_option("51-200")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Profile saved.")).to_be_visible()
    page.get_by_label("Token name").fill("My script")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_test_id("new-token")).to_contain_text("vch_")
    shoot(page, "profile")
    page.get_by_role("button", name="Revoke My script").click()
    expect(page.get_by_text("Token revoked.")).to_be_visible()
    db.session.rollback()
    advocate = db.session.get(Advocate, ada.id)
    assert (advocate.title, advocate.company_size) == ("Head of Data", "51-200")
    assert pages.errors == []
