"""Operations on the embedded default: /healthz, /readyz, /metrics (who may scrape, the figures
moving), structured request and job logs with the request id, job timeouts, the preflight
refusals, and the Jobs page without Redis."""

from __future__ import annotations

import ast
import io
import json
import logging
from pathlib import Path

import pytest
from flask import request
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from hub import preflight
from hub.config import ConfigError
from hub.email.models import OutboxEmail
from hub.email.sending import queue_email
from hub.extensions import db
from hub.logs import JsonFormatter, configure_logging, current_request_id
from hub.queue import JobSpec, call_after_commit, enqueue_after_commit, job_timeout

ROOT = Path(__file__).resolve().parents[2]
PROBES = ("/healthz", "/readyz", "/metrics")


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- health --------------------------------------------------------------------------------


def test_healthz_answers_without_io(client, ctx, sql_statements):
    response = client.get("/healthz", headers={"X-Request-Id": "probe-1"})
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["X-Request-Id"] == "probe-1"
    assert sql_statements == []


def test_readyz_reports_each_check(client, ctx):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "migrations", "redis", "queue"}
    assert all(check["ok"] for check in body["checks"].values())
    migrations = body["checks"]["migrations"]
    heads = [p.name.split("_")[1] for p in (ROOT / "hub/migrations/versions").glob("*.py")]
    assert migrations["current"] == migrations["head"] and migrations["head"][0] in heads
    assert body["checks"]["redis"] == {"ok": True, "configured": False, "ms": body["checks"]["redis"]["ms"]}
    assert body["checks"]["queue"]["backend"] == "in-process"


def test_readyz_is_503_when_the_schema_is_behind(app_factory):
    application = app_factory()
    with application.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = '191e39da26db'"))
        db.session.commit()
    response = application.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["checks"]["migrations"]["ok"] is False
    assert response.json["checks"]["migrations"]["current"] == ["191e39da26db"]
    assert response.json["checks"]["database"]["ok"] is True


def test_readyz_is_503_when_redis_does_not_answer(app_factory):
    application = app_factory(REDIS_URL="redis://127.0.0.1:1/0")
    response = application.test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.json["checks"]
    assert checks["redis"]["ok"] is False and checks["redis"]["error"] == "ConnectionError"
    assert checks["queue"]["ok"] is False
    assert "127.0.0.1:1" not in response.get_data(as_text=True)  # names the failure, not the address


def test_probes_never_set_a_session_cookie(app, client, ctx, make_user, login):
    login(client, make_user("manager"))
    with client.session_transaction() as session:
        session.permanent = True  # Flask refreshes a permanent session's cookie on every response
    assert client.get("/admin/").headers.get("Set-Cookie", "").startswith("session=")
    for path in PROBES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers, path
        assert "Cookie" not in response.vary, path
    with app.test_request_context("/healthz"):
        assert app.session_interface.open_session(app, request) is None


def test_a_request_without_the_cookie_gets_what_flask_would_give_it(app):
    from flask.sessions import SecureCookieSessionInterface

    flasks = SecureCookieSessionInterface()
    # A page (an API request without cookies gets the null session: test_request_plumbing_fixed.py).
    with app.test_request_context("/login"):
        ours, theirs = app.session_interface.open_session(app, request), flasks.open_session(app, request)
    assert type(ours) is type(theirs) and dict(ours) == dict(theirs) == {}
    assert (ours.new, ours.modified, ours.permanent) == (theirs.new, theirs.modified, theirs.permanent)
    signed = flasks.get_signing_serializer(app).dumps({"who": "someone"})
    with app.test_request_context("/", headers={"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={signed}"}):
        assert dict(app.session_interface.open_session(app, request)) == {"who": "someone"}


def test_probes_are_exempt_from_rate_limits(app_factory):
    from hub.extensions import limiter

    manager = limiter.limit_manager  # one Limiter for every app: put its application limits back after
    saved = manager._application_limits
    try:
        application = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_APPLICATION="3/minute")
        client = application.test_client()
        assert [client.get("/login").status_code for _ in range(4)][-1] == 429
        for path in PROBES:
            assert {client.get(path).status_code for _ in range(6)} == {200}, path
    finally:
        manager.set_application_limits(saved)


