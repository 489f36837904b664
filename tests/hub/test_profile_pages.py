"""Issue 14: everyone's profile page (linked from the header), an advocate's own API tokens,
and owners minting tokens only for staff and integrations."""

from __future__ import annotations

import re

from sqlalchemy import select

from hub.extensions import db
from hub.models import Advocate, ApiToken, User


def test_header_links_the_profile_and_an_advocate_edits_theirs(client, login, make_advocate):
    ada = make_advocate(name="Ada Page", company="Engines")
    login(client, ada.user)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/me/profile"' in home
    page = client.get("/me/profile").get_data(as_text=True)
    assert 'value="Engines"' in page and 'href="/account/password"' in page
    saved = client.post(
        "/me/profile",
        data={"name": "Ada Renamed", "title": "CTO", "company": "Engines", "company_size": "51-200", "region": ""},
    )
    assert saved.status_code == 302
    db.session.expire_all()
    advocate = db.session.get(Advocate, ada.id)
    assert (advocate.user.name, advocate.title, advocate.company_size, advocate.region) == (
        "Ada Renamed",
        "CTO",
        "51-200",
        None,
    )


def test_bad_profile_input_shows_field_errors_and_writes_nothing(client, login, make_advocate):
    ada = make_advocate(name="Ada Keeps")
    login(client, ada.user)
    refused = client.post("/me/profile", data={"name": "", "company": "x" * 161})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "This field is required." in text and "At most 160 characters." in text
    db.session.expire_all()
    assert db.session.get(User, ada.user_id).name == "Ada Keeps"


def test_staff_profile_has_a_name_only(client, login, make_user):
    manager = make_user("manager")
    login(client, manager)
    page = client.get("/me/profile").get_data(as_text=True)
    assert 'name="name"' in page and 'name="company"' not in page and "Personal API tokens" not in page
    assert client.post("/me/profile", data={"name": "Mia M"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, manager.id).name == "Mia M"


def test_advocate_creates_uses_and_revokes_a_personal_token(app, client, login, make_advocate):
    ada = make_advocate()
    login(client, ada.user)
    created = client.post("/me/tokens", data={"token_name": "My script"})
    assert created.status_code == 200
    token = re.search(r'data-testid="new-token">([^<]+)<', created.get_data(as_text=True)).group(1)
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/me", headers=headers).json["id"] == ada.user_id
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == ada.user_id))
    assert client.post(f"/me/tokens/{row.id}/revoke").status_code == 302
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401


def test_advocate_cannot_revoke_someone_elses_token(client, login, make, make_advocate):
    ada, bob = make_advocate(), make_advocate()
    make.token(bob.user)
    bobs = db.session.scalar(select(ApiToken).where(ApiToken.user_id == bob.user_id))
    login(client, ada.user)
    assert client.post(f"/me/tokens/{bobs.id}/revoke").status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, bobs.id).revoked_at is None


def test_owner_mints_tokens_for_staff_not_for_advocates(client, login, make_user, make_advocate):
    ada = make_advocate(email="no.token@example.com")
    manager = make_user("manager", email="yes.token@example.com")
    login(client, make_user("owner"))
    refused = client.post("/admin/settings/tokens", data={"user_email": "no.token@example.com", "name": "x"})
    assert refused.status_code == 422 and "Advocates create their own tokens" in refused.get_data(as_text=True)
    made = client.post("/admin/settings/tokens", data={"user_email": "yes.token@example.com", "name": "ops"})
    assert made.status_code == 200
    assert db.session.scalars(select(ApiToken.user_id)).all() == [manager.id]
    assert ada.user_id != manager.id


def test_owner_cannot_mint_a_token_for_a_deactivated_user(client, login, make_user):
    """The page once showed a new token for a deactivated manager, a token that answers 401."""
    gone = make_user("manager", email="gone.token@example.com")
    gone.is_active_user = False
    db.session.commit()
    login(client, make_user("owner"))
    refused = client.post("/admin/settings/tokens", data={"user_email": "gone.token@example.com", "name": "ops"})
    assert refused.status_code == 422 and "deactivated" in refused.get_data(as_text=True)
    assert db.session.scalars(select(ApiToken.user_id)).all() == []


def test_staff_edit_an_advocates_profile(client, login, make_advocate, make_user):
    ada = make_advocate(name="Ada Staff", email="ada.staff@example.com", company="Old Co")
    taken = make_advocate(email="taken.staff@example.com")
    login(client, make_user("manager"))
    form = client.get(f"/admin/advocates/{ada.id}/edit").get_data(as_text=True)
    assert 'value="Old Co"' in form and 'value="ada.staff@example.com"' in form
    data = {"email": "ada.staff@example.com", "name": "Ada Staff", "company": "New Co", "company_size": "1-50"}
    assert client.post(f"/admin/advocates/{ada.id}/edit", data=data).status_code == 302
    clash = client.post(f"/admin/advocates/{ada.id}/edit", data=data | {"email": taken.user.email})
    assert clash.status_code == 422 and "Another user has this email." in clash.get_data(as_text=True)
    bad = client.post(f"/admin/advocates/{ada.id}/edit", data=data | {"company_size": "huge"})
    assert bad.status_code == 422
    db.session.expire_all()
    advocate = db.session.get(Advocate, ada.id)
    assert (advocate.company, advocate.company_size, advocate.user.email) == ("New Co", "1-50", "ada.staff@example.com")
