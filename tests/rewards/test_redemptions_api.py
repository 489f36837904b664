"""Redeeming over the API: the rules, their codes, idempotency, IDOR, and exactly-once refunds."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub.extensions import db
from hub.models import Advocate, IdempotencyKey, Notification
from rewards import ledger
from rewards.models import EntryKind, LedgerEntry, Redemption, Reward
from tests.support.rewards import balance_of


def entries(kind: EntryKind) -> int:
    return db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == kind))


def balance(advocate_id: int) -> int:
    db.session.expire_all()
    cached = db.session.get(Advocate, advocate_id).balance
    assert cached == balance_of(advocate_id)
    return cached


def stock(reward_id: int) -> int | None:
    db.session.expire_all()
    return db.session.get(Reward, reward_id).stock_remaining


@pytest.fixture()
def staff(api, make):
    return api(make.user("manager"))


def test_redeem_debits_once_decrements_stock_and_snapshots_the_price(api, make, make_reward, staff):
    advocate = make.advocate(points=500)
    reward_id = make_reward(points_cost=200, stock=3)
    response = api(advocate.user).post(f"/rewards/{reward_id}/redemptions", {"note": "size M", "confirmed_cost": 200})
    assert response.status_code == 201, response.json
    body = response.json
    assert body | {"reward_id": reward_id, "advocate_id": advocate.id, "points": 200, "status": "approved"} == body
    assert balance(advocate.id) == 300 and stock(reward_id) == 2
    staff.patch(f"/rewards/{reward_id}", {"points_cost": 999})
    redemption = db.session.get(Redemption, body["id"])
    assert redemption.points == 200 and redemption.note == "size M"
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.REDEEM))
    assert (entry.delta, entry.source_type, entry.source_id) == (-200, "redemption", str(body["id"]))


def test_approval_rewards_start_requested(api, make, make_reward):
    advocate = make.advocate(points=500)
    reward_id = make_reward(requires_approval=True)
    assert api(advocate.user).post(f"/rewards/{reward_id}/redemptions").json["status"] == "requested"


@pytest.mark.parametrize(
    ("reward", "points", "code"),
    [
        ({"points_cost": 600}, 500, "insufficient_points"),
        ({"stock": 0}, 500, "out_of_stock"),
        ({"min_tier": "silver"}, 500, "tier_required"),
    ],
)
def test_refusals_carry_their_codes_and_write_nothing(api, make, make_reward, reward, points, code):
    advocate = make.advocate(points=points)
    reward_id = make_reward(**reward)
    response = api(advocate.user).post(f"/rewards/{reward_id}/redemptions")
    assert response.status_code == 409 and response.json["error"]["code"] == code
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 0
    assert balance(advocate.id) == points and entries(EntryKind.REDEEM) == 0


def test_limit_reached_counts_only_redemptions_that_hold(api, make, make_reward):
    advocate = make.advocate(points=1000)
    reward_id = make_reward(per_advocate_limit=1, requires_approval=True)
    client = api(advocate.user)
    first = client.post(f"/rewards/{reward_id}/redemptions").json
    again = client.post(f"/rewards/{reward_id}/redemptions")
    assert again.status_code == 409 and again.json["error"]["code"] == "limit_reached"
    assert client.post(f"/redemptions/{first['id']}/cancel").status_code == 200
    assert client.post(f"/rewards/{reward_id}/redemptions").status_code == 201


def test_changed_price_is_refused_never_charged_twice_or_zero(api, make, make_reward, staff):
    advocate = make.advocate(points=1000)
    reward_id = make_reward(points_cost=100)
    staff.patch(f"/rewards/{reward_id}", {"points_cost": 150})
    response = api(advocate.user).post(f"/rewards/{reward_id}/redemptions", {"confirmed_cost": 100})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "price_changed" and response.json["error"]["points_cost"] == 150
    assert balance(advocate.id) == 1000 and entries(EntryKind.REDEEM) == 0
    ok = api(advocate.user).post(f"/rewards/{reward_id}/redemptions", {"confirmed_cost": 150})
    assert ok.status_code == 201 and balance(advocate.id) == 850


@pytest.mark.parametrize("bad", [-1, 0, 1.5, 1e309, 2**63, float("nan"), "", "abc"])
def test_confirmed_cost_abuse_is_422(api, make, make_reward, bad):
    advocate = make.advocate(points=1000)
    reward_id = make_reward()
    response = api(advocate.user).post(f"/rewards/{reward_id}/redemptions", {"confirmed_cost": bad})
    assert response.status_code == 422 and "confirmed_cost" in response.json["error"]["fields"]
    assert balance(advocate.id) == 1000


def test_mass_assignment_on_redeem_is_ignored(api, make, make_reward):
    advocate = make.advocate(points=1000)
    other = make.advocate(points=1000)
    reward_id = make_reward(points_cost=100, requires_approval=True)
    body = {"points": 1, "status": "fulfilled", "advocate_id": other.id, "reward_id": 999}
    response = api(advocate.user).post(f"/rewards/{reward_id}/redemptions", body)
    assert response.status_code == 201
    assert response.json | {"points": 100, "status": "requested", "advocate_id": advocate.id} == response.json
    assert balance(other.id) == 1000


def test_idempotency_key_replays_and_refuses_a_different_body(api, make, make_reward):
    advocate = make.advocate(points=1000)
    reward_id = make_reward(points_cost=100)
    client = api(advocate.user)
    headers = {"Idempotency-Key": "double-click-1"}
    first = client.post(f"/rewards/{reward_id}/redemptions", {"note": "a"}, headers=headers)
    second = client.post(f"/rewards/{reward_id}/redemptions", {"note": "a"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json == first.json and second.headers.get("Idempotent-Replayed") == "true"
    assert balance(advocate.id) == 900 and entries(EntryKind.REDEEM) == 1

    different = client.post(f"/rewards/{reward_id}/redemptions", {"note": "b"}, headers=headers)
    assert different.status_code == 422 and different.json["error"]["code"] == "invalid"
    assert "Idempotency-Key" in different.json["error"]["fields"]
    assert balance(advocate.id) == 900


def test_in_flight_key_with_the_same_body_is_409(api, make, make_reward, app):
    advocate = make.advocate(points=1000)
    reward_id = make_reward(points_cost=100)
    client = api(advocate.user)
    path = f"/api/v1/rewards/{reward_id}/redemptions"
    with app.test_request_context(path, method="POST", json={"note": "x"}):
        from hub.endpoints import _fingerprint

        fingerprint = _fingerprint()
    db.session.add(IdempotencyKey(user_id=advocate.user_id, key="k-running", request_fingerprint=fingerprint))
    db.session.commit()
    response = client.post(f"/rewards/{reward_id}/redemptions", {"note": "x"}, headers={"Idempotency-Key": "k-running"})
    assert response.status_code == 409 and response.json["error"]["code"] == "invalid_state"
    assert balance(advocate.id) == 1000


def test_a_refused_redemption_replays_its_refusal(api, make, make_reward):
    advocate = make.advocate(points=50)
    reward_id = make_reward(points_cost=100)
    client = api(advocate.user)
    headers = {"Idempotency-Key": "poor"}
    first = client.post(f"/rewards/{reward_id}/redemptions", headers=headers)
    assert first.status_code == 409 and first.json["error"]["code"] == "insufficient_points"
    make_points = ledger.post_entry(advocate.id, 500, kind="earn", source_type="test", source_id="top-up")
    assert make_points.is_new
    db.session.commit()
    again = client.post(f"/rewards/{reward_id}/redemptions", headers=headers)
    assert again.status_code == 409 and again.json == first.json
    assert entries(EntryKind.REDEEM) == 0


def test_idor_other_advocates_redemptions_are_404(api, make, make_reward):
    owner_of_it = make.advocate(points=500)
    intruder = make.advocate(points=500)
    reward_id = make_reward(requires_approval=True)
    redemption_id = api(owner_of_it.user).post(f"/rewards/{reward_id}/redemptions").json["id"]
    client = api(intruder.user)
    assert client.get(f"/redemptions/{redemption_id}").status_code == 404
    assert client.post(f"/redemptions/{redemption_id}/cancel").status_code == 404
    assert client.get("/redemptions").json["total"] == 0
    assert db.session.get(Redemption, redemption_id).status.value == "requested"
    assert balance(owner_of_it.id) == 400
    for action in ("approve", "reject", "fulfill"):
        assert client.post(f"/redemptions/{redemption_id}/{action}", {"reason": "x"}).status_code == 403
    assert api(make.user("sales")).get("/redemptions").status_code == 403


def test_lifecycle_approve_fulfil_with_notifications(api, make, make_reward, staff):
    advocate = make.advocate(points=500)
    reward_id = make_reward(requires_approval=True)
    redemption_id = api(advocate.user).post(f"/rewards/{reward_id}/redemptions").json["id"]
    assert staff.post(f"/redemptions/{redemption_id}/fulfill").json["error"]["code"] == "invalid_state"
    approved = staff.post(f"/redemptions/{redemption_id}/approve")
    assert approved.status_code == 200 and approved.json["status"] == "approved"
    again = staff.post(f"/redemptions/{redemption_id}/approve")
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"
    fulfilled = staff.post(f"/redemptions/{redemption_id}/fulfill", {"note": "UPS 1Z999"})
    assert fulfilled.json["status"] == "fulfilled" and fulfilled.json["fulfil_note"] == "UPS 1Z999"
    assert api(advocate.user).post(f"/redemptions/{redemption_id}/cancel").status_code == 409
    texts = db.session.scalars(
        select(Notification.text).where(Notification.user_id == advocate.user_id, Notification.kind == "redemption")
    ).all()
    assert len(texts) == 2 and "approved" in texts[0] and "UPS 1Z999" in texts[1]
    listing = staff.get("/redemptions?status=fulfilled").json
    assert listing["total"] == 1 and listing["items"][0]["id"] == redemption_id


@pytest.mark.parametrize("action", ["reject", "cancel"])
def test_reject_or_cancel_refunds_exactly_once_and_restores_stock(api, make, make_reward, staff, action):
    advocate = make.advocate(points=500)
    reward_id = make_reward(points_cost=200, stock=1, requires_approval=True)
    client = api(advocate.user)
    redemption_id = client.post(f"/rewards/{reward_id}/redemptions").json["id"]
    assert balance(advocate.id) == 300 and stock(reward_id) == 0

    def act():
        if action == "reject":
            return staff.post(f"/redemptions/{redemption_id}/reject", {"reason": "Out of sizes"})
        return client.post(f"/redemptions/{redemption_id}/cancel")

    first = act()
    assert first.status_code == 200 and first.json["status"] == ("rejected" if action == "reject" else "cancelled")
    for _ in range(2):
        repeat = act()
        assert repeat.status_code == 409 and repeat.json["error"]["code"] == "invalid_state"
    assert balance(advocate.id) == 500 and stock(reward_id) == 1
    assert entries(EntryKind.REFUND) == 1
    refund = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.REFUND))
    assert (refund.delta, refund.source_id) == (200, str(redemption_id))
    notes = db.session.scalars(select(Notification.text).where(Notification.kind == "redemption")).all()
    assert len(notes) == 1 and "200" in notes[0]


def test_reject_needs_a_reason_and_an_approved_one_can_still_be_rejected(api, make, make_reward, staff):
    advocate = make.advocate(points=500)
    reward_id = make_reward(points_cost=100)
    redemption_id = api(advocate.user).post(f"/rewards/{reward_id}/redemptions").json["id"]
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": 5}):
        response = staff.post(f"/redemptions/{redemption_id}/reject", body)
        assert response.status_code == 422 and "reason" in response.json["error"]["fields"], body
    assert staff.post(f"/redemptions/{redemption_id}/reject", {"reason": "Address bounced"}).status_code == 200
    assert balance(advocate.id) == 500
    assert staff.post("/redemptions/424242/approve").status_code == 404


def test_advocate_can_cancel_only_while_requested(api, make, make_reward):
    advocate = make.advocate(points=500)
    reward_id = make_reward(points_cost=100)
    client = api(advocate.user)
    redemption_id = client.post(f"/rewards/{reward_id}/redemptions").json["id"]  # auto-approved
    response = client.post(f"/redemptions/{redemption_id}/cancel")
    assert response.status_code == 409 and response.json["error"]["code"] == "invalid_state"
    assert balance(advocate.id) == 400