def test_production_probes_answer_plain_http_and_metrics_are_closed(app_factory):
    application = app_factory(VOUCH_ENV="production", SECRET_KEY="x" * 40, VOUCH_METRICS_TOKEN="scrape-me-0123")
    client = application.test_client()

    def get(path: str, **headers):
        return client.get(path, base_url="http://vouch.test", headers=headers)

    assert get("/login").status_code == 302  # pages send plain http to https
    assert get("/healthz").status_code == 200  # probes answer it
    assert get("/readyz").status_code == 200
    assert get("/metrics").status_code == 403  # loopback is not enough in production
    assert get("/metrics", Authorization="Bearer wrong-token").status_code == 403
    assert get("/metrics", Authorization="Bearer scrape-me-0123").status_code == 200


def test_metrics_allow_list(app_factory):
    open_to_10 = app_factory(VOUCH_METRICS_ALLOW="10.0.0.0/8, 192.0.2.7")
    client = open_to_10.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.30.40"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code == 403
    assert client.get("/metrics").status_code == 403  # loopback only by default; now replaced
    default = app_factory()
    assert default.test_client().get("/metrics").status_code == 200
    assert default.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 403
    with pytest.raises(ConfigError, match="not-a-network"):
        app_factory(VOUCH_METRICS_ALLOW="10.0.0.0/8,not-a-network")


# --- metrics -------------------------------------------------------------------------------


@pytest.fixture()
def fresh_scrape(monkeypatch):
    """Database-backed figures are cached between scrapes; these tests scrape back to back."""
    monkeypatch.setattr("hub.metrics.SCRAPE_CACHE_SECONDS", 0.0)


def survey_challenge(points: int = 40):
    from challenges import services

    survey = {"questions": [{"prompt": "What do you like?", "options": []}]}
    data = services.clean_challenge({"title": "Tell us", "type": "survey", "points": points, "quiz": survey})
    challenge = services.create_challenge(data, None)
    services.publish_challenge(challenge.id, None)
    db.session.commit()
    return challenge


def test_metrics_move_with_requests_and_jobs(app, client, ctx, make, api, jobs, fresh_scrape):
    before = scrape(client)
    for _ in range(3):
        assert client.get("/login").status_code == 200
    assert client.get("/no-such-page").status_code == 404

    advocate = make.advocate()
    challenge = survey_challenge(points=40)
    response = api(advocate.user).post(f"/challenges/{challenge.id}/completions", json={"answers": ["Dashboards"]})
    assert response.status_code == 201, response.json
    jobs.join()
    queue_email("x@example.com", "Hi", "Body", "test")  # sent by the in-process queue after commit
    db.session.add(OutboxEmail(to_address="y@example.com", subject="S", body_text="B", kind="test", status="failed"))
    db.session.commit()
    jobs.join()
    from rewards.leaderboard import rebuild

    rebuild()
    db.session.commit()

    after = scrape(client)
    login_200 = {"endpoint": "hub.login", "method": "GET", "status": "200"}
    assert (
        value(after, "vouch_http_requests_total", **login_200) - value(before, "vouch_http_requests_total", **login_200)
        == 3
    )
    assert (
        value(after, "vouch_http_request_duration_seconds_count", **login_200)
        - value(before, "vouch_http_request_duration_seconds_count", **login_200)
        == 3
    )
    unmatched = {"endpoint": "<unmatched>", "method": "GET", "status": "404"}
    assert (
        value(after, "vouch_http_requests_total", **unmatched) - value(before, "vouch_http_requests_total", **unmatched)
        == 1
    )
    # A survey is decided in the request (issue 22); the job it queues is the after-submission one.
    verify_ok = {"function": "challenges.trust.trust_after_submission", "outcome": "ok"}
    assert value(after, "vouch_jobs_total", **verify_ok) - value(before, "vouch_jobs_total", **verify_ok) == 1
    assert (
        value(after, "vouch_job_duration_seconds_count", **verify_ok)
        - value(before, "vouch_job_duration_seconds_count", **verify_ok)
        == 1
    )
    assert (
        value(after, "vouch_points_issued_total", kind="earn") - value(before, "vouch_points_issued_total", kind="earn")
        == 40
    )
    assert value(after, "vouch_completions", status="approved") == 1
    assert value(after, "vouch_completions", status="submitted") == 0
    assert value(after, "vouch_outbox_emails", status="failed") == 1
    assert value(after, "vouch_outbox_emails", status="queued") == 0
    assert (
        value(after, "vouch_leaderboard_rebuild_seconds_count")
        - value(before, "vouch_leaderboard_rebuild_seconds_count")
        == 1
    )
    assert value(after, "vouch_queue_jobs", queue="in-process", state="queued") == 0
    assert value(after, "vouch_scrape_source_up", source="completions") == 1


