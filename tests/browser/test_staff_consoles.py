"""Every staff page at 360, 390 and 1366 px (issue 20): no horizontal page overflow (wide tables
scroll inside their own box), user text wraps (5,000 characters without a space in evidence
stay inside the review queue), no console errors; the grouped side navigation marks the page
the user is on and collapses to a menu on phones. Screenshots go to test-artifacts/screens/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from hub.extensions import db
from tests.browser.test_journeys import assert_no_horizontal_overflow
from tests.support.challenges import create_challenge
from tests.support.page_audit import audit_page
from tests.support.rewards import new_reward

pytestmark = pytest.mark.browser
UNBROKEN = "x" * 5_000


def seed(make) -> dict:
    """An owner, an advocate with a 5,000-character unbroken evidence text waiting for review,
    and a requested redemption, so the queues have rows to lay out."""
    from challenges.services import submit_completion
    from rewards.ledger import post_entry
    from rewards.services import redeem_reward

    owner = make.user("owner")
    advocate = make.advocate(name="Katherine Johnson-Smith", company="Langley Aeronautical Laboratory")
    reward = new_reward(name="Conference pass with a rather long name", points_cost=300, requires_approval=True)
    challenge = create_challenge(owner.id, title="Tell us about your rollout", type="custom")
    submit_completion(challenge.id, advocate.id, {"evidence_text": UNBROKEN})
    post_entry(advocate.id, 500, kind="earn", source_type="test", source_id="seed", memo="Seed")
    redeem_reward(advocate.id, reward, note="Size L please")
    db.session.commit()
    return {"owner": owner, "advocate": advocate, "challenge": challenge}


def staff_paths(seeded: dict) -> list[str]:
    advocate, challenge = seeded["advocate"], seeded["challenge"]
    return [
        "/admin/",
        "/admin/reports",
        "/admin/challenges",
        "/admin/challenges/new",
        f"/admin/challenges/{challenge.id}/edit",
        "/admin/review",
        "/admin/rewards",
        "/admin/rewards/new",
        "/admin/redemptions",
        "/admin/redemptions?status=approved",
        "/admin/advocates",
        f"/admin/advocates/{advocate.id}",
        "/admin/groups",
        "/admin/invite",
        "/admin/advocates/import",
        "/admin/accounts",
        "/admin/candidates",
        "/admin/nominations",
        "/admin/users",
        "/admin/references",
        "/admin/referrals",
        "/admin/crm",
        "/admin/settings",
        "/admin/settings/caps",
        "/admin/settings/terms",
        "/admin/emails/",
        "/admin/jobs/",
        "/admin/audit",
        "/admin/community/reports",
        "/community",
        "/leaderboard",
    ]


def test_every_staff_page_passes_the_page_audit(pages, make, log_in):
    """tests/support/page_audit.py at 360, 390 and 1366 px: no page overflow, no text wider than
    its box, no console errors, no serious or critical axe-core violation."""
    seeded = seed(make)
    page = pages.new(width=1366, height=900)
    log_in(page, seeded["owner"].email)
    problems = [line for path in staff_paths(seeded) for line in audit_page(page, path, name=f"staff{path}")]
    assert problems == [], "\n".join(problems)
    assert pages.errors == []


def test_unbroken_evidence_wraps_inside_the_review_queue(pages, make, log_in):
    seeded = seed(make)
    page = pages.new(width=390, height=844)
    log_in(page, seeded["owner"].email)
    assert_no_horizontal_overflow(page, "/admin/review")
    quote = page.locator("[data-testid=review-item] blockquote")
    expect(quote).to_contain_text("xxxx")
    box = quote.bounding_box()
    assert box is not None and box["width"] <= 390, box
    # Wrapped, not clipped: 5,000 characters at phone width take many lines.
    assert box["height"] > 300, box
    assert pages.errors == []


def test_side_navigation_marks_the_page_and_is_a_menu_on_phones(pages, make, log_in):
    seeded = seed(make)
    wide = pages.new(width=1366, height=900)
    log_in(wide, seeded["owner"].email)
    wide.goto(f"/admin/challenges/{seeded['challenge'].id}/edit")
    nav = wide.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Challenges")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Redemptions")).to_be_visible()
    expect(wide.get_by_text("Menu", exact=True)).to_be_hidden()
    nav.get_by_role("link", name="Redemptions").click()
    expect(wide.get_by_role("heading", name="Redemptions", level=1)).to_be_visible()
    expect(nav.get_by_role("link", name="Redemptions")).to_have_attribute("aria-current", "page")

    phone = pages.new(width=390, height=844)
    log_in(phone, seeded["owner"].email)
    phone.goto("/admin/review")
    links = phone.get_by_role("navigation", name="Main")
    expect(links.get_by_role("link", name="Redemptions")).to_be_hidden()
    phone.get_by_text("Menu", exact=True).click()
    expect(links.get_by_role("link", name="Review queue")).to_have_attribute("aria-current", "page")
    links.get_by_role("link", name="Redemptions").click()
    expect(phone.get_by_role("heading", name="Redemptions", level=1)).to_be_visible()
    assert pages.errors == []
