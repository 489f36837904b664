"""Issue 14 in the browser's HTML: "Download my data" and erasure with the password re-entered."""

from __future__ import annotations

import json

from hub.extensions import db
from hub.models import Advocate
from tests.support.environment import TEST_PASSWORD


def test_preferences_offer_the_download_and_the_file_is_the_export(client, login, make_advocate):
    ada = make_advocate(name="Ada Download", points=40)
    login(client, ada.user)
    page = client.get("/me/preferences").get_data(as_text=True)
    assert 'href="/me/export"' in page and "Download my data" in page and 'href="/me/erase"' in page
    response = client.get("/me/export")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="vouch-my-data-')
    document = json.loads(response.data)
    assert document["profile"]["name"] == "Ada Download" and document["ledger"][0]["delta"] == 40


def test_erasure_needs_the_password_and_the_tick(client, login, make_advocate):
    ada = make_advocate()
    login(client, ada.user)
    wrong = client.post("/me/erase", data={"password": "not my password", "confirm": "y"})
    unticked = client.post("/me/erase", data={"password": TEST_PASSWORD})
    assert (wrong.status_code, unticked.status_code) == (422, 422)
    assert "That is not your password." in wrong.get_data(as_text=True)
    assert "Tick the box to confirm." in unticked.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(Advocate, ada.id).is_erased

    done = client.post("/me/erase", data={"password": TEST_PASSWORD, "confirm": "y"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    db.session.expire_all()
    assert db.session.get(Advocate, ada.id).is_erased
    assert client.get("/me/preferences").status_code == 302  # signed out


def test_staff_have_no_erase_page(client, login, make_user):
    login(client, make_user("manager"))
    assert client.get("/me/erase").status_code == 403
    assert client.get("/me/export").status_code == 403


def test_owner_erases_an_advocate_on_request_from_the_console(client, login, make_advocate, make_user):
    from sqlalchemy import select

    from hub.models import AuditEntry

    ada = make_advocate(name="Ada Requested")
    login(client, make_user("owner"))
    assert "Erase on request" in client.get(f"/admin/advocates/{ada.id}").get_data(as_text=True)
    refused = client.post(f"/admin/advocates/{ada.id}/erase", data={"requested_by": "email of 30 Nov"})
    assert refused.status_code == 302
    db.session.expire_all()
    assert not db.session.get(Advocate, ada.id).is_erased
    done = client.post(f"/admin/advocates/{ada.id}/erase", data={"requested_by": "email of 30 Nov", "confirm": "y"})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Advocate, ada.id).is_erased
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "advocate.erase"))
    assert audit.after["requested_by"] == "emailed request: email of 30 Nov"


def test_manager_cannot_erase_from_the_console(client, login, make_advocate, make_user):
    ada = make_advocate()
    login(client, make_user("manager"))
    assert (
        client.post(f"/admin/advocates/{ada.id}/erase", data={"requested_by": "x", "confirm": "y"}).status_code == 403
    )


def test_operator_erases_by_email_from_the_shell(app, make_advocate):
    from sqlalchemy import select

    from hub.models import AuditEntry

    ada = make_advocate(email="shell.erase@example.com")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["hub", "erase", "--email", "Shell.Erase@example.com", "--requested-by", "ticket 42"])
    assert result.exit_code == 0, result.output
    assert "may be invited again" in result.output
    db.session.expire_all()
    assert db.session.get(Advocate, ada.id).is_erased
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "advocate.erase"))
    assert audit.after["requested_by"] == "operator: ticket 42"
    missing = runner.invoke(args=["hub", "erase", "--email", "shell.erase@example.com"])
    assert missing.exit_code != 0 and "No advocate" in missing.output
