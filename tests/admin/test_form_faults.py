"""Issue 12 items 1 and 5 in the browser's forms: the forms read their fields through the same
field types as the API (`Conforms`), so they refuse the same text and read points and money the
same way — re-rendered with the field's message, nothing written."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from hub.extensions import db
from hub.models import Invite
from rewards.models import LedgerEntry, Reward


def test_the_invite_form_refuses_an_invisible_name_and_writes_nothing(client, make, login):
    login(client, make.user("manager"))
    response = client.post(
        "/admin/invite", data={"email": "zw@example.org", "name": "\u200b\u200b", "role": "advocate"}
    )
    assert response.status_code == 422
    assert "Must contain visible characters." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Invite)) == 0


def test_the_invite_form_refuses_a_control_character(client, make, login):
    login(client, make.user("manager"))
    response = client.post("/admin/invite", data={"email": "eve@example.org", "name": "Eve\u0007", "role": "advocate"})
    assert response.status_code == 422
    assert "Text may not contain control characters (U+0007)." in response.get_data(as_text=True)


def test_the_adjust_form_accepts_points_as_a_form_shows_them(client, make, login):
    advocate = make.advocate()
    login(client, make.user("owner"))
    response = client.post(f"/admin/advocates/{advocate.id}/adjust", data={"points": "1,200", "memo": "Event"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert db.session.scalar(select(func.sum(LedgerEntry.delta)).where(LedgerEntry.advocate_id == advocate.id)) == 1200


def test_the_adjust_form_refuses_a_decimal_comma(client, make, login):
    advocate = make.advocate()
    login(client, make.user("owner"))
    response = client.post(f"/admin/advocates/{advocate.id}/adjust", data={"points": "1,5", "memo": "Event"})
    assert response.status_code == 422
    assert "Must be a whole number." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_the_reward_form_reads_a_grouped_cost(client, make, login):
    login(client, make.user("manager"))
    response = client.post(
        "/admin/rewards/new",
        data={"name": "Hoodie", "kind": "swag", "points_cost": "1,200", "min_tier": "bronze", "active": "y"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert db.session.scalar(select(Reward.points_cost)) == 1200


def test_the_program_cost_form_refuses_a_european_amount(client, make, login):
    login(client, make.user("owner"))
    response = client.post("/admin/reports/cost", data={"amount": "12500,50", "currency": "EUR"})
    assert response.status_code == 422
    assert "Use a point for decimals" in response.get_data(as_text=True)
    saved = client.post("/admin/reports/cost", data={"amount": "12,500.50", "currency": "EUR"})
    assert saved.status_code == 302
    from challenges.crm import reports

    assert reports.program_cost() == (Decimal("12500.50"), "EUR")
