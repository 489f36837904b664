"""`in_transaction` commits a unit only when there is something to commit (issue 22): a unit that
ran no statement, touched no object and left no job or after-commit call behind is not sent
through the session's commit; every other unit is, and its after-commit work still runs."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.models import Group
from hub.queue import call_after_commit
from hub.transactions import in_transaction, nothing_to_commit


@pytest.fixture
def commits(ctx, monkeypatch) -> list[int]:
    """One entry per call of db.session.commit()."""
    seen: list[int] = []
    real = db.session.commit

    def counted() -> None:
        seen.append(1)
        real()

    monkeypatch.setattr(db.session, "commit", counted)
    return seen


def test_a_unit_that_did_nothing_is_not_committed(commits):
    db.session.remove()  # a fresh session, as a request starts with
    assert in_transaction(lambda: 42) == 42
    assert commits == []


def test_a_unit_that_ran_a_statement_is_committed(commits):
    db.session.remove()
    assert in_transaction(lambda: db.session.scalar(select(1))) == 1
    assert commits == [1]


def test_an_object_added_without_a_flush_is_committed(commits):
    db.session.remove()
    in_transaction(lambda: db.session.add(Group(name="Added only")))
    assert commits == [1]
    assert db.session.scalar(select(Group.name).where(Group.name == "Added only")) == "Added only"


def test_an_after_commit_call_alone_still_runs(commits):
    db.session.remove()
    ran: list[str] = []
    assert nothing_to_commit()
    in_transaction(lambda: call_after_commit(lambda: ran.append("after commit")))
    assert commits == [1]
    assert ran == ["after commit"]
