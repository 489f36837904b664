"""Issue 13 item 1 on PostgreSQL (where a value past `integer` or a year past 9999 is a driver or
date error, not a quiet miss as on SQLite): each failing input of the issue answers 404 or 422 —
and the property of issue 12 (random Unicode in text fields) holds against PostgreSQL too."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.environment import TEST_PASSWORD

pytestmark = pytest.mark.services


@pytest.fixture()
def as_role(pg_ctx, make):
    clients = {}

    def client_for(role: str):
        if role not in clients:
            user = make.advocate().user if role == "advocate" else make.user(role)
            clients[role] = (pg_ctx.test_client(), {"Authorization": f"Bearer {make.token(user)}"})
        return clients[role]

    return client_for


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("owner", "/api/v1/rewards/2147483648", 404),
        ("owner", "/api/v1/challenges/2147483648", 404),
        ("owner", "/api/v1/advocates/99999999999", 404),
        ("advocate", "/api/v1/leaderboard?group=2147483648", 422),
        ("advocate", "/api/v1/leaderboard?group=99999999999", 422),
        ("owner", "/api/v1/reports/program?to=9999-12-31", 422),
        ("owner", "/api/v1/completions?challenge_id=2147483648", 422),
        ("owner", "/api/v1/redemptions?reward_id=99999999999", 422),
    ],
)
def test_values_past_their_type_are_4xx_on_postgresql(as_role, role, path, status):
    client, headers = as_role(role)
    response = client.get(path, headers=headers)
    assert response.status_code == status, (path, response.status_code, response.get_data(as_text=True)[:300])


@pytest.mark.parametrize(
    "body",
    [
        {"title": "t", "type": "custom", "points": 10, "ends_at": "9999-12-31T23:59:59-12:00"},
        {"title": "t", "type": "custom", "points": 10, "starts_at": "9999-12-31T23:59:59-12:00"},
        {"title": "t", "type": "custom", "points": 2147483648},
    ],
)
def test_a_challenge_past_its_types_is_422_on_postgresql(as_role, body):
    client, headers = as_role("manager")
    assert client.post("/api/v1/challenges", json=body, headers=headers).status_code == 422


def test_a_closed_deal_in_year_9999_is_422_on_postgresql(as_role):
    client, headers = as_role("owner")
    body = {
        "external_id": "x1",
        "name": "Deal",
        "account": "Acme",
        "amount": "10",
        "currency": "USD",
        "stage": "Won",
        "created_date": "2026-01-05",
        "is_closed": True,
        "close_date": "9999-12-31",
    }
    assert client.post("/api/v1/crm/opportunities", json=body, headers=headers).status_code == 422


@pytest.mark.parametrize("url", ["/leaderboard?group=99999999999", "/leaderboard?group=2147483648&page=999"])
def test_the_leaderboard_page_explains_an_id_past_integer_on_postgresql(pg_ctx, make, url):
    advocate = make.advocate(points=5)
    client = pg_ctx.test_client()
    assert client.post("/login", data={"email": advocate.user.email, "password": TEST_PASSWORD}).status_code == 302
    response = client.get(url)
    assert response.status_code == 200
    assert "An id is at most 2,147,483,647" in response.get_data(as_text=True)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(name=st.text(max_size=60), company=st.text(max_size=60))
def test_random_unicode_advocates_on_postgresql_are_2xx_or_422(as_role, name, company):
    client, headers = as_role("manager")
    response = client.post(
        "/api/v1/advocates",
        json={"email": f"u{abs(hash((name, company)))}@example.org", "name": name, "company": company},
        headers=headers,
    )
    assert response.status_code in {201, 409, 422}, (name, company, response.status_code)
