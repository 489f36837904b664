"""Security baseline (reliability.md 29–37, 40, 42, 43, 46): rate limits, redirects, cookies, hashing,
CSRF, headers, oversized input, the plain 500 page and production configuration."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from hub.config import ConfigError, load_config
from hub.extensions import db
from hub.models import Advocate, Invite, User
from hub.security import _PROFILES, safe_next_url
from rewards.models import LedgerEntry
from tests.support.environment import TEST_PASSWORD

# --- 29: rate limits ---------------------------------------------------------------------------


@pytest.fixture()
def limited(app_factory, make):
    """An app with rate limits on (memory storage), and one advocate account in it."""
    application = app_factory(RATELIMIT_ENABLED=True)
    with application.app_context():
        user = make.user("advocate")
        yield application, user
        db.session.remove()


def test_wrong_passwords_for_one_account_are_limited_across_ips(limited):
    application, user = limited
    client = application.test_client()
    statuses = []
    for n in range(100):
        ip = f"10.{n // 250}.{n % 250}.7"
        response = client.post(
            "/login",
            data={"email": user.email, "password": f"wrong-{n}"},
            environ_base={"REMOTE_ADDR": ip},
            headers={"X-Forwarded-For": f"203.0.113.{n % 250}"},
        )
        statuses.append(response.status_code)
    assert statuses[:10] == [200] * 10
    assert set(statuses[10:]) == {429}
    # The account stays locked for the window, even with the right password from a fresh IP.
    locked = client.post(
        "/login", data={"email": user.email, "password": TEST_PASSWORD}, environ_base={"REMOTE_ADDR": "192.0.2.99"}
    )
    assert locked.status_code == 429
    assert b"Too many attempts" in locked.data


def test_one_ip_is_limited_across_accounts_and_spoofed_headers(limited):
    application, _ = limited
    client = application.test_client()
    statuses = [
        client.post(
            "/login",
            data={"email": f"person{n}@example.com", "password": "wrong password"},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        ).status_code
        for n in range(35)
    ]
    assert statuses[:30] == [200] * 30
    assert set(statuses[30:]) == {429}
    other_ip = client.post(
        "/login",
        data={"email": "someone@example.com", "password": "wrong password"},
        environ_base={"REMOTE_ADDR": "192.0.2.50"},
    )
    assert other_ip.status_code == 200


def test_successful_logins_do_not_count_against_the_account(limited):
    application, user = limited
    for n in range(12):
        client = application.test_client()
        response = client.post(
            "/login", data={"email": user.email, "password": TEST_PASSWORD}, environ_base={"REMOTE_ADDR": f"10.9.0.{n}"}
        )
        assert response.status_code == 302


# --- 37: open redirects ------------------------------------------------------------------------

HOSTILE_NEXT = [
    "//evil.com",
    "/\\evil.com",
    "https:evil.com",
    "\x08//evil.com",
    "//host@evil.com",
    "https://evil.com",
    "http://evil.com/",
    "javascript:alert(1)",
    "///evil.com",
    "/\t/evil.com",
    "\\\\evil.com",
    "evil.com",
    " //evil.com",
    "/%5Cevil.com",
    "//evil.com/%2F..",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_hostile_next_goes_to_the_default_page(client, make_user, target):
    user = make_user("advocate")
    response = client.post(
        "/login", query_string={"next": target}, data={"email": user.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] in ("/", safe_next_url(target, "/"))
    assert "evil" not in response.headers["Location"].replace("%5Cevil", "")


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_safe_next_url_rejects(target):
    result = safe_next_url(target, "/home")
    assert result == "/home" or (result.startswith("/") and not result.startswith("//") and "\\" not in result)
    if target in ("//evil.com", "/\\evil.com", "https:evil.com", "\x08//evil.com", "//host@evil.com"):
        assert result == "/home"


def test_a_local_next_is_followed(client, make_user):
    user = make_user("advocate")
    response = client.post(
        "/login",
        query_string={"next": "/leaderboard?period=month"},
        data={"email": user.email, "password": TEST_PASSWORD},
    )
    assert response.headers["Location"] == "/leaderboard?period=month"


# --- 35: cookies -------------------------------------------------------------------------------


def cookie_headers(response, name: str) -> list[str]:
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]


def assert_flags(header: str, secure: bool) -> None:
    parts = {p.strip().split("=")[0].lower() for p in header.split(";")}
    assert "httponly" in parts, header
    assert "samesite=lax" in header.lower().replace(" ", ""), header
    assert ("secure" in parts) is secure, header


def test_session_and_remember_cookies_are_httponly_and_lax(client, make_user):
    user = make_user("advocate")
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "remember": "y"})
    for name in ("session", "remember_token"):
        [header] = cookie_headers(response, name)
        assert_flags(header, secure=False)


@pytest.fixture()
def production(app_factory, make, monkeypatch):
    monkeypatch.setenv("VOUCH_ENV", "production")
    application = app_factory(
        VOUCH_ENV="production", SECRET_KEY="production-secret-key-for-tests", WTF_CSRF_ENABLED=True
    )
    with application.app_context():
        yield application
        db.session.remove()


def https_client(application):
    """The test client speaks https://localhost in production (PREFERRED_URL_SCHEME)."""
    return application.test_client()


