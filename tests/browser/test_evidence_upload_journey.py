"""Issue 19 in Chromium, evidence by upload: an advocate picks a file on a photo challenge — a
web page renamed .png is refused under the file input, a photo is taken (htmx, multipart) — and
the manager sees the photo in the review queue and approves it. The pages are saved at 390 and
1366 px in test-artifacts/ (upload-*.png) and must not scroll sideways."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from challenges.models import Completion
from tests.support.uploads import HTML_PAGE, photo_with_gps

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def shots(page: Page, name: str) -> None:
    """The page at a phone's and a laptop's width, for people to look at; no sideways scroll."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (390, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"upload-{name}-{width}.png"), full_page=True)
        assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth"), (name, width)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_an_advocate_uploads_a_photo_and_the_manager_approves_it(live, pages, log_in, tmp_path, monkeypatch):
    from hub.extensions import db
    from tests.support.challenges import create_challenge
    from tests.support.factories import Factory

    monkeypatch.setitem(live.app.config, "VOUCH_UPLOAD_DIR", str(tmp_path))
    make = Factory()
    challenge = create_challenge(
        title="Show us your team at the summit",
        type="photo",
        points=80,
        description="A photo of your team at the **Vouch summit** stand.",
    )
    ada = make.advocate(name="Ada Lovelace")
    manager = make.user("manager")
    db.session.commit()

    advocate_page = pages.new()
    log_in(advocate_page, ada.user.email)
    advocate_page.goto(f"/challenges/{challenge.id}")
    file_input = advocate_page.get_by_label("Your photo or document")
    file_input.set_input_files({"name": "team.png", "mimeType": "image/png", "buffer": HTML_PAGE})
    advocate_page.get_by_role("button", name="Submit").click()
    error = advocate_page.get_by_test_id("evidence-file-error")
    expect(error).to_contain_text("This file is not a PNG, JPEG, WebP or GIF image nor a PDF")
    shots(advocate_page, "refused")

    advocate_page.get_by_label("Your photo or document").set_input_files(
        {"name": "Our team at the stand.jpg", "mimeType": "image/jpeg", "buffer": photo_with_gps()}
    )
    advocate_page.get_by_role("button", name="Submit").click()
    expect(advocate_page.get_by_test_id("completion-status")).to_have_attribute("data-status", "pending_review")
    shots(advocate_page, "sent")

    manager_page = pages.new()
    log_in(manager_page, manager.email)
    manager_page.goto("/admin/review")
    item = manager_page.get_by_test_id("review-item").filter(has_text="Show us your team at the summit")
    thumb = item.get_by_test_id("review-thumb")
    expect(thumb).to_be_visible()
    thumb.scroll_into_view_if_needed()
    manager_page.wait_for_function(
        "el => el.complete && el.naturalWidth === 80 && el.naturalHeight === 60", arg=thumb.element_handle()
    )
    expect(item).to_contain_text("Our team at the stand.jpg")
    shots(manager_page, "review-queue")
    db.session.rollback()  # leave the snapshot from before the server's writes
    completion_id = db.session.scalar(select(Completion.id).where(Completion.challenge_id == challenge.id))
    item.get_by_role("button", name="Approve").click()
    expect(manager_page.locator(f"#review-{completion_id}")).to_contain_text("Approved")

    advocate_page.goto(f"/challenges/{challenge.id}")
    expect(advocate_page.get_by_test_id("history-file")).to_have_text("Our team at the stand.jpg")
    expect(advocate_page.locator(".timeline")).to_contain_text("Approved")
    assert pages.errors == []
