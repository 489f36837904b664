"""Email kinds in preferences, and the one-click unsubscribe link (signed, no login)."""

from __future__ import annotations

from sqlalchemy import select

from hub.email.models import OutboxEmail
from hub.email.preferences import disabled_kinds, unsubscribe_token
from hub.extensions import db
from hub.models import Advocate
from hub.notifications import notify


def _advocate(advocate_id: int) -> Advocate:
    db.session.commit()
    return db.session.get(Advocate, advocate_id)


def test_preferences_page_saves_in_place(make, login, client, ctx):
    advocate = make.advocate()
    advocate.preferences = {"show_tips": True}
    db.session.commit()
    advocate_id = advocate.id
    login(client, advocate.user)
    page = client.get("/me/preferences/email").get_data(as_text=True)
    assert page.count('type="checkbox"') == 9 and page.count("checked") == 9
    saved = client.post(
        "/me/preferences/email", data={"kinds": ["completions", "status", "bogus"]}, headers={"HX-Request": "true"}
    )
    assert saved.status_code == 200 and b"Saved." in saved.data and b"<html" not in saved.data
    fresh = _advocate(advocate_id)
    assert disabled_kinds(fresh) == {
        "redemptions",
        "expiry",
        "references",
        "community",
        "digest",
        "reengagement",
        "milestones",
    }
    assert fresh.preferences["show_tips"] is True  # other preferences are kept


def test_preferences_are_for_advocates(make, login, client, ctx):
    login(client, make.user("manager"))
    assert client.get("/me/preferences/email").status_code == 403


def test_unsubscribe_link_confirms_then_unsubscribes_without_login(app, make, client, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # mail clients POST without a CSRF token
    advocate = make.advocate()
    token = unsubscribe_token(advocate.user.id, "digest")
    confirm = client.get(f"/unsubscribe/{token}")
    assert confirm.status_code == 200 and b"Weekly digest" in confirm.data
    assert disabled_kinds(_advocate(advocate.id)) == set()  # GET changes nothing
    done = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and b"You are unsubscribed" in done.data
    assert disabled_kinds(_advocate(advocate.id)) == {"digest"}
    assert client.post(f"/unsubscribe/{token}").status_code == 200  # idempotent
    everything = client.post(f"/unsubscribe/{token}", data={"scope": "all"})
    assert everything.status_code == 200 and len(disabled_kinds(_advocate(advocate.id))) == 9
    notify(advocate.user.id, "badge", "A badge", "/")
    db.session.commit()
    assert db.session.scalar(select(OutboxEmail.id)) is None


def test_tampered_or_foreign_tokens_are_refused(make, client, ctx):
    advocate = make.advocate()
    token = unsubscribe_token(advocate.user.id, "digest")
    payload, _, signature = token.rpartition(".")
    for bad in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        f"{payload}x.{signature}",
        "nonsense",
        unsubscribe_token(advocate.user.id, "not-a-kind"),
        unsubscribe_token(999999, "digest"),
    ):
        assert client.get(f"/unsubscribe/{bad}").status_code == 400, bad
        assert client.post(f"/unsubscribe/{bad}").status_code == 400, bad
    staff_token = unsubscribe_token(make.user("manager").id, "digest")
    assert client.get(f"/unsubscribe/{staff_token}").status_code == 400
    assert disabled_kinds(_advocate(advocate.id)) == set()
