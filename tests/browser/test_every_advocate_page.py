"""Issue 19 "Every page, every size": every page an advocate can open passes the page audit
(tests/support/page_audit.py) at 360, 390 and 1366 px — no sideways scroll, no console error, no
text wider than its box, no serious or critical axe-core violation — with long unbroken words
in the user text it shows. Screenshots land in test-artifacts/screens/advocate-*.png.

`test_the_audit_covers_every_advocate_page` walks the URL map, so a new advocate page added
later without joining the audit (or the list of fragments that are not pages) fails here."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from hub.models import Role
from tests.support.page_audit import SCREENS, assert_pages_pass, audit_page

pytestmark = pytest.mark.browser

LONG_WORD = "Supercalifragilisticexpialidocious" * 3  # 102 letters, no break opportunity
LONG_URL = "https://example.com/" + "a" * 120

# GET endpoints an advocate may call that are not pages: htmx fragments, downloads, redirects and
# the links in emails (each answers something other than a full page to a browser's address bar).
NOT_PAGES = {
    "challenges.inline_form": "htmx fragment: the submit form swapped into a card",
    "challenges.completion_status": "htmx fragment: the polled status chip",
    "rewards.my_summary": "htmx fragment: the header's balance chip",
    "rewards.my_balance": "htmx fragment: the balance figure",
    "rewards.reward_card": "htmx fragment: one reward card",
    "rewards.confirm_redeem": "htmx fragment: the confirm dialog (its full-page form is audited as rewards-confirm)",
    "hub.export_data": "download: the JSON export",
    "hub.notification_bell": "htmx fragment: the header's bell",
    "rewards.leaderboard_widget": "htmx fragment: the hub's top-5 widget and its period tabs",
    "rewards.reward_image": "image file: a reward's picture",
    "challenges.evidence_file": "file: a photo or PDF sent as evidence (linked from the challenge's history)",
}


def advocate_pages(ids: dict[str, int]) -> dict[str, str]:
    """{screenshot name: path} for every advocate page, with real ids filled in."""
    return {
        "hub": "/",
        "challenges": "/challenges",
        "challenge": f"/challenges/{ids['challenge']}",
        "challenge-quiz": f"/challenges/{ids['quiz']}",
        "rewards": "/rewards",
        "rewards-confirm": f"/rewards/{ids['reward']}/confirm",
        "leaderboard": "/leaderboard",
        "leaderboard-month": "/leaderboard?period=month",
        "activity": "/me/activity",
        "redemptions": "/me/redemptions",
        "impact": "/me/impact",
        "community": "/community/",
        "community-question": f"/community/questions/{ids['question']}",
        "community-ask": "/community/ask",
        "notifications": "/notifications",
        "referrals": "/referrals",
        "references": "/me/references",
        "reference-ask": f"/me/references/{ids['reference']}",
        "preferences": "/me/preferences",
        "email-preferences": "/me/preferences/email",
        "profile": "/me/profile",
        "change-password": "/account/password",
        "erase": "/me/erase",
        "consent": "/consent",
    }


def program_with_long_words(make) -> dict[str, int]:
    """An advocate with history and user text full of long unbroken words; returns the ids."""
    from challenges import services
    from challenges.references.services import assignments, requests
    from hub.community import services as community
    from hub.extensions import db
    from tests.support.challenges import create_challenge
    from tests.support.rewards import new_reward

    manager = make.user("manager")
    sales = make.user("sales", name="Sam Sales")
    advocate = make.advocate(
        name=f"Maximiliana {LONG_WORD[:40]}",
        points=420,
        company=f"Aeronautical{LONG_WORD[:30]} Laboratories",
        title="Chief Technology Officer",
        industry="Healthcare",
        company_size="201-1000",
    )
    for n in range(8):
        make.advocate(name=f"Advocate With A Long Name {n}", points=50 * n + 5)
    challenge = create_challenge(
        manager.id,
        title=f"Write a case study about {LONG_WORD}",
        description=f"Tell us **everything**: {LONG_WORD} and a link {LONG_URL}",
        points=300,
    )
    quiz = create_challenge(
        manager.id,
        title="Product quiz",
        type="quiz",
        description="Three questions.",
        points=50,
        quiz={
            "questions": [
                {"prompt": f"Which plan has {LONG_WORD}?", "options": ["Basic", "Pro", LONG_WORD], "answer": 1}
            ]
        },
    )
    reward = new_reward(name=f"Hoodie {LONG_WORD}", description=f"Soft {LONG_WORD}", points_cost=400)
    new_reward(name="Conference pass", points_cost=5000)
    question = community.ask_question(
        advocate.user, f"How do I configure {LONG_WORD[:60]}?", f"**Bold** question {LONG_WORD} {LONG_URL}"
    )
    community.post_answer(make.advocate(name="Helpful Helen").user, question.id, f"Use {LONG_WORD}.")
    reference = requests.file_request(
        sales.id,
        requests.parse_request(
            {
                "prospect_company": f"Prospect{LONG_WORD[:40]} Inc",
                "industry": "Healthcare",
                "company_size": "201-1000",
                "region": "EMEA",
                "use_case": f"Migrating {LONG_WORD}",
                "stage": "evaluation",
                "deal_size": "50000",
                "needed_by": (dt.date.today() + dt.timedelta(days=20)).isoformat(),
                "format": "phone",
            }
        ),
    )
    assignments.assign(reference.id, advocate.id, manager.id)
    services.submit_completion(challenge.id, advocate.id, {"evidence_text": f"I wrote {LONG_WORD}"})
    db.session.commit()
    return {
        "advocate_user": advocate.user_id,
        "challenge": challenge.id,
        "quiz": quiz.id,
        "reward": reward,
        "question": question.id,
        "reference": reference.id,
    }


def test_the_audit_covers_every_advocate_page(live):
    """Every GET endpoint an advocate may open (no /api/) is audited or named as not a page."""
    app = live.app
    audited = {
        path.split("?")[0]
        for path in advocate_pages(dict.fromkeys(("challenge", "quiz", "reward", "question", "reference"), 1)).values()
    }
    adapter = app.url_map.bind("localhost")
    missing = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.rule.startswith("/api/") or rule.endpoint.endswith("static"):
            continue
        view = app.view_functions[rule.endpoint]
        allowed = getattr(view, "allowed_roles", None) or ()
        if Role.ADVOCATE not in allowed or rule.endpoint in NOT_PAGES:
            continue
        path = adapter.build(rule.endpoint, dict.fromkeys(rule.arguments, 1))
        if path not in audited:
            missing.append(f"{rule.endpoint} {rule.rule}")
    assert not missing, "advocate pages the audit does not visit:\n" + "\n".join(missing)


def test_every_advocate_page_passes_the_audit(pages, live, log_in):
    from hub.extensions import db
    from hub.models import User
    from tests.support.factories import Factory

    ids = program_with_long_words(Factory())
    email = db.session.get(User, ids["advocate_user"]).email
    page = pages.new()
    log_in(page, email)
    assert_pages_pass(page, {f"advocate-{name}": path for name, path in advocate_pages(ids).items()})
    assert pages.errors == []


def test_the_audit_fails_a_page_that_overflows(pages, live, log_in):
    """The audit itself: a page made to overflow, with a word that cannot wrap and an unlabelled
    button, is reported on all three counts (so a passing audit means something)."""
    from tests.support.factories import Factory

    email = Factory().advocate(name="Audit Subject").user.email
    page = pages.new()
    log_in(page, email)
    page.route(
        "**/me/profile",
        lambda route: route.fulfill(
            content_type="text/html",
            body=(
                "<!doctype html><html lang='en'><head><title>t</title></head><body><main>"
                f"<div style='width:200px'>{LONG_WORD}</div><div style='width:2000px'>wide</div>"
                "<button></button></main></body></html>"
            ),
        ),
    )
    problems = audit_page(page, "/me/profile", name="audit-self-check", widths=(390,))
    text = "\n".join(problems)
    assert "horizontal overflow: scrollWidth 20" in text and "> innerWidth 390" in text
    assert "text wider than its container div (" in text and LONG_WORD[:40] in text
    assert "axe critical button-name" in text
    expect(page.locator("button")).to_have_count(1)


def test_the_header_fits_one_line_on_a_desktop_and_folds_into_a_menu_on_a_phone(pages, make, log_in):
    """At 1366 px every header item sits on one line; at 390 px the links fold behind a Menu
    button that opens and closes by keyboard. Profile and change password are one click away
    in the account menu (issue 19: nothing linked to the change-password page)."""
    advocate = make.advocate(name="Grace Brewster Murray Hopper", points=1200)
    desktop = pages.new(width=1366, height=900)
    log_in(desktop, advocate.user.email)
    rows = desktop.evaluate(
        """() => [...document.querySelectorAll(
                '.topbar .brand, .topbar nav a, .advocate-status, .account-menu summary, .logout')]
              .map(el => Math.round(el.getBoundingClientRect().top + el.getBoundingClientRect().height / 2))"""
    )
    assert len(rows) == 11 and max(rows) - min(rows) <= 4, rows  # brand, 7 links, status, account, log out
    assert desktop.locator(".topbar").bounding_box()["height"] < 70
    expect(desktop.get_by_role("button", name="Menu")).to_be_hidden()
    desktop.get_by_text("Your account: Grace Brewster").click()
    desktop.get_by_role("link", name="Change password").click()
    expect(desktop.get_by_role("heading", name="Change your password")).to_be_visible()
    desktop.get_by_text("Your account: Grace Brewster").click()
    desktop.get_by_role("link", name="Profile").click()
    expect(desktop.get_by_role("heading", name="Your profile")).to_be_visible()

    phone = pages.new(width=390, height=844)
    log_in(phone, advocate.user.email)
    menu = phone.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(phone.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(phone.get_by_test_id("header-balance")).to_have_text("1,200")
    menu.focus()
    phone.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(phone.get_by_role("link", name="Leaderboard", exact=True)).to_be_visible()
    phone.screenshot(path=str(SCREENS / "advocate-header-menu-open-390.png"), full_page=True)
    phone.keyboard.press("Escape")
    expect(phone.get_by_role("navigation", name="Main")).to_be_hidden()
    menu.click()
    phone.get_by_role("link", name="Rewards", exact=True).click()
    expect(phone.get_by_role("heading", name="Rewards", exact=True)).to_be_visible()
    assert pages.errors == []
