"""Pending invitations: listed by state, resent with a new link (the old one stops working, at
most once per quarter hour) and revoked (issue 20, "People housekeeping")."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from hub import invitations
from hub.accounts import AdvocateProfile
from hub.db import utcnow
from hub.email.models import OutboxEmail
from hub.extensions import db
from hub.fields import read
from hub.imports import invite_once
from hub.models import AuditEntry, Invite, InviteState, Role


def invite(email: str, actor_id: int, role: Role = Role.ADVOCATE) -> tuple[Invite, str]:
    result = invitations.invite(read(AdvocateProfile, {"email": email, "name": "Invitee"}), actor_id, role)
    assert result is not None
    db.session.commit()
    return result


def links_to(email: str) -> list[str]:
    bodies = db.session.scalars(
        select(OutboxEmail.body_text).where(OutboxEmail.to_address == email).order_by(OutboxEmail.id)
    )
    return [re.search(r"https?://\S+", body).group(0) for body in bodies]


def backdate(row: Invite, **delta) -> None:
    row.sent_at = utcnow() - dt.timedelta(**delta)
    db.session.commit()


def test_resend_mails_a_new_link_and_the_old_one_stops_working(client, make, api, jobs):
    manager = make.user("manager")
    row, first_token = invite("pat@example.com", manager.id)
    backdate(row, minutes=16)
    reply = api(manager).post(f"/invitations/{row.id}/resend")
    assert reply.status_code == 200 and reply.json["state"] == "pending"
    jobs.join()
    first, second = links_to("pat@example.com")
    assert first != second and first.endswith(first_token)
    assert client.get(first.removeprefix("http://vouch.test")).status_code == 400
    assert client.get(second.removeprefix("http://vouch.test")).status_code == 200
    audit = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.target_type == "invite", AuditEntry.target_id == str(row.id))
    ).all()
    assert audit == ["invite.create", "invite.resend"]


def test_a_resend_within_fifteen_minutes_is_refused_and_sends_nothing(make, api, jobs):
    manager = make.user("manager")
    row, _ = invite("quick@example.com", manager.id)
    backdate(row, minutes=14, seconds=30)
    refused = api(manager).post(f"/invitations/{row.id}/resend")
    assert refused.status_code == 409 and refused.json["error"]["code"] == "limit_reached"
    assert refused.json["error"]["message"] == "It was sent moments ago; you can resend it in 1 minute."
    jobs.join()
    assert len(links_to("quick@example.com")) == 1


def test_an_expired_invitation_can_be_resent_and_becomes_pending(make, api):
    manager = make.user("manager")
    row, _ = invite("late@example.com", manager.id)
    row.expires_at = utcnow() - dt.timedelta(days=1)
    backdate(row, days=15)
    assert api(manager).get("/invitations?state=expired").json["total"] == 1
    reply = api(manager).post(f"/invitations/{row.id}/resend").json
    assert reply["state"] == "pending"
    assert api(manager).get("/invitations?state=expired").json["total"] == 0


def test_revoke_ends_the_link_and_lets_the_person_be_invited_again(client, make, api):
    manager = make.user("manager")
    row, token = invite("gone@example.com", manager.id)
    reply = api(manager).post(f"/invitations/{row.id}/revoke")
    assert reply.status_code == 200 and reply.json["state"] == "revoked"
    assert client.get(f"/invite/{token}").status_code == 400
    again = api(manager).post(f"/invitations/{row.id}/revoke")
    assert again.status_code == 409 and again.json["error"]["message"] == "This invitation was already revoked."
    resend = api(manager).post(f"/invitations/{row.id}/resend")
    assert resend.status_code == 409 and resend.json["error"]["code"] == "invalid_state"
    # The import's "pending invitation" test no longer counts it: the person can be invited afresh.
    assert invite_once(read(AdvocateProfile, {"email": "gone@example.com", "name": "Gone"}), manager.id)


def test_accepted_invitations_cannot_be_resent_or_revoked(make, api):
    manager = make.user("manager")
    row, _ = invite("joined@example.com", manager.id)
    row.used_at = utcnow()
    db.session.commit()
    for action in ("resend", "revoke"):
        reply = api(manager).post(f"/invitations/{row.id}/{action}")
        assert reply.status_code == 409, action
    assert db.session.get(Invite, row.id).revoked_at is None


def test_managers_cannot_touch_invitations_of_staff(make, api):
    owner, manager = make.user("owner"), make.user("manager")
    row, _ = invite("newmanager@example.com", owner.id, Role.MANAGER)
    assert api(manager).post(f"/invitations/{row.id}/revoke").status_code == 403
    assert api(owner).post(f"/invitations/{row.id}/revoke").json["state"] == "revoked"
    assert api(make.user("sales")).get("/invitations").status_code == 403
    assert api(manager).post("/invitations/999999/resend").status_code == 404


def test_the_list_and_counts_by_state(make, api):
    manager = make.user("manager")
    invite("a@example.com", manager.id)
    accepted, _ = invite("b@example.com", manager.id)
    revoked, _ = invite("c@example.com", manager.id)
    expired, _ = invite("d@example.com", manager.id)
    accepted.used_at = utcnow()
    revoked.revoked_at = utcnow()
    expired.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    assert invitations.state_counts() == {
        InviteState.PENDING: 1,
        InviteState.ACCEPTED: 1,
        InviteState.REVOKED: 1,
        InviteState.EXPIRED: 1,
    }
    page = api(manager).get("/invitations?state=pending").json
    assert [i["email"] for i in page["items"]] == ["a@example.com"]
    assert page["items"][0]["invited_by"] == manager.name
    assert api(manager).get("/invitations").json["total"] == 4
    bad = api(manager).get("/invitations?state=lost")
    assert bad.status_code == 422 and "state" in bad.json["error"]["fields"]


@pytest.mark.parametrize("htmx", [False, True])
def test_the_console_resends_and_revokes_in_place(client, login, make, htmx):
    manager = make.user("manager")
    keep, _ = invite("keep@example.com", manager.id)
    drop, _ = invite("drop@example.com", manager.id)
    backdate(keep, hours=1)
    login(client, manager)
    page = client.get("/admin/invitations").get_data(as_text=True)
    assert "keep@example.com" in page and "drop@example.com" in page
    assert re.search(r'data-testid="count-pending">2<', page)
    headers = {"HX-Request": "true"} if htmx else {}
    done = client.post(f"/admin/invitations/{drop.id}/revoke?state=pending", headers=headers)
    if htmx:
        body = done.get_data(as_text=True)
        assert done.status_code == 200 and 'data-testid="invitation-state">Revoked<' in body
        assert 'hx-swap-oob="true"' in body and re.search(r'data-testid="count-pending">1<', body)
        assert re.search(r'data-testid="count-revoked">1<', body)
    else:
        assert done.status_code == 302
        after = client.get("/admin/invitations").get_data(as_text=True)
        assert '<td class="wrap">drop@example.com</td>' not in after
        assert "Revoked the invitation of drop@example.com" in after
    resent = client.post(f"/admin/invitations/{keep.id}/resend?state=pending", headers=headers)
    assert resent.status_code in (200, 302)
    again = client.post(f"/admin/invitations/{keep.id}/resend?state=pending", headers=headers)
    text = again.get_data(as_text=True) if htmx else client.get("/admin/invitations").get_data(as_text=True)
    assert "you can resend it in 15 minutes" in text
