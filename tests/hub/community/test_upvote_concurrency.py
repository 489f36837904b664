"""Upvotes under real concurrency: one vote per user per answer; the 3-upvote milestone fires once."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from hub import signals
from hub.community import services
from hub.community.models import Answer, AnswerVote
from hub.errors import AlreadyVoted
from hub.extensions import db
from hub.hooks import hooks
from hub.models import User
from hub.queue import job_timeout


@job_timeout(10)
def record_milestone(answer_id: int) -> None:
    """A top-level job, as the challenges package registers (RQ needs an importable function)."""


def _parallel_upvotes(app, answer_id: int, user_ids: list[int]) -> Counter:
    barrier = threading.Barrier(len(user_ids))
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def runner(user_id: int) -> None:
        with app.app_context():
            user = db.session.get(User, user_id)
            db.session.commit()
            barrier.wait()
            try:
                services.upvote_answer(user, answer_id)
                db.session.commit()
                result = "voted"
            except AlreadyVoted:
                db.session.rollback()
                result = "already_voted"
            finally:
                db.session.remove()
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=runner, args=(u,)) for u in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def _answer(app, make) -> int:
    with app.app_context():
        asker, answerer = make.advocate().user, make.advocate().user
        question = services.ask_question(asker, "Parallel votes?", "Go")
        answer = services.post_answer(answerer, question.id, "Here")
        db.session.commit()
        return answer.id


def _counts(app, answer_id: int) -> tuple[int, int]:
    with app.app_context():
        votes = db.session.scalar(select(func.count()).select_from(AnswerVote).where(AnswerVote.answer_id == answer_id))
        return votes, db.session.get(Answer, answer_id).upvotes


@pytest.mark.services
@pytest.mark.parametrize("repeat", range(3))
@pytest.mark.multi_connection
def test_ten_parallel_upvotes_by_one_user_count_once(pg_app, make, repeat):
    answer_id = _answer(pg_app, make)
    with pg_app.app_context():
        voter_id = make.advocate().user.id
    outcomes = _parallel_upvotes(pg_app, answer_id, [voter_id] * 10)
    assert outcomes == Counter({"voted": 1, "already_voted": 9})
    assert _counts(pg_app, answer_id) == (1, 1)


@pytest.mark.services
@pytest.mark.multi_connection
def test_parallel_upvotes_by_many_fire_the_milestone_once(pg_app, make, monkeypatch):
    monkeypatch.setattr(hooks(pg_app), "answer_milestone_jobs", [record_milestone])
    pg_app.extensions["vouch_queue"].queue().empty()  # jobs earlier tests left for a worker that never ran
    fired: list[int] = []
    lock = threading.Lock()

    def on_threshold(_sender, answer_id: int, **_kw) -> None:
        with lock:
            fired.append(answer_id)

    answer_id = _answer(pg_app, make)
    with pg_app.app_context():
        voters = [make.advocate().user.id for _ in range(8)]
    signals.answer_upvote_threshold.connect(on_threshold)
    try:
        outcomes = _parallel_upvotes(pg_app, answer_id, voters)
    finally:
        signals.answer_upvote_threshold.disconnect(on_threshold)
    assert outcomes == Counter({"voted": 8})
    assert _counts(pg_app, answer_id) == (8, 8)
    assert fired == [answer_id]
    backend = pg_app.extensions["vouch_queue"]
    expected = backend.job_key(services.milestone_job_id(record_milestone, answer_id))
    assert [j for j in backend.queue().job_ids if j.startswith(backend.job_key(f"answer-{answer_id}-"))] == [expected]


@pytest.mark.multi_connection
def test_parallel_upvotes_by_one_user_on_sqlite(app, make):
    answer_id = _answer(app, make)
    with app.app_context():
        voter_id = make.advocate().user.id
    outcomes = _parallel_upvotes(app, answer_id, [voter_id] * 6)
    assert outcomes == Counter({"voted": 1, "already_voted": 5})
    assert _counts(app, answer_id) == (1, 1)
