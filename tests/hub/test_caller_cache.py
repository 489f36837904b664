"""API callers kept per process behind the callers' stamp (issue 22, hub.tokens.caller_for_api_token
and hub.redis_stamps): a warm leaderboard read runs no SQL, and anything that changes who a
caller is — revocation, deactivation, erasure, a role change, a password change — or a group's
name is seen by the very next request, in this process and in another one."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import event, select, update

from hub import redis_stamps, tokens
from hub.extensions import db, limiter
from hub.models import ApiToken, Group, Role, User
from rewards import leaderboard, leaderboard_view
from tests.support.environment import build_app

pytestmark = pytest.mark.services


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    tokens.forget_callers()
    leaderboard_view.forget_group_names()
    yield
    tokens.forget_callers()
    leaderboard_view.forget_group_names()


@contextlib.contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements `app`'s engine runs inside the block."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            seen.append(statement)  # the savepoints are the test's isolation, not the request's

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def board(app: Flask, token: str, **query: str):
    return app.test_client().get(
        "/api/v1/leaderboard", query_string={"limit": "10", **query}, headers={"Authorization": f"Bearer {token}"}
    )


def stamp_now(app: Flask) -> str | None:
    with app.test_request_context("/"):
        return redis_stamps.caller_version()


def boards_built() -> None:
    """The Redis boards filled from the ledger (until a rebuild writes the encoding marker,
    reads go to SQL)."""
    leaderboard.rebuild()
    db.session.commit()


def warm(app: Flask, token: str, **query: str) -> dict:
    boards_built()
    first = board(app, token, **query)
    assert first.status_code == 200, first.get_data(as_text=True)
    second = board(app, token, **query)
    assert second.status_code == 200
    return second.get_json()


def test_a_warm_read_runs_no_sql_and_answers_the_same(pg_ctx, make):
    advocate = make.advocate(points=120)
    other = make.advocate(points=300)
    token = make.token(advocate.user)
    boards_built()
    first = board(pg_ctx, token).get_json()
    with statements(pg_ctx) as seen:
        again = board(pg_ctx, token)
    assert again.status_code == 200
    assert seen == []
    assert again.get_json() == first
    assert [e["advocate_id"] for e in first["entries"][:2]] == [other.id, advocate.id]
    assert first["me"] == {"rank": 2, "points": 120}


def test_a_revoked_token_is_refused_by_the_next_request(pg_ctx, make):
    advocate = make.advocate(points=10)
    owner = make.user("owner")
    token = make.token(advocate.user)
    warm(pg_ctx, token)
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == advocate.user.id))
    tokens.revoke_api_token(row.id, owner.id)
    db.session.commit()
    assert board(pg_ctx, token).status_code == 401


def test_a_deactivated_user_is_refused_by_the_next_request(pg_ctx, make):
    advocate = make.advocate(points=10)
    token = make.token(advocate.user)
    warm(pg_ctx, token)
    db.session.execute(update(User).where(User.id == advocate.user_id).values(is_active_user=False))
    db.session.commit()
    assert board(pg_ctx, token).status_code == 401


def test_an_erased_advocate_is_refused_by_the_next_request(pg_ctx, make):
    from hub.privacy import erase_advocate

    advocate = make.advocate(points=10)
    token = make.token(advocate.user)
    warm(pg_ctx, token)
    assert erase_advocate(advocate.id, None, "advocate")
    db.session.commit()
    assert board(pg_ctx, token).status_code == 401


def test_a_role_change_is_seen_by_the_next_request(pg_ctx, make):
    advocate = make.advocate(points=10)
    token = make.token(advocate.user)
    assert warm(pg_ctx, token)["me"] == {"rank": 1, "points": 10}
    user = db.session.get(User, advocate.user_id)
    user.role = Role.MANAGER
    db.session.commit()
    # Staff have no rank of their own on a board.
    assert board(pg_ctx, token).get_json()["me"] is None


def test_a_password_change_moves_the_stamp_and_last_use_or_login_do_not(pg_ctx, make):
    from hub.jobs import touch_api_token

    advocate = make.advocate(points=10)
    user_id = advocate.user_id
    token = make.token(advocate.user)
    warm(pg_ctx, token)
    before = stamp_now(pg_ctx)
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user_id))
    touch_api_token(token_id, "2030-01-01T00:00:00+00:00")
    assert db.session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id)).year == 2030
    user = db.session.get(User, user_id)
    user.last_login_at = user.created_at
    db.session.commit()
    assert stamp_now(pg_ctx) == before
    with statements(pg_ctx) as seen:
        assert board(pg_ctx, token).status_code == 200
    assert seen == []  # still served from the cache
    user = db.session.get(User, user_id)
    user.password_hash = "changed"
    db.session.commit()
    assert stamp_now(pg_ctx) not in (None, before)


def test_a_rolled_back_change_keeps_the_stamp(pg_ctx, make):
    advocate = make.advocate(points=10)
    token = make.token(advocate.user)
    warm(pg_ctx, token)
    before = stamp_now(pg_ctx)
    user = db.session.get(User, advocate.user_id)
    user.role = Role.OWNER
    db.session.flush()
    db.session.rollback()
    assert stamp_now(pg_ctx) == before
    assert warm(pg_ctx, token)["me"] == {"rank": 1, "points": 10}


def test_a_renamed_group_is_seen_by_the_next_request(pg_ctx, make):
    from hub.groups import rename_group

    owner = make.user("owner")
    advocate = make.advocate(points=40, groups=("EMEA",))
    token = make.token(advocate.user)
    reply = warm(pg_ctx, token, group="emea")
    assert reply["group"] == "EMEA" and reply["me"] == {"rank": 1, "points": 40}
    group_id = db.session.scalar(select(Group.id).where(Group.name == "EMEA"))
    rename_group(group_id, "Europe", None, owner.id)
    db.session.commit()
    assert board(pg_ctx, token, group="emea").status_code == 404
    assert board(pg_ctx, token, group="Europe").get_json()["group"] == "Europe"
    assert board(pg_ctx, token, group=str(group_id)).get_json()["group"] == "Europe"


def test_the_cache_lifetime_bounds_a_kept_caller(pg_ctx, make, monkeypatch):
    monkeypatch.setitem(pg_ctx.config, "VOUCH_CALLER_CACHE_SECONDS", 0)
    advocate = make.advocate(points=10)
    token = make.token(advocate.user)
    warm(pg_ctx, token)
    with statements(pg_ctx) as seen:
        assert board(pg_ctx, token).status_code == 200
    assert any("api_tokens" in s for s in seen)


def test_without_redis_every_request_resolves_the_token(ctx, make, sql_statements):
    advocate = make.advocate(points=10)
    token = make.token(advocate.user)
    warm(ctx, token)
    sql_statements.clear()
    assert board(ctx, token).status_code == 200
    assert len([s for s in sql_statements if "api_tokens" in s]) == 1


def test_the_stamp_and_the_board_come_with_the_rate_limit_in_one_round_trip(pg_url, redis_url, make, monkeypatch):
    """With rate limits on, the stamp and the board are read by the limit's own script call: a
    warm read is one Redis round trip and no SQL."""
    from redis import Redis

    saved = dict(vars(limiter))
    app = build_app(pg_url, REDIS_URL=redis_url, RATELIMIT_ENABLED=True, VOUCH_API_RATE_LIMIT="1000/minute")
    try:
        with app.app_context():
            advocate = make.advocate(points=10)
            token = make.token(advocate.user)
            assert warm(app, token)["me"] == {"rank": 1, "points": 10}
            calls: list[tuple] = []
            real = Redis.execute_command

            def counted(self, *args, **options):
                calls.append(args)
                return real(self, *args, **options)

            monkeypatch.setattr(Redis, "execute_command", counted)
            with statements(app) as seen:
                assert board(app, token).status_code == 200
            monkeypatch.undo()
            assert seen == []
            assert [c[0] for c in calls] == ["EVALSHA"]
            assert redis_stamps.version_key() in calls[0]  # the rate limit's call carries the stamp
            assert leaderboard.redis_key("all") in calls[0]  # … and the board
    finally:
        with app.app_context():
            from tests.support.environment import clear_redis, clear_tables

            clear_tables(app)
            clear_redis(app)
            db.session.remove()
            db.engine.dispose()
        vars(limiter).clear()
        vars(limiter).update(saved)


_OTHER_PROCESS = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {root!r})
    from tests.support.environment import build_app
    from sqlalchemy import event
    from hub.extensions import db
    app = build_app({pg_url!r}, REDIS_URL={redis_url!r})
    client = app.test_client()
    seen = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda _c, _k, sql, *_a: seen.append(sql))
    for line in sys.stdin:
        seen.clear()
        reply = client.get("/api/v1/leaderboard", headers={{"Authorization": "Bearer " + {token!r}}})
        print(json.dumps([reply.status_code, sum("api_tokens" in sql for sql in seen)]), flush=True)
    """
)


@pytest.mark.multi_connection
def test_a_revocation_in_one_process_is_seen_at_once_in_another(pg_app, pg_url, redis_url, make):
    from pathlib import Path

    with pg_app.app_context():
        advocate = make.advocate(points=10)
        owner_id = make.user("owner").id
        token = make.token(advocate.user)
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == advocate.user_id))
    root = str(Path(__file__).resolve().parents[2])
    script = _OTHER_PROCESS.format(root=root, pg_url=pg_url, redis_url=redis_url, token=token)
    other = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=root
    )
    assert other.stdin is not None and other.stdout is not None

    def ask() -> list[int]:
        """The other process's answer: [status, token queries it ran]."""
        other.stdin.write("go\n")
        other.stdin.flush()
        return list(json.loads(other.stdout.readline()))

    try:
        assert [ask(), ask()] == [[200, 1], [200, 0]]  # the second from the other process's cache
        with pg_app.app_context():
            tokens.revoke_api_token(token_id, owner_id)
            db.session.commit()
        assert ask() == [401, 1]
    finally:
        other.stdin.close()
        other.wait(timeout=60)
        other.stdout.close()
