"""Issue 12 items 1, 5, 6 and issue 13 items 1, 7 through the real API routes: each failing
input of the issues answers with its right value, and a refused one writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub.extensions import db
from hub.models import User


def assert_invalid(response, field: str) -> list[str]:
    assert response.status_code == 422, (response.status_code, response.data[:300])
    error = response.json["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    return error["fields"][field]


def users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


@pytest.mark.parametrize("name", ["\u200b\u200b\u200b", "Eve\u0007", "\u202e", "Line\nbreak"])
def test_a_name_that_is_not_text_is_refused_and_writes_nothing(api, make, name):
    client = api(make.user("manager"))
    before = users()
    assert_invalid(client.post("/advocates", {"email": "zw@example.org", "name": name}), "name")
    assert users() == before


def test_an_idna_address_is_stored_with_its_ascii_domain(api, make):
    created = api(make.user("manager")).post("/advocates", {"email": "Ana@Bücher.example", "name": "Ana"})
    assert created.status_code == 201, created.json
    assert created.json["email"] == "ana@xn--bcher-kva.example"


@pytest.mark.parametrize("q", ["_", "%", "\\"])
def test_search_wildcards_are_literal(api, make, q):
    make.advocate(name="Ada Lovelace")
    make.advocate(name="Grace Hopper")
    found = api(make.user("manager")).get("/advocates", query_string={"q": q})
    assert found.status_code == 200
    assert found.json["total"] == 0


def test_a_search_with_an_underscore_finds_the_underscore(api, make):
    make.advocate(name="Ada Lovelace", email="ada_l@example.org")
    make.advocate(name="Grace Hopper", email="gracel@example.org")
    found = api(make.user("manager")).get("/advocates", query_string={"q": "_l@"})
    assert [item["name"] for item in found.json["items"]] == ["Ada Lovelace"]


def test_a_community_search_is_literal_too(api, make):
    advocate = make.advocate()
    client = api(advocate.user)
    assert client.post("/questions", {"title": "How to export?", "body": "Which menu?"}).status_code == 201
    assert client.get("/questions", query_string={"q": "%"}).json["total"] == 0
    assert client.get("/questions", query_string={"q": "export"}).json["total"] == 1


OPPORTUNITY = {
    "external_id": "opp-1",
    "name": "Deal",
    "account": "Acme",
    "currency": "USD",
    "stage": "Proposal",
    "created_date": "2026-01-10",
}


@pytest.mark.parametrize("amount", ["12500,50", "1,5", "1,2,3,4"])
def test_a_european_amount_is_refused_not_multiplied(api, make, amount):
    response = api(make.user("owner")).post("/crm/opportunities", OPPORTUNITY | {"amount": amount})
    assert assert_invalid(response, "amount")[0].startswith("Use a point for decimals")


def test_real_thousands_groups_keep_their_value(api, make):
    response = api(make.user("owner")).post("/crm/opportunities", OPPORTUNITY | {"amount": "12,500.50"})
    assert response.status_code == 201, response.json
    assert response.json["amount"] == "12500.50"


def test_a_closed_deal_in_year_9999_is_refused(api, make):
    response = api(make.user("owner")).post(
        "/crm/opportunities", OPPORTUNITY | {"amount": "10", "is_closed": True, "close_date": "9999-12-31"}
    )
    assert assert_invalid(response, "close_date") == ["A date from 1900-01-01 to 2999-12-31."]


@pytest.mark.parametrize("field", ["ends_at", "starts_at"])
def test_challenge_times_past_year_9999_utc_are_refused(api, make, field):
    client = api(make.user("manager"))
    body = {"title": "t", "type": "custom", "points": 10, field: "9999-12-31T23:59:59-12:00"}
    assert assert_invalid(client.post("/challenges", body), field) == ["A time from 1900-01-01 to 2999-12-31 (UTC)."]
    created = client.post("/challenges", {"title": "t", "type": "custom", "points": 10})
    assert created.status_code == 201, created.json
    patched = client.patch(f"/challenges/{created.json['id']}", {field: "9999-12-31T23:59:59-12:00"})
    assert_invalid(patched, field)


@pytest.mark.parametrize("group", ["2147483648", "99999999999"])
def test_a_group_id_past_integer_is_refused(api, make, group):
    assert_invalid(api(make.advocate().user).get("/leaderboard", query_string={"group": group}), "group")


def test_a_report_to_year_9999_is_refused(api, make):
    response = api(make.user("owner")).get("/reports/program", query_string={"to": "9999-12-31"})
    assert_invalid(response, "to")


@pytest.mark.parametrize("path", ["/rewards/2147483648", "/advocates/99999999999", "/challenges/2147483648"])
def test_an_id_past_integer_is_not_found(api, make, path):
    response = api(make.user("owner")).get(path)
    assert response.status_code == 404, (path, response.status_code)
    assert response.json["error"]["code"] == "not_found"


def test_opted_out_advocates_carry_no_id_to_other_advocates(api, make):
    hidden = make.advocate(points=500, name="Hidden Hana")
    hidden.show_on_leaderboard = False
    shown = make.advocate(points=300, name="Shown Sam")
    db.session.commit()
    board = api(shown.user).get("/leaderboard").json["entries"]
    assert [(e["display_name"], e["advocate_id"]) for e in board] == [
        ("Anonymous advocate", None),
        ("Shown Sam", shown.id),
    ]
    own = api(hidden.user).get("/leaderboard").json["entries"]
    assert own[0]["advocate_id"] == hidden.id and own[0]["is_me"]
    staff = api(make.user("manager")).get("/leaderboard").json["entries"]
    assert staff[0]["advocate_id"] == hidden.id
