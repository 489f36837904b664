"""The JSON API contract of api.md: auth codes, IDOR, error shape, pagination, mass assignment."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub import tokens
from hub.extensions import db
from hub.models import Advocate, AuditEntry, User


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.data[:300])
    assert response.is_json
    error = response.json["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "fields", "request_id", "available_at"}
    return error


# --- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Bearer not-a-real-token-at-all-000000", "Basic dXNlcjpwYXNz", "Token abc"],
)
def test_missing_or_invalid_token_is_401(client, ctx, header):
    headers = {"Authorization": header} if header is not None else {}
    assert_error(client.get("/api/v1/me", headers=headers), 401, "unauthorized")
    assert_error(client.post("/api/v1/advocates", json={}, headers=headers), 401, "unauthorized")


def test_revoked_token_is_401(client, ctx, make):
    owner = make.user("owner")
    row, token = tokens.create_api_token(owner, "temp", owner.id)
    db.session.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    tokens.revoke_api_token(row.id, owner.id)
    db.session.commit()
    assert_error(client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}), 401, "unauthorized")


def test_deactivated_user_token_is_401(client, ctx, make):
    user = make.user("manager")
    token = make.token(user)
    user.is_active_user = False
    db.session.commit()
    assert_error(client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}), 401, "unauthorized")


def test_session_cookie_is_not_api_auth(client, login, make):
    """A logged-in browser is not an API client: no bearer token, no access (no CSRF surface)."""
    login(client, make.user("owner"))
    assert_error(client.get("/api/v1/me"), 401, "unauthorized")


# --- /me -------------------------------------------------------------------------------------------


def test_me_for_an_advocate_and_for_staff(api, make):
    advocate = make.advocate(points=1200, company="Acme")
    body = api(advocate.user).get("/me").json
    assert body["role"] == "advocate" and body["email"] == advocate.user.email
    assert body["advocate"]["tier"] == "silver"
    assert body["advocate"]["balance"] == 1200
    assert body["advocate"]["badges"] == ["tier_silver"]
    manager = make.user("manager")
    body = api(manager).get("/me").json
    assert body == {"id": manager.id, "email": manager.email, "name": manager.name, "role": "manager"}


# --- advocates -------------------------------------------------------------------------------------

PROFILE_KEYS = {
    "id",
    "name",
    "email",
    "company",
    "industry",
    "company_size",
    "region",
    "tier",
    "lifetime_points",
    "balance",
    "badges",
    "asks_last_365",
    "burnout",
    "joined_at",
    "last_activity_at",
}


def test_create_advocate_and_read_it_back(api, make):
    manager_api = api(make.user("manager"))
    response = manager_api.post(
        "/advocates",
        {
            "email": "New.Person@Example.com",
            "name": "New Person",
            "title": "CTO",
            "company": "Acme",
            "industry": "Software",
            "company_size": "51-200",
            "region": "EMEA",
            "groups": ["Beta", "EMEA"],
        },
    )
    assert response.status_code == 201, response.json
    created = response.json
    assert set(created) >= PROFILE_KEYS
    assert created["email"] == "new.person@example.com"
    assert created["groups"] == ["Beta", "EMEA"]
    assert (created["tier"], created["balance"], created["badges"]) == ("bronze", 0, [])
    fetched = manager_api.get(f"/advocates/{created['id']}")
    assert fetched.json == created
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "advocate.create"))


def test_create_advocate_ignores_smuggled_fields(api, make):
    other = make.user("manager")
    response = api(make.user("owner")).post(
        "/advocates",
        {
            "email": "smuggle@example.com",
            "name": "Smuggler",
            "points": 5000,
            "balance": 5000,
            "lifetime_points": 5000,
            "tier": "gold",
            "role": "owner",
            "id": 4242,
            "user_id": other.id,
            "advocate_id": 1,
            "status": "approved",
            "is_erased": True,
        },
    )
    assert response.status_code == 201
    body = response.json
    assert (body["tier"], body["balance"], body["lifetime_points"]) == ("bronze", 0, 0)
    assert body["id"] != 4242
    user = db.session.scalar(select(User).where(User.email == "smuggle@example.com"))
    assert user.role.value == "advocate" and user.id != other.id
    assert db.session.get(Advocate, body["id"]).is_erased is False


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "No Email"}, "email"),
        ({"email": "not-an-email", "name": "X"}, "email"),
        ({"email": "a" * 390 + "@example.com", "name": "X"}, "email"),
        ({"email": "ok@example.com"}, "name"),
        ({"email": "ok@example.com", "name": 5}, "name"),
        ({"email": "ok@example.com", "name": "X" * 121}, "name"),
        ({"email": "ok@example.com", "name": "X", "company_size": "huge"}, "company_size"),
        ({"email": "ok@example.com", "name": "X", "groups": "not-a-list-of-any-kind" * 10}, "groups"),
        ({"email": "ok@example.com", "name": "X", "groups": [1, 2]}, "groups"),
        ({"email": "ok@example.com", "name": "X", "company": ["x"]}, "company"),
        ({"email": 12, "name": "X"}, "email"),
    ],
)
def test_create_advocate_validation(api, make, payload, field):
    client = api(make.user("manager"))
    before = db.session.scalar(select(db.func.count()).select_from(User))
    error = assert_error(client.post("/advocates", payload), 422, "invalid")
    assert field in error["fields"]
    assert all(isinstance(v, list) for v in error["fields"].values())
    assert db.session.scalar(select(db.func.count()).select_from(User)) == before


def test_duplicate_email_is_409(api, make):
    existing = make.advocate()
    response = api(make.user("manager")).post("/advocates", {"email": existing.user.email.upper(), "name": "Dup"})
    assert_error(response, 409, "already_exists")


def test_create_advocate_is_idempotent_with_a_key(api, make):
    manager_api = api(make.user("manager"))
    headers = {"Idempotency-Key": "crm-sync-42"}
    payload = {"email": "once@example.com", "name": "Once"}
    first = manager_api.post("/advocates", payload, headers=headers)
    second = manager_api.post("/advocates", payload, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json == second.json
    assert db.session.scalar(select(db.func.count()).select_from(User).where(User.email == "once@example.com")) == 1


def test_keys_are_per_user(api, make):
    """Two clients using the same key string do not see each other's responses."""
    headers = {"Idempotency-Key": "same-key"}
    a = api(make.user("manager")).post("/advocates", {"email": "a@example.com", "name": "A"}, headers=headers)
    b = api(make.user("owner")).post("/advocates", {"email": "b@example.com", "name": "B"}, headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.json["email"] != b.json["email"]


def test_advocate_reads_own_profile_and_ledger_but_not_others(api, make):
    me = make.advocate(points=30)
    other = make.advocate(points=70)
    client = api(me.user)
    assert client.get(f"/advocates/{me.id}").json["balance"] == 30
    own_ledger = client.get(f"/advocates/{me.id}/ledger").json
    assert own_ledger["balance"] == 30 and own_ledger["total"] == 1
    for path in (
        f"/advocates/{other.id}",
        f"/advocates/{other.id}/ledger",
        "/advocates/999999",
        "/advocates/999999/ledger",
    ):
        assert_error(client.get(path), 404, "not_found")


def test_erased_advocates_are_404(api, make):
    advocate = make.advocate()
    advocate.is_erased = True
    db.session.commit()
    assert_error(api(make.user("owner")).get(f"/advocates/{advocate.id}"), 404, "not_found")


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("advocate", "post", "/advocates"),
        ("sales", "post", "/advocates"),
        ("advocate", "get", "/advocates"),
        ("sales", "get", "/advocates"),
        ("sales", "get", "/advocates/{id}"),
        ("sales", "get", "/advocates/{id}/ledger"),
        ("manager", "post", "/advocates/{id}/adjustments"),
    ],
)
def test_wrong_role_is_403(api, make, role, method, path):
    target = make.advocate()
    client = api(make.user(role))
    response = getattr(client, method)(path.format(id=target.id))
    assert_error(response, 403, "forbidden")