def test_points_are_counted_only_when_the_transaction_commits(ctx, make, client, fresh_scrape):
    from rewards.ledger import post_entry

    advocate = make.advocate()
    before = value(scrape(client), "vouch_points_issued_total", kind="bonus")
    post_entry(advocate.id, 25, kind="bonus", source_type="test", source_id="rolled-back")
    db.session.rollback()
    post_entry(advocate.id, 30, kind="bonus", source_type="test", source_id="kept")
    db.session.commit()
    assert value(scrape(client), "vouch_points_issued_total", kind="bonus") - before == 30


def test_a_failing_scrape_source_is_reported_not_fatal(app, client, ctx, fresh_scrape):
    from hub.metrics import add_scrape_source

    def broken():
        raise RuntimeError("source down")

    add_scrape_source(app, "broken", broken)
    try:
        samples = scrape(client)
    finally:
        app.extensions["vouch_metrics"].sources = [
            s for s in app.extensions["vouch_metrics"].sources if s[0] != "broken"
        ]
    assert value(samples, "vouch_scrape_source_up", source="broken") == 0
    assert value(samples, "vouch_scrape_source_up", source="outbox") == 1


# --- logs ----------------------------------------------------------------------------------


def records(caplog, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger]


def test_one_request_line_with_id_user_endpoint_status_duration(client, ctx, make_user, login, caplog):
    user = make_user("manager")
    login(client, user)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="vouch.request"):
        response = client.get("/admin/", headers={"X-Request-Id": "trace-42"})
    assert response.status_code == 200 and response.headers["X-Request-Id"] == "trace-42"
    (line,) = records(caplog, "vouch.request")
    assert line.request_id == "trace-42"
    assert (line.method, line.path, line.endpoint, line.status, line.user_id) == (
        "GET",
        "/admin/",
        "admin.dashboard",
        200,
        user.id,
    )
    assert line.duration_ms > 0


def test_the_request_line_names_the_api_caller_without_loading_them_again(ctx, make, api, caplog, sql_statements):
    """The unit's commit expires the caller's instance; the log line reads its identity key, so
    logging costs no query (issue 22: one fewer statement on every authenticated request)."""
    advocate = make.advocate()
    user_id = advocate.user_id
    client = api(advocate.user)
    sql_statements.clear()
    with caplog.at_level(logging.INFO, logger="vouch.request"):
        assert client.get("/leaderboard").status_code == 200
    assert records(caplog, "vouch.request")[-1].user_id == user_id
    users_loaded = [s for s in sql_statements if s.lstrip().upper().startswith("SELECT") and "FROM users" in s]
    assert users_loaded == []  # the token query joins users from api_tokens; nothing reloads them


def test_generated_request_id_is_returned_and_logged(client, ctx, caplog):
    with caplog.at_level(logging.INFO, logger="vouch.request"):
        response = client.get("/login")
    generated = response.headers["X-Request-Id"]
    assert len(generated) == 12 and int(generated, 16) >= 0
    assert records(caplog, "vouch.request")[-1].request_id == generated
    assert records(caplog, "vouch.request")[-1].user_id is None


