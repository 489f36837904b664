"""Notifications: the bell, the page, mark all read (HTML and API), and their email twins."""

from __future__ import annotations

from sqlalchemy import select

from hub.email.models import OutboxEmail
from hub.email.preferences import set_enabled_kinds
from hub.extensions import db
from hub.models import Notification
from hub.notifications import notify, unread_count


def test_bell_page_and_mark_all_read(make, login, client, ctx):
    user = make.advocate().user
    notify(user.id, "completion_approved", "Your G2 review was approved: +150 points", "/me/activity")
    notify(user.id, "completion_rejected", "Your case study was rejected: the link is private", None)
    db.session.commit()
    login(client, user)
    home = client.get("/").get_data(as_text=True)
    assert 'aria-label="Notifications: 2 unread"' in home and '<span class="count">2</span>' in home
    bell = client.get("/notifications/bell").get_data(as_text=True)
    assert "notifications-changed from:body" in bell and '<span class="count">2</span>' in bell
    page = client.get("/notifications").get_data(as_text=True)
    assert "the link is private" in page and 'href="/me/activity"' in page
    read = client.post("/notifications/read", headers={"HX-Request": "true"})
    assert read.status_code == 200 and read.headers["HX-Trigger"] == "notifications-changed"
    assert unread_count(user.id) == 0
    assert 'class="count"' not in client.get("/notifications/bell").get_data(as_text=True)


def test_notifications_api_is_own_only(api, make, ctx):
    alice, bob = make.advocate().user, make.user("manager")
    notify(alice.id, "badge", "New badge: First step", "/me/activity")
    notify(bob.id, "tier", "Not for Alice", None)
    db.session.commit()
    listed = api(alice).get("/notifications")
    assert listed.status_code == 200 and listed.json["total"] == 1 and listed.json["unread"] == 1
    item = listed.json["items"][0]
    assert set(item) == {"id", "kind", "text", "url", "created_at", "read_at"}
    assert (item["kind"], item["read_at"]) == ("badge", None)
    marked = api(alice).post("/notifications/read")
    assert marked.status_code == 200 and marked.json == {"marked": 1, "unread": 0}
    assert api(alice).get("/notifications").json["items"][0]["read_at"] is not None
    assert unread_count(bob.id) == 1
    assert api(alice).get("/notifications?per_page=500").status_code == 422


def test_notification_kinds_send_emails_unless_switched_off(make, ctx, jobs):
    advocate = make.advocate()
    user_id = advocate.user.id
    for kind in (
        "completion_approved",
        "completion_rejected",
        "tier",
        "badge",
        "redemption_approved",
        "reference_ask",
        "answer_accepted",
    ):
        notify(user_id, kind, f"Something about {kind}", "/")
    notify(user_id, "points", "+50 points: thanks", "/me/activity")  # in-app only
    db.session.commit()
    kinds = sorted(db.session.scalars(select(OutboxEmail.kind)))
    assert kinds == ["community", "completions", "completions", "redemptions", "references", "status", "status"]
    set_enabled_kinds(advocate.id, {"status"})
    db.session.commit()
    notify(user_id, "completion_approved", "Approved again", "/")
    notify(user_id, "badge", "Another badge", "/")
    db.session.commit()
    assert db.session.query(OutboxEmail).count() == 8
    assert db.session.query(Notification).count() == 10


def test_staff_get_in_app_only(make, ctx):
    manager = make.user("manager")
    notify(manager.id, "answer_accepted", "Your answer was accepted", "/community/")
    db.session.commit()
    assert db.session.scalar(select(OutboxEmail.id)) is None


def test_notification_email_content(make, ctx, jobs):
    advocate = make.advocate(name="Grace Hopper")
    notify(advocate.user.id, "completion_rejected", "Your review was rejected: wrong product", "/challenges/4")
    db.session.commit()
    message = db.session.scalar(select(OutboxEmail))
    assert message.subject == "Your review was rejected: wrong product"
    assert "Hello Grace Hopper" in message.body_text and "http://vouch.test/challenges/4" in message.body_text
    assert message.unsubscribe_url.startswith("http://vouch.test/unsubscribe/")
    assert message.unsubscribe_url in message.body_text and message.unsubscribe_url in message.body_html
    assert "Challenge results" in message.body_html


def test_bell_pulls_the_points_along_when_news_arrived(make, login, client, ctx):
    user = make.advocate().user
    login(client, user)
    assert "HX-Trigger" not in client.get("/notifications/bell?seen=0", headers={"HX-Request": "true"}).headers
    notify(user.id, "completion_approved", "+40 points", "/")
    db.session.commit()
    fresh = client.get("/notifications/bell?seen=0", headers={"HX-Request": "true"})
    assert fresh.headers["HX-Trigger"] == "points-changed"
    assert "hx-vals='{\"seen\": 1}'" in fresh.get_data(as_text=True)
    assert "HX-Trigger" not in client.get("/notifications/bell?seen=1", headers={"HX-Request": "true"}).headers
