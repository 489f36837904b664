"""Browser journey for the points economy: the owner previews a tier threshold change, sees who
would move, and applies it with one confirmation (screenshots at phone and desktop widths)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.environment import TEST_PASSWORD

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def seed(live) -> dict[str, int]:
    from hub import accounts
    from hub.extensions import db
    from rewards.ledger import post_entry

    with live.app.app_context():
        accounts.create_user("owner@example.com", "Olive Owner", "owner", TEST_PASSWORD)
        ids = {}
        for name, points in (("Silvia Near", 1200), ("Goldie Close", 4200), ("Bruno Low", 300)):
            advocate = accounts.create_advocate(
                accounts.AdvocateProfile(email=f"{name.split()[0].lower()}@example.com", name=name), None
            )
            post_entry(advocate.id, points, kind="earn", source_type="test", source_id="seed", memo="Seed")
            ids[name] = advocate.id
        db.session.commit()
        db.session.remove()
        return ids


def tier_of(live, advocate_id: int) -> str:
    from hub.extensions import db
    from hub.models import Advocate

    with live.app.app_context():
        tier = db.session.get(Advocate, advocate_id).tier.value
        db.session.remove()
        return tier


@pytest.mark.parametrize("width", [390, 1366])
def test_owner_previews_a_threshold_change_then_applies_it(pages, live, log_in, width):
    ids = seed(live)
    page = pages.new(width=width, height=900)
    log_in(page, "owner@example.com")
    page.goto("/admin/settings")
    page.get_by_label("Silver from (points)").fill("1500")
    page.get_by_label("Gold from (points)").fill("4000")
    page.get_by_role("button", name="Preview changes").click()
    preview = page.locator("#settings-preview")
    expect(preview).to_be_visible()
    expect(page.get_by_test_id("moves-up")).to_contain_text("Goldie Close: Silver → Gold")
    expect(page.get_by_test_id("moves-down")).to_contain_text("Silvia Near: Silver → Bronze")
    expect(page.get_by_test_id("then-gold")).to_have_text("1")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"economy-settings-preview-{width}.png"), full_page=True)
    assert tier_of(live, ids["Goldie Close"]) == "silver"  # the preview changed nothing
    page.get_by_role("button", name="Apply these settings").click()
    expect(page.get_by_text("Settings saved; 2 advocates changed tier.")).to_be_visible()
    assert tier_of(live, ids["Goldie Close"]) == "gold"
    assert tier_of(live, ids["Silvia Near"]) == "bronze"
    assert tier_of(live, ids["Bruno Low"]) == "bronze"
    expect(page.get_by_label("Silver from (points)")).to_have_value("1500")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, "the settings page scrolls sideways"
    assert pages.errors == []
