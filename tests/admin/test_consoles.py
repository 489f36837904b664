"""Manager and owner consoles: advocate list, tier settings, API tokens, dashboard, audit log."""

from __future__ import annotations

import re

from sqlalchemy import select

from hub.extensions import db
from hub.models import Advocate, ApiToken, AuditEntry, Tier
from hub.settings import get_setting


def test_advocate_list_filters_and_htmx_partial(client, login, make):
    make.advocate(name="Ada Lovelace", points=1500, groups=("EMEA",), company="Engines")
    make.advocate(name="Grace Hopper", points=100)
    login(client, make.user("manager"))
    page = client.get("/admin/advocates").get_data(as_text=True)
    assert "Ada Lovelace" in page and "Grace Hopper" in page and "<html" in page
    partial = client.get("/admin/advocates?q=engines", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Ada Lovelace" in partial and "Grace Hopper" not in partial and "<html" not in partial
    assert "Grace Hopper" not in client.get("/admin/advocates?tier=silver").get_data(as_text=True)
    platinum = client.get("/admin/advocates?tier=platinum")  # issue 12 item 8: a note, not a 400 page
    assert platinum.status_code == 200
    assert "“tier=platinum” was not used: One of: bronze, silver, gold." in platinum.get_data(as_text=True)
    assert client.get("/admin/advocates/999999").status_code == 404


def test_owner_previews_then_applies_tier_thresholds(client, login, make):
    owner = make.user("owner")
    low = make.advocate(points=600, name="Lowell Points")
    login(client, owner)
    data = {"silver": "500", "gold": "2000", "basis": "rolling_365"}
    preview = client.post("/admin/settings", data=data)
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "Lowell Points: Bronze → Silver" in page and "Apply these settings" in page
    assert get_setting("tier_thresholds") == {"silver": 1000, "gold": 5000}  # a preview writes nothing
    assert db.session.get(Advocate, low.id).tier is Tier.BRONZE
    response = client.post("/admin/settings", data=data | {"confirm": "1"})
    assert response.status_code == 302
    assert get_setting("tier_thresholds") == {"silver": 500, "gold": 2000}
    assert get_setting("tier_basis") == "rolling_365"
    db.session.expire_all()
    assert db.session.get(Advocate, low.id).tier is Tier.SILVER
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "settings.update")).one()
    assert audit.before == {"tier_thresholds": {"silver": 1000, "gold": 5000}, "tier_basis": "lifetime"}
    assert audit.after == {"tier_thresholds": {"silver": 500, "gold": 2000}, "tier_basis": "rolling_365"}


def test_bad_thresholds_are_refused(client, login, make):
    login(client, make.user("owner"))
    for data in (
        {"silver": "500", "gold": "500", "basis": "lifetime"},
        {"silver": "0", "gold": "10", "basis": "lifetime"},
        {"silver": "x", "gold": "10", "basis": "lifetime"},
        {"silver": "10", "gold": "20", "basis": "forever"},
        {"silver": "10", "gold": "20", "expiry_days": "-3"},
        {"point_value": "0.001", "point_currency": "USD"},
        {"trust_threshold": "101"},
    ):
        for confirm in ("", "1"):
            response = client.post("/admin/settings", data=data | {"confirm": confirm})
            assert response.status_code == 422, data
            assert 'class="errors"' in response.get_data(as_text=True)
    assert get_setting("tier_thresholds") == {"silver": 1000, "gold": 5000}


def test_owner_creates_and_revokes_an_api_token(client, login, make):
    owner = make.user("owner")
    integration = make.user("manager")
    login(client, owner)
    response = client.post("/admin/settings/tokens", data={"user_email": integration.email.upper(), "name": "CRM"})
    assert response.status_code == 200
    token = re.search(r'data-testid="new-token">([^<]+)<', response.get_data(as_text=True)).group(1)
    api = client.application.test_client()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json["email"] == integration.email
    assert token not in client.get("/admin/settings").get_data(as_text=True)  # shown once

    row = db.session.scalars(select(ApiToken)).one()
    assert client.post(f"/admin/settings/tokens/{row.id}/revoke").status_code == 302
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"token.create", "token.revoke"} <= actions
    assert client.post("/admin/settings/tokens/999999/revoke").status_code == 404
    unknown = client.post("/admin/settings/tokens", data={"user_email": "nobody@example.com", "name": "x"})
    assert unknown.status_code == 422 and b"No user with this email" in unknown.data


def test_dashboard_and_audit_log(client, login, make):
    owner = make.user("owner")
    make.advocate(points=6000)
    make.advocate(points=1200)
    make.advocate(points=10)
    login(client, owner)
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert "7,210" in dashboard
    client.post("/admin/groups", data={"name": "Beta"})
    log = client.get("/admin/audit").get_data(as_text=True)
    assert "group.create" in log and owner.name in log
    first = client.get("/admin/audit?page=0")  # issue 12 item 8: the first page, with a note
    assert first.status_code == 200 and "“page=0” was not used" in first.get_data(as_text=True)


def test_audit_log_filters_the_system_and_keeps_an_unknown_filter_shown(client, login, make):
    from hub.audit import record_audit
    from hub.extensions import db

    owner = make.user("owner")
    record_audit(None, "demo.seed", "program", 1, None, {"seeded": True})
    record_audit(owner.id, "group.create", "group", 7, None, {"name": "Beta"})
    db.session.commit()
    login(client, owner)
    system = client.get("/admin/audit?actor=0").get_data(as_text=True)
    # The entries no user made can be chosen, and only they are shown.
    assert '<option value="0" selected>System (commands, jobs, set-up)</option>' in system
    assert "demo.seed" in system and "group.create</span>" not in system
    # An actor or action with no entries stays chosen in the filter, beside the empty result.
    nobody = client.get("/admin/audit?actor=999&action=nope.never").get_data(as_text=True)
    assert '<option value="999" selected>User #999 (no entries)</option>' in nobody
    assert '<option value="nope.never" selected>nope.never (no entries)</option>' in nobody
    assert 'data-testid="audit-empty"' in nobody
    # A page past the end says so and links to the first page, not "Nothing audited yet".
    past = client.get("/admin/audit?page=99").get_data(as_text=True)
    assert 'data-testid="audit-past-end"' in past and "No entries on page 99: 2 entries on 1 page." in past
    assert "Nothing audited yet" not in past