def test_staff_list_with_filters(api, make):
    ada = make.advocate(name="Ada Lovelace", points=1500, groups=("EMEA",), company="Engines")
    make.advocate(name="Grace Hopper", points=100, groups=("NA",))
    make.advocate(name="Alan Turing", points=6000, groups=("EMEA",))
    client = api(make.user("manager"))
    everyone = client.get("/advocates").json
    assert everyone["total"] == 3 and everyone["page"] == 1 and everyone["per_page"] == 50
    assert [a["name"] for a in client.get("/advocates?tier=silver").json["items"]] == ["Ada Lovelace"]
    assert {a["name"] for a in client.get("/advocates?group=emea").json["items"]} == {"Ada Lovelace", "Alan Turing"}
    assert [a["id"] for a in client.get("/advocates?q=ENGINES").json["items"]] == [ada.id]
    assert client.get("/advocates?group=nowhere").json["total"] == 0
    assert_error(client.get("/advocates?tier=platinum"), 422, "invalid")


@pytest.mark.parametrize(
    "query",
    ["page=0", "page=-1", "per_page=0", "per_page=201", "page=abc", "per_page=1.5", "page=99999999999"],
)
def test_pagination_bounds(api, make, query):
    client = api(make.user("manager"))
    error = assert_error(client.get(f"/advocates?{query}"), 422, "invalid")
    assert set(error["fields"]) <= {"page", "per_page"}


