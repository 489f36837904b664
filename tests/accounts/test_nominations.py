"""Nominations (product.md §13): sales and staff nominate, a manager approves (→ invitation) or
declines with a reason, the nominator is told either way; duplicates and users are refused."""

from __future__ import annotations

from sqlalchemy import func, select

from hub.extensions import db
from hub.models import Invite, Notification


def _nominate(client, email="cy@acme.io", **extra):
    return client.post(
        "/nominations",
        {"email": email, "name": "Cy Customer", "company": "Acme", "reason": "Loves the product"} | extra,
    )


def _notes(user, kind):
    return db.session.scalars(
        select(Notification.text).where(Notification.user_id == user.id, Notification.kind == kind)
    ).all()


def test_nominate_approve_and_decline_with_the_nominator_told(api, make):
    sales, manager, other_sales = make.user("sales"), make.user("manager"), make.user("sales")
    as_sales, as_manager = api(sales), api(manager)
    first = _nominate(as_sales)
    assert first.status_code == 201 and first.json["status"] == "nominated"
    assert _nominate(as_sales, email="CY@acme.io").json["error"]["code"] == "invalid_state"  # open nomination
    assert _nominate(as_manager, email=make.advocate().user.email).status_code == 409  # already a user
    assert _nominate(as_sales, email="bad", name="").status_code == 422
    assert _nominate(as_sales, email="x@acme.io", reason="").status_code == 422
    assert _nominate(api(make.advocate().user), email="y@acme.io").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Invite)) == 0

    second = _nominate(api(other_sales), email="dee@acme.io").json
    assert [n["email"] for n in as_sales.get("/nominations").json["items"]] == ["cy@acme.io"]  # sales: their own
    assert as_manager.get("/nominations").json["total"] == 2
    assert as_sales.post(f"/nominations/{first.json['id']}/approve").status_code == 403

    approved = as_manager.post(f"/nominations/{first.json['id']}/approve")
    assert approved.status_code == 200 and approved.json["status"] == "invited" and approved.json["decided_at"]
    assert db.session.scalar(select(func.count()).select_from(Invite).where(Invite.email == "cy@acme.io")) == 1
    assert as_manager.post(f"/nominations/{first.json['id']}/approve").status_code == 409
    assert _notes(sales, "nomination_approved") == [
        "Your nomination of Cy Customer (Acme) was approved: they have been invited."
    ]

    assert as_manager.post(f"/nominations/{second['id']}/decline", {"reason": ""}).status_code == 422
    declined = as_manager.post(f"/nominations/{second['id']}/decline", {"reason": "Churn risk this quarter"})
    assert declined.json["status"] == "declined" and declined.json["decline_reason"] == "Churn risk this quarter"
    assert _notes(other_sales, "nomination_declined")[0].endswith("declined: Churn risk this quarter")
    # a decided nomination is no longer open: the same email may be nominated again
    assert _nominate(as_sales, email="dee@acme.io").status_code == 201
    assert as_manager.post("/nominations/999999/approve").status_code == 404


def test_a_person_with_an_invitation_waiting_cannot_be_nominated_again(api, make):
    """Once approved (or invited from the candidates list) the person has an invitation waiting:
    a second nomination was accepted and its approval emailed a second invitation."""
    sales, manager = make.user("sales"), make.user("manager")
    as_sales, as_manager = api(sales), api(manager)
    first = _nominate(as_sales).json
    assert as_manager.post(f"/nominations/{first['id']}/approve").status_code == 200
    again = _nominate(as_sales, email="Cy@Acme.io")
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"
    assert "invitation" in again.json["error"]["message"]
    assert as_manager.get("/nominations").json["total"] == 1
    assert db.session.scalar(select(func.count()).select_from(Invite).where(Invite.email == "cy@acme.io")) == 1
