"""Owner point adjustments, from the admin UI and the API: audited, never overdrawn, strictly validated."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub.extensions import db
from hub.models import Advocate, AuditEntry, IdempotencyKey, Notification
from rewards.models import LedgerEntry

BAD_POINTS_JSON = ["-0", "1.5", "1e309", str(2**63), "NaN", '""', "true", "null", '"100"', "[1]", "10000001"]
BAD_POINTS_FORM = ["-0", "0", "1.5", "1e309", str(2**63), "NaN", "", "ten", "10000001"]


def ledger_count() -> int:
    return db.session.scalar(select(func.count()).select_from(LedgerEntry))


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def post_raw_json(client, token: str, path: str, raw: str, **headers):
    return client.post(
        f"/api/v1{path}",
        data=raw,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", **headers},
    )


# --- API ---------------------------------------------------------------------------------------


def test_api_adjustment_writes_entry_audit_and_notification(api, make, client):
    owner = make.user("owner")
    advocate = make.advocate(points=100)
    response = api(owner).post(f"/advocates/{advocate.id}/adjustments", {"points": 250, "memo": "Webinar host"})
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["delta"], body["kind"], body["memo"], body["balance"]) == (250, "adjust", "Webinar host", 350)
    assert set(body) >= {"id", "delta", "kind", "source_type", "source_id", "memo", "created_at"}
    fresh = db.session.get(Advocate, advocate.id)
    assert (fresh.balance, fresh.lifetime_points) == (350, 350)
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "points.adjust")).one()
    assert (audit.actor_id, audit.target_id) == (owner.id, str(advocate.id))
    assert audit.before == {"balance": 100, "lifetime_points": 100, "tier": "bronze"}
    assert audit.after["delta"] == 250 and audit.after["memo"] == "Webinar host"
    assert (
        db.session.scalar(
            select(Notification.text)
            .where(Notification.user_id == advocate.user_id)
            .order_by(Notification.id.desc())
            .limit(1)
        )
        == "+250 points: Webinar host"
    )


def test_api_deduction_below_zero_is_409_and_writes_nothing(api, make):
    owner = make.user("owner")
    advocate = make.advocate(points=100)
    before = ledger_count()
    response = api(owner).post(f"/advocates/{advocate.id}/adjustments", {"points": -101, "memo": "Clawback"})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "insufficient_points"
    assert ledger_count() == before
    assert "points.adjust" not in audit_actions()
    ok = api(owner).post(f"/advocates/{advocate.id}/adjustments", {"points": -100, "memo": "Clawback"})
    assert ok.status_code == 201 and ok.json["balance"] == 0


@pytest.mark.parametrize("raw_points", BAD_POINTS_JSON)
def test_api_bad_points_are_422_with_a_field_error(client, ctx, make, raw_points):
    owner = make.user("owner")
    token = make.token(owner)
    advocate = make.advocate(points=100)
    raw = f'{{"points": {raw_points}, "memo": "x"}}'
    response = post_raw_json(client, token, f"/advocates/{advocate.id}/adjustments", raw)
    assert response.status_code == 422, (raw, response.status_code, response.data[:200])
    assert response.json["error"]["code"] == "invalid"
    assert "points" in response.json["error"]["fields"]
    assert ledger_count() == 1


@pytest.mark.parametrize("memo", [None, "", "   ", 5, "x" * 256])
def test_api_bad_memo_is_422(api, make, memo):
    owner = make.user("owner")
    advocate = make.advocate()
    response = api(owner).post(f"/advocates/{advocate.id}/adjustments", {"points": 5, "memo": memo})
    assert response.status_code == 422
    assert "memo" in response.json["error"]["fields"]
    assert ledger_count() == 0


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '"text"', "{", ""])
def test_api_body_must_be_a_json_object(client, ctx, make, raw):
    token = make.token(make.user("owner"))
    advocate = make.advocate()
    response = post_raw_json(client, token, f"/advocates/{advocate.id}/adjustments", raw)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid"
    assert ledger_count() == 0


def test_api_smuggled_fields_are_ignored(api, make):
    owner = make.user("owner")
    target = make.advocate()
    other = make.advocate()
    response = api(owner).post(
        f"/advocates/{target.id}/adjustments",
        {
            "points": 10,
            "memo": "Thanks",
            "advocate_id": other.id,
            "kind": "earn",
            "delta": 9999,
            "source_id": "x",
            "created_by_id": 1,
            "balance": 5000,
        },
    )
    assert response.status_code == 201
    assert (response.json["delta"], response.json["kind"]) == (10, "adjust")
    assert db.session.get(Advocate, target.id).balance == 10
    assert db.session.get(Advocate, other.id).balance == 0


@pytest.mark.parametrize("role", ["advocate", "sales", "manager"])
def test_api_only_owners_adjust(api, make, role):
    advocate = make.advocate()
    caller = make.user(role)
    response = api(caller).post(f"/advocates/{advocate.id}/adjustments", {"points": 10, "memo": "x"})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    assert ledger_count() == 0


def test_api_unknown_advocate_is_404(api, make):
    response = api(make.user("owner")).post("/advocates/999999/adjustments", {"points": 10, "memo": "x"})
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_idempotent_replay_returns_the_first_response(api, make):
    owner_api = api(make.user("owner"))
    advocate = make.advocate()
    headers = {"Idempotency-Key": "thanks-ada-1"}
    first = owner_api.post(f"/advocates/{advocate.id}/adjustments", {"points": 50, "memo": "Webinar"}, headers=headers)
    # Same body with keys in another order: the same request.
    second = owner_api.post(f"/advocates/{advocate.id}/adjustments", {"memo": "Webinar", "points": 50}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json == second.json
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert ledger_count() == 1
    assert db.session.get(Advocate, advocate.id).balance == 50


def test_idempotency_key_with_a_different_body_is_422(api, make):
    owner_api = api(make.user("owner"))
    advocate = make.advocate()
    headers = {"Idempotency-Key": "k-1"}
    owner_api.post(f"/advocates/{advocate.id}/adjustments", {"points": 50, "memo": "Webinar"}, headers=headers)
    response = owner_api.post(
        f"/advocates/{advocate.id}/adjustments", {"points": 60, "memo": "Webinar"}, headers=headers
    )
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid"
    assert ledger_count() == 1


def test_idempotency_key_in_flight_is_409(api, make):
    """A claim for the same request that has no response yet belongs to a request still running."""
    from hub.endpoints import _fingerprint

    owner = make.user("owner")
    owner_api = api(owner)
    advocate = make.advocate()
    path = f"/api/v1/advocates/{advocate.id}/adjustments"
    with owner_api.client.application.test_request_context(path, method="POST", json={"points": 5, "memo": "x"}):
        fingerprint = _fingerprint()
    db.session.add(IdempotencyKey(user_id=owner.id, key="busy-1", request_fingerprint=fingerprint))
    db.session.commit()
    response = owner_api.post(
        f"/advocates/{advocate.id}/adjustments", {"points": 5, "memo": "x"}, headers={"Idempotency-Key": "busy-1"}
    )
    assert response.status_code == 409
    assert response.json["error"]["code"] == "invalid_state"
    assert ledger_count() == 0


def test_a_refusal_is_replayed_too(api, make):
    owner_api = api(make.user("owner"))
    advocate = make.advocate()
    headers = {"Idempotency-Key": "claw-1"}
    first = owner_api.post(f"/advocates/{advocate.id}/adjustments", {"points": -5, "memo": "x"}, headers=headers)
    second = owner_api.post(f"/advocates/{advocate.id}/adjustments", {"points": -5, "memo": "x"}, headers=headers)
    assert first.status_code == second.status_code == 409
    assert first.json == second.json


def test_overlong_idempotency_key_is_422(api, make):
    owner_api = api(make.user("owner"))
    advocate = make.advocate()
    response = owner_api.post(
        f"/advocates/{advocate.id}/adjustments", {"points": 5, "memo": "x"}, headers={"Idempotency-Key": "k" * 256}
    )
    assert response.status_code == 422
    assert ledger_count() == 0


# --- admin UI ----------------------------------------------------------------------------------


def test_owner_adjusts_from_the_profile_page(client, login, make):
    owner = make.user("owner")
    advocate = make.advocate(points=40)
    login(client, owner)
    page = client.get(f"/admin/advocates/{advocate.id}")
    assert b"Adjust points" in page.data
    response = client.post(f"/admin/advocates/{advocate.id}/adjust", data={"points": "-15", "memo": "Duplicate"})
    assert response.status_code == 302
    assert db.session.get(Advocate, advocate.id).balance == 25
    assert audit_actions().count("points.adjust") == 1
    audit_page = client.get("/admin/audit")
    assert b"points.adjust" in audit_page.data


@pytest.mark.parametrize("points", BAD_POINTS_FORM)
def test_form_rejects_bad_points(client, login, make, points):
    owner = make.user("owner")
    advocate = make.advocate(points=40)
    login(client, owner)
    response = client.post(f"/admin/advocates/{advocate.id}/adjust", data={"points": points, "memo": "x"})
    assert response.status_code == 422
    assert b'class="errors"' in response.data
    assert ledger_count() == 1


def test_form_requires_a_memo_and_refuses_overdraft(client, login, make):
    owner = make.user("owner")
    advocate = make.advocate(points=40)
    login(client, owner)
    no_memo = client.post(f"/admin/advocates/{advocate.id}/adjust", data={"points": "5", "memo": ""})
    assert no_memo.status_code == 422 and b"Say why" in no_memo.data
    overdraft = client.post(f"/admin/advocates/{advocate.id}/adjust", data={"points": "-41", "memo": "Clawback"})
    assert overdraft.status_code == 422 and b"Not enough points" in overdraft.data
    assert db.session.get(Advocate, advocate.id).balance == 40
    assert "points.adjust" not in audit_actions()


def test_managers_do_not_see_or_use_the_adjust_form(client, login, make):
    manager = make.user("manager")
    advocate = make.advocate()
    login(client, manager)
    assert b"Adjust points" not in client.get(f"/admin/advocates/{advocate.id}").data
    response = client.post(f"/admin/advocates/{advocate.id}/adjust", data={"points": "5", "memo": "x"})
    assert response.status_code == 403
    assert ledger_count() == 0
