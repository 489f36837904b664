"""The per-request plumbing every API request pays, done once (issue 22): the API's rate limit
resolved once per app and route (hub.rate_limits.VouchLimiter), the query string validated once
(hub.api_validation), no session for a token's API request (hub.health), the request metrics'
children looked up once (hub.metrics). Each must do what the uncached code does: the same
counts under the same keys, the same 429, the same validation, the same counters."""

from __future__ import annotations

import hashlib

import pytest
from flask import Flask, request
from prometheus_client import REGISTRY
from pydantic import ValidationError

from hub import metrics
from hub.api_validation import validated_query
from hub.contracts import PageQuery
from hub.errors import in_words
from hub.extensions import db, limiter
from hub.rate_limits import _KEPT
from rewards.contracts import LeaderboardQuery
from tests.hub.test_read_with_rate_limit import _fresh_caches, get_board, limited  # noqa: F401  (fixtures)

ROUTES = ("/api/v1/me", "/api/v1/advocates")


def _limited(app_factory, make, limit: str = "3/minute") -> tuple[Flask, str, str]:
    """An app with the API limit on (memory storage) and two owners' tokens."""
    app = app_factory(RATELIMIT_ENABLED=True, VOUCH_API_RATE_LIMIT=limit)
    with app.app_context():
        first, second = make.token(make.user("owner")), make.token(make.user("owner"))
        db.session.remove()
    return app, first, second


def _token_key(token: str) -> str:
    """The rate limit's key of a bearer token: hub.endpoints._token_or_ip, written out here."""
    return "tok:" + hashlib.sha256(token.encode()).hexdigest()[:16]


def _run(app: Flask, first: str, second: str) -> tuple[list[tuple], dict[str, int]]:
    """One fixed sequence of calls: each reply's status, body and Retry-After, and the storage's
    counters with the tokens' keys named by role."""
    client = app.test_client()
    calls = [(first, ROUTES[0])] * 4 + [(second, ROUTES[0])] * 2 + [(first, ROUTES[1])] * 4
    replies = []
    for token, path in calls:
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        retry_after = response.headers.get("Retry-After")
        body = response.get_json() if response.status_code == 429 else None
        if body is not None:  # the wait in words depends on when the minute's window began
            assert body["error"]["message"] == f"Too many attempts. Try again in {in_words(int(retry_after or 0))}."
            body["error"]["message"] = "Too many attempts. Try again in <Retry-After>."
        replies.append((response.status_code, body, retry_after is not None and 1 <= int(retry_after) <= 60))
    counters = {
        key.replace(_token_key(first), "FIRST").replace(_token_key(second), "SECOND"): count
        for key, count in limiter._storage.storage.items()  # type: ignore[union-attr]
    }
    return replies, counters


def test_the_kept_limit_counts_and_refuses_as_flask_limiter_does(app_factory, make, monkeypatch):
    kept_app, first, second = _limited(app_factory, make)
    kept = _run(kept_app, first, second)
    assert set(kept_app.extensions[_KEPT]) == {"api.me", "api.list_advocates"}  # the kept path ran

    monkeypatch.setattr(limiter, "_per_app", {})  # Flask-Limiter's own check for every route
    plain_app, first, second = _limited(app_factory, make)
    plain = _run(plain_app, first, second)
    assert _KEPT not in plain_app.extensions

    assert kept == plain
    statuses = [status for status, _, _ in kept[0]]
    # per token over every API route: the first token's fourth call refused, and on the other
    # route too; the second token's own count untouched
    assert statuses == [200, 200, 200, 429, 200, 200, 429, 429, 429, 429]
    assert kept[0][3][1]["error"]["code"] == "rate_limited" and kept[0][3][2]
    assert sorted((("FIRST" in key), count) for key, count in kept[1].items()) == [(False, 2), (True, 8)]
    assert all("/api/" in key for key in kept[1])


def test_the_limit_is_resolved_once_per_route(app_factory, make, monkeypatch):
    app, token, _ = _limited(app_factory, make, "100/minute")
    resolved: list[str | None] = []
    original = limiter.limit_manager.resolve_limits

    def counted(app, endpoint=None, *args, **kwargs):
        resolved.append(endpoint)
        return original(app, endpoint, *args, **kwargs)

    monkeypatch.setattr(limiter.limit_manager, "resolve_limits", counted)
    client = app.test_client()
    for _ in range(5):
        for path in ROUTES:
            assert client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert sorted(resolved) == ["api.list_advocates", "api.me"]


