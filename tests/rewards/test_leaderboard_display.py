"""Display rows of leaderboard reads kept in Redis (issue 22): a warm read runs no SQL, and a
name, tier or leaderboard-choice change shows on the very next read after its commit."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event

from hub import accounts
from hub.extensions import db
from hub.models import Advocate
from hub.settings import get_setting
from rewards import leaderboard, ledger


@pytest.fixture()
def redis_app(app_factory):
    application = app_factory(VOUCH_FAKE_REDIS=True)
    with application.app_context():
        application.extensions["vouch_redis"].flushall()
        leaderboard.rebuild()
        db.session.commit()
        yield application
        db.session.remove()


@pytest.fixture()
def statements(redis_app):
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def _earn(advocate_id: int, points: int, source: str) -> None:
    at = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    ledger.post_entry(advocate_id, points, kind="earn", source_type="test", source_id=source, memo="Earned", at=at)


def _shown(me: int | None = None) -> list[tuple[int, str, str]]:
    rows, _, described = leaderboard.board("all", None, 10, 0, me)
    db.session.commit()
    return [
        (row.advocate_id, described[row.advocate_id]["display_name"], described[row.advocate_id]["tier"])
        for row in rows
    ]


def test_a_warm_read_runs_no_sql_and_matches_sql(redis_app, make, statements):
    ada = make.advocate(name="Ada Lovelace")
    bob = make.advocate(name="Bob Byte")
    _earn(ada.id, 300, "a")
    _earn(bob.id, 200, "b")
    db.session.commit()
    bob_id = bob.id
    first = _shown(bob_id)  # fills the hash from SQL
    statements.clear()
    rows, me, described = leaderboard.board("all", None, 10, 0, bob_id)
    assert statements == [], statements
    assert first == [(ada.id, "Ada Lovelace", "bronze"), (bob.id, "Bob Byte", "bronze")]
    assert described == leaderboard.describe(rows)
    assert (me.rank, me.points) == (2, 200)


def test_a_renamed_advocate_shows_the_new_name_on_the_next_read(redis_app, make):
    ada = make.advocate(name="Ada Lovelace")
    _earn(ada.id, 300, "a")
    db.session.commit()
    assert _shown() == [(ada.id, "Ada Lovelace", "bronze")]
    accounts.update_profile(ada.user_id, {"name": "Ada King"}, None)
    db.session.commit()
    assert _shown() == [(ada.id, "Ada King", "bronze")]


def test_a_tier_change_and_an_opt_out_show_on_the_next_read(redis_app, make):
    from challenges.services.preferences import PreferencesInput, save_preferences

    ada = make.advocate(name="Ada Lovelace")
    _earn(ada.id, 100, "a")
    db.session.commit()
    assert _shown() == [(ada.id, "Ada Lovelace", "bronze")]
    silver = get_setting("tier_thresholds")["silver"]
    _earn(ada.id, silver, "b")  # the ledger moves the tier (rewards.tier_changes)
    db.session.commit()
    assert db.session.get(Advocate, ada.id).tier == "silver"
    assert _shown() == [(ada.id, "Ada Lovelace", "silver")]
    save_preferences(
        ada.id,
        PreferencesInput(
            activity_types=[], available_for_references=True, max_asks_per_quarter=None, show_on_leaderboard=False
        ),
    )
    db.session.commit()
    assert _shown() == [(ada.id, "Anonymous advocate", "silver")]


def test_a_change_rolled_back_leaves_the_cached_row_and_the_board_agrees(redis_app, make):
    ada = make.advocate(name="Ada Lovelace")
    _earn(ada.id, 300, "a")
    db.session.commit()
    assert _shown() == [(ada.id, "Ada Lovelace", "bronze")]
    accounts.update_profile(ada.user_id, {"name": "Never Saved"}, None)
    db.session.flush()
    db.session.rollback()
    assert _shown() == [(ada.id, "Ada Lovelace", "bronze")]


def test_a_fill_read_before_a_change_is_refused(redis_app, make, monkeypatch):
    """A read that took its display rows from SQL before a change committed must not put them
    in the hash after the change's invalidation ran (the generation moved)."""
    ada = make.advocate(name="Ada Lovelace")
    _earn(ada.id, 300, "a")
    db.session.commit()
    r = redis_app.extensions["vouch_redis"]
    rows, _, cached, generation = leaderboard._read_board(
        r, leaderboard.period_key("all"), None, 10, 0, None, True, True
    )
    assert cached == {}
    before_change = leaderboard.describe(rows)  # what SQL said when the read began
    accounts.update_profile(ada.user_id, {"name": "Ada King"}, None)
    db.session.commit()  # its after-commit hook bumps the generation
    monkeypatch.setattr(leaderboard, "describe", lambda _rows: before_change)
    assert leaderboard._complete(r, rows, cached, generation)[ada.id]["display_name"] == "Ada Lovelace"
    assert r.hget(leaderboard.rows_key(), leaderboard._member(ada.id)) is None
    monkeypatch.undo()
    assert _shown() == [(ada.id, "Ada King", "bronze")]
