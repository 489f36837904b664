"""Issue 14, people admin: roles, deactivation and reactivation, the last active owner."""

from __future__ import annotations

from sqlalchemy import select

from hub.extensions import db
from hub.models import AuditEntry, User, UserSession
from rewards import leaderboard
from tests.support.environment import TEST_PASSWORD


def test_owner_lists_users_and_changes_a_role_audited(api, make_user, make_advocate):
    owner = make_user("owner")
    manager = make_user("manager", email="mia.manager@example.com")
    make_advocate()
    client = api(owner)
    listed = client.get("/users", query_string={"q": "mia.manager"}).json
    assert [(u["email"], u["role"], u["is_active"]) for u in listed["items"]] == [
        ("mia.manager@example.com", "manager", True)
    ]
    assert client.get("/users").json["total"] == 3
    changed = client.patch(f"/users/{manager.id}", json={"role": "sales"})
    assert changed.status_code == 200 and changed.json["role"] == "sales"
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.role"))
    assert (audit.actor_id, audit.before["role"], audit.after["role"]) == (owner.id, "manager", "sales")


def test_only_owners_manage_users_and_bad_input_is_422(api, make_user):
    manager = make_user("manager")
    assert api(manager).get("/users").status_code == 403
    client = api(make_user("owner"))
    response = client.patch(f"/users/{manager.id}", json={"role": "emperor"})
    assert response.status_code == 422 and "role" in response.json["error"]["fields"]
    assert client.patch("/users/999999", json={"is_active": False}).status_code == 404
    db.session.expire_all()
    assert db.session.get(User, manager.id).role.value == "manager"


def test_advocates_role_cannot_change(api, make_user, make_advocate):
    ada = make_advocate()
    response = api(make_user("owner")).patch(f"/users/{ada.user_id}", json={"role": "manager"})
    assert response.status_code == 409 and response.json["error"]["code"] == "invalid_state"


def test_staff_cannot_become_an_advocate_and_the_refusal_says_so(api, make_user):
    """Making a manager an advocate was refused with "An advocate's role cannot change", which
    is untrue of a manager."""
    manager = make_user("manager")
    response = api(make_user("owner")).patch(f"/users/{manager.id}", json={"role": "advocate"})
    assert response.status_code == 409 and response.json["error"]["code"] == "invalid_state"
    assert response.json["error"]["message"].startswith("A staff user cannot become an advocate")
    db.session.expire_all()
    assert db.session.get(User, manager.id).role.value == "manager"


def test_the_last_active_owner_cannot_be_demoted_or_deactivated(api, make_user):
    owner = make_user("owner")
    client = api(owner)
    for change in ({"role": "manager"}, {"is_active": False}):
        response = client.patch(f"/users/{owner.id}", json=change)
        assert response.status_code == 409 and response.json["error"]["code"] == "invalid_state", change
    second = make_user("owner")
    assert client.patch(f"/users/{second.id}", json={"is_active": False}).status_code == 200
    assert client.patch(f"/users/{owner.id}", json={"role": "manager"}).status_code == 409  # second is inactive


def test_deactivation_ends_sessions_and_tokens_and_reactivation_restores(app, api, make_user, login):
    owner_client = api(make_user("owner"))
    manager = make_user("manager")
    manager_api = api(manager)
    browser = login(app.test_client(), manager)
    assert browser.get("/admin/").status_code == 200

    assert owner_client.patch(f"/users/{manager.id}", json={"is_active": False}).json["is_active"] is False
    assert manager_api.get("/me").status_code == 401
    assert browser.get("/admin/").status_code == 302  # the open session ended on its next request
    assert db.session.scalar(select(UserSession).where(UserSession.user_id == manager.id)) is None
    relogin = app.test_client().post("/login", data={"email": manager.email, "password": TEST_PASSWORD})
    assert relogin.status_code == 200  # refused: the form again

    assert owner_client.patch(f"/users/{manager.id}", json={"is_active": True}).json["is_active"] is True
    assert manager_api.get("/me").status_code == 200
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(manager.id))).all()
    assert actions.count("user.deactivate") == 1 and actions.count("user.activate") == 1


def test_inactive_advocates_leave_the_leaderboard_and_return(api, make_user, make_advocate):
    top, other = make_advocate(points=500), make_advocate(points=100)
    client = api(make_user("owner"))
    client.patch(f"/users/{top.user_id}", json={"is_active": False})
    assert [r.advocate_id for r in leaderboard.standings("all")[0]] == [other.id]
    leaderboard.rebuild()
    db.session.commit()
    assert [r.advocate_id for r in leaderboard.standings("all")[0]] == [other.id]
    client.patch(f"/users/{top.user_id}", json={"is_active": True})
    assert [r.advocate_id for r in leaderboard.standings("all")[0]] == [top.id, other.id]
    assert top.balance == 500  # history kept


