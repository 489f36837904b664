"""Issue 20: a reward of a kind sent by post (swag) asks for a shipping address unless staff
untick it; other kinds may opt in. The API's default when the field is left out comes from the
kind; a patch without it changes nothing; the editor's box starts from the kind."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.extensions import db
from rewards import catalog
from rewards.models import Reward, RewardKind

BASE = {"name": "Thing", "points_cost": 100}


@pytest.mark.parametrize(
    ("kind", "ships"),
    [("swag", True), ("gift_card", False), ("donation", False), ("experience", False), ("access", False)],
)
def test_left_out_it_follows_the_kind(ctx, kind, ships):
    assert set(RewardKind) == {RewardKind(k) for k in ("swag", "gift_card", "donation", "experience", "access")}
    assert catalog.read_reward_input(BASE | {"kind": kind}, partial=False)["needs_shipping"] is ships


@pytest.mark.parametrize(("kind", "given"), [("swag", False), ("gift_card", True), ("swag", "off"), ("access", "on")])
def test_a_given_choice_overrides_the_kind(ctx, kind, given):
    expected = given if isinstance(given, bool) else given == "on"
    values = catalog.read_reward_input(BASE | {"kind": kind, "needs_shipping": given}, partial=False)
    assert values["needs_shipping"] is expected


def test_a_patch_without_it_or_with_null_leaves_it(ctx):
    assert "needs_shipping" not in catalog.read_reward_input({"kind": "swag"}, partial=True)
    assert "needs_shipping" not in catalog.read_reward_input({"needs_shipping": None}, partial=True)
    assert catalog.read_reward_input({"needs_shipping": False}, partial=True) == {"needs_shipping": False}


def test_api_default_and_override(api, make):
    manager = api(make.user("manager"))
    swag = manager.post("/rewards", BASE | {"kind": "swag"})
    card = manager.post("/rewards", BASE | {"name": "Card", "kind": "gift_card"})
    kept = manager.post("/rewards", BASE | {"name": "Stickers", "kind": "swag", "needs_shipping": False})
    assert [r.status_code for r in (swag, card, kept)] == [201, 201, 201]
    assert [r.json["needs_shipping"] for r in (swag, card, kept)] == [True, False, False]
    changed = manager.patch(f"/rewards/{kept.json['id']}", {"kind": "swag", "name": "Stickers 2"})
    assert changed.status_code == 200 and changed.json["needs_shipping"] is False
    refused = api(make.advocate().user).post(f"/rewards/{swag.json['id']}/redemptions", {})
    assert refused.status_code == 422 and "shipping_address" in refused.json["error"]["fields"]


def test_editor_box_starts_from_the_kind_and_keeps_the_managers_choice(as_role):
    client = as_role("manager")
    html = client.get("/admin/rewards/new").get_data(as_text=True)
    assert 'data-shipped-kinds="swag"' in html
    assert 'id="needs_shipping" name="needs_shipping" type="checkbox" value="y"' in html
    box = html[html.index('id="needs_shipping"') - 20 : html.index('id="needs_shipping"') + 80]
    assert "checked" in box
    form = {"name": "Hoodie", "kind": "swag", "points_cost": "400", "min_tier": "bronze", "active": "y"}
    assert client.post("/admin/rewards/new", data=form).status_code == 302
    card = form | {"name": "Card", "kind": "gift_card", "needs_shipping": "y"}
    assert client.post("/admin/rewards/new", data=card).status_code == 302
    stored = {name: ships for name, ships in db.session.execute(select(Reward.name, Reward.needs_shipping))}
    # An unticked box is the manager's "no" (a form cannot leave the field out), ticked is "yes".
    assert stored == {"Hoodie": False, "Card": True}