def test_a_changed_limit_string_applies_at_the_next_request(app_factory, make):
    app, token, _ = _limited(app_factory, make, "100/minute")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert [client.get("/api/v1/me", headers=headers).status_code for _ in range(3)] == [200] * 3
    app.config["VOUCH_API_RATE_LIMIT"] = "1/minute"  # a new limit: a new counter, as Flask-Limiter keys it
    assert [client.get("/api/v1/me", headers=headers).status_code for _ in range(2)] == [200, 429]


def test_application_limits_given_later_are_counted_too(app_factory, make):
    """The one Limiter is shared by every app in the process: an application limit another app
    sets after a route's limits were kept is applied to that route as Flask-Limiter applies it."""
    manager = limiter.limit_manager
    saved = manager._application_limits
    try:
        app, token, _ = _limited(app_factory, make, "100/minute")
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/me", headers=headers).status_code == 200  # resolved and kept
        app_factory(RATELIMIT_ENABLED=True, RATELIMIT_APPLICATION="2/minute")
        assert [client.get("/api/v1/me", headers=headers).status_code for _ in range(3)] == [200, 200, 429]
    finally:
        manager.set_application_limits(saved)


def test_the_limiters_own_response_hooks_run_when_they_have_work(app_factory, make):
    """Flask-Limiter's after-request and teardown hooks are replaced on each app; with the
    X-RateLimit headers configured its own after-request hook still writes them."""
    from functools import partial

    from hub.rate_limits import _INJECT_HEADERS, _RELEASE_CONTEXT

    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_HEADERS_ENABLED=True, VOUCH_API_RATE_LIMIT="3/minute")
    hooks, teardowns = app.after_request_funcs[None], app.teardown_request_funcs[None]
    assert not [h for h in hooks if isinstance(h, partial) and h.func is _INJECT_HEADERS]
    assert not [h for h in teardowns if getattr(h, "__func__", None) is _RELEASE_CONTEXT]
    assert limiter._after_request in hooks and limiter._release_state in teardowns
    with app.app_context():
        token = make.token(make.user("owner"))
        db.session.remove()
    client = app.test_client()
    replies = [client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}) for _ in range(4)]
    assert [r.headers.get("X-RateLimit-Limit") for r in replies] == ["3"] * 4
    assert [r.headers.get("X-RateLimit-Remaining") for r in replies] == ["2", "1", "0", "0"]
    assert [r.status_code for r in replies] == [200, 200, 200, 429]


# --- the query string validated once ------------------------------------------------------------


def test_a_query_is_validated_once_per_request_and_model(app):
    with app.test_request_context("/api/v1/leaderboard?period=month&limit=5"):
        first = validated_query(LeaderboardQuery)
        assert validated_query(LeaderboardQuery) is first
        assert (first.period, first.limit, first.group) == ("month", 5, None)
        other = validated_query(PageQuery)  # another model: its own validation
        assert (other.page, other.per_page) == (1, 50)
        assert validated_query(LeaderboardQuery) is not first  # kept per model: validated again
        assert validated_query(LeaderboardQuery) == first
    with app.test_request_context("/api/v1/leaderboard?period=all"):
        assert validated_query(LeaderboardQuery).period == "all"  # a new request: its own


def test_an_invalid_query_fails_the_same_way_every_time(app):
    with app.test_request_context("/api/v1/leaderboard?period=all&period=week"):
        for _ in range(2):
            with pytest.raises(ValidationError) as caught:
                validated_query(LeaderboardQuery)
            assert caught.value.errors()[0]["loc"] == ("period",)


def test_replaced_query_arguments_are_validated_again(app):
    from werkzeug.datastructures import ImmutableMultiDict

    with app.test_request_context("/api/v1/leaderboard?limit=7"):
        assert validated_query(LeaderboardQuery).limit == 7
        request.args = ImmutableMultiDict([("limit", "9")])  # as hub.app drops a NUL parameter
        assert validated_query(LeaderboardQuery).limit == 9


@pytest.mark.services
def test_the_planned_board_read_and_the_route_share_one_validation(limited, make, monkeypatch):  # noqa: F811
    """GET /leaderboard's planner (before the rate limit) and spectree both need the query: one
    validation between them (was two)."""
    token = make.token(make.advocate(points=10).user)
    assert get_board(limited, token).status_code == 200  # the caller kept: the planner plans
    calls: list[object] = []
    original = LeaderboardQuery.model_validate

    def counted(value, *args, **kwargs):
        calls.append(value)
        return original(value, *args, **kwargs)

    monkeypatch.setattr(LeaderboardQuery, "model_validate", counted)
    reply = get_board(limited, token, period="month")
    assert reply.status_code == 200 and reply.get_json()["period"] == "month"
    assert calls == [{"limit": "10", "period": "month"}]
    refused = get_board(limited, token, period="decade")
    assert refused.status_code == 422 and "period" in refused.get_json()["error"]["fields"]