def test_users_page_deactivates_and_refuses_the_last_owner(client, login, make_user):
    owner = make_user("owner")
    manager = make_user("manager", email="page.manager@example.com")
    login(client, owner)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "page.manager@example.com" in page and "Deactivate" in page
    done = client.post(f"/admin/users/{manager.id}", data={"is_active": "0"}, follow_redirects=True)
    assert "deactivated" in done.get_data(as_text=True)
    refused = client.post(f"/admin/users/{owner.id}", data={"role": "manager"}, follow_redirects=True)
    assert "last active owner" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, owner.id).role.value == "owner"
    assert not db.session.get(User, manager.id).is_active_user


def test_a_change_made_from_a_search_returns_to_that_search(client, login, make_user):
    """The forms on a searched Users page once posted without the search, so after each change
    the owner was back at the full list."""
    owner = make_user("owner")
    manager = make_user("manager", email="sought.manager@example.com")
    login(client, owner)
    page = client.get("/admin/users?q=sought").get_data(as_text=True)
    assert f'action="/admin/users/{manager.id}?q=sought"' in page
    done = client.post(f"/admin/users/{manager.id}?q=sought", data={"is_active": "0"})
    assert done.status_code == 302 and done.headers["Location"] == "/admin/users?q=sought"
    refused = client.post(f"/admin/users/{owner.id}?q=sought", data={"is_active": "0"})
    assert refused.status_code == 302 and refused.headers["Location"] == "/admin/users?q=sought"


def test_patch_me_changes_only_what_is_sent_and_is_audited(api, make_advocate, make_user):
    ada = make_advocate(name="Ada Before", company="Engines", region="EMEA")
    client = api(ada.user)
    response = client.patch("/me", json={"name": "Ada After", "title": "CTO", "company_size": "51-200"})
    assert response.status_code == 200
    assert response.json["name"] == "Ada After"
    assert (response.json["advocate"]["title"], response.json["advocate"]["company"]) == ("CTO", "Engines")
    assert response.json["advocate"]["company_size"] == "51-200" and response.json["advocate"]["region"] == "EMEA"
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.profile"))
    assert audit.before == {"company_size": None, "name": "Ada Before", "title": None}
    bad = client.patch("/me", json={"company_size": "huge", "name": ""})
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"company_size", "name"}
    staff = api(make_user("sales"))
    assert staff.patch("/me", json={"name": "Sam Sales"}).json["name"] == "Sam Sales"
    refused = staff.patch("/me", json={"company": "Acme"})
    assert refused.status_code == 422 and "company" in refused.json["error"]["fields"]


def test_staff_correct_an_advocate_and_email_stays_unique(api, make_advocate, make_user):
    ada = make_advocate(email="ada.fix@example.com")
    other = make_advocate(email="taken@example.com")
    manager = api(make_user("manager"))
    fixed = manager.patch(f"/advocates/{ada.id}", json={"email": "Ada.Fixed@Example.com", "groups": "Beta; EMEA"})
    assert fixed.status_code == 200
    assert (fixed.json["email"], fixed.json["groups"]) == ("ada.fixed@example.com", ["Beta", "EMEA"])
    clash = manager.patch(f"/advocates/{ada.id}", json={"email": other.user.email})
    assert clash.status_code == 409 and clash.json["error"]["code"] == "invalid_state"
    assert api(ada.user).patch(f"/advocates/{other.id}", json={"name": "Hijack"}).status_code == 403


def test_inactive_and_erased_advocates_are_not_proposed_for_references(make_advocate, make_user):
    import datetime as dt

    from challenges.references import services as references
    from challenges.references.models import ReferenceRequest
    from hub import people, privacy

    owner = make_user("owner")
    fit = {"industry": "Healthcare", "company_size": "51-200"}
    _, paused, erased = (make_advocate(name=n, **fit) for n in ("Kept Kim", "Paused Pat", "Erased Eve"))
    request = ReferenceRequest(
        requested_by_id=make_user("sales").id,
        prospect_company="Prospect",
        industry="Healthcare",
        company_size="51-200",
        use_case="Analytics",
        stage="evaluation",
        needed_by=dt.date(2030, 1, 1),
        format="phone",
    )
    db.session.add(request)
    people.update_user(paused.user_id, owner.id, is_active=False)
    privacy.erase_advocate(erased.id, owner.id, "self")
    db.session.commit()
    names = [c.name for c in references.find_matches(request.id).candidates]
    assert names == ["Kept Kim"]


def test_staff_see_whether_an_advocate_is_active_the_advocate_does_not(api, make_user, make_advocate):
    ada = make_advocate()
    owner, manager = make_user("owner"), api(make_user("manager"))
    assert manager.get(f"/advocates/{ada.id}").json["is_active"] is True
    assert "is_active" not in api(ada.user).get(f"/advocates/{ada.id}").json
    api(owner).patch(f"/users/{ada.user_id}", json={"is_active": False})
    assert manager.get(f"/advocates/{ada.id}").json["is_active"] is False
    assert [a["is_active"] for a in manager.get("/advocates").json["items"]] == [False]
