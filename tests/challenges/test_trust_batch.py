"""The after-submission trust work of a verification batch, done set-based in its claim
(`challenges.trust.after_submissions_now`, issue 22 "Workers"), equals each submission's own job
run one by one: the same signals (burst, short answer, repeated answer, duplicate link), scores and
last activity, on twin advocates; and a decided or flow-made completion is left to its own job."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from challenges import services
from challenges import trust as challenge_trust
from challenges.models import Completion, CompletionStatus
from hub.db import utcnow
from hub.extensions import db
from hub.models import Advocate, TrustSignal
from tests.support.challenges import create_challenge

# The tests commit: their tables are emptied afterwards.
pytestmark = pytest.mark.multi_connection


def no_jobs_commit() -> None:
    db.session.info.pop("vouch_pending_jobs", None)
    db.session.commit()


def _twin(make, label: str) -> tuple[list[int], list[int]]:
    """Advocates whose newest submissions raise each signal, their older ones approved: (advocate
    ids, the newest submissions' completion ids — what a batch would claim)."""
    talk = create_challenge(
        title=f"Talk {label}", type="custom", points=10, max_per_advocate=1000, verification="manual"
    )
    links = create_challenge(
        title=f"Links {label}", type="review", points=10, max_per_advocate=1000, verification="manual"
    )
    now = utcnow()
    burst, short, first, copier, duplicate, quiet = (make.advocate() for _ in range(6))
    for n in range(5):
        older = services.submit_completion(
            talk.id,
            burst.id,
            {"evidence_text": f"Session {n} of {label} was useful"},
            at=now - dt.timedelta(minutes=50 - n),
        )
        services.approve_completion(older.id, None)
    same_words = f"The {label} webinar on reporting changed how our team works"
    services.approve_completion(
        services.submit_completion(talk.id, first.id, {"evidence_text": same_words}, at=now - dt.timedelta(days=2)).id,
        None,
    )
    link = f"https://www.g2.com/products/acme/reviews/{label}"
    services.approve_completion(
        services.submit_completion(links.id, quiet.id, {"evidence_url": link}, at=now - dt.timedelta(days=3)).id, None
    )
    newest = [
        services.submit_completion(talk.id, burst.id, {"evidence_text": f"Session six of {label} was useful"}, at=now),
        services.submit_completion(talk.id, short.id, {"evidence_text": "ok"}, at=now),
        services.submit_completion(talk.id, copier.id, {"evidence_text": same_words}, at=now),
        services.submit_completion(links.id, duplicate.id, {"evidence_url": link + "?utm_source=mail"}, at=now),
        services.submit_completion(
            talk.id, quiet.id, {"evidence_text": f"A long and thoughtful answer for {label}"}, at=now
        ),
    ]
    ids = [c.id for c in newest]
    # Claimed by a batch (verifying), as `verify_pending`'s claim leaves them before this work.
    db.session.execute(update(Completion).where(Completion.id.in_(ids)).values(status=CompletionStatus.VERIFYING))
    no_jobs_commit()
    return [a.id for a in (burst, short, first, copier, duplicate, quiet)], ids


def _outcome(advocate_ids: list[int]) -> list[tuple]:
    db.session.expire_all()
    found = []
    for advocate_id in advocate_ids:
        advocate = db.session.get(Advocate, advocate_id)
        newest = db.session.scalar(
            select(Completion.submitted_at)
            .where(Completion.advocate_id == advocate_id)
            .order_by(Completion.submitted_at.desc())
            .limit(1)
        )
        kinds = sorted(db.session.scalars(select(TrustSignal.kind).where(TrustSignal.advocate_id == advocate_id)))
        found.append((kinds, advocate.trust_score, advocate.last_activity_at == newest))
    return found


def test_a_batchs_trust_work_equals_each_submissions_job(ctx, make):
    one_advocates, one_ids = _twin(make, "one")
    for completion_id in one_ids:
        challenge_trust.trust_after_submission(completion_id)
    batch_advocates, batch_ids = _twin(make, "batch")
    assert challenge_trust.after_submissions_now(batch_ids) == sorted(batch_ids)
    no_jobs_commit()
    one, batch = _outcome(one_advocates), _outcome(batch_advocates)
    assert batch == one
    # What the scenario raises, computed by hand: burst 20, short answer 5, repeated answer 20,
    # duplicate link 40 (the advocate who answered first gets nothing, nor the quiet one).
    assert one == [
        (["burst"], 80, True),
        (["short_answer"], 95, True),
        ([], 100, False),  # their only submission is not in the batch: left alone
        (["repeated_answer"], 80, True),
        (["duplicate_url"], 60, True),
        ([], 100, True),
    ]


def test_decided_and_flow_made_completions_are_left_to_their_own_jobs(ctx, make):
    talk = create_challenge(title="Talk", type="custom", points=10, max_per_advocate=1000, verification="manual")
    advocates = [make.advocate(), make.advocate()]
    decided = services.submit_completion(talk.id, advocates[0].id, {"evidence_text": "ok"})
    services.approve_completion(decided.id, None)
    made = services.submit_completion(
        talk.id, advocates[1].id, {"evidence_text": "ok"}, source_key=f"flow:{advocates[1].id}", system=True
    )
    no_jobs_commit()
    assert challenge_trust.after_submissions_now([decided.id, made.id]) == []
    mine = select(TrustSignal.kind).where(TrustSignal.advocate_id.in_([a.id for a in advocates]))
    assert db.session.scalars(mine).all() == []
