"""Issue 14 on PostgreSQL and Redis: erasure racing a verification job, a redemption and
another erasure. Each thread has its own app context, session and connection."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from challenges import jobs, verifiers
from challenges import services as challenge_services
from challenges.models import Completion, CompletionStatus
from hub import privacy
from hub.errors import VouchError
from hub.extensions import db
from hub.models import Advocate, AuditEntry
from rewards import leaderboard
from rewards.models import LeaderboardScore, LedgerEntry, Redemption
from rewards.services import redemptions
from tests.support.challenges import create_challenge
from tests.support.privacy import where_found
from tests.support.rewards import new_reward
from tests.support.threads import committing, run_together

pytestmark = [pytest.mark.services, pytest.mark.multi_connection]  # threads and workers commit on their own connections

EXCERPT = "Fetched-excerpt-naming-Ursula"


def totals() -> tuple[int, int]:
    """The program's points: the ledger's sum and the balances' sum (they must agree)."""
    return (
        db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.delta), 0))),
        db.session.scalar(select(func.coalesce(func.sum(Advocate.balance), 0))),
    )


def in_flight(pg_app, make) -> tuple[int, int, int]:
    """An advocate with 300 points, a review completion waiting for its verification job, and a
    reward of 100 points; returns (advocate_id, completion_id, reward_id)."""
    with pg_app.app_context():
        advocate = make.advocate(points=300, name="Ursula Racing", email="ursula.racing@example.com")
        make.advocate(points=50)  # someone else, so the totals are the program's
        challenge = create_challenge(type="review", allowed_domains=["example.com"], marker="VOUCH-1", points=75)
        completion = challenge_services.submit_completion(
            challenge.id, advocate.id, {"evidence_url": "https://example.com/ursula-review"}
        )
        db.session.commit()
        return advocate.id, completion.id, new_reward(points_cost=100)


@pytest.mark.parametrize("repeat", range(3))
@pytest.mark.parametrize("verdict_waits_for_erasure", [True, False])
def test_erase_while_verification_and_redemption_are_in_flight(
    pg_app, make, monkeypatch, repeat, verdict_waits_for_erasure
):
    advocate_id, completion_id, reward_id = in_flight(pg_app, make)
    with pg_app.app_context():
        before = totals()
    erased = threading.Event()

    def verdict(_evidence, _verification):
        if verdict_waits_for_erasure:
            assert erased.wait(10)
        return verifiers.Verdict("approve", "Found the marker.", EXCERPT)

    monkeypatch.setattr(verifiers, "run", verdict)

    def work(i: int) -> object:
        if i == 0:
            return jobs.verify_completion(completion_id)  # opens its own job contexts
        if i == 1:
            redemptions.redeem_reward(advocate_id, reward_id, note="Ship to Racing Street 1")
            return "redeemed"
        done = privacy.erase_advocate(advocate_id, None, "self")
        return done

    def run(i: int) -> object:
        if i == 0:
            with pg_app.app_context():
                return work(0)
        outcome = committing(pg_app, work, (VouchError,))(i)
        if i == 2:
            erased.set()
        return outcome

    outcomes = run_together(3, run)

    assert outcomes[True] == 1  # the erasure happened, once
    assert sum(outcomes.values()) == 3  # every thread answered (a crash would have raised)
    assert set(outcomes) <= {True, "redeemed", "not_found", "approved", "already_decided"}
    if verdict_waits_for_erasure:
        assert outcomes["already_decided"] == 1
    with pg_app.app_context():
        completion = db.session.get(Completion, completion_id)
        assert (completion.evidence_url, completion.fetched_excerpt, completion.verification_note) == (None, None, None)
        assert completion.status in (CompletionStatus.REJECTED, CompletionStatus.APPROVED)
        for needle in (EXCERPT, "ursula.racing@example.com", "Ursula Racing", "Racing Street", "ursula-review"):
            assert where_found(needle) == [], needle
        ledger_sum, balances = totals()
        assert ledger_sum == balances  # no point lost or invented
        approved = 75 if completion.status is CompletionStatus.APPROVED else 0
        assert ledger_sum == before[0] + approved - 100 * db.session.scalar(select(func.count(Redemption.id)))
        assert db.session.get(Advocate, advocate_id).is_erased
        assert (
            db.session.scalars(
                select(LeaderboardScore.advocate_id).where(LeaderboardScore.advocate_id == advocate_id)
            ).all()
            == []
        )
        rows, _ = leaderboard.standings("all", limit=50)  # read from Redis
        assert advocate_id not in [r.advocate_id for r in rows]


@pytest.mark.parametrize("repeat", range(3))
def test_two_erasures_at_once_erase_once(pg_app, make, repeat):
    with pg_app.app_context():
        advocate_id = make.advocate(points=120).id

    outcomes = run_together(2, committing(pg_app, lambda i: privacy.erase_advocate(advocate_id, None, f"call {i}")))

    assert outcomes == Counter({True: 1, False: 1})
    with pg_app.app_context():
        audits = db.session.scalar(select(func.count()).where(AuditEntry.action == "advocate.erase"))
        assert audits == 1
        assert db.session.get(Advocate, advocate_id).balance == 120


def test_erasure_survives_rebuilds_of_every_cache(pg_app, make):
    from rewards.ledger import rebuild_caches

    with pg_app.app_context():
        gone, stays = make.advocate(points=900).id, make.advocate(points=10).id
        privacy.erase_advocate(gone, None, "self")
        db.session.commit()
        leaderboard.rebuild()
        rebuild_caches()
        db.session.commit()
        rows, _ = leaderboard.standings("all", limit=50)
        assert [r.advocate_id for r in rows] == [stays]
        assert db.session.get(Advocate, gone).balance == 900  # liability unchanged
        assert db.session.get(Advocate, gone).is_erased


@pytest.mark.parametrize("repeat", range(3))
def test_two_owners_demoting_each_other_at_once_leave_one_owner(pg_app, make, repeat):
    from hub import people
    from hub.models import Role, User

    with pg_app.app_context():
        first, second = make.user("owner").id, make.user("owner").id
    pairs = [(first, second), (second, first)]

    def demote(i: int) -> str:
        actor, target = pairs[i]
        people.update_user(target, actor, role=Role.MANAGER)
        return "demoted"

    outcomes = run_together(2, committing(pg_app, demote, (VouchError,)))

    assert outcomes == Counter({"demoted": 1, "invalid_state": 1})
    with pg_app.app_context():
        owners = db.session.scalars(select(User.id).where(User.role == Role.OWNER, User.is_active_user)).all()
        assert len(owners) == 1


def test_deactivated_advocate_leaves_the_redis_board_and_returns(pg_app, make):
    from hub import people
    from hub.models import User

    with pg_app.app_context():
        owner = make.user("owner")
        top, other = make.advocate(points=700), make.advocate(points=70)
        people.update_user(top.user_id, owner.id, is_active=False)
        db.session.commit()
        assert [r.advocate_id for r in leaderboard.standings("all")[0]] == [other.id]
        from rewards.ledger import post_entry

        post_entry(top.id, 50, kind="earn", source_type="test", source_id="while-inactive")  # a late approval
        db.session.commit()
        assert [r.advocate_id for r in leaderboard.standings("all")[0]] == [other.id]
        people.update_user(top.user_id, owner.id, is_active=True)
        db.session.commit()
        rows = leaderboard.standings("all")[0]
        assert [(r.advocate_id, r.points) for r in rows] == [(top.id, 750), (other.id, 70)]
        assert db.session.get(User, top.user_id).is_active_user