def test_the_request_id_travels_into_the_jobs_it_enqueues(ctx, make, api, jobs, caplog):
    advocate = make.advocate()
    challenge = survey_challenge()
    with caplog.at_level(logging.INFO):
        response = api(advocate.user).post(
            f"/challenges/{challenge.id}/completions",
            json={"answers": ["Reports"]},
            headers={"X-Request-Id": "submit-7"},
        )
        jobs.join()
    assert response.status_code == 201
    # A survey is decided in the request (issue 22); the jobs it queues carry the request's id.
    lines = {r.function: r for r in records(caplog, "vouch.job")}
    job_line = lines["challenges.trust.trust_after_submission"]
    assert job_line.request_id == "submit-7"
    assert job_line.outcome == "ok" and job_line.job_id == f"trust-completion-{response.json['id']}"
    emails = lines["hub.email.mailings.send_notification_emails"]
    assert emails.request_id == "submit-7" and emails.outcome == "ok"
    # what a job itself logged carries the request's id too: the email, written to the log
    sent = [r for r in caplog.records if r.name == "vouch.mail" and "Tell us" in r.getMessage()]
    assert sent and json.loads(JsonFormatter().format(sent[0]))["request_id"] == "submit-7"


def test_json_lines_on_stderr(capsys, client, ctx):
    configure_logging("json")
    try:
        client.get("/login", headers={"X-Request-Id": "json-1"})
        logging.getLogger("vouch.test").warning("with fields", extra={"kind": "probe", "n": 3})
    finally:
        configure_logging("plain")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    request_line = next(line for line in lines if line["logger"] == "vouch.request")
    assert request_line["request_id"] == "json-1"
    assert request_line["status"] == 200 and request_line["endpoint"] == "hub.login"
    assert {"ts", "level", "message", "duration_ms", "method", "path"} <= set(request_line)
    other = next(line for line in lines if line["logger"] == "vouch.test")
    assert (other["level"], other["kind"], other["n"]) == ("warning", "probe", 3)
    assert "request_id" not in other  # logged outside any request


def test_plain_format_is_the_development_default(app_factory):
    assert app_factory().config["VOUCH_LOG_FORMAT"] == "plain"
    with pytest.raises(ConfigError, match="VOUCH_LOG_FORMAT"):
        app_factory(VOUCH_LOG_FORMAT="xml")
    assert app_factory(VOUCH_ENV="production", SECRET_KEY="x" * 40).config["VOUCH_LOG_FORMAT"] == "json"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    from hub.logs import PlainFormatter

    handler.setFormatter(PlainFormatter())
    record = logging.LogRecord("vouch.x", logging.INFO, __file__, 1, "hello %s", ("there",), None)
    token = current_request_id.set("abc")
    try:
        handler.emit(record)
    finally:
        current_request_id.reset(token)
    assert stream.getvalue().rstrip().endswith("INFO [abc] vouch.x: hello there")


# --- job timeouts --------------------------------------------------------------------------


def test_a_job_without_a_timeout_is_refused():
    def no_limit() -> None: ...

    with pytest.raises(ValueError, match="no timeout"):
        JobSpec(no_limit, ())
    assert JobSpec(no_limit, (), timeout=5).timeout == 5
    assert JobSpec(job_timeout(7)(no_limit), ()).timeout == 7


def test_every_enqueued_job_function_declares_its_timeout():
    """Static check over the packages: each function passed to enqueue_after_commit, JobSpec
    or cron.register by name is decorated with @job_timeout (or the call passes a timeout)."""
    decorated: set[str] = set()
    defined: set[str] = set()
    calls: list[tuple[str, str, bool]] = []
    for package in ("hub", "rewards", "challenges", "admin"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef):
                    defined.add(node.name)
                    for deco in node.decorator_list:
                        if isinstance(deco, ast.Call) and getattr(deco.func, "id", "") == "job_timeout":
                            decorated.add(node.name)
                if isinstance(node, ast.Call) and node.args:
                    name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                    if name in {"enqueue_after_commit", "JobSpec", "register"} and isinstance(node.args[0], ast.Name):
                        has_timeout = any(k.arg in {"timeout", "job_timeout"} for k in node.keywords)
                        calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.args[0].id, has_timeout))
    jobs_by_name = [(where, fn) for where, fn, has_timeout in calls if fn in defined and not has_timeout]
    assert len(calls) >= 12
    missing = [f"{where} {fn}" for where, fn in jobs_by_name if fn not in decorated]
    assert not missing, "jobs without @job_timeout:\n" + "\n".join(missing)


