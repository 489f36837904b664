"""`GET /api/v1/leaderboard` written as bytes from the board's raw Redis answer (issue 22,
rewards.api.leaderboard_json): the reply must be byte for byte what the reply
model writes for `leaderboard_payload`, for every kind of viewer and board, and the entries kept
per raw answer must never outlive a change — including one written by another process, which
no hook of this process sees."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
import pytest
import redis as redis_lib
from flask import Flask

from hub import tokens
from hub.api_validation import WrittenReply
from hub.extensions import db, limiter
from hub.models import Advocate, User
from hub.tokens import Caller
from rewards import api, leaderboard, leaderboard_view
from rewards.contracts import LeaderboardReply
from rewards.ledger import post_entry
from tests.support.environment import build_app

pytestmark = pytest.mark.services


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    tokens.forget_callers()
    leaderboard_view.forget_group_names()
    api.forget_kept_replies()
    yield
    tokens.forget_callers()
    leaderboard_view.forget_group_names()
    api.forget_kept_replies()


@pytest.fixture
def boards(pg_app: Flask, pg_url: str, redis_url: str) -> Iterator[Flask]:
    """PostgreSQL + Redis with the API rate limit on (a limit never reached), inside the app
    context, boards rebuilt (their encoding marker written)."""
    saved = dict(vars(limiter))  # Flask-Limiter's one global instance; put back afterwards
    app = build_app(pg_url, REDIS_URL=redis_url, RATELIMIT_ENABLED=True, VOUCH_API_RATE_LIMIT="1000/minute")
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


@pytest.fixture
def other_redis(redis_url: str) -> Iterator[redis_lib.Redis]:
    """A Redis connection of its own, as another process (a worker, another web process) has."""
    client = redis_lib.Redis.from_url(redis_url)
    yield client
    client.close()


def award(advocate_id: int, points: int, source: str) -> None:
    post_entry(advocate_id, points, kind="earn", source_type="test", source_id=source)
    db.session.commit()


def model_bytes(user: User, period: str = "all", group: str | int | None = None, limit: int = 10) -> bytes:
    """What the reply model writes for this board and viewer (the route's answer before issue 22)."""
    payload = leaderboard_view.leaderboard_payload(user, period, group, limit)
    db.session.commit()
    return LeaderboardReply.model_validate(payload).model_dump_json().encode()


def written(user: User, period: str = "all", group: str | int | None = None, limit: int = 10) -> bytes:
    found = api.leaderboard_json(Caller.of(user), period, group, limit)
    db.session.commit()
    assert isinstance(found, WrittenReply) and found.model is LeaderboardReply
    return found.body


@pytest.fixture
def cast(boards, make):
    """Ada 300 (a name with quotes), Bø 120 (non-ASCII), Cy 120 after Bø (opted out), Dee 0
    points, Eve 5; Ada and Cy in the group `Nörd "Q"`; an owner."""
    ada = make.advocate(points=300, name='Ada "the" Lovelace', groups=('Nörd "Q"',))
    bo = make.advocate(points=120, name="Bø Ünïcode ☃ \\ </script>")
    cy = make.advocate(points=120, name="Cy Hidden", groups=('Nörd "Q"',))
    cy.show_on_leaderboard = False
    dee = make.advocate(name="Dee Nopoints")
    eve = make.advocate(points=5, name="Eve Five")
    owner = make.user("owner")
    db.session.commit()
    return {"ada": ada, "bo": bo, "cy": cy, "dee": dee, "eve": eve, "owner": owner}


def test_the_written_reply_is_the_models_bytes_for_every_viewer_and_board(cast):
    group_id = db.session.get(Advocate, cast["ada"].id).groups[0].id
    viewers = [cast["ada"].user, cast["cy"].user, cast["dee"].user, cast["eve"].user, cast["owner"]]
    boards_asked = [("all", None, 10), ("all", None, 1), ("all", None, 2), ("month", None, 10), ("quarter", None, 3)]
    boards_asked += [("all", 'nörd "q"', 10), ("all", str(group_id), 1), ("month", group_id, 10)]
    for viewer in viewers:
        for period, group, limit in boards_asked:
            expected = model_bytes(viewer, period, group, limit)
            assert written(viewer, period, group, limit) == expected, (viewer.name, period, group, limit)
            # the second read takes the kept entries: still the same bytes
            assert written(viewer, period, group, limit) == expected, (viewer.name, period, group, limit)


def test_the_values_are_those_counted_by_hand(cast):
    ada, bo, cy = cast["ada"], cast["bo"], cast["cy"]
    for _ in range(2):  # the kept entries answer the second time
        body = LeaderboardReply.model_validate_json(written(cy.user))
        assert [(e.rank, e.advocate_id, e.display_name, e.points, e.is_me) for e in body.entries] == [
            (1, ada.id, 'Ada "the" Lovelace', 300, False),
            (2, bo.id, "Bø Ünïcode ☃ \\ </script>", 120, False),
            (2, cy.id, "Anonymous advocate", 120, True),  # opted out, but it is the viewer
            (4, cast["eve"].id, "Eve Five", 5, False),
        ]
        assert body.me is not None and (body.me.rank, body.me.points) == (2, 120)
    seen_by_ada = LeaderboardReply.model_validate_json(written(ada.user))
    assert seen_by_ada.entries[2].advocate_id is None  # Cy opted out: no id for other advocates
    assert seen_by_ada.entries[0].is_me and seen_by_ada.me is not None and seen_by_ada.me.rank == 1
    unranked = LeaderboardReply.model_validate_json(written(cast["dee"].user))
    assert unranked.me is not None and (unranked.me.rank, unranked.me.points) == (None, 0)
    staff = LeaderboardReply.model_validate_json(written(cast["owner"]))
    assert staff.me is None and staff.entries[2].advocate_id == cy.id
    group = LeaderboardReply.model_validate_json(written(ada.user, group='NÖRD "Q"'))
    assert group.group == 'Nörd "Q"' and [e.advocate_id for e in group.entries] == [ada.id, None]


def test_viewers_off_the_page_share_one_kept_entries_list(cast):
    first = model_bytes(cast["dee"].user, limit=2)
    assert written(cast["dee"].user, limit=2) == first
    assert len(api._kept_entries) == 1
    # Eve is ranked 4th, off a page of 2: the same entries, her own `me`
    assert written(cast["eve"].user, limit=2) == model_bytes(cast["eve"].user, limit=2)
    assert written(cast["owner"], limit=2) != first  # staff see every id: entries of their own
    assert len(api._kept_entries) == 2
    # Ada is on the page: her entries say is_me, so they are kept apart
    assert written(cast["ada"].user, limit=2) == model_bytes(cast["ada"].user, limit=2)
    assert len(api._kept_entries) == 3


def test_points_written_by_another_process_show_on_the_next_read(cast, other_redis):
    ada, bo = cast["ada"], cast["bo"]
    before = LeaderboardReply.model_validate_json(written(cast["dee"].user))
    assert [e.advocate_id for e in before.entries[:2]] == [ada.id, bo.id]
    # What another process's after-commit step does for 500 more points: no hook runs here.
    other_redis.zincrby(leaderboard.redis_key("all"), 500 * leaderboard.SCORE_PER_POINT, leaderboard.member(bo.id))
    after = LeaderboardReply.model_validate_json(written(cast["dee"].user))
    assert [(e.rank, e.advocate_id, e.points) for e in after.entries[:2]] == [(1, bo.id, 620), (2, ada.id, 300)]


def test_a_rename_and_an_opt_out_committed_by_another_process_show_on_the_next_read(cast, other_redis, pg_url):
    ada, bo = cast["ada"], cast["bo"]
    viewer = cast["eve"].user
    assert LeaderboardReply.model_validate_json(written(viewer)).entries[0].display_name == 'Ada "the" Lovelace'
    # Another process commits a rename and an opt-out, then its after-commit step drops their
    # display rows and moves the generation (rewards.leaderboard.forget_display).
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("UPDATE users SET name = 'Ada Renamed' WHERE id = %s", (ada.user_id,))
        conn.execute("UPDATE advocates SET show_on_leaderboard = false WHERE id = %s", (bo.id,))
    pipe = other_redis.pipeline(transaction=True)
    pipe.incr(leaderboard.rows_generation_key())
    pipe.hdel(leaderboard.rows_key(), leaderboard.member(ada.id), leaderboard.member(bo.id))
    pipe.execute()
    db.session.expire_all()
    after = LeaderboardReply.model_validate_json(written(viewer))
    assert [(e.advocate_id, e.display_name) for e in after.entries[:2]] == [
        (ada.id, "Ada Renamed"),
        (None, "Anonymous advocate"),
    ]
    assert written(viewer) == model_bytes(viewer)


def test_points_awarded_here_show_on_the_next_read(cast):
    viewer = cast["dee"].user
    written(viewer)
    award(cast["eve"].id, 1000, "late")
    body = LeaderboardReply.model_validate_json(written(viewer))
    assert (body.entries[0].advocate_id, body.entries[0].points) == (cast["eve"].id, 1005)


def test_stale_boards_are_not_written_from_redis_and_the_route_answers_from_sql(cast, other_redis, boards):
    viewer = cast["ada"].user
    expected = model_bytes(viewer)
    other_redis.set(leaderboard.stale_key(), "1")
    assert api.leaderboard_json(Caller.of(viewer), "all", None, 10) is None
    token = _token(viewer)
    reply = boards.test_client().get("/api/v1/leaderboard?limit=10", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200 and reply.data == expected


def test_redis_failing_leaves_the_reply_to_the_sql_path(cast, monkeypatch):
    def fails(*_args, **_kwargs):
        raise redis_lib.exceptions.ConnectionError("down")

    monkeypatch.setattr(leaderboard, "warm_answer", fails)
    assert api.leaderboard_json(Caller.of(cast["ada"].user), "all", None, 10) is None


def _token(user: User) -> str:
    _, plaintext = tokens.create_api_token(user, "test", None)
    db.session.commit()
    return plaintext


@contextlib.contextmanager
def evalsha_count(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    calls: list[str] = []
    real = redis_lib.Redis.execute_command

    def counted(self, *args, **options):
        calls.append(args[0])
        return real(self, *args, **options)

    monkeypatch.setattr(redis_lib.Redis, "execute_command", counted)
    try:
        yield calls
    finally:
        monkeypatch.undo()


def test_the_route_sends_the_models_bytes_in_one_round_trip(cast, boards, monkeypatch):
    for name, query in (("ada", "limit=10"), ("dee", "limit=2&period=month"), ("cy", "group=N%C3%B6rd%20%22Q%22")):
        user = cast[name].user
        token = _token(user)
        client = boards.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get(f"/api/v1/leaderboard?{query}", headers=headers).status_code == 200  # caller kept
        with evalsha_count(monkeypatch) as calls:
            replies = [client.get(f"/api/v1/leaderboard?{query}", headers=headers) for _ in range(2)]
        assert calls == ["EVALSHA", "EVALSHA"]
        args = dict(part.split("=") for part in query.split("&"))
        group = 'Nörd "Q"' if "group" in args else None
        expected = model_bytes(user, args.get("period", "all"), group, int(args.get("limit", 10)))
        for reply in replies:
            assert reply.status_code == 200 and reply.mimetype == "application/json"
            assert reply.data == expected


def test_a_written_reply_for_another_model_is_refused(boards, cast):
    from unittest import mock

    from hub.contracts import ErrorReply

    token = _token(cast["ada"].user)
    wrong = WrittenReply(ErrorReply, b"{}")
    with mock.patch.object(api, "leaderboard_json", return_value=wrong):
        reply = boards.test_client().get("/api/v1/leaderboard", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 500 and reply.data != b"{}"  # a programming error, never sent as it is