def test_production_cookies_are_secure(production, make):
    user = make.user("advocate")
    client = https_client(production)
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "remember": "y"})
    assert response.status_code == 400  # CSRF is on in production
    page = client.get("/login")
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page.data).group(1).decode()
    response = client.post(
        "/login",
        data={"email": user.email, "password": TEST_PASSWORD, "remember": "y", "csrf_token": token},
        headers={"Referer": "https://localhost/login"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-600:]
    for name in ("session", "remember_token"):
        [header] = cookie_headers(response, name)
        assert_flags(header, secure=True)


def test_production_is_strict(production):
    assert production.debug is False and production.testing is False
    assert production.config["PASSWORD_HASH_PROFILE"] == "owasp"
    client = production.test_client()
    plain = client.get("/login", base_url="http://vouch.test")
    assert plain.status_code in (301, 302)  # plain http is sent to https
    assert plain.headers["Location"].startswith("https://vouch.test/login")
    response = https_client(production).get("/login")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_a_clients_own_forwarded_proto_is_not_believed_without_a_trusted_proxy(production):
    """README: X-Forwarded-* headers are trusted only from VOUCH_TRUSTED_PROXIES proxies (none by
    default): a plain-HTTP request claiming `X-Forwarded-Proto: https` is still redirected and
    gets no HSTS header."""
    assert production.config["VOUCH_TRUSTED_PROXIES"] == 0
    claimed = production.test_client().get(
        "/login", base_url="http://vouch.test", headers={"X-Forwarded-Proto": "https"}
    )
    assert claimed.status_code in (301, 302)
    assert claimed.headers["Location"].startswith("https://vouch.test/login")
    assert "Strict-Transport-Security" not in claimed.headers


def test_a_trusted_proxys_forwarded_proto_is_believed(app_factory, monkeypatch):
    monkeypatch.setenv("VOUCH_ENV", "production")
    application = app_factory(
        VOUCH_ENV="production", SECRET_KEY="production-secret-key-for-tests", VOUCH_TRUSTED_PROXIES=1
    )
    response = application.test_client().get(
        "/login", base_url="http://vouch.test", headers={"X-Forwarded-Proto": "https"}
    )
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config({"VOUCH_ENV": "production", "DATABASE_URL": "sqlite://"})
    from hub.app import create_app

    with pytest.raises(ConfigError):
        create_app({"VOUCH_ENV": "production", "DATABASE_URL": "sqlite://"})


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError):
        load_config({"VOUCH_ENV": "staging", "DATABASE_URL": "sqlite://"})


# --- 36: password hashing ----------------------------------------------------------------------


def test_passwords_are_argon2id(make_user):
    user = make_user("advocate")
    assert user.password_hash.startswith("$argon2id$")
    assert TEST_PASSWORD not in user.password_hash


def test_production_profile_meets_owasp():
    params = _PROFILES["owasp"]
    # OWASP: argon2id with at least m=19 MiB, t=2, p=1 (or stronger trade-offs).
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2 and params.parallelism >= 1
    assert params.type.name == "ID"


def test_login_rehashes_when_parameters_change(client, make_user):
    user = make_user("advocate")
    old = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(TEST_PASSWORD)
    db.session.get(User, user.id).password_hash = old
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    db.session.expire_all()
    new = db.session.get(User, user.id).password_hash
    assert new != old and new.startswith("$argon2id$") and "t=1" in new
    client.post("/logout")
    assert client.post("/login", data={"email": user.email, "password": TEST_PASSWORD}).status_code == 302


