"""The rate limit, the callers' stamp and the leaderboard read in one Redis round trip (issue 22,
hub.redis_stamps.RedisRead): with rate limits on, `GET /api/v1/leaderboard` plans its board read
before the limit is counted, the limit's script call makes it, and the route takes that answer.
What must not change: the answer (checked against a count by hand), the 429 and its headers,
and that a revocation, a role change or a new score is seen by the very next request."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from hub import redis_stamps, tokens
from hub.extensions import db, limiter
from hub.models import ApiToken, Role, User
from rewards import leaderboard, leaderboard_view
from rewards.ledger import post_entry
from tests.support.environment import build_app

pytestmark = pytest.mark.services


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    tokens.forget_callers()
    leaderboard_view.forget_group_names()
    yield
    tokens.forget_callers()
    leaderboard_view.forget_group_names()


@pytest.fixture
def limited(pg_app: Flask, pg_url: str, redis_url: str) -> Iterator[Flask]:
    """The app on PostgreSQL (migrated by `pg_app`) and Redis with the API rate limit on (20 a
    minute), inside its app context, with the boards' encoding marker written (a rebuild of
    empty boards)."""
    saved = dict(vars(limiter))  # Flask-Limiter's one global instance; put back afterwards
    app = build_app(pg_url, REDIS_URL=redis_url, RATELIMIT_ENABLED=True, VOUCH_API_RATE_LIMIT="20/minute")
    try:
        with app.app_context():
            leaderboard.rebuild()
            db.session.commit()
            yield app
    finally:
        with app.app_context():
            from tests.support.environment import clear_redis, clear_tables

            clear_tables(app)
            clear_redis(app)
            db.session.remove()
            db.engine.dispose()
        vars(limiter).clear()
        vars(limiter).update(saved)


def get_board(app: Flask, token: str, **query: str):
    return app.test_client().get(
        "/api/v1/leaderboard", query_string={"limit": "10", **query}, headers={"Authorization": f"Bearer {token}"}
    )


@contextlib.contextmanager
def redis_commands(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple]]:
    """Every Redis command (a pipeline counts as its commands) sent inside the block."""
    from redis import Redis

    calls: list[tuple] = []
    real = Redis.execute_command

    def counted(self, *args, **options):
        calls.append(args)
        return real(self, *args, **options)

    monkeypatch.setattr(Redis, "execute_command", counted)
    try:
        yield calls
    finally:
        monkeypatch.undo()


def award(advocate_id: int, points: int, source: str) -> None:
    post_entry(advocate_id, points, kind="earn", source_type="test", source_id=source)
    db.session.commit()


def test_a_warm_read_is_one_round_trip_and_answers_as_counted_by_hand(limited, make, monkeypatch):
    first = make.advocate(points=300, name="Ada")
    second = make.advocate(points=120, name="Bo")
    tied = make.advocate(points=120, name="Cy")  # reached 120 after Bo: listed after, same rank
    token = make.token(tied.user)
    assert get_board(limited, token).status_code == 200  # resolves and keeps the caller
    with redis_commands(monkeypatch) as calls:
        reply = get_board(limited, token)
    assert reply.status_code == 200
    assert [c[0] for c in calls] == ["EVALSHA"]
    assert redis_stamps.version_key() in calls[0] and leaderboard.redis_key("all") in calls[0]
    body = reply.get_json()
    assert [(e["rank"], e["advocate_id"], e["points"], e["is_me"]) for e in body["entries"]] == [
        (1, first.id, 300, False),
        (2, second.id, 120, False),
        (2, tied.id, 120, True),
    ]
    assert [e["display_name"] for e in body["entries"]] == ["Ada", "Bo", "Cy"]
    assert body["me"] == {"rank": 2, "points": 120}


def test_a_group_board_is_one_round_trip_once_its_name_is_kept(limited, make, monkeypatch):
    inside = make.advocate(points=50, groups=("EMEA",))
    make.advocate(points=500)  # not in the group: not on its board
    token = make.token(inside.user)
    assert get_board(limited, token, group="emea").status_code == 200
    with redis_commands(monkeypatch) as calls:
        reply = get_board(limited, token, group="emea")
    assert [c[0] for c in calls] == ["EVALSHA"]
    group_id = leaderboard_view.group_name("emea")
    assert group_id is not None and leaderboard.redis_key("all", group_id.id) in calls[0]
    body = reply.get_json()
    assert body["group"] == "EMEA"
    assert [(e["rank"], e["advocate_id"]) for e in body["entries"]] == [(1, inside.id)]
    assert body["me"] == {"rank": 1, "points": 50}


def test_points_awarded_between_two_reads_are_in_the_second(limited, make):
    leader = make.advocate(points=100)
    reader = make.advocate(points=40)
    token = make.token(reader.user)
    assert get_board(limited, token).get_json()["me"] == {"rank": 2, "points": 40}
    award(reader.id, 70, "late")
    body = get_board(limited, token).get_json()
    assert body["me"] == {"rank": 1, "points": 110}
    assert [(e["advocate_id"], e["points"]) for e in body["entries"]] == [(reader.id, 110), (leader.id, 100)]


def test_a_revoked_token_is_refused_by_the_next_request(limited, make):
    advocate = make.advocate(points=10)
    owner = make.user("owner")
    token = make.token(advocate.user)
    assert get_board(limited, token).status_code == 200
    assert get_board(limited, token).status_code == 200
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == advocate.user_id))
    tokens.revoke_api_token(row.id, owner.id)
    db.session.commit()
    assert get_board(limited, token).status_code == 401


def test_a_kept_caller_that_changed_is_not_trusted_for_the_planned_read(limited, make, monkeypatch):
    """The read was planned with the kept caller (an advocate, their own row asked for); the
    role change moved the stamp, the route resolved the caller again (a manager: no row of their
    own), so the planned answer is for another read and the route makes its own."""
    advocate = make.advocate(points=10)
    token = make.token(advocate.user)
    assert get_board(limited, token).get_json()["me"] == {"rank": 1, "points": 10}
    user = db.session.get(User, advocate.user_id)
    user.role = Role.MANAGER
    db.session.commit()
    with redis_commands(monkeypatch) as calls:
        reply = get_board(limited, token)
    assert reply.status_code == 200
    assert reply.get_json()["me"] is None
    assert [c[0] for c in calls] == ["EVALSHA", "EVALSHA"]  # the limit's (with the planned read), the route's
    assert [(e["advocate_id"], e["points"]) for e in reply.get_json()["entries"]] == [(advocate.id, 10)]


def test_the_429_is_the_same_with_and_without_a_planned_read(pg_app, pg_url, redis_url, make):
    saved = dict(vars(limiter))
    app = build_app(pg_url, REDIS_URL=redis_url, RATELIMIT_ENABLED=True, VOUCH_API_RATE_LIMIT="3/minute")
    try:
        with app.app_context():
            leaderboard.rebuild()
            db.session.commit()
            board_token = make.token(make.advocate(points=10).user)
            me_token = make.token(make.advocate(points=10).user)
            boards = [get_board(app, board_token) for _ in range(4)]
            mes = [
                app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {me_token}"}) for _ in range(4)
            ]
    finally:
        with app.app_context():
            from tests.support.environment import clear_redis, clear_tables

            clear_tables(app)
            clear_redis(app)
            db.session.remove()
            db.engine.dispose()
        vars(limiter).clear()
        vars(limiter).update(saved)
    assert [r.status_code for r in boards] == [200, 200, 200, 429]
    assert [r.status_code for r in mes] == [200, 200, 200, 429]
    refused, plain = boards[3], mes[3]
    assert refused.get_json()["error"]["code"] == plain.get_json()["error"]["code"] == "rate_limited"
    assert set(refused.get_json()["error"]) == set(plain.get_json()["error"])
    assert refused.get_json()["error"]["message"].startswith("Too many attempts. Try again in ")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert sorted(k for k, _ in refused.headers) == sorted(k for k, _ in plain.headers)