def test_pagination_pages(api, make):
    ids = [make.advocate().id for _ in range(5)]
    client = api(make.user("owner"))
    first = client.get("/advocates?per_page=2").json
    third = client.get("/advocates?per_page=2&page=3").json
    beyond = client.get("/advocates?per_page=2&page=9").json
    assert (first["total"], first["per_page"], [a["id"] for a in first["items"]]) == (5, 2, ids[:2])
    assert [a["id"] for a in third["items"]] == ids[4:]
    assert beyond["items"] == [] and beyond["total"] == 5
    assert client.get("/advocates?per_page=200").json["per_page"] == 200


def test_ledger_pagination_and_order(api, make):
    from rewards.ledger import post_entry

    advocate = make.advocate()
    for n in range(3):
        post_entry(advocate.id, 10 + n, kind="earn", source_type="test", source_id=f"e{n}", memo=f"Entry {n}")
    db.session.commit()
    body = api(make.user("manager")).get(f"/advocates/{advocate.id}/ledger?per_page=2").json
    assert body["total"] == 3 and body["balance"] == 33
    assert [e["memo"] for e in body["items"]] == ["Entry 2", "Entry 1"]
    assert set(body["items"][0]) == {"id", "delta", "kind", "source_type", "source_id", "memo", "created_at"}
    assert body["items"][0]["created_at"].endswith("Z")


# --- leaderboard ---------------------------------------------------------------------------------


def test_leaderboard_contract(api, make):
    leader = make.advocate(name="Leader", points=900)
    hidden = make.advocate(name="Hidden", points=500)
    hidden.show_on_leaderboard = False
    db.session.commit()
    others = [make.advocate(points=100 - n) for n in range(3)]
    me = make.advocate(points=5)
    body = api(me.user).get("/leaderboard?limit=2").json
    assert body["period"] == "all"
    assert [(e["rank"], e["advocate_id"], e["display_name"], e["points"]) for e in body["entries"]] == [
        (1, leader.id, "Leader", 900),
        (2, None, "Anonymous advocate", 500),  # issue 13 item 7: no stable id for an opted-out advocate
    ]
    assert set(body["entries"][0]) >= {"rank", "advocate_id", "display_name", "tier", "points"}
    assert body["me"] == {"rank": 6, "points": 5}
    staff_view = api(make.user("sales")).get("/leaderboard?period=month").json
    assert staff_view["me"] is None and staff_view["period"] == "month"
    assert [e["advocate_id"] for e in staff_view["entries"][2:5]] == [o.id for o in others]