# --- 40: CSRF ----------------------------------------------------------------------------------


@pytest.fixture()
def csrf_app(app_factory):
    application = app_factory(WTF_CSRF_ENABLED=True)
    with application.app_context():
        yield application
        db.session.remove()


def csrf_from(page: bytes) -> str:
    match = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        rb'"X-CSRFToken": "([^"]+)"', page
    )
    assert match, page[:500]
    return match.group(1).decode()


def csrf_login(client, user) -> str:
    token = csrf_from(client.get("/login").data)
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return csrf_from(client.get("/admin/" if user.role.value != "advocate" else "/").data)


def test_login_without_a_token_is_400(csrf_app, make):
    user = make.user("advocate")
    client = csrf_app.test_client()
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # not logged in


def test_form_post_without_token_writes_nothing(csrf_app, make):
    owner = make.user("owner")
    advocate = make.advocate(points=10)
    client = csrf_app.test_client()
    token = csrf_login(client, owner)
    for data in ({"points": "5", "memo": "x"}, {"points": "5", "memo": "x", "csrf_token": "forged"}):
        response = client.post(f"/admin/advocates/{advocate.id}/adjust", data=data)
        assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    ok = client.post(f"/admin/advocates/{advocate.id}/adjust", data={"points": "5", "memo": "x", "csrf_token": token})
    assert ok.status_code == 302
    assert db.session.get(Advocate, advocate.id).balance == 15


def test_htmx_post_with_the_header_token_works(csrf_app, make):
    advocate = make.advocate()
    client = csrf_app.test_client()
    token = csrf_login(client, advocate.user)
    refused = client.post("/notifications/read", headers={"HX-Request": "true"})
    assert refused.status_code == 400
    accepted = client.post("/notifications/read", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert accepted.status_code == 200 and accepted.headers["HX-Trigger"] == "notifications-changed"


def test_a_token_from_another_session_is_refused(csrf_app, make):
    manager = make.user("manager")
    attacker = csrf_app.test_client()
    foreign_token = csrf_from(attacker.get("/login").data)
    victim = csrf_app.test_client()
    csrf_login(victim, manager)
    response = victim.post(
        "/admin/invite", data={"email": "x@example.com", "name": "X", "role": "advocate", "csrf_token": foreign_token}
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Invite)) == 0


def test_cross_site_referer_is_refused_in_production(production, make):
    manager = make.user("manager")
    client = https_client(production)
    token = csrf_from(client.get("/login").data)
    response = client.post(
        "/login",
        data={"email": manager.email, "password": TEST_PASSWORD, "csrf_token": token},
        headers={"Referer": "https://evil.test/phish"},
    )
    assert response.status_code == 400


def test_get_never_changes_state(client, make_user, login):
    user = make_user("advocate")
    login(client, user)
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200


# --- 42: security headers ----------------------------------------------------------------------


def assert_security_headers(response) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    directives = dict(([*part.strip().split(" ", 1), ""])[:2] for part in csp.split(";") if part.strip())
    assert "'unsafe-inline'" not in directives.get("script-src", directives.get("default-src", "x")), csp
    assert "'unsafe-eval'" not in csp
    assert directives.get("script-src") == "'self'", csp
    assert directives.get("frame-ancestors") == "'none'", csp
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin"
    assert response.headers.get("X-Frame-Options") == "DENY"


