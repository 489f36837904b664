"""Journeys in a real browser: an advocate sees their status, an owner adjusts points, an invite is accepted."""

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


def test_advocate_sees_status_and_switches_leaderboard_tabs(page, pages, make, log_in):
    me = make.advocate(name="Ada Lovelace", points=1200, groups=("EMEA",))
    make.advocate(name="Grace Hopper", points=5600)
    log_in(page, me.user.email)

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Hello, Ada")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text("1,200")
    expect(page.get_by_test_id("lifetime")).to_have_text("1,200")
    expect(page.locator("#tier-card .tier")).to_have_text("Silver")
    expect(page.get_by_text("3,800 points to Gold")).to_be_visible()
    expect(page.locator("#tier-progress")).to_have_attribute("value", "5")
    widget = page.locator("#leaderboard-widget")
    expect(widget).to_contain_text("Grace Hopper")

    page.evaluate("window.__vouchMarker = 'home'")
    widget.get_by_role("tab", name="This quarter").click()
    expect(widget.get_by_role("tab", name="This quarter")).to_have_attribute("aria-selected", "true")
    expect(widget.locator("tr.me")).to_contain_text("Ada Lovelace")
    assert page.evaluate("window.__vouchMarker") == "home"  # the widget swapped in place

    page.get_by_role("link", name="Leaderboard", exact=True).click()
    expect(page.get_by_role("heading", name="Leaderboard")).to_be_visible()
    page.evaluate("window.__vouchMarker = 'still-here'")
    page.get_by_role("tab", name="This month").click()
    expect(page.get_by_role("tab", name="This month")).to_have_attribute("aria-selected", "true")
    expect(page).to_have_url(re.compile(r"period=month"))
    assert page.evaluate("window.__vouchMarker") == "still-here"  # swapped in place, no reload
    expect(page.locator("#board-panel tr.me")).to_contain_text("Ada Lovelace")

    page.get_by_role("link", name="EMEA").click()
    expect(page).to_have_url(re.compile(r"group=EMEA"))
    expect(page.locator("#board-panel")).not_to_contain_text("Grace Hopper")
    assert page.evaluate("window.__vouchMarker") == "still-here"
    assert pages.errors == []


def test_owner_adjusts_points_and_the_leaderboard_changes(page, pages, make, log_in):
    owner = make.user("owner", name="Olivia Owner")
    leader = make.advocate(name="Leader Lee", points=500)
    climber = make.advocate(name="Climber Cy", points=300)
    log_in(page, owner.email)

    page.goto("/leaderboard")
    rows = page.locator("#board-panel tbody tr")
    expect(rows.first).to_contain_text("Leader Lee")

    page.goto(f"/admin/advocates/{climber.id}")
    page.get_by_label("Points (negative to deduct)").fill("400")
    page.get_by_label("Reason").fill("Keynote at our user conference")
    page.get_by_role("button", name="Adjust").click()
    expect(page.get_by_text("Adjusted by +400 points.")).to_be_visible()
    expect(page.get_by_test_id("admin-balance")).to_have_text("700")
    expect(page.locator("table")).to_contain_text("Keynote at our user conference")

    page.get_by_role("link", name="Leaderboard", exact=True).click()
    expect(rows.first).to_contain_text("Climber Cy")
    expect(rows.nth(1)).to_contain_text("Leader Lee")

    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("main")).to_contain_text("points.adjust")
    assert leader.id != climber.id
    assert pages.errors == []


def test_invite_is_accepted_end_to_end(page, pages, live, make, log_in):
    manager = make.user("manager")
    log_in(page, manager.email)
    page.goto("/admin/advocates")
    page.get_by_role("link", name="Invite").first.click()
    page.get_by_label("Email").fill("ivy@example.com")
    page.get_by_label("Name").fill("Ivy Invitee")
    page.get_by_label("Company", exact=True).fill("Acme")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to ivy@example.com")).to_be_visible()

    db.session.rollback()  # a fresh snapshot: see what the server wrote
    message = db.session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == "ivy@example.com"))
    link = re.search(r"http://\S+", message.body_text).group(0)
    assert link.startswith(live.url + "/invite/")

    invitee = pages.new()
    invitee.goto(link)
    expect(invitee.get_by_text("ivy@example.com")).to_be_visible()
    expect(invitee.get_by_label("Your name")).to_have_value("Ivy Invitee")
    invitee.get_by_label("New password").fill(NEW_PASSWORD)
    invitee.get_by_label("Repeat it").fill(NEW_PASSWORD)
    invitee.get_by_role("button", name="Join").click()
    expect(invitee.get_by_text("Please accept the program terms to join.")).to_be_visible()

    invitee.get_by_label("New password").fill(NEW_PASSWORD)
    invitee.get_by_label("Repeat it").fill(NEW_PASSWORD)
    invitee.get_by_label(re.compile("I agree")).check()
    invitee.get_by_role("button", name="Join").click()
    expect(invitee.get_by_text("Welcome aboard!")).to_be_visible()
    expect(invitee.get_by_role("heading", name="Hello, Ivy")).to_be_visible()
    expect(invitee.get_by_test_id("balance")).to_have_text("0")

    db.session.rollback()  # a fresh snapshot: see what the server wrote
    user = db.session.scalar(select(User).where(User.email == "ivy@example.com"))
    assert user.advocate.consented_at is not None and user.advocate.company == "Acme"
    again = pages.new()
    again.goto(link)
    expect(again.get_by_role("heading", name="This link cannot be used")).to_be_visible()
    assert [e for e in pages.errors if "400" not in e] == []


PHONE = {"width": 360, "height": 740}


def assert_no_horizontal_overflow(page, path: str) -> None:
    page.goto(path)
    page.wait_for_load_state()
    overflow = page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            const wide = [...document.querySelectorAll('body *')]
              .filter(el => el.getBoundingClientRect().right > width + 1)
              .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                         (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : ''));
            return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 8)};
        }"""
    )
    assert overflow["scroll"] <= overflow["width"], (path, overflow)


def test_pages_fit_a_360_pixel_screen(pages, make, log_in):
    advocate = make.advocate(
        name="Katherine Johnson-Smith",
        points=2300,
        groups=("EMEA", "Healthcare CIOs"),
        company="Langley Aeronautical Laboratory",
    )
    for n in range(12):
        make.advocate(name=f"Advocate With A Long Name {n}", points=100 * n + 5)
    owner = make.user("owner")

    phone = pages.new(**PHONE)
    for path in ("/login", "/forgot"):
        assert_no_horizontal_overflow(phone, path)
    log_in(phone, advocate.user.email)
    for path in (
        "/",
        "/leaderboard",
        "/leaderboard?period=month",
        "/me/activity",
        "/notifications",
        "/account/password",
    ):
        assert_no_horizontal_overflow(phone, path)

    staff = pages.new(**PHONE)
    log_in(staff, owner.email)
    for path in (
        "/admin/",
        "/admin/advocates",
        f"/admin/advocates/{advocate.id}",
        "/admin/invite",
        "/admin/advocates/import",
        "/admin/groups",
        "/admin/settings",
        "/admin/audit",
        "/leaderboard",
    ):
        assert_no_horizontal_overflow(staff, path)
    assert pages.errors == []


def test_keyboard_only_login_and_skip_link(page, make):
    user = make.advocate(name="Keyboard Kim")
    email = user.user.email
    page.goto("/login")
    expect(page.get_by_label("Email")).to_be_focused()  # autofocus
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Hello, Keyboard")).to_be_visible()
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
