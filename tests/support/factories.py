"""Rows the tests need, created through the real services (committed), and clients acting as
one user: `Factory`, `ApiClient` (bearer token, JSON) and `log_in` (session cookie)."""

from __future__ import annotations

import secrets

from flask.testing import FlaskClient

from tests.support.environment import TEST_PASSWORD

ROLES = ("advocate", "manager", "owner", "sales")


class Factory:
    """Creates committed rows; works inside any app context."""

    def __init__(self) -> None:
        self.counter = 0

    def _email(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}-{secrets.token_hex(3)}@example.com"

    def user(
        self,
        role: str = "advocate",
        email: str | None = None,
        name: str | None = None,
        password: str | None = TEST_PASSWORD,
    ):
        from hub import accounts
        from hub.extensions import db

        user = accounts.create_user(
            email or self._email(role), name or f"{role.title()} {self.counter}", role, password
        )
        db.session.commit()
        return user

    def advocate(
        self,
        points: int = 0,
        groups: tuple[str, ...] = (),
        email: str | None = None,
        name: str | None = None,
        **profile,
    ):
        from hub import accounts
        from hub.extensions import db
        from rewards.ledger import post_entry

        self.counter += 1
        advocate = accounts.create_advocate(
            accounts.AdvocateProfile(
                email=email or self._email("adv"),
                name=name or f"Advocate {self.counter}",
                groups=tuple(groups),
                **profile,
            ),
            None,
            TEST_PASSWORD,
        )
        if points:
            post_entry(
                advocate.id,
                points,
                kind="earn",
                source_type="test",
                source_id=f"seed-{advocate.id}",
                memo="Seed points",
            )
        db.session.commit()
        return advocate

    def token(self, user) -> str:
        from hub import tokens
        from hub.extensions import db

        _, plaintext = tokens.create_api_token(user, "test", None)
        db.session.commit()
        return plaintext


class ApiClient:
    """A JSON client acting as one user through a bearer token."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kw):
        return self.client.get(f"/api/v1{path}", headers=self.headers | kw.pop("headers", {}), **kw)

    def post(self, path: str, json=None, **kw):
        return self.client.post(
            f"/api/v1{path}", json=json if json is not None else {}, headers=self.headers | kw.pop("headers", {}), **kw
        )

    def patch(self, path: str, json=None, **kw):
        return self.client.patch(f"/api/v1{path}", json=json or {}, headers=self.headers | kw.pop("headers", {}), **kw)


def log_in(test_client: FlaskClient, user, password: str = TEST_PASSWORD) -> FlaskClient:
    """Log `test_client` in as `user` through the login form; returns the client."""
    response = test_client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.data[:300]
    return test_client


def user_for_role(make: Factory, role: str):
    """A new user of `role`: an advocate (with its profile) or a staff user."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {ROLES} or 'anonymous'")
    return make.advocate().user if role == "advocate" else make.user(role)
