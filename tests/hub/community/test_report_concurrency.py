"""Reports under real concurrency (issue 20): ten parallel reports of one post by one member
leave one report and nine 409s (the unique key, not a read-then-write check), on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from hub.community import services
from hub.community.models import PostReport
from hub.errors import InvalidState
from hub.extensions import db
from hub.models import User


def _parallel_reports(app, answer_id: int, reporter_id: int, times: int) -> Counter:
    barrier = threading.Barrier(times)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def runner() -> None:
        with app.app_context():
            user = db.session.get(User, reporter_id)
            db.session.commit()
            barrier.wait()
            try:
                services.report_post(user, "answer", answer_id, "Spam link")
                db.session.commit()
                result = "reported"
            except InvalidState:
                db.session.rollback()
                result = "invalid_state"
            finally:
                db.session.remove()
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=runner) for _ in range(times)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.mark.services
@pytest.mark.multi_connection
def test_ten_parallel_reports_by_one_member_count_once(pg_app, make):
    with pg_app.app_context():
        asker, answerer, reader = make.advocate().user, make.advocate().user, make.advocate().user
        question = services.ask_question(asker, "Parallel reports?", "Go")
        answer = services.post_answer(answerer, question.id, "Buy now")
        db.session.commit()
        answer_id, reader_id = answer.id, reader.id
    assert _parallel_reports(pg_app, answer_id, reader_id, 10) == Counter({"reported": 1, "invalid_state": 9})
    with pg_app.app_context():
        count = db.session.scalar(select(func.count()).select_from(PostReport).where(PostReport.answer_id == answer_id))
        assert count == 1
