"""Issue 14, consent: the terms have versions; a new version is accepted at the next visit, and
the export lists every version accepted."""

from __future__ import annotations

from sqlalchemy import select

from hub import consent, privacy
from hub.extensions import db
from hub.models import Advocate, AuditEntry, Invite
from hub.security import token_digest


def join_by_invitation(client, email: str = "joiner@example.com") -> Advocate:
    import datetime as dt

    from hub.db import utcnow

    db.session.add(
        Invite(
            email=email, name="Joiner", token_digest=token_digest("tok-1"), expires_at=utcnow() + dt.timedelta(days=1)
        )
    )
    db.session.commit()
    page = client.get("/invite/tok-1").get_data(as_text=True)
    assert "download your data or erase your account" in page  # the terms in force, from the settings
    joined = client.post(
        "/invite/tok-1",
        data={"name": "Joiner", "password": "a long password", "confirm": "a long password", "consent": "y"},
    )
    assert joined.status_code == 302
    return db.session.scalar(select(Advocate).join(Advocate.user).where(Advocate.user.has(email=email)))


def test_a_new_version_is_accepted_at_the_next_visit_and_exported(client, ctx, make_user, login):
    advocate = join_by_invitation(client)
    assert advocate.consent_version == "2026-01"
    assert client.get("/challenges").status_code == 200  # not gated: the version in force

    owner = login(ctx.test_client(), make_user("owner"))
    published = owner.post("/admin/settings/terms", data={"text": "New terms.\nWe also keep your badges."})
    assert published.status_code == 302
    version, text = consent.current_terms()
    assert version.endswith(".1") and text.startswith("New terms.")

    gated = client.get("/challenges")
    assert gated.status_code == 302 and gated.headers["Location"].startswith("/consent")
    assert client.get("/api/v1/me").status_code == 401  # the API is not gated (no token here)
    page = client.get("/consent").get_data(as_text=True)
    assert "We also keep your badges." in page
    refused = client.post("/consent", data={"version": version})
    assert refused.status_code == 422
    accepted = client.post("/consent?next=/challenges", data={"version": version, "accept": "y"})
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/challenges"
    assert client.get("/challenges").status_code == 200

    history = privacy.export_advocate(advocate.id)["consent"]
    assert [a["version"] for a in history["accepted"]] == ["2026-01", version]
    assert history["version"] == version
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "consent.publish"))
    assert audit.after == {"version": version}


def test_publishing_the_same_text_keeps_the_version_and_empty_text_is_refused(ctx, make_user, login):
    owner = login(ctx.test_client(), make_user("owner"))
    version, text = consent.current_terms()
    assert owner.post("/admin/settings/terms", data={"text": text}).status_code == 302
    assert consent.current_terms()[0] == version
    empty = owner.post("/admin/settings/terms", data={"text": "   "})
    assert empty.status_code == 422 and "This field is required." in empty.get_data(as_text=True)
    assert consent.current_terms()[0] == version


def test_terms_changed_while_reading_are_not_accepted_unseen(client, ctx, make_user):
    advocate = join_by_invitation(client, "reader@example.com")
    owner = make_user("owner")
    first = consent.publish_terms("Version A", owner.id)
    db.session.commit()
    second = consent.publish_terms("Version B", owner.id)
    db.session.commit()
    stale = client.post("/consent", data={"version": first, "accept": "y"})
    assert stale.status_code == 422 and "Version B" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Advocate, advocate.id).consent_version == "2026-01"
    assert second.endswith(".2")


def test_the_terms_page_counts_only_advocates_still_in_the_program(ctx, make_user, make_advocate, login):
    """An erased advocate's acceptance is kept, but they are no longer one of the advocates: the
    page once said "30 of 29 advocates accepted it"."""
    staying, silent, leaving = make_advocate(name="Stays"), make_advocate(name="Silent"), make_advocate(name="Leaves")
    consent.record_acceptance(staying)
    consent.record_acceptance(leaving)
    privacy.erase_advocate(leaving.id, None, "self")
    db.session.commit()
    assert silent.consent_version is None
    owner = login(ctx.test_client(), make_user("owner"))
    page = owner.get("/admin/settings/terms").get_data(as_text=True)
    assert "1 of 2 advocates accepted it" in page
