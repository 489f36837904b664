"""The HTML side: advocate catalog, confirm step and double-submit safety, my redemptions,
and the staff catalog editor (with image uploads), redemption queue and dashboard tiles."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from hub.extensions import db
from hub.models import Advocate
from rewards.models import EntryKind, LedgerEntry, Redemption, Reward
from tests.support.rewards import assert_harmless

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HX = {"HX-Request": "true"}


def redemptions() -> int:
    return db.session.scalar(select(func.count()).select_from(Redemption))


def balance(advocate_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Advocate, advocate_id).balance


def confirm_form(client, reward_id: int) -> dict:
    page = client.get(f"/rewards/{reward_id}/confirm", headers=HX)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return {
        "confirmed_cost": re.search(r'name="confirmed_cost" value="(\d+)"', html).group(1),
        "request_key": re.search(r'name="request_key" value="([0-9a-f]+)"', html).group(1),
        "html": html,
    }


def test_catalog_shows_balance_reasons_low_stock_and_affordable_first(as_role, make_reward):
    advocate_client = as_role("advocate", points=500)
    make_reward(name="Jacket", points_cost=900)
    make_reward(name="Stickers", points_cost=50, stock=2)
    make_reward(name="Gold summit", points_cost=10, min_tier="gold")
    make_reward(name="Retired mug", active=False)
    html = advocate_client.get("/rewards").get_data(as_text=True)
    assert 'data-testid="catalog-balance"' in html and ">500</strong>" in html
    names = re.findall(r'id="reward-\d+-name">([^<]+)<', html)
    assert names == ["Stickers", "Gold summit", "Jacket"]
    assert "2 left" in html and "400 more points needed." in html and "Gold status or higher." in html
    assert "Retired mug" not in html


def test_confirm_shows_the_price_and_a_double_submit_charges_once(as_role, make_reward):
    advocate_client = as_role("advocate", points=500)
    reward_id = make_reward(name="Hoodie", points_cost=200, stock=5)
    form = confirm_form(advocate_client, reward_id)
    assert 'data-testid="confirm-price">200 points' in form["html"] and "Your balance after: 300" in form["html"]
    data = {"confirmed_cost": form["confirmed_cost"], "request_key": form["request_key"], "note": "L"}
    parts = HX | {"X-Vouch-Parts": "summary"}
    first = advocate_client.post(f"/rewards/{reward_id}/redeem", data=data, headers=parts)
    second = advocate_client.post(f"/rewards/{reward_id}/redeem", data=data, headers=parts)
    for response in (first, second):
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and 'data-testid="redeemed"' in html
        assert '<div id="summary" hx-swap-oob="innerHTML">' in html and ">300</strong> pts" in html
    assert redemptions() == 1 and balance(advocate_client.advocate.id) == 300
    assert db.session.get(Reward, reward_id).stock_remaining == 4
    again = confirm_form(advocate_client, reward_id)
    assert again["request_key"] != form["request_key"]  # a new render is a new redemption


def test_price_changed_between_confirm_and_submit_is_refused(as_role, make_reward, api, make):
    advocate_client = as_role("advocate", points=500)
    reward_id = make_reward(points_cost=100)
    form = confirm_form(advocate_client, reward_id)
    api(make.user("manager")).patch(f"/rewards/{reward_id}", {"points_cost": 150})
    response = advocate_client.post(
        f"/rewards/{reward_id}/redeem",
        headers=HX,
        data={"confirmed_cost": form["confirmed_cost"], "request_key": form["request_key"]},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "The price is now 150 points" in html
    assert 'name="confirmed_cost" value="150"' in html and "HX-Trigger" not in response.headers
    assert redemptions() == 0 and balance(advocate_client.advocate.id) == 500


def test_plain_form_post_redirects_and_refusals_are_409(as_role, make_reward):
    advocate_client = as_role("advocate", points=500)
    reward_id = make_reward(points_cost=100, stock=1)
    form = confirm_form(advocate_client, reward_id)
    ok = advocate_client.post(
        f"/rewards/{reward_id}/redeem", data={"confirmed_cost": "100", "request_key": form["request_key"]}
    )
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/me/redemptions")
    sold_out = advocate_client.post(
        f"/rewards/{reward_id}/redeem", data={"confirmed_cost": "100", "request_key": "ab" * 16}
    )
    assert sold_out.status_code == 409 and "out of stock" in sold_out.get_data(as_text=True)


@pytest.mark.parametrize(
    "data",
    [
        {"confirmed_cost": "100"},
        {"confirmed_cost": "-1", "request_key": "ab" * 16},
        {"confirmed_cost": "1.5", "request_key": "ab" * 16},
        {"confirmed_cost": "100", "request_key": "zz" * 16},
        {"confirmed_cost": "", "request_key": "ab" * 16},
        {"confirmed_cost": "100", "request_key": "a" * 65},
    ],
)
def test_bad_redeem_forms_are_400_and_write_nothing(as_role, make_reward, data):
    advocate_client = as_role("advocate", points=500)
    reward_id = make_reward(points_cost=100)
    assert advocate_client.post(f"/rewards/{reward_id}/redeem", data=data, headers=HX).status_code == 400
    assert redemptions() == 0


def test_my_redemptions_cancel_refunds_and_other_advocates_get_404(as_role, make_reward, make, login, app):
    advocate_client = as_role("advocate", points=500)
    reward_id = make_reward(points_cost=100, requires_approval=True)
    form = confirm_form(advocate_client, reward_id)
    advocate_client.post(
        f"/rewards/{reward_id}/redeem", headers=HX, data={"confirmed_cost": "100", "request_key": form["request_key"]}
    )
    redemption_id = db.session.scalar(select(Redemption.id))
    page = advocate_client.get("/me/redemptions").get_data(as_text=True)
    assert 'data-testid="redemption-status">Requested' in page and "Cancel" in page

    intruder = login(app.test_client(), make.advocate(points=10).user)
    assert intruder.post(f"/me/redemptions/{redemption_id}/cancel", headers=HX).status_code == 404
    assert "Hoodie" not in intruder.get("/me/redemptions").get_data(as_text=True)

    parts = HX | {"X-Vouch-Parts": "summary"}
    cancelled = advocate_client.post(f"/me/redemptions/{redemption_id}/cancel", headers=parts)
    html = cancelled.get_data(as_text=True)
    assert cancelled.status_code == 200 and "Cancelled" in html and "100 points refunded" in html
    assert '<div id="summary" hx-swap-oob="innerHTML">' in html  # the refunded balance, same response
    again = advocate_client.post(f"/me/redemptions/{redemption_id}/cancel", headers=parts)
    assert "already cancelled" in again.get_data(as_text=True) and "hx-swap-oob" not in again.get_data(as_text=True)
    assert balance(advocate_client.advocate.id) == 500
    refunds = db.session.scalar(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == EntryKind.REFUND)
    )
    assert refunds == 1


def test_catalog_descriptions_are_sanitized_on_the_page(as_role, make_reward):
    advocate_client = as_role("advocate", points=500)
    make_reward(description='<script>alert(1)</script>[x](javascript:alert(1)) <b onclick="x()">b</b>')
    html = advocate_client.get("/rewards").get_data(as_text=True)
    prose = re.search(r'<div class="prose">(.*?)</div>', html, re.S).group(1)
    assert "alert(1)" in prose  # shown as text …
    assert_harmless(prose)  # … never as markup


def test_role_gates(as_role, client, make_reward):
    advocate_client = as_role("advocate", points=500)
    staff_client = as_role("manager")
    reward_id = make_reward()
    for path in ("/admin/rewards", "/admin/redemptions", "/admin/rewards/new", f"/admin/rewards/{reward_id}/edit"):
        assert advocate_client.get(path).status_code == 403
    assert advocate_client.post("/admin/redemptions/1/approve").status_code == 403
    assert staff_client.get("/rewards").status_code == 403
    assert staff_client.get("/me/redemptions").status_code == 403


# --- staff -----------------------------------------------------------------------------------


def reward_form(**overrides) -> dict:
    return {
        "name": "Hoodie",
        "description": "Warm",
        "kind": "swag",
        "points_cost": "400",
        "stock": "10",
        "min_tier": "bronze",
        "per_advocate_limit": "",
        "active": "y",
    } | overrides


def multipart(fields: dict, upload: tuple[str, str, bytes]) -> tuple[bytes, str]:
    """A multipart body built in memory (the test client would spool a large one to an unclosed temp file)."""
    boundary = "vouchboundary7"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    name, filename, payload = upload
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        "Content-Type: image/png\r\n\r\n".encode()
        + payload
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.fixture()
def uploads(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "VOUCH_UPLOAD_DIR", str(tmp_path))
    return tmp_path / "rewards"


def test_staff_create_reward_with_image_and_it_is_served(as_role, uploads):
    staff_client = as_role("manager")
    advocate_client = as_role("advocate", points=500)
    data = reward_form(image=(io.BytesIO(PNG), "hoodie.png"))
    response = staff_client.post("/admin/rewards/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    reward = db.session.scalar(select(Reward))
    assert (reward.points_cost, reward.stock_total, reward.per_advocate_limit) == (400, 10, None)
    assert reward.image_name and (uploads / reward.image_name).read_bytes() == PNG
    image = advocate_client.get(f"/rewards/images/{reward.image_name}")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == PNG
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    image.close()
    assert f"/rewards/images/{reward.image_name}" in advocate_client.get("/rewards").get_data(as_text=True)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"GIF89a" + b"\x00" * 20, "PNG, JPEG or WebP"),
        (b"<svg onload=alert(1)>", "PNG, JPEG or WebP"),
        (PNG + b"\x00" * (1024 * 1024), "larger than 1 MiB"),
    ],
)
def test_bad_images_are_refused_and_nothing_is_saved(as_role, uploads, payload, message):
    staff_client = as_role("manager")
    body, content_type = multipart(reward_form(), ("image", "fake.png", payload))
    response = staff_client.post("/admin/rewards/new", data=body, content_type=content_type)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(Reward.id)) is None
    assert not uploads.exists() or not any(uploads.iterdir())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("points_cost", "-1"),
        ("points_cost", "1.5"),
        ("points_cost", "1e309"),
        ("points_cost", str(2**63)),
        ("points_cost", "NaN"),
        ("points_cost", ""),
        ("stock", "-1"),
        ("stock", "1.5"),
        ("per_advocate_limit", "0"),
    ],
)
def test_staff_form_numeric_abuse_shows_field_errors(as_role, field, value):
    staff_client = as_role("manager")
    response = staff_client.post("/admin/rewards/new", data=reward_form(**{field: value}))
    assert response.status_code == 422
    assert f'id="{field}-err"' in response.get_data(as_text=True)
    assert db.session.scalar(select(Reward.id)) is None


def test_staff_edit_and_retire_inline(as_role, make_reward):
    staff_client = as_role("manager")
    reward_id = make_reward(points_cost=100, stock=3)
    page = staff_client.get(f"/admin/rewards/{reward_id}/edit").get_data(as_text=True)
    assert 'value="100"' in page and 'value="3"' in page
    saved = staff_client.post(f"/admin/rewards/{reward_id}/edit", data=reward_form(points_cost="120", stock=""))
    assert saved.status_code == 302
    db.session.expire_all()
    reward = db.session.get(Reward, reward_id)
    assert (reward.points_cost, reward.stock_total, reward.stock_remaining) == (120, None, None)
    retired = staff_client.post(f"/admin/rewards/{reward_id}/active", data={"active": "false"}, headers=HX)
    assert retired.status_code == 200 and "Retired" in retired.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Reward, reward_id).is_active is False


def test_queue_approve_fulfil_and_reject_inline(as_role, make, make_reward, api):
    staff_client = as_role("manager")
    advocate = make.advocate(points=1000)
    reward_id = make_reward(points_cost=100, stock=3, requires_approval=True)
    adv_api = api(advocate.user)
    first = adv_api.post(f"/rewards/{reward_id}/redemptions").json["id"]
    second = adv_api.post(f"/rewards/{reward_id}/redemptions").json["id"]
    queue = staff_client.get("/admin/redemptions").get_data(as_text=True)
    assert queue.count('data-testid="queue-row"') == 2 and "1 left in stock" in queue

    approved = staff_client.post(f"/admin/redemptions/{first}/approve", headers=HX).get_data(as_text=True)
    assert 'data-testid="queue-status">Approved' in approved and "Fulfil" in approved
    fulfilled = staff_client.post(f"/admin/redemptions/{first}/fulfil", data={"note": "DHL 42"}, headers=HX)
    assert "Fulfilled" in fulfilled.get_data(as_text=True) and "DHL 42" in fulfilled.get_data(as_text=True)

    no_reason = staff_client.post(f"/admin/redemptions/{second}/reject", data={"reason": " "}, headers=HX)
    assert "Say why" in no_reason.get_data(as_text=True)
    assert balance(advocate.id) == 800
    rejected = staff_client.post(f"/admin/redemptions/{second}/reject", data={"reason": "Sold out"}, headers=HX)
    assert "Rejected" in rejected.get_data(as_text=True) and "Sold out" in rejected.get_data(as_text=True)
    twice = staff_client.post(f"/admin/redemptions/{second}/reject", data={"reason": "Again"}, headers=HX)
    assert "already rejected" in twice.get_data(as_text=True)
    assert balance(advocate.id) == 900
    assert staff_client.post("/admin/redemptions/999999/approve", headers=HX).status_code == 404
    tabs = staff_client.get("/admin/redemptions?status=rejected").get_data(as_text=True)
    assert tabs.count('data-testid="queue-row"') == 1
    lost = staff_client.get("/admin/redemptions?status=lost")  # issue 12 item 8: a note, not a 400 page
    assert lost.status_code == 200 and "“status=lost” was not used" in lost.get_data(as_text=True)


def test_dashboard_shows_the_points_economy(as_role, make, make_reward, api):
    staff_client = as_role("manager")
    advocate = make.advocate(points=1000)
    reward_id = make_reward(points_cost=300, stock=4)
    api(advocate.user).post(f"/rewards/{reward_id}/redemptions")
    html = staff_client.get("/admin/").get_data(as_text=True)
    assert 'data-testid="points-redeemed">300' in html
    assert "Approved redemptions" in html and 'data-testid="low-stock"' in html


@pytest.mark.parametrize("name", ["../../etc/passwd", "x.png", "0" * 32 + ".gif", "0" * 32 + ".png", "%2e%2e"])
def test_image_route_only_serves_stored_names(as_role, uploads, name):
    advocate_client = as_role("advocate", points=500)
    assert advocate_client.get(f"/rewards/images/{name}").status_code == 404


def test_nav_links(as_role):
    advocate_client = as_role("advocate", points=500)
    staff_client = as_role("manager")
    assert 'href="/rewards"' in advocate_client.get("/me/redemptions").get_data(as_text=True)
    staff_page = staff_client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/rewards"' in staff_page and 'href="/admin/redemptions"' in staff_page


def test_a_redemption_note_typed_on_two_lines_is_kept(as_role, make_reward):
    """The confirm page's note is a text box: its newlines are text, not a refusal (issue 12 item 1)."""
    advocate_client = as_role("advocate", points=500)
    reward_id = make_reward(name="Hoodie", points_cost=200, stock=5)
    form = confirm_form(advocate_client, reward_id)
    data = {"confirmed_cost": form["confirmed_cost"], "request_key": form["request_key"], "note": "Size L\r\nBlue"}
    response = advocate_client.post(f"/rewards/{reward_id}/redeem", data=data, headers=HX)
    assert response.status_code == 200 and 'data-testid="redeemed"' in response.get_data(as_text=True)
    assert db.session.scalar(select(Redemption.note)) == "Size L\nBlue"


