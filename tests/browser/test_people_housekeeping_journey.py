"""A manager tidies invitations and a sales rep withdraws a request, in Chromium (issue 20):
revoking and resending happen in place, the tab counts follow in the same response, and a
withdrawn request says so."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_manager_revokes_and_resends_invitations_in_place(live_app, live_factory, page, log_in):
    from hub import invitations
    from hub.accounts import AdvocateProfile
    from hub.db import utcnow
    from hub.extensions import db
    from hub.fields import read

    with live_app.app_context():
        manager = live_factory.user("manager")
        for email in ("stale@example.com", "wrong@example.com"):
            row, _ = invitations.invite(read(AdvocateProfile, {"email": email, "name": "Invitee"}), manager.id)
            row.sent_at = utcnow() - dt.timedelta(hours=2)
        db.session.commit()
        manager_email = manager.email
    log_in(page, manager_email)
    page.goto("/admin/advocates")
    page.get_by_role("main").get_by_role("link", name="Invitations").click()
    expect(page.get_by_test_id("count-pending")).to_have_text("2")
    wrong = page.get_by_test_id("invitation-row").filter(has_text="wrong@example.com")
    page.once("dialog", lambda dialog: dialog.accept())
    wrong.get_by_role("button", name="Revoke").click()
    expect(wrong.get_by_test_id("invitation-state")).to_have_text("Revoked")
    expect(page.get_by_test_id("count-pending")).to_have_text("1")
    expect(page.get_by_test_id("count-revoked")).to_have_text("1")
    stale = page.get_by_test_id("invitation-row").filter(has_text="stale@example.com")
    stale.get_by_role("button", name="Resend").click()
    expect(stale).to_contain_text("Sent again to stale@example.com with a new link")
    stale.get_by_role("button", name="Resend").click()
    expect(stale.get_by_role("alert")).to_have_text("It was sent moments ago; you can resend it in 15 minutes.")


def test_sales_rep_withdraws_an_open_request(live_app, live_factory, page, log_in):
    from challenges.references import services
    from hub.extensions import db

    with live_app.app_context():
        sales = live_factory.user("sales")
        request = services.file_request(
            sales.id,
            services.parse_request(
                {
                    "prospect_company": "Initech",
                    "industry": "Software",
                    "company_size": "201-1000",
                    "use_case": "Rollout",
                    "stage": "poc",
                    "needed_by": (dt.date.today() + dt.timedelta(days=9)).isoformat(),
                    "format": "video",
                }
            ),
        )
        db.session.commit()
        sales_email, request_id = sales.email, request.id
    log_in(page, sales_email)
    page.goto(f"/references/{request_id}")
    expect(page.get_by_text("Proof of concept")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Withdraw request").click()
    expect(page.get_by_test_id("status")).to_have_text("Withdrawn by the sales team")
    expect(page.get_by_role("button", name="Withdraw request")).to_have_count(0)
    page.get_by_role("link", name="← All requests").click()
    page.get_by_role("link", name="Withdrawn").click()
    expect(page.get_by_role("link", name="Initech")).to_be_visible()
