"""The reward catalog over the API: validation, roles, mass assignment, what advocates see."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.models import AuditEntry
from rewards.models import Reward

VALID = {"name": "Hoodie", "description": "Soft **cotton**", "kind": "swag", "points_cost": 400, "stock": 10,
         "min_tier": "silver", "per_advocate_limit": 1, "requires_approval": True}


@pytest.fixture()
def manager_api(api, make):
    return api(make.user("manager"))


def test_manager_creates_and_edits_a_reward_with_audit(manager_api):
    created = manager_api.post("/rewards", VALID)
    assert created.status_code == 201, created.json
    body = created.json
    assert body | VALID == body
    assert body["stock_remaining"] == 10 and body["active"] is True
    assert body["description_html"] == "<p>Soft <strong>cotton</strong></p>"

    patched = manager_api.patch(f"/rewards/{body['id']}", {"points_cost": 450, "stock": None, "active": False})
    assert patched.status_code == 200, patched.json
    assert patched.json["points_cost"] == 450
    assert patched.json["stock"] is None and patched.json["stock_remaining"] is None
    assert patched.json["active"] is False and patched.json["name"] == "Hoodie"
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.target_type == "reward").order_by(AuditEntry.id)).all()
    assert actions == ["reward.create", "reward.update"]
    update = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "reward.update"))
    assert update.before["points_cost"] == 400 and update.after["points_cost"] == 450


@pytest.mark.parametrize("field", ["points_cost", "stock", "per_advocate_limit"])
@pytest.mark.parametrize("bad", [-1, 1.5, 1e309, 2**63, float("nan"), "", "ten", True, [1], {"a": 1}, "1e3"])
def test_numeric_abuse_is_a_field_error_and_writes_nothing(manager_api, field, bad):
    response = manager_api.post("/rewards", VALID | {field: bad})
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "invalid"
    assert field in response.json["error"]["fields"]
    assert db.session.scalar(select(Reward.id)) is None


def test_raw_nan_and_infinity_in_json_are_field_errors(manager_api):
    for literal in ("NaN", "Infinity", "-Infinity", "1e309"):
        raw = '{"name": "X", "kind": "swag", "points_cost": ' + literal + '}'
        response = manager_api.client.post("/api/v1/rewards", data=raw, content_type="application/json",
                                           headers=manager_api.headers)
        assert response.status_code == 422, (literal, response.json)
        assert "points_cost" in response.json["error"]["fields"]


def test_zero_cost_is_refused_but_zero_stock_is_allowed(manager_api):
    assert manager_api.post("/rewards", VALID | {"points_cost": 0}).status_code == 422
    assert manager_api.post("/rewards", VALID | {"per_advocate_limit": 0}).status_code == 422
    response = manager_api.post("/rewards", VALID | {"stock": 0})
    assert response.status_code == 201 and response.json["stock_remaining"] == 0


def test_patch_abuse_and_unknown_ids(manager_api, make_reward):
    reward_id = make_reward()
    for body in ({"points_cost": -5}, {"stock": ""}, {"name": ""}, {"kind": "cash"}, {"active": "maybe"},
                 {"min_tier": "platinum"}, {"name": None}):
        response = manager_api.patch(f"/rewards/{reward_id}", body)
        assert response.status_code == 422, (body, response.json)
    assert manager_api.patch("/rewards/999999", {"points_cost": 5}).status_code == 404
    assert db.session.get(Reward, reward_id).points_cost == 100


def test_mass_assignment_is_ignored(manager_api):
    response = manager_api.post("/rewards", VALID | {"stock_remaining": 9999, "id": 77, "created_by_id": 1,
                                                     "description_html": "<script>x</script>"})
    assert response.status_code == 201
    reward = db.session.get(Reward, response.json["id"])
    assert reward.id != 77 and reward.stock_remaining == 10 and "script" not in reward.description_html


def test_reward_markdown_is_sanitized(manager_api):
    hostile = ('<script>alert(1)</script> <img src=x onerror=alert(1)> <svg onload=alert(1)> '
               '[x](javascript:alert(1)) <a href="jav&#x61;script:alert(1)" hx-get="/admin">y</a>')
    html = manager_api.post("/rewards", VALID | {"description": hostile}).json["description_html"]
    tags = parsed_tags(html)
    assert {tag for tag, _ in tags} <= {"p", "a"}
    for _, attrs in tags:
        for name, value in attrs:
            assert not name.startswith(("on", "hx-")), name
            assert not (value or "").lower().lstrip().startswith("javascript"), value


def parsed_tags(html: str) -> list[tuple[str, list]]:
    """Every real element in `html` (escaped text is not an element)."""
    found: list[tuple[str, list]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def test_roles(api, make, make_reward):
    reward_id = make_reward()
    for role in ("advocate", "sales"):
        client = api(make.user(role))
        assert client.post("/rewards", VALID).status_code == 403
        assert client.patch(f"/rewards/{reward_id}", {"points_cost": 1}).status_code == 403
    assert api(make.user("owner")).post("/rewards", VALID).status_code == 201


def test_stock_total_changes_keep_redeemed_units(api, make, make_reward):
    manager = api(make.user("manager"))
    reward_id = make_reward(stock=3, points_cost=10)
    advocate = make.advocate(points=100)
    adv_api = api(advocate.user)
    assert adv_api.post(f"/rewards/{reward_id}/redemptions").status_code == 201
    assert adv_api.post(f"/rewards/{reward_id}/redemptions").status_code == 201
    too_low = manager.patch(f"/rewards/{reward_id}", {"stock": 1})
    assert too_low.status_code == 422 and "stock" in too_low.json["error"]["fields"]
    assert manager.patch(f"/rewards/{reward_id}", {"stock": 5}).json["stock_remaining"] == 3
    assert manager.patch(f"/rewards/{reward_id}", {"stock": None}).json["stock_remaining"] is None
    # Unlimited → limited again counts what is already redeemed.
    assert manager.patch(f"/rewards/{reward_id}", {"stock": 4}).json["stock_remaining"] == 2


def test_advocate_catalog_lists_active_rewards_with_reasons(api, make, make_reward):
    advocate = make.advocate(points=300)
    cheap = make_reward(name="Stickers", points_cost=50)
    pricey = make_reward(name="Jacket", points_cost=900)
    gold = make_reward(name="Summit pass", points_cost=100, min_tier="gold")
    sold_out = make_reward(name="Mug", points_cost=20, stock=0)
    once = make_reward(name="Call", points_cost=10, per_advocate_limit=1)
    make_reward(name="Old", active=False)
    client = api(advocate.user)
    assert client.post(f"/rewards/{once}/redemptions").status_code == 201
    listing = client.get("/rewards")
    assert listing.status_code == 200
    by_id = {item["id"]: item for item in listing.json["items"]}
    assert listing.json["total"] == 5 and set(by_id) == {cheap, pricey, gold, sold_out, once}
    assert by_id[cheap]["can_redeem"] is True and by_id[cheap]["blocked_reason"] is None
    assert by_id[pricey]["blocked_reason"] == "insufficient_points"
    assert by_id[gold]["blocked_reason"] == "tier_required"
    assert by_id[sold_out]["blocked_reason"] == "out_of_stock"
    assert by_id[once]["blocked_reason"] == "limit_reached" and by_id[once]["redeemed_count"] == 1
    assert listing.json["items"][0]["id"] == cheap  # redeemable first
    staff_listing = api(make.user("manager")).get("/rewards")
    assert staff_listing.json["total"] == 6 and "can_redeem" not in staff_listing.json["items"][0]
    sales_listing = api(make.user("sales")).get("/rewards")
    assert sales_listing.json["total"] == 5


def test_retired_reward_is_hidden_from_advocates(api, make, make_reward):
    reward_id = make_reward(active=False)
    client = api(make.advocate(points=500).user)
    assert client.get(f"/rewards/{reward_id}").status_code == 404
    response = client.post(f"/rewards/{reward_id}/redemptions")
    assert response.status_code == 404


def test_bad_list_filters_are_422(api, make):
    client = api(make.user("manager"))
    assert client.get("/rewards?per_page=0").status_code == 422
    assert client.get("/rewards?kind=cash").status_code == 422
    assert client.get("/redemptions?status=lost").status_code == 422


def test_openapi_lists_reward_routes(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/rewards"])
    assert "post" in paths["/api/v1/rewards/{reward_id}/redemptions"]
    for action in ("approve", "reject", "fulfill", "cancel"):
        assert "post" in paths[f"/api/v1/redemptions/{{redemption_id}}/{action}"]
