"""Issue 20: the redemption queue stays true — a decision answers with the row and the status
tabs' counts (out of band), bulk approve / fulfil (one note) / reject go through the single-item
rules with each failure named, and the queue exports as CSV with formulas neutralised."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import func, select

from hub.extensions import db
from rewards.models import EntryKind, LedgerEntry, Redemption, RedemptionStatus

HX = {"HX-Request": "true"}


def _counts(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-testid="count-(\w+)">(\d+)<', html)}


def _redeem(api, advocate, reward_id: int, times: int, note: str | None = None) -> list[int]:
    client = api(advocate.user)
    body = {"note": note} if note else None
    return [client.post(f"/rewards/{reward_id}/redemptions", body).json["id"] for _ in range(times)]


def _status(redemption_id: int) -> RedemptionStatus:
    db.session.expire_all()
    return db.session.get(Redemption, redemption_id).status


def test_a_decision_answers_with_the_row_and_the_tab_counts_out_of_band(as_role, make, make_reward, api):
    staff_client = as_role("manager")
    reward_id = make_reward(points_cost=100, requires_approval=True)
    first, _second = _redeem(api, make.advocate(points=1000), reward_id, 2)
    answer = staff_client.post(f"/admin/redemptions/{first}/approve?status=requested", headers=HX)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert f'id="redemption-{first}"' in html and 'data-testid="queue-status">Approved' in html
    assert 'id="redemption-tabs" hx-swap-oob="true"' in html
    assert _counts(html) == {"requested": 1, "approved": 1, "fulfilled": 0, "rejected": 0, "cancelled": 0}
    refused = staff_client.post(f"/admin/redemptions/{first}/approve?status=requested", headers=HX)
    assert "already approved" in refused.get_data(as_text=True)
    assert _counts(refused.get_data(as_text=True))["approved"] == 1


def test_bulk_fulfil_with_one_note_reports_the_item_that_failed(as_role, make, make_reward, api):
    staff_client = as_role("manager")
    advocate = make.advocate(points=1000)
    reward_id = make_reward(points_cost=100, requires_approval=True)
    ids = _redeem(api, advocate, reward_id, 3)
    approved = staff_client.post(
        "/admin/redemptions/bulk", data={"ids": [str(i) for i in ids], "action": "approve"}, headers=HX
    )
    assert "Approved 3." in approved.get_data(as_text=True)
    assert _counts(approved.get_data(as_text=True))["approved"] == 3
    staff_client.post(f"/admin/redemptions/{ids[1]}/reject", data={"reason": "Out of hoodies"}, headers=HX)

    done = staff_client.post(
        "/admin/redemptions/bulk",
        data={"ids": [str(i) for i in ids], "action": "fulfil", "note": "DHL 42", "status": "approved"},
        headers=HX,
    )
    html = done.get_data(as_text=True)
    assert done.status_code == 200
    assert f"Fulfilled 2; not done: #{ids[1]}: This redemption is already rejected." in html
    assert _counts(html) == {"requested": 0, "approved": 0, "fulfilled": 2, "rejected": 1, "cancelled": 0}
    assert 'data-testid="queue-empty"' in html  # the approved tab is empty now: the rows left
    assert [_status(i) for i in ids] == [
        RedemptionStatus.FULFILLED,
        RedemptionStatus.REJECTED,
        RedemptionStatus.FULFILLED,
    ]
    notes = db.session.scalars(select(Redemption.fulfil_note).where(Redemption.id.in_([ids[0], ids[2]]))).all()
    assert notes == ["DHL 42", "DHL 42"]


def test_bulk_reject_refunds_each_once_and_needs_a_reason(as_role, make, make_reward, api):
    staff_client = as_role("manager")
    advocate = make.advocate(points=1000)
    reward_id = make_reward(points_cost=150, stock=5, requires_approval=True)
    ids = _redeem(api, advocate, reward_id, 2)
    no_reason = staff_client.post(
        "/admin/redemptions/bulk", data={"ids": [str(i) for i in ids], "action": "reject", "reason": " "}, headers=HX
    )
    assert "Say why" in no_reason.get_data(as_text=True)
    assert [_status(i) for i in ids] == [RedemptionStatus.REQUESTED] * 2
    twice = [str(ids[0]), str(ids[0]), str(ids[1])]
    staff_client.post("/admin/redemptions/bulk", data={"ids": twice, "action": "reject", "reason": "Gone"}, headers=HX)
    refunds = db.session.scalars(
        select(LedgerEntry.delta).where(LedgerEntry.advocate_id == advocate.id, LedgerEntry.kind == EntryKind.REFUND)
    ).all()
    assert sorted(refunds) == [150, 150]  # 1,000 − 2 × 150 + 2 × 150 refunded, once each
    db.session.expire_all()
    assert advocate.balance == 1000


def test_bulk_without_javascript_redirects_with_the_outcome(as_role, make, make_reward, api):
    staff_client = as_role("manager")
    reward_id = make_reward(points_cost=100, requires_approval=True)
    ids = _redeem(api, make.advocate(points=1000), reward_id, 1)
    plain = staff_client.post("/admin/redemptions/bulk", data={"ids": [str(ids[0])], "action": "approve"})
    assert plain.status_code == 302 and plain.headers["Location"].endswith("/admin/redemptions?status=requested")
    assert "Approved 1." in staff_client.get(plain.headers["Location"]).get_data(as_text=True)
    bad = staff_client.post("/admin/redemptions/bulk", data={"ids": [str(ids[0])], "action": "explode"})
    assert bad.status_code == 400


def test_redemptions_export_as_csv_with_formulas_neutralised(as_role, make, make_reward, api):
    staff_client = as_role("manager")
    advocate = make.advocate(points=1000, name='=HYPERLINK("http://evil")')
    reward_id = make_reward(name="Hoodie", points_cost=100, requires_approval=True)
    first, second = _redeem(api, advocate, reward_id, 2, note="@SUM(A1:A9)")
    staff_client.post(f"/admin/redemptions/{first}/approve", headers=HX)
    answer = staff_client.get("/admin/redemptions.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.is_streamed
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [(r["id"], r["status"], r["reward"], r["points"]) for r in rows] == [
        (str(first), "approved", "Hoodie", "100"),
        (str(second), "requested", "Hoodie", "100"),
    ]
    assert rows[0]["advocate"] == '\'=HYPERLINK("http://evil")' and rows[0]["note"] == "'@SUM(A1:A9)"
    assert rows[0]["decided_at"].endswith("Z") and rows[1]["decided_at"] == ""
    only = list(
        csv.DictReader(io.StringIO(staff_client.get("/admin/redemptions.csv?status=approved").get_data(as_text=True)))
    )
    assert [r["id"] for r in only] == [str(first)]


def test_the_advocate_cannot_export_or_bulk(as_role):
    advocate_client = as_role("advocate", points=10)
    assert advocate_client.get("/admin/redemptions.csv").status_code == 403
    assert advocate_client.post("/admin/redemptions/bulk", data={"action": "approve"}).status_code == 403


# --- shipping addresses ------------------------------------------------------------------------

ADDRESS = "Ada Lovelace\n12 St James's Square\nLondon SW1Y 4JH"


def test_a_shipped_reward_asks_for_an_address_on_the_confirm_page(as_role, make_reward):
    advocate_client = as_role("advocate", points=1000)
    reward_id = make_reward(name="Hoodie", points_cost=100, needs_shipping=True)
    other_id = make_reward(name="Gift card", kind="gift_card", points_cost=100)
    page = advocate_client.get(f"/rewards/{reward_id}/confirm", headers=HX).get_data(as_text=True)
    assert 'name="shipping_address"' in page
    assert 'name="shipping_address"' not in advocate_client.get(f"/rewards/{other_id}/confirm").get_data(as_text=True)
    key = re.search(r'name="request_key" value="([0-9a-f]+)"', page).group(1)
    form = {"confirmed_cost": "100", "request_key": key}
    refused = advocate_client.post(f"/rewards/{reward_id}/redeem", data=form | {"shipping_address": "  "}, headers=HX)
    assert "Give a shipping address" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 0
    done = advocate_client.post(f"/rewards/{reward_id}/redeem", data=form | {"shipping_address": ADDRESS}, headers=HX)
    assert done.status_code == 200
    assert db.session.scalar(select(Redemption.shipping_address)) == ADDRESS
    mine = advocate_client.get("/me/redemptions").get_data(as_text=True)
    assert "Ship to: Ada Lovelace\n12 St James&#39;s Square" in mine


def test_the_address_is_for_staff_and_the_advocate_exported_and_erased(as_role, api, make, make_reward):
    from hub.privacy import erase_advocate, export_advocate

    advocate = make.advocate(points=1000)
    reward_id = make_reward(points_cost=100, needs_shipping=True, requires_approval=True)
    mine = api(advocate.user)
    missing = mine.post(f"/rewards/{reward_id}/redemptions", {})
    assert missing.status_code == 422 and "shipping_address" in missing.json["error"]["fields"]
    made = mine.post(f"/rewards/{reward_id}/redemptions", {"shipping_address": ADDRESS})
    assert made.status_code == 201 and made.json["shipping_address"] == ADDRESS
    staff_client = as_role("manager")
    assert "12 St James&#39;s Square" in staff_client.get("/admin/redemptions").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(staff_client.get("/admin/redemptions.csv").get_data(as_text=True))))
    assert rows[0]["shipping_address"] == ADDRESS
    assert api(make.advocate().user).get(f"/redemptions/{made.json['id']}").status_code == 404
    assert export_advocate(advocate.id)["redemptions"][0]["shipping_address"] == ADDRESS
    erase_advocate(advocate.id, make.user("owner").id, "test")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Redemption, made.json["id"]).shipping_address is None
