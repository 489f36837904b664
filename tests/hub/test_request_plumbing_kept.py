"""Per-request work done once per process (issue 22, the leaderboard's CPU): Talisman's options
and policy text kept per view (hub.security_headers), Flask's `ensure_sync` answer kept per
function (hub.app.VouchFlask), and a board's display rows decoded once per raw value
(rewards.leaderboard._display_row). Each must answer exactly what the uncached code answers."""

from __future__ import annotations

import pytest
from flask import Flask, Response
from flask_talisman import Talisman

import hub.app
from hub.security_headers import KeptTalisman
from rewards import leaderboard
from tests.hub.test_security import assert_security_headers

TALISMAN_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Strict-Transport-Security",
    "Permissions-Policy",
    "Feature-Policy",
    "Document-Policy",
    "X-XSS-Protection",
)


def _plain_twin(kept: KeptTalisman) -> Talisman:
    """flask-talisman's own class with the kept instance's options, never registered on an app."""
    plain = Talisman.__new__(Talisman)
    plain.__dict__.update({k: v for k, v in vars(kept).items() if k not in ("_view_options", "_policy_text")})
    return plain


def _headers(talisman: Talisman) -> dict[str, str | None]:
    response = talisman._set_response_headers(Response())
    return {name: response.headers.get(name) for name in TALISMAN_HEADERS}


@pytest.fixture()
def production(app_factory, monkeypatch) -> Flask:
    monkeypatch.setenv("VOUCH_ENV", "production")
    return app_factory(VOUCH_ENV="production", SECRET_KEY="production-secret-key-for-tests")


@pytest.mark.parametrize(
    "path",
    [
        "/login",  # a page
        "/api/v1/leaderboard?period=all",  # the API route profiled
        "/no-such-page",  # no endpoint
        "/healthz",  # a probe: its own view options (no https redirect)
        "/completions/1/evidence-file",  # sandboxed: its own policy string
    ],
)
@pytest.mark.parametrize("proto", ["https", "http"])
def test_kept_talisman_writes_what_talisman_writes(production, path, proto, monkeypatch):
    # flask-talisman's own class fills its values into a view's `talisman_view_options` in
    # place: the twin gets copies, so this production app's HTTPS redirect stays out of the
    # dicts every later app of the process reads.
    for view in production.view_functions.values():
        if hasattr(view, "talisman_view_options"):
            monkeypatch.setattr(view, "talisman_view_options", dict(view.talisman_view_options))
    kept = production.extensions["talisman"]
    assert isinstance(kept, KeptTalisman)
    plain = _plain_twin(kept)
    for _ in range(3):  # the first request fills the per-view cache, the next ones read it
        with production.test_request_context(path, base_url=f"{proto}://vouch.test"):
            expected_redirect = plain._force_https()
            redirect = kept._force_https()
            assert (redirect is None) == (expected_redirect is None)
            if redirect is not None:
                assert redirect.headers["Location"] == expected_redirect.headers["Location"]
            assert _headers(kept) == _headers(plain)
    with production.test_request_context(path, base_url="https://vouch.test"):
        written = _headers(kept)
    assert written["Content-Security-Policy"], written
    if path.startswith("/completions"):
        assert written["Content-Security-Policy"].startswith("sandbox")
    else:
        assert "frame-ancestors 'none'" in written["Content-Security-Policy"]
    assert written["Strict-Transport-Security"].startswith("max-age=31536000")


def test_a_nonce_is_new_on_every_response(app_factory):
    """With a nonce configured (Vouch sets none), the policy is formatted per request as
    Talisman does, never taken from the kept text."""
    application = app_factory()
    kept = application.extensions["talisman"]
    kept.content_security_policy_nonce_in = ["script-src"]
    client = application.test_client()
    policies = {client.get("/login").headers["Content-Security-Policy"] for _ in range(3)}
    assert len(policies) == 3 and all("'nonce-" in p for p in policies)


