"""Accounts: invitations (single use, 14 days, consent), CSV import, password reset, sessions."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select

from hub.db import utcnow
from hub.email.models import OutboxEmail
from hub.extensions import db
from hub.models import Advocate, Invite, PasswordReset, Role, User, UserSession
from tests.support.environment import TEST_PASSWORD

NEW_PASSWORD = "a brand new passphrase"


def outbox(kind: str | None = None) -> list[OutboxEmail]:
    query = select(OutboxEmail).order_by(OutboxEmail.id)
    if kind:
        query = query.where(OutboxEmail.kind == kind)
    return list(db.session.scalars(query))


def link_in(message: OutboxEmail) -> str:
    match = re.search(r"https?://\S+", message.body_text)
    assert match, message.body_text
    return match.group(0)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _, message in session.pop("_flashes", [])]


# --- invitations -------------------------------------------------------------------------------


def invite_by_form(client, email: str, **extra):
    data = {"email": email, "name": "Invitee", "role": "advocate", "company_size": ""} | extra
    return client.post("/admin/invite", data=data)


def test_invitation_end_to_end(client, login, make, app, jobs):
    manager = make.user("manager")
    login(client, manager)
    response = invite_by_form(client, "Invitee@Example.com", company="Acme", groups="Beta, EMEA")
    assert response.status_code == 302
    jobs.join()
    [message] = outbox("invite")
    assert message.to_address == "invitee@example.com" and message.status == "sent"
    link = link_in(message)
    assert link.startswith("http://vouch.test/invite/")
    invite = db.session.scalars(select(Invite)).one()
    assert abs(invite.expires_at - invite.created_at - dt.timedelta(days=14)) < dt.timedelta(seconds=5)
    assert link.rsplit("/", 1)[1] not in invite.token_digest  # stored hashed

    guest = app.test_client()
    path = link.removeprefix("http://vouch.test")
    page = guest.get(path)
    assert page.status_code == 200 and b"invitee@example.com" in page.data
    joined = guest.post(
        path, data={"name": "Ivy Invitee", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "consent": "y"}
    )
    assert joined.status_code == 302 and joined.headers["Location"] == "/"
    assert guest.get("/").status_code == 200
    user = db.session.scalar(select(User).where(User.email == "invitee@example.com"))
    assert user.name == "Ivy Invitee" and user.role is Role.ADVOCATE
    assert user.advocate.company == "Acme"
    assert sorted(g.name for g in user.advocate.groups) == ["Beta", "EMEA"]
    assert user.advocate.consent_version == "2026-01" and user.advocate.consented_at is not None
    assert db.session.get(Invite, invite.id).used_at is not None

    # Single use: the same link again (logged out) is refused and creates nothing.
    again = app.test_client().post(
        path, data={"name": "Mallory", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "consent": "y"}
    )
    assert again.status_code == 400
    assert count(User) == 2


def test_consent_is_required(client, login, make, app):
    login(client, make.user("manager"))
    invite_by_form(client, "careful@example.com")
    path = link_in(outbox("invite")[0]).removeprefix("http://vouch.test")
    guest = app.test_client()
    response = guest.post(path, data={"name": "Careful", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 200
    assert b"accept the program terms" in response.data
    assert db.session.scalar(select(User).where(User.email == "careful@example.com")) is None
    assert db.session.scalars(select(Invite)).one().used_at is None


@pytest.mark.parametrize("token", ["wrong", "x" * 43, ""])
def test_wrong_invite_token_is_refused(client, ctx, token):
    response = client.get(f"/invite/{token}") if token else client.get("/invite/")
    assert response.status_code in (400, 404)


def test_expired_invitation_is_refused(client, login, make, app):
    login(client, make.user("manager"))
    invite_by_form(client, "late@example.com")
    path = link_in(outbox("invite")[0]).removeprefix("http://vouch.test")
    row = db.session.scalars(select(Invite)).one()
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    guest = app.test_client()
    assert guest.get(path).status_code == 400
    response = guest.post(
        path, data={"name": "Late", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "consent": "y"}
    )
    assert response.status_code == 400
    assert db.session.scalar(select(User).where(User.email == "late@example.com")) is None


def test_inviting_a_known_email_answers_the_same(client, login, make):
    existing = make.advocate()
    login(client, make.user("manager"))
    known = invite_by_form(client, existing.user.email)
    known_flash = flashes(client)
    unknown = invite_by_form(client, "stranger@example.com")
    unknown_flash = flashes(client)
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert [f.replace(existing.user.email, "E") for f in known_flash] == [
        f.replace("stranger@example.com", "E") for f in unknown_flash
    ]
    assert [m.to_address for m in outbox("invite")] == ["stranger@example.com"]


def test_only_owners_invite_staff(client, login, make):
    login(client, make.user("manager"))
    response = invite_by_form(client, "boss@example.com", role="owner")
    assert response.status_code == 422
    assert b"Only owners can invite staff" in response.data
    assert count(Invite) == 0


def test_owner_invites_a_manager(client, login, make, app):
    login(client, make.user("owner"))
    invite_by_form(client, "newmanager@example.com", role="manager")
    path = link_in(outbox("invite")[0]).removeprefix("http://vouch.test")
    guest = app.test_client()
    response = guest.post(
        path, data={"name": "New Manager", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "consent": "y"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    user = db.session.scalar(select(User).where(User.email == "newmanager@example.com"))
    assert user.role is Role.MANAGER and user.advocate is None


@pytest.mark.parametrize("email", ["not-an-email", "a" * 390 + "@example.com", ""])
def test_invite_form_validates_email(client, login, make, email):
    login(client, make.user("manager"))
    response = invite_by_form(client, email)
    assert response.status_code == 422
    assert count(Invite) == 0


CSV = (
    "name,email,company,industry,company_size,region,groups\n"
    "Ada Lovelace,ada@example.com,Engines,Software,201-1000,EMEA,EMEA;Beta\n"
    "No Email,,Acme,Software,1-50,NA,\n"
    "Bad Size,bad@example.com,Acme,Software,huge,NA,\n"
    "Ada Again,ADA@example.com,Engines,Software,,EMEA,\n"
    "{existing_name},{existing_email},,,,,\n"
    ",noname@example.com,,,,,\n"
    "Grace Hopper,grace@example.com,Navy,Government,5000+,NA,\n"
)


def upload(client, text: str, filename: str = "advocates.csv"):
    return client.post(
        "/admin/advocates/import",
        data={"file": (io.BytesIO(text.encode()), filename)},
        content_type="multipart/form-data",
    )


def test_csv_import_reports_errors_per_line(client, login, make, jobs):
    existing = make.advocate()
    login(client, make.user("manager"))
    response = upload(client, CSV.format(existing_name="Known", existing_email=existing.user.email))
    assert response.status_code == 302 and "/admin/advocates/imports/" in response.headers["Location"]
    jobs.join()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<strong>2</strong> invited" in page
    assert "<strong>1</strong> skipped" in page
    assert "<strong>4</strong> rows with errors" in page
    assert "— done" in page
    errors = dict(re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td></tr>", page))
    assert set(errors) == {"3", "4", "5", "7"}
    assert "email" in errors["3"] and "company_size" in errors["4"]
    assert "twice" in errors["5"] and "line 2" in errors["5"] and "name" in errors["7"]
    assert sorted(m.to_address for m in outbox("invite")) == ["ada@example.com", "grace@example.com"]
    ada = db.session.scalar(select(Invite).where(Invite.email == "ada@example.com"))
    assert ada.profile["groups"] == ["EMEA", "Beta"] and ada.profile["company_size"] == "201-1000"


def test_csv_import_needs_the_header(client, login, make):
    login(client, make.user("manager"))
    response = upload(client, "who,where\nAda,ada@example.com\n")
    assert response.status_code == 422
    assert b"Missing columns: name, email" in response.data
    assert count(Invite) == 0


def test_csv_import_refuses_other_files(client, login, make):
    login(client, make.user("manager"))
    response = upload(client, "name,email\nAda,ada@example.com\n", filename="advocates.exe")
    assert b"A .csv file, please." in response.data
    assert count(Invite) == 0


def test_managers_create_groups_and_assign_advocates(client, login, make):
    advocate = make.advocate()
    login(client, make.user("manager"))
    assert client.post("/admin/groups", data={"name": "Healthcare CIOs", "description": "x"}).status_code == 302
    duplicate = client.post("/admin/groups", data={"name": "healthcare cios"})
    assert b"already exists" in duplicate.data
    group_id = db.session.scalar(select(db.text("id FROM groups")))
    response = client.post(f"/admin/advocates/{advocate.id}/groups", data={"group_ids": [str(group_id), "x"]})
    assert response.status_code == 302
    assert [g.name for g in db.session.get(Advocate, advocate.id).groups] == ["Healthcare CIOs"]


# --- password reset ----------------------------------------------------------------------------


def test_reset_answers_the_same_for_unknown_emails(ctx, client, make, jobs):
    user = make.user("advocate")
    known = client.post("/forgot", data={"email": user.email})
    known_flash = flashes(client)
    unknown = client.post("/forgot", data={"email": "nobody@example.com"})
    unknown_flash = flashes(client)
    jobs.join()
    assert (known.status_code, known.headers["Location"]) == (unknown.status_code, unknown.headers["Location"])
    assert known_flash == unknown_flash
    assert [m.to_address for m in outbox("password_reset")] == [user.email]


def test_reset_link_uses_the_configured_host(ctx, client, make, jobs):
    user = make.user("advocate")
    client.post("/forgot", data={"email": user.email}, headers={"Host": "evil.test", "X-Forwarded-Host": "evil.test"})
    jobs.join()
    [message] = outbox("password_reset")
    assert "evil.test" not in message.body_text
    assert link_in(message).startswith("http://vouch.test/reset/")


def test_reset_is_single_use_and_ends_sessions(client, login, make, app, jobs):
    user = make.user("advocate")
    other_device = login(app.test_client(), user)
    client.post("/forgot", data={"email": user.email})
    jobs.join()
    path = link_in(outbox("password_reset")[0]).removeprefix("http://vouch.test")
    assert client.get(path).status_code == 200
    done = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert other_device.get("/").status_code == 302  # its session ended
    assert (
        client.post(path, data={"password": "another passphrase!", "confirm": "another passphrase!"}).status_code == 400
    )
    assert app.test_client().post("/login", data={"email": user.email, "password": TEST_PASSWORD}).status_code == 200
    login(app.test_client(), user, NEW_PASSWORD)


def test_expired_or_wrong_reset_token_is_refused(ctx, client, make, jobs):
    user = make.user("advocate")
    client.post("/forgot", data={"email": user.email})
    jobs.join()
    path = link_in(outbox("password_reset")[0]).removeprefix("http://vouch.test")
    row = db.session.scalars(select(PasswordReset)).one()
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    assert client.get(path).status_code == 400
    assert client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 400
    assert client.get("/reset/not-a-token").status_code == 400


def test_reset_token_is_bound_to_its_account(client, make, login, app, jobs):
    alice = make.user("advocate")
    bob = make.user("advocate")
    client.post("/forgot", data={"email": alice.email})
    jobs.join()
    path = link_in(outbox("password_reset")[0]).removeprefix("http://vouch.test")
    client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    login(app.test_client(), alice, NEW_PASSWORD)
    login(app.test_client(), bob)  # bob's password is untouched


def test_reset_password_must_be_strong(ctx, client, make, jobs):
    user = make.user("advocate")
    client.post("/forgot", data={"email": user.email})
    jobs.join()
    path = link_in(outbox("password_reset")[0]).removeprefix("http://vouch.test")
    response = client.post(path, data={"password": "short", "confirm": "short"})
    assert response.status_code == 200 and b"errors" in response.data
    assert db.session.scalars(select(PasswordReset)).one().used_at is None


# --- sessions ----------------------------------------------------------------------------------


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def test_a_new_session_id_at_every_login(client, make, login):
    user = make.user("advocate")
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by-attacker"
        session["_user_id"] = "attacker-chosen-id"
    planted = session_cookie(client)
    login(client, user)
    with client.session_transaction() as session:
        assert "planted" not in session
        first_id = session["_user_id"]
    assert first_id != "attacker-chosen-id" and session_cookie(client) != planted
    client.post("/logout")
    login(client, user)
    with client.session_transaction() as session:
        assert session["_user_id"] != first_id
    assert count(UserSession) == 1


def test_cookie_replayed_after_logout_is_logged_out(client, make, login, app):
    user = make.user("advocate")
    login(client, user)
    stolen = session_cookie(client)
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_remember_cookie_replayed_after_logout_is_logged_out(ctx, client, make, app):
    user = make.user("advocate")
    client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "remember": "y"})
    remember = client.get_cookie("remember_token")
    assert remember is not None
    client.post("/logout")
    replay = app.test_client()
    replay.set_cookie("remember_token", remember.value)
    assert replay.get("/").status_code == 302


def test_sessions_expire_after_fourteen_days(client, make, login):
    user = make.user("advocate")
    client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "remember": "y"})
    remember = client.get_cookie("remember_token")
    assert remember.expires - utcnow() <= dt.timedelta(days=14, minutes=1)
    assert client.get("/").status_code == 200
    db.session.execute(UserSession.__table__.update().values(created_at=utcnow() - dt.timedelta(days=15)))
    db.session.commit()
    assert client.get("/").status_code == 302


def test_password_change_ends_other_sessions(client, make, login, app):
    user = make.user("advocate")
    login(client, user)
    laptop = login(app.test_client(), user)
    wrong = client.post("/account/password", data={"current_password": "not it at all", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 200 and b"not your current password" in wrong.data
    assert laptop.get("/").status_code == 200
    response = client.post("/account/password", data={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert laptop.get("/").status_code == 302
    login(app.test_client(), user, NEW_PASSWORD)


def test_deactivated_users_lose_their_session(client, make, login):
    user = make.user("advocate")
    login(client, user)
    db.session.get(User, user.id).is_active_user = False
    db.session.commit()
    assert client.get("/").status_code == 302


def test_login_with_wrong_password_or_unknown_email_looks_the_same(ctx, client, make):
    user = make.user("advocate")
    wrong = client.post("/login", data={"email": user.email, "password": "wrong password"})
    unknown = client.post("/login", data={"email": "nobody@example.com", "password": "wrong password"})
    assert wrong.status_code == unknown.status_code == 200

    def page(response, email: str) -> bytes:
        # The session's CSRF token is signed with the current second: two requests may straddle one.
        token = re.sub(rb'("X-CSRFToken": "|name="csrf_token" value=")[^"]*', rb"\1T", response.data)
        return token.replace(email.encode(), b"E")

    assert page(wrong, user.email) == page(unknown, "nobody@example.com")


@pytest.mark.parametrize(
    ("role", "home"), [("advocate", "/"), ("manager", "/admin/"), ("owner", "/admin/"), ("sales", "/references")]
)
def test_each_role_lands_on_its_home(client, make, login, role, home):
    user = make.user(role)
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.headers["Location"] == home
    assert client.get(home).status_code == 200