def test_leaderboard_group_filter_and_bad_input(api, make):
    emea = make.advocate(points=50, groups=("EMEA",))
    make.advocate(points=80)
    client = api(make.user("manager"))
    assert [e["advocate_id"] for e in client.get("/leaderboard?group=EMEA").json["entries"]] == [emea.id]
    assert_error(client.get("/leaderboard?group=Nowhere"), 404, "not_found")
    for query in ("period=year", "limit=0", "limit=101", "limit=x"):
        assert_error(client.get(f"/leaderboard?{query}"), 422, "invalid")


# --- shape of everything else --------------------------------------------------------------------


def test_unknown_api_paths_and_methods_answer_json(api, make):
    client = api(make.user("owner"))
    assert_error(client.get("/no-such-thing"), 404, "not_found")
    assert_error(client.client.delete("/api/v1/me", headers=client.headers), 405, "method_not_allowed")


def test_openapi_document_is_public_and_lists_the_contract(client, ctx):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"].startswith("3.")
    for path, method in [
        ("/api/v1/me", "get"),
        ("/api/v1/advocates", "post"),
        ("/api/v1/advocates", "get"),
        ("/api/v1/advocates/{advocate_id}", "get"),
        ("/api/v1/advocates/{advocate_id}/ledger", "get"),
        ("/api/v1/advocates/{advocate_id}/adjustments", "post"),
        ("/api/v1/leaderboard", "get"),
    ]:
        assert method in doc["paths"][path], (path, method)
    adjust = doc["paths"]["/api/v1/advocates/{advocate_id}/adjustments"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in adjust["parameters"])
    assert "201" in adjust["responses"]


HOSTILE_BODIES = [
    b"[" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"email": "x@example.com", "name": "\\ud800"}',
    b'{"email": "x@example.com", "name": "x\\u0000y"}',
    b'{"email": "x@example.com", "name": "ok", "groups": ["a\\u0000"]}',
    b'{"email\\u0000": "x@example.com", "name": "ok"}',
    b"\xff\xfe\x00",
    b'{"email": "x@example.com", "name": NaN}',
]


@pytest.mark.parametrize("raw", HOSTILE_BODIES, ids=range(len(HOSTILE_BODIES)))
def test_hostile_json_bodies_are_422_never_500(client, ctx, make, raw):
    token = make.token(make.user("manager"))
    response = client.post(
        "/api/v1/advocates", data=raw, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )
    assert_error(response, 422, "invalid")
    assert db.session.scalar(select(db.func.count()).select_from(Advocate)) == 0


def test_nul_in_a_query_string_is_a_field_error(api, make):
    response = api(make.user("manager")).get("/advocates?q=a%00b&page=1")
    assert_error(response, 422, "invalid")
    assert response.json["error"]["fields"] == {"q": ["Text may not contain NUL characters."]}
    # The key itself may carry the NUL: it is named with the NUL written out.
    response = api(make.user("manager")).get("/reports/program?from%00=2026-01-01")
    assert_error(response, 422, "invalid")
    assert list(response.json["error"]["fields"]) == ["from\\0"]


def test_advocate_lists_take_the_same_queries_for_5_or_25_rows(api, make, client, login, sql_statements):
    """No query per row: the API list and the admin list batch everything a row needs."""
    owner = make.user("owner")
    owner_api = api(owner)
    owner_api.get("/me")  # the token's last-used time is written once, not per request
    login(client, owner)

    def count(path_api: str, path_html: str) -> tuple[int, int]:
        sql_statements.clear()
        assert owner_api.get(path_api).status_code == 200
        api_count = len(sql_statements)
        sql_statements.clear()
        assert client.get(path_html).status_code == 200
        return api_count, len(sql_statements)

    for n in range(5):
        make.advocate(points=1200 + n, groups=("EMEA", "NA"))
    small = count("/advocates?per_page=200", "/admin/advocates")
    for n in range(20):
        make.advocate(points=1200 + n, groups=("EMEA",))
    assert count("/advocates?per_page=200", "/admin/advocates") == small