def test_api_leaderboard_keeps_its_security_headers(api, make):
    client = api(make.advocate(points=5).user)
    for _ in range(3):
        response = client.get("/leaderboard?period=all&limit=10")
        assert response.status_code == 200
        assert_security_headers(response)


def test_ensure_sync_is_flasks_answer_kept(app_factory, monkeypatch):
    application = app_factory()

    def plain_view() -> str:
        return "ok"

    assert application.ensure_sync(plain_view) is plain_view
    assert application._sync_functions[plain_view] is plain_view
    assert application.ensure_sync(plain_view) is plain_view  # from the dictionary

    class Unhashable:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self) -> str:
            return "ok"

    unhashable = Unhashable()
    assert application.ensure_sync(unhashable) is unhashable

    async def coroutine_view() -> str:
        return "ok"

    try:
        Flask.ensure_sync(application, coroutine_view)
    except RuntimeError:  # Flask without its async extra: the same refusal
        with pytest.raises(RuntimeError):
            application.ensure_sync(coroutine_view)
    else:
        assert application.ensure_sync(coroutine_view) is not coroutine_view

    monkeypatch.setattr(hub.app, "_SYNC_FUNCTIONS_MAX", len(application._sync_functions))
    made_per_call = [lambda: "ok" for _ in range(5)]
    for fn in made_per_call:
        assert application.ensure_sync(fn) is fn
    assert not any(fn in application._sync_functions for fn in made_per_call)


def test_a_display_row_is_decoded_once_per_raw_value(monkeypatch):
    monkeypatch.setattr(leaderboard, "_decoded_rows", {})
    raw = b'{"display_name": "Ada", "tier": "gold", "shown": true}'
    first = leaderboard._display_row(raw)
    assert first == {"display_name": "Ada", "tier": "gold", "shown": True}
    assert leaderboard._display_row(bytes(raw)) is first  # equal bytes: the decoded row kept
    renamed = leaderboard._display_row(b'{"display_name": "Grace", "tier": "gold", "shown": true}')
    assert renamed["display_name"] == "Grace" and first["display_name"] == "Ada"
    monkeypatch.setattr(leaderboard, "_DECODED_ROWS_MAX", 2)
    leaderboard._display_row(b'{"display_name": "Edsger", "tier": "bronze", "shown": false}')
    assert len(leaderboard._decoded_rows) == 1  # emptied when full, then this one kept


def test_a_unit_that_never_used_the_session_makes_none(app_factory):
    """`nothing_to_commit` (the API's unit end) and the request's teardown check for a session
    without building one; a unit that used it is looked at as before."""
    from sqlalchemy import text

    from hub.extensions import db
    from hub.transactions import in_transaction, nothing_to_commit, session_started

    application = app_factory()
    with application.app_context():
        assert not session_started()
        assert nothing_to_commit() and not session_started()
        assert in_transaction(lambda: "read from Redis") == "read from Redis"
        assert not session_started()
        db.session.execute(text("SELECT 1"))
        assert session_started()
        assert db.session().in_transaction() and not nothing_to_commit()
        db.session.rollback()
    with application.test_request_context("/login"):
        application.preprocess_request()
        application.do_teardown_request()
        assert not session_started()


def test_a_production_app_leaves_other_apps_views_their_own_https_choice(production, app_factory):
    """Kept options are a new dict per app and view: a production app serving a view with its
    own options (the sandboxed evidence file) does not make a later, non-production app of the
    same process redirect that view to HTTPS (flask-talisman's own lookup wrote into the view's
    shared options dict in place)."""
    served = production.test_client().get("/completions/1/evidence-file", base_url="http://vouch.test")
    assert served.status_code == 302 and served.headers["Location"].startswith("https://")
    later = app_factory()
    response = later.test_client().get("/completions/1/evidence-file")
    assert not response.headers.get("Location", "").startswith("https://"), response.headers.get("Location")