def test_redeeming_refreshes_every_balance_dependent_part_of_the_page_in_the_same_response(as_role, make_reward):
    """Issue 19: after redeeming, the other cards kept "305 more points needed". The redeem
    response carries a fresh copy of each part the page lists (X-Vouch-Parts) out of band."""
    advocate_client = as_role("advocate", points=500)
    hoodie = make_reward(name="Hoodie", points_cost=300)
    mug = make_reward(name="Mug", points_cost=150)  # affordable before (500), not after (200)
    jacket = make_reward(name="Jacket", points_cost=700)  # 200 short before, 500 short after
    catalog = advocate_client.get("/rewards").get_data(as_text=True)
    for part in ("summary", "balance", f"reward-card:{hoodie}", f"reward-card:{mug}", f"reward-card:{jacket}"):
        assert f'data-part="{part}"' in catalog
    assert "200 more points needed." in catalog
    form = confirm_form(advocate_client, hoodie)
    page_parts = f"summary balance reward-card:{hoodie} reward-card:{mug} reward-card:{jacket}"
    response = advocate_client.post(
        f"/rewards/{hoodie}/redeem",
        data={"confirmed_cost": form["confirmed_cost"], "request_key": form["request_key"]},
        headers=HX | {"X-Vouch-Parts": page_parts},
    )
    html = response.get_data(as_text=True)
    assert 'data-testid="redeemed"' in html
    assert '<strong id="catalog-balance" hx-swap-oob="innerHTML">200</strong>' in html  # 500 − 300
    assert '<div id="summary" hx-swap-oob="innerHTML">' in html and ">200</strong> pts" in html
    mug_card = re.search(rf'<article [^>]*id="reward-{mug}"[^>]*hx-swap-oob="true".*?</article>', html, re.S)
    jacket_card = re.search(rf'<article [^>]*id="reward-{jacket}"[^>]*hx-swap-oob="true".*?</article>', html, re.S)
    assert mug_card and 'data-testid="redeem"' in mug_card.group(0)  # 150 ≤ 200: still affordable
    assert jacket_card and "500 more points needed." in jacket_card.group(0)  # 700 − 200
    assert "200 more points needed." not in html
    assert f'id="reward-{hoodie}" data-part' not in html  # the redeemed card keeps its "Redeemed!"
    assert "tier-card" not in html  # the catalog holds no tier card: only the page's own parts are sent
    assert balance(advocate_client.advocate.id) == 200
