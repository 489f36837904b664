"""Issue 14 through the API: GET /me/export, POST /me/erase, POST /advocates/{id}/erase."""

from __future__ import annotations

from sqlalchemy import select

from hub.extensions import db
from hub.models import AuditEntry, User
from tests.support.environment import TEST_PASSWORD


def test_export_is_the_callers_own_and_advocates_only(api, make_advocate, make_user):
    ada = make_advocate(name="Ada Export", points=120)
    other = make_advocate(name="Other One", points=5)
    document = api(ada.user).get("/me/export")
    assert document.status_code == 200
    assert document.json["profile"]["name"] == "Ada Export"
    assert [e["delta"] for e in document.json["ledger"]] == [120]
    assert other.user.email not in document.get_data(as_text=True)
    assert api(make_user("manager")).get("/me/export").status_code == 403


def test_erase_without_confirm_is_refused_and_writes_nothing(api, make_advocate):
    ada = make_advocate()
    client = api(ada.user)
    for body in ({}, {"confirm": False}, {"confirm": "maybe"}):
        response = client.post("/me/erase", json=body)
        assert response.status_code == 422, body
        assert response.json["error"]["code"] == "invalid" and "confirm" in response.json["error"]["fields"]
    db.session.expire_all()
    assert not ada.is_erased
    assert client.get("/me").status_code == 200


def test_erase_ends_tokens_login_and_signs_posts_former_advocate(app, api, make_advocate, make_user):
    ada = make_advocate(name="Ada Gone", email="ada.gone@example.com")
    reader = api(make_user("manager"))
    client = api(ada.user)
    question = client.post("/questions", json={"title": "Rollout tips?", "body": "Anyone?"}).json
    assert client.post("/me/erase", json={"confirm": True}).json == {"status": "erased"}

    assert client.get("/me").status_code == 401
    browser = app.test_client()
    login = browser.post("/login", data={"email": "ada.gone@example.com", "password": TEST_PASSWORD})
    assert login.status_code == 200  # the form again, no session
    assert browser.get("/").status_code == 302
    shown = reader.get(f"/questions/{question['id']}").json
    assert shown["author_name"] == "Former advocate"
    assert reader.get(f"/advocates/{ada.id}").status_code == 404


def test_owner_erases_on_request_idempotently_managers_may_not(api, make_advocate, make_user):
    ada = make_advocate(email="on.request@example.com")
    owner, manager = api(make_user("owner")), api(make_user("manager"))
    assert manager.post(f"/advocates/{ada.id}/erase", json={"confirm": True}).status_code == 403
    assert owner.post("/advocates/999999/erase", json={"confirm": True}).status_code == 404
    body = {"confirm": True, "requested_by": "Ada's email of 30 Nov"}
    for _ in range(2):
        assert owner.post(f"/advocates/{ada.id}/erase", json=body).json == {"status": "erased"}
    audits = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "advocate.erase")).all()
    assert [a.after["requested_by"] for a in audits] == ["emailed request: Ada's email of 30 Nov"]
    emails = db.session.scalars(select(User.email)).all()
    assert "on.request@example.com" not in emails and f"erased-{ada.user_id}@erased.invalid" in emails