def test_headers_on_pages_partials_errors_and_api(client, make, login, api):
    assert_security_headers(client.get("/login"))
    assert_security_headers(client.get("/no-such-page"))
    assert_security_headers(client.get("/api/v1/me"))
    advocate = make.advocate(points=5)
    login(client, advocate.user)
    assert_security_headers(client.get("/"))
    partial = client.get("/leaderboard?period=month", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and b"<html" not in partial.data
    assert "HX-Request" in partial.headers.get("Vary", "")
    assert_security_headers(partial)
    assert_security_headers(client.get("/admin/"))  # 403 page


def test_no_hsts_outside_production(client, ctx):
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_pages_have_no_inline_scripts_or_styles(client, make, login):
    advocate = make.advocate(points=1500, groups=("EMEA",))
    login(client, advocate.user)
    for path in ("/", "/leaderboard", "/me/activity", "/notifications", "/account/password"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert " style=" not in html and "<style" not in html, path
        assert not re.search(r"\son[a-z]+=", html), path


def test_htmx_is_configured_for_self_requests_only(client, ctx):
    html = client.get("/login").get_data(as_text=True)
    assert '"selfRequestsOnly": true' in html and '"allowEval": false' in html


# --- 43: oversized input -----------------------------------------------------------------------

TEN_MB = 10 * 1024 * 1024


def test_ten_megabyte_form_is_413(client, ctx):
    response = client.post("/login", data={"email": "x@example.com", "password": "p" * TEN_MB})
    assert response.status_code == 413
    assert_security_headers(response)


def test_ten_megabyte_json_is_413(api, make):
    response = api(make.user("owner")).post("/advocates", {"email": "big@example.com", "name": "n" * TEN_MB})
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large"
    assert db.session.scalar(select(User).where(User.email == "big@example.com")) is None


def test_five_thousand_form_fields_are_refused(client, ctx):
    data = {f"field{n}": "x" for n in range(5000)} | {"email": "x@example.com", "password": "y"}
    response = client.post("/login", data=data)
    assert response.status_code in (400, 413)


def test_four_hundred_character_email_is_422(client, login, make_user):
    login(client, make_user("manager"))
    response = client.post(
        "/admin/invite", data={"email": "a" * 388 + "@example.com", "name": "Long", "role": "advocate"}
    )
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Invite)) == 0


def test_four_hundred_character_login_email_is_a_form_error(client, ctx):
    response = client.post("/login", data={"email": "a" * 388 + "@example.com", "password": "whatever it is"})
    assert response.status_code == 200 and b"errors" in response.data


def test_nul_characters_in_forms_are_400(client, login, make_user):
    login(client, make_user("manager"))
    response = client.post(
        "/admin/invite", data={"email": "nul@example.com", "name": "Nul\x00Name", "role": "advocate"}
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Invite)) == 0
    # A NUL in a query string is a parameter that does not fit: left out, said inline (issue 17).
    page = client.get("/admin/advocates?q=%00")
    assert page.status_code == 200 and "“q” was not used: Text may not contain NUL characters." in page.text


def test_request_id_header_is_reduced_to_a_token(client, ctx):
    response = client.get("/login", headers={"X-Request-Id": "abc Injected: <script>x</script>"})
    assert response.headers["X-Request-Id"] == "abcInjectedscriptxscript"


# --- 46: the plain 500 page ----------------------------------------------------------------------


@pytest.fixture()
def exploding(app_factory):
    application = app_factory()

    def boom():
        raise RuntimeError("secret internals: db password hunter2")

    boom.public = True
    application.add_url_rule("/boom", "boom", boom)
    application.add_url_rule("/api/v1/boom", "api_boom", boom)
    return application


def test_unhandled_exception_is_a_plain_500_with_request_id(exploding, caplog):
    response = exploding.test_client().get("/boom", headers={"X-Request-Id": "req-123"})
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "req-123" in body and response.headers["X-Request-Id"] == "req-123"
    assert "Traceback" not in body and "hunter2" not in body and "RuntimeError" not in body
    assert "<script" not in body
    assert_security_headers(response)
    assert "req-123" in caplog.text  # the log has what the page does not


def test_unhandled_api_exception_is_json_500(exploding):
    response = exploding.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    error = response.json["error"]
    assert error["code"] == "server_error" and error["request_id"] in error["message"]
    assert "hunter2" not in response.get_data(as_text=True)


def test_the_429_page_says_when_in_words_and_sends_retry_after(limited):
    """Issue 13 item 8: the HTML 429 page sends Retry-After and reads naturally."""
    application, user = limited
    client = application.test_client()
    for n in range(10):
        client.post("/login", data={"email": user.email, "password": f"wrong-{n}"})
    locked = client.post("/login", data={"email": user.email, "password": "wrong again"})
    assert locked.status_code == 429
    seconds = int(locked.headers["Retry-After"])
    assert 840 < seconds <= 900  # the account's 10/15 minutes window, just started
    assert f"Too many attempts. Try again in {-(-seconds // 60)} minutes." in locked.get_data(as_text=True)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 second"),
        (45, "45 seconds"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (720, "12 minutes"),
        (5400, "90 minutes"),
        (7200, "2 hours"),
        (7201, "3 hours"),
    ],
)
def test_waits_in_words(seconds, words):
    from hub.errors import in_words

    assert in_words(seconds) == words