def test_a_savepoint_release_sends_no_job_until_the_outer_transaction_commits(ctx, monkeypatch):
    """A service's begin_nested() inside a request must not send the request's jobs (nor run its
    after-commit callbacks) early: a job would run before its rows are committed."""
    sent: list[JobSpec] = []
    monkeypatch.setattr(ctx.extensions["vouch_queue"], "send", sent.append)
    called: list[str] = []

    @job_timeout(5)
    def noop() -> None:
        pass

    enqueue_after_commit(noop)
    call_after_commit(lambda: called.append("callback"))
    with db.session.begin_nested():
        db.session.execute(text("SELECT 1"))
    assert sent == [] and called == []
    db.session.commit()
    assert [spec.func for spec in sent] == [noop] and called == ["callback"]


def test_rq_gets_the_timeout_and_the_request_id(ctx, monkeypatch):
    import fakeredis

    from hub.queue import RQBackend

    backend = RQBackend.__new__(RQBackend)
    backend.connection = fakeredis.FakeRedis()
    backend.namespace = "vouchunit"

    @job_timeout(45)
    def hello(n: int) -> int:
        return n

    token = current_request_id.set("rid-9")
    try:
        spec = JobSpec(hello, (1,), job_id="hello-1")
    finally:
        current_request_id.reset(token)
    monkeypatch.setattr(hello, "__module__", "tests.hub.test_ops")
    backend.send(spec)
    (job,) = backend.queue().get_jobs()
    assert (job.timeout, job.meta["request_id"], job.id) == (45, "rid-9", "vouchunit-hello-1")


# --- preflight -----------------------------------------------------------------------------

GOOD_SECRET = "s" * 48


def test_preflight_refuses_without_secret_key_and_with_unreachable_services(capsys):
    env = {"DATABASE_URL": "postgresql+psycopg://vouch:hunter2@127.0.0.1:1/vouch", "REDIS_URL": "redis://127.0.0.1:1/0"}
    assert preflight.main(env) == 1
    err = capsys.readouterr().err
    assert err.startswith("Vouch will not start:")
    assert "SECRET_KEY is not set" in err
    assert "PostgreSQL at 127.0.0.1:1/vouch is unreachable" in err
    assert "Redis at 127.0.0.1:1/0 is unreachable" in err
    assert "hunter2" not in err


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SECRET_KEY": "short"}, "SECRET_KEY is too short (5 characters"),
        ({"SECRET_KEY": "   "}, "SECRET_KEY is not set"),
        ({"DATABASE_URL": ""}, "DATABASE_URL is not set"),
        ({"DATABASE_URL": "sqlite:///instance/vouch.db"}, "must name a PostgreSQL database"),
        ({"REDIS_URL": ""}, "REDIS_URL is not set"),
        ({"REDIS_URL": "http://127.0.0.1:6379"}, "Redis at 127.0.0.1:6379 is unreachable"),
        ({"VOUCH_ENV": "staging"}, "VOUCH_ENV must be development, test or production"),
    ],
)
def test_preflight_names_each_problem(env, expected):
    base = {"SECRET_KEY": GOOD_SECRET, "DATABASE_URL": "sqlite:///x.db", "REDIS_URL": "redis://127.0.0.1:1/0"}
    found = preflight.problems(base | env)
    assert any(expected in problem for problem in found), found


# --- the Jobs page without Redis -----------------------------------------------------------


def test_jobs_page_says_jobs_run_in_process(client, ctx, make_user, login):
    login(client, make_user("manager"))
    response = client.get("/admin/jobs/")
    assert response.status_code == 200
    assert "Jobs run in-process in this server" in response.get_data(as_text=True)
    assert client.post("/admin/jobs/vouch-email-1/retry").status_code == 404
