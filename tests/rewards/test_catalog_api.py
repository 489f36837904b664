"""The reward catalog over the API: validation, roles, mass assignment, what advocates see."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.models import AuditEntry
from rewards.models import Reward
from tests.support.rewards import assert_harmless, parsed_tags

VALID = {
    "name": "Hoodie",
    "description": "Soft **cotton**",
    "kind": "swag",
    "points_cost": 400,
    "stock": 10,
    "min_tier": "silver",
    "per_advocate_limit": 1,
    "requires_approval": True,
}


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
        select(AuditEntry.action).where(AuditEntry.target_type == "reward").order_by(AuditEntry.id)
    ).all()
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
        raw = '{"name": "X", "kind": "swag", "points_cost": ' + literal + "}"
        response = manager_api.client.post(
            "/api/v1/rewards", data=raw, content_type="application/json", headers=manager_api.headers
        )
        assert response.status_code == 422, (literal, response.json)
        assert "points_cost" in response.json["error"]["fields"]


def test_zero_cost_is_refused_but_zero_stock_is_allowed(manager_api):
    assert manager_api.post("/rewards", VALID | {"points_cost": 0}).status_code == 422
    assert manager_api.post("/rewards", VALID | {"per_advocate_limit": 0}).status_code == 422
    response = manager_api.post("/rewards", VALID | {"stock": 0})
    assert response.status_code == 201 and response.json["stock_remaining"] == 0


def test_patch_abuse_and_unknown_ids(manager_api, make_reward):
    reward_id = make_reward()
    for body in (
        {"points_cost": -5},
        {"stock": ""},
        {"name": ""},
        {"kind": "cash"},
        {"active": "maybe"},
        {"min_tier": "platinum"},
        {"name": None},
    ):
        response = manager_api.patch(f"/rewards/{reward_id}", body)
        assert response.status_code == 422, (body, response.json)
    assert manager_api.patch("/rewards/999999", {"points_cost": 5}).status_code == 404
    assert db.session.get(Reward, reward_id).points_cost == 100


def test_mass_assignment_is_ignored(manager_api):
    response = manager_api.post(
        "/rewards",
        VALID | {"stock_remaining": 9999, "id": 77, "created_by_id": 1, "description_html": "<script>x</script>"},
    )
    assert response.status_code == 201
    reward = db.session.get(Reward, response.json["id"])
    assert reward.id != 77 and reward.stock_remaining == 10 and "script" not in reward.description_html


def test_reward_markdown_is_sanitized(manager_api):
    hostile = (
        "<script>alert(1)</script> <img src=x onerror=alert(1)> <svg onload=alert(1)> "
        '[x](javascript:alert(1)) <a href="jav&#x61;script:alert(1)" hx-get="/admin">y</a>'
    )
    html = manager_api.post("/rewards", VALID | {"description": hostile}).json["description_html"]
    assert {tag for tag, _ in parsed_tags(html)} <= {"p", "a"}
    assert_harmless(html)


@pytest.mark.parametrize(
    "hostile",
    [
        '<a href="javascript:alert(1)">x</a>',
        "[x](JaVaScRiPt:alert(1))",
        "[x](&#106;avascript:alert(1))",
        '<div hx-get="/admin/settings" hx-trigger="load">x</div>',
        "<iframe src=//evil>",
        "<style>*{}</style>",
        '[ok](https://example.com "t")',
        "![img](https://example.com/x.png)",
    ],
)
def test_sanitizer_table(hostile):
    from hub.markup import render_markdown

    html = render_markdown(hostile)
    assert_harmless(html)
    for _tag, attrs in parsed_tags(html):
        assert all(name in {"href", "title", "rel", "start", "align"} for name, _ in attrs)