def test_token_last_use_is_recorded_once_per_window_in_one_query(client, ctx, make, jobs, sql_statements):
    """Auth is one query (token, user and advocate profile together); the last-use touch is a
    job enqueued once per 5-minute window, not on every request."""
    from hub.models import ApiToken

    user = make.user("advocate")
    row, token = tokens.create_api_token(user, "integration", None)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    sql_statements.clear()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    token_reads = [s for s in sql_statements if "FROM api_tokens" in s]
    assert len(token_reads) == 1 and "JOIN users" in token_reads[0] and "advocates" in token_reads[0]
    jobs.join()
    first_use = db.session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == row.id))
    assert first_use is not None
    for _ in range(3):
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    jobs.join()
    db.session.expire_all()
    assert db.session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == row.id)) == first_use


def test_api_rate_limit_answers_429_with_retry_after(app_factory, make):
    application = app_factory(RATELIMIT_ENABLED=True, VOUCH_API_RATE_LIMIT="3/minute")
    with application.app_context():
        token = make.token(make.user("owner"))
        client = application.test_client()
        responses = [client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}) for _ in range(4)]
        db.session.remove()
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert_error(responses[3], 429, "rate_limited")
    assert 1 <= int(responses[3].headers["Retry-After"]) <= 60


def test_api_rate_limit_counts_a_token_however_its_header_is_spelled_and_across_routes(app_factory, make):
    """One count per token (api.md: VOUCH_API_RATE_LIMIT is "requests per API token (or IP)"):
    another spelling of the scheme or spaces, or another route, is the same caller."""
    application = app_factory(RATELIMIT_ENABLED=True, VOUCH_API_RATE_LIMIT="3/minute")
    with application.app_context():
        token = make.token(make.user("owner"))
        other = make.token(make.user("owner"))
        client = application.test_client()
        spelled = [f"Bearer {token}", f"bearer {token}", f"BEARER  {token} "]
        first = [client.get("/api/v1/me", headers={"Authorization": h}).status_code for h in spelled]
        after = [
            client.get("/api/v1/me", headers={"Authorization": f"bEaReR {token}"}),
            client.get("/api/v1/notifications", headers={"Authorization": f"Bearer {token}"}),
        ]
        unaffected = client.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"})
        db.session.remove()
    assert first == [200, 200, 200]
    for response in after:
        assert_error(response, 429, "rate_limited")
    assert unaffected.status_code == 200


def test_made_up_tokens_share_their_senders_address_limit(app_factory, make):
    """A token that resolves to no caller is counted by the client's address, so guessing with a
    new token each time is limited like sending none."""
    application = app_factory(RATELIMIT_ENABLED=True, VOUCH_API_RATE_LIMIT="3/minute")
    with application.app_context():
        real = make.token(make.user("owner"))
        db.session.remove()
    # Outside an app context: each request has its own (and so its own `g`), as when served.
    client = application.test_client()
    guesses = [
        client.get("/api/v1/me", headers={"Authorization": f"Bearer vch_guess_{i:020d}"}).status_code for i in range(4)
    ]
    # The holder of a real token from the same address has a count of their own.
    holder = client.get("/api/v1/me", headers={"Authorization": f"Bearer {real}"})
    assert guesses == [401, 401, 401, 429]
    assert holder.status_code == 200


def test_api_replies_are_not_stored_by_caches(app_factory, make):
    application = app_factory()
    with application.app_context():
        token = make.token(make.user("owner"))
        db.session.remove()
    client = application.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/api/v1/me", "/api/v1/leaderboard", "/api/v1/advocates/999999"):
        assert client.get(path, headers=headers).headers["Cache-Control"] == "no-store", path
    assert client.get("/api/v1/me").headers["Cache-Control"] == "no-store"  # a 401 too
