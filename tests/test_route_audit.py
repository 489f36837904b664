"""The route audit: every endpoint declares the roles it allows, and every other role is refused.

It walks `app.url_map`, so endpoints added later (challenges, rewards catalog, community,
references …) are audited without touching this file. URL parameters are filled with 1
(or the first choice of an any() part).
HTML views declare roles with `hub.auth.roles_required` (or admin's `staff`/`owner_only`),
JSON routes with `hub.endpoints.endpoint(roles=…)`; views anyone may reach are marked `public`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub import accounts
from hub.extensions import db
from hub.models import Role

IGNORED_METHODS = {"HEAD", "OPTIONS"}
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    url: str
    is_api: bool
    public: bool
    allowed: frozenset[Role] | None


def sample_values(rule) -> dict:
    """A valid value for each URL part: 1 for numbers and free text, the first choice of any()."""
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        choices = getattr(converter, "items", None)
        values[name] = sorted(choices)[0] if choices else 1
    return values


def audited_routes(app: Flask) -> list[Route]:
    adapter = app.url_map.bind("localhost")
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        view = app.view_functions[rule.endpoint]
        allowed = getattr(view, "allowed_roles", None)  # set by roles_required, staff, owner_only, endpoint
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            url = adapter.build(rule.endpoint, sample_values(rule), method=method)
            routes.append(
                Route(
                    rule.endpoint,
                    method,
                    url,
                    rule.rule.startswith("/api/"),
                    bool(getattr(view, "public", False)),
                    frozenset(allowed) if allowed else None,
                )
            )
    return routes


def test_every_endpoint_declares_its_roles(app):
    missing = [f"{r.method} {r.url} ({r.endpoint})" for r in audited_routes(app) if not r.public and not r.allowed]
    assert not missing, "endpoints without an explicit role set:\n" + "\n".join(missing)
    for route in audited_routes(app):
        if route.allowed:
            assert route.allowed <= set(Role), route


def test_public_endpoints_are_only_the_expected_kinds(app):
    """A `public` mark on a staff page or a writing API route would be a hole."""
    public = [r for r in audited_routes(app) if r.public]
    assert {
        "hub.login",
        "hub.forgot_password",
        "hub.reset_password",
        "hub.accept_invite",
        "openapi.openapi_document",
    } <= {r.endpoint for r in public}
    for route in public:
        assert not route.url.startswith("/admin"), route
        assert not (route.is_api and route.method != "GET"), route
        assert route.allowed is None, f"{route.endpoint} is public and also declares roles"


@pytest.fixture()
def callers(app: Flask, ctx, make) -> dict[str, object]:
    """One user per role (advocates get an advocate profile) plus their API tokens."""
    users = {role: make.user(role.value) for role in Role}
    # Every route is called with id 1: token 1 must not be the advocate's own, or their
    # "revoke my token" page (/me/tokens/1/revoke) would end the advocate's API calls.
    tokens = {role: make.token(user) for role, user in reversed(list(users.items()))}
    return {"users": users, "tokens": tokens}


def html_client_for(app: Flask, user) -> FlaskClient:
    """A browser session for `user` without going through /login (fast, and independent of
    any earlier request in the loop logging the session out)."""
    client = app.test_client()
    sid = accounts.start_session(user, "127.0.0.1", "route-audit")
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = sid
        session["_fresh"] = True
    return client


def call(app: Flask, route: Route, caller: str | Role, callers: dict) -> int:
    if caller == ANONYMOUS:
        client, headers = app.test_client(), {}
    elif route.is_api:
        client, headers = app.test_client(), {"Authorization": f"Bearer {callers['tokens'][caller]}"}
    else:
        client, headers = html_client_for(app, callers["users"][caller]), {}
    kwargs = {"json": {}} if route.is_api and route.method != "GET" else {}
    response = client.open(route.url, method=route.method, headers=headers, **kwargs)
    if caller == ANONYMOUS and not route.is_api and response.status_code == 302:
        assert response.headers["Location"].startswith("/login"), (route, response.headers["Location"])
    db.session.rollback()
    return response.status_code


def test_every_other_role_is_refused(app, callers):
    wrong = []
    for route in audited_routes(app):
        if route.public:
            continue
        for role in set(Role) - route.allowed:
            status = call(app, route, role, callers)
            if status != 403:
                wrong.append(f"{route.method} {route.url} as {role.value}: {status}, expected 403")
        status = call(app, route, ANONYMOUS, callers)
        expected = 401 if route.is_api else 302
        if status != expected:
            wrong.append(f"{route.method} {route.url} anonymously: {status}, expected {expected}")
    assert not wrong, "\n".join(wrong)


def test_allowed_roles_get_past_the_gate(app, callers):
    """The declared set is the real one: an allowed role is never refused by the role gate
    (the row with id 1 may not exist, so 404 is fine; 401/403 are not)."""
    wrong = []
    for route in audited_routes(app):
        if route.public:
            continue
        for role in route.allowed:
            status = call(app, route, role, callers)
            if status in (401, 403):
                wrong.append(f"{route.method} {route.url} as {role.value}: {status}")
    assert not wrong, "\n".join(wrong)
