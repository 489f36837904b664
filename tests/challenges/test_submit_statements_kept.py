"""A submission's statements built once per process (issue 22, submit CPU): the completion's
INSERT per set of columns, and the advocate's tries read as three columns. What must hold: each
set of columns gets its own statement (a kept one never writes another submission's columns or
leaves a default out), the row written is the one the values say, a conflict still writes
nothing, and the limits decided from the three columns are those decided from whole rows."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from challenges import services
from challenges.models import Completion, CompletionStatus
from challenges.services import submissions
from hub.errors import AlreadySubmitted, LimitReached
from hub.extensions import db

LINK = {"type": "social_share", "points": 10, "allowed_domains": ["linkedin.com"], "marker": "#acme"}
QUIZ = {"questions": [{"prompt": "2+2?", "options": ["3", "4"], "answer": 1}]}


def stored(completion_id: int) -> Completion:
    db.session.expire_all()
    return db.session.get_one(Completion, completion_id)


def test_each_set_of_columns_has_its_own_insert_and_writes_its_row(make_advocate, make_challenge):
    link = make_challenge(title="Share the post", **LINK)
    quiz = make_challenge(type="quiz", quiz=QUIZ, points=40, title="Quiz")
    ann, bo = make_advocate(), make_advocate()
    built_before = set(submissions._BUILT)

    shared = services.submit_completion(link.id, ann.id, {"evidence_url": "https://www.linkedin.com/posts/ann-1"})
    graded = services.submit_completion(quiz.id, ann.id, {"answers": [1]})
    again = services.submit_completion(link.id, bo.id, {"evidence_url": "https://www.linkedin.com/posts/bo-1"})
    db.session.flush()  # read back inside the transaction: after commit the link's check job runs

    inserts = {key for key in set(submissions._BUILT) - built_before if key[0] == "insert"}
    assert len(inserts) <= 2  # the link's columns and the graded quiz's (more columns): one each
    link_keys = [key for key in submissions._BUILT if key[0] == "insert" and "decided_at" not in key]
    quiz_keys = [key for key in submissions._BUILT if key[0] == "insert" and "decided_at" in key]
    assert link_keys and quiz_keys

    first, second, third = stored(shared.id), stored(graded.id), stored(again.id)
    assert (first.advocate_id, first.challenge_id, first.status) == (ann.id, link.id, CompletionStatus.SUBMITTED)
    assert first.evidence_url == "https://www.linkedin.com/posts/ann-1" and first.points_offered == 10
    assert (first.decided_at, first.points_awarded, first.verification_attempts) == (None, None, 0)
    assert (third.advocate_id, third.evidence_url) == (bo.id, "https://www.linkedin.com/posts/bo-1")
    assert (second.status, second.points_awarded, second.answers) == (CompletionStatus.APPROVED, 40, [1])
    assert second.decided_at is not None and second.verification_attempts == 1 and second.is_auto_approved


def test_a_second_open_completion_still_writes_nothing(make_advocate, make_challenge):
    link = make_challenge(title="Share the post", **LINK)
    ann = make_advocate()
    services.submit_completion(link.id, ann.id, {"evidence_url": "https://www.linkedin.com/posts/ann-1"})
    with pytest.raises(AlreadySubmitted):
        services.submit_completion(link.id, ann.id, {"evidence_url": "https://www.linkedin.com/posts/ann-2"})
    rows = db.session.scalars(select(Completion.evidence_url).where(Completion.advocate_id == ann.id)).all()
    assert rows == ["https://www.linkedin.com/posts/ann-1"]


def test_limits_from_the_three_columns(make_advocate, make_challenge):
    """A cooldown: the tries' times and statuses (read as three columns) refuse the next try
    until the cooldown from the last approval is over, with that instant."""
    link = make_challenge(title="Weekly share", cooldown_days=7, max_per_advocate=10, **LINK)
    ann = make_advocate()
    day = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
    done = services.submit_completion(link.id, ann.id, {"evidence_url": "https://www.linkedin.com/posts/a"}, at=day)
    done.status, done.decided_at = CompletionStatus.APPROVED, day
    db.session.flush()
    with pytest.raises(LimitReached) as refused:
        services.submit_completion(
            link.id, ann.id, {"evidence_url": "https://www.linkedin.com/posts/b"}, at=day + dt.timedelta(days=3)
        )
    assert refused.value.details.get("available_at") == day + dt.timedelta(days=7)
    later = services.submit_completion(
        link.id, ann.id, {"evidence_url": "https://www.linkedin.com/posts/c"}, at=day + dt.timedelta(days=7, hours=1)
    )
    assert later.status is CompletionStatus.SUBMITTED