def test_a_header_model_is_still_validated_and_no_dict_is_built_without_one(app, monkeypatch):
    from hub.endpoints import IdempotencyHeaders, api_spec

    plugin = api_spec.backend
    with app.test_request_context("/api/v1/advocates", method="POST", headers={"Idempotency-Key": "abc"}):
        plugin.request_validation(request, None, None, None, IdempotencyHeaders, None)
        assert request.context.headers.idempotency_key == "abc"
        assert request.context.query is None and request.context.cookies is None
    too_long = {"Idempotency-Key": "k" * 256}
    with app.test_request_context("/api/v1/advocates", method="POST", headers=too_long), pytest.raises(ValidationError):
        plugin.request_validation(request, None, None, None, IdempotencyHeaders, None)
    import hub.api_validation

    def not_read(*_args, **_kwargs):
        raise AssertionError("the cookies were copied for a route without a cookie model")

    monkeypatch.setattr(hub.api_validation, "get_multidict_items", not_read)
    with app.test_request_context("/api/v1/me", headers={"Cookie": "a=1"}):
        plugin.request_validation(request, None, None, None, None, None)
        assert request.context == (None, None, None, None, None)


# --- no session for a token's API request --------------------------------------------------------


def test_an_api_request_without_cookies_has_no_session(app, client, ctx, make):
    token = make.token(make.user("owner"))
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.vary
    with app.test_request_context("/api/v1/me"):
        assert app.session_interface.open_session(app, request) is None


def test_an_api_request_with_a_cookie_opens_the_session_as_before(app):
    from flask.sessions import SecureCookieSessionInterface

    signed = SecureCookieSessionInterface().get_signing_serializer(app).dumps({"who": "someone"})
    cookie = {"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={signed}"}
    with app.test_request_context("/api/v1/me", headers=cookie):
        assert dict(app.session_interface.open_session(app, request)) == {"who": "someone"}
    with app.test_request_context("/api/v1/me", headers={"Cookie": "other=1"}):
        opened = app.session_interface.open_session(app, request)
        assert opened is not None and dict(opened) == {}


# --- the request metrics -------------------------------------------------------------------------


def _counted(endpoint: str, method: str, status: str) -> tuple[float, float]:
    labels = {"endpoint": endpoint, "method": method, "status": status}
    return (
        REGISTRY.get_sample_value("vouch_http_requests_total", labels) or 0.0,
        REGISTRY.get_sample_value("vouch_http_request_duration_seconds_count", labels) or 0.0,
    )


@pytest.mark.parametrize("kept", [True, False])
def test_request_metrics_count_every_request(monkeypatch, kept):
    if not kept:
        monkeypatch.setattr(metrics, "_REQUEST_CHILDREN_MAX", 0)  # past the bound: looked up each time
    endpoint = f"test.metrics_{kept}"
    before = _counted(endpoint, "GET", "204")
    for _ in range(3):
        metrics.observe_request(endpoint, "GET", 204, 0.002)
    metrics.observe_request(endpoint, "GET", 500, 0.002)
    assert _counted(endpoint, "GET", "204") == (before[0] + 3, before[1] + 3)
    le = REGISTRY.get_sample_value(
        "vouch_http_request_duration_seconds_bucket",
        {"endpoint": endpoint, "method": "GET", "status": "204", "le": "0.005"},
    )
    assert le == before[1] + 3
    assert ((endpoint, "GET", 204) in metrics._REQUEST_CHILDREN) is kept


# --- replies written straight from their model -------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        lambda: LeaderboardQuery(period="month"),  # an instance of the status's model
        lambda: (LeaderboardQuery(limit=3), 201),  # with its status
        lambda: ({"period": "all", "group": None, "limit": 10}, 200),  # a dict: validated by spectree
        lambda: ({"period": "month", "limit": 5}, 201),  # a dict with a status
    ],
)
def test_a_reply_is_written_as_spectree_writes_it(app, reply):
    from spectree import Response as Replies
    from spectree.plugins.flask_plugin import FlaskPlugin

    from hub.endpoints import api_spec

    replies = Replies(HTTP_200=LeaderboardQuery, HTTP_201=LeaderboardQuery)
    replies.bind_model_adapter(api_spec.backend.model_adapter)  # as spectree does when registering a route
    with app.test_request_context("/api/v1/leaderboard"):
        ours, our_error = api_spec.backend.validate_response(reply(), replies, False, False)
        theirs, their_error = FlaskPlugin.validate_response(api_spec.backend, reply(), replies, False, False)
    assert (our_error, their_error) == (None, None)
    assert ours.get_data() == theirs.get_data() and ours.status_code == theirs.status_code
    assert list(ours.headers) == list(theirs.headers)
