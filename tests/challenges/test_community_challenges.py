"""Community answers complete `community_answer` challenges (once, within dates, targeting and
limits); the weekly digest lists only challenges the feed would let the advocate take now."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from challenges import community, services
from challenges.jobs import complete_community_answer
from challenges.models import Completion, CompletionStatus
from hub.community import services as community_services
from hub.db import utcnow
from hub.email.mailings import compose_digest
from hub.email.models import OutboxEmail
from hub.extensions import db
from hub.models import Advocate, Notification, User
from rewards.models import LedgerEntry
from tests.support.challenges import create_challenge


@pytest.fixture()
def qa(ctx, make):
    asker = make.advocate().user
    answerer = make.advocate(name="Answerer")
    question = community_services.ask_question(asker, "How do you onboard admins?", "Looking for a checklist.")
    answer = community_services.post_answer(answerer.user, question.id, "We use a **checklist**.")
    db.session.commit()
    return {
        "asker_id": asker.id,
        "answerer_id": answerer.id,
        "answerer_user_id": answerer.user_id,
        "question_id": question.id,
        "answer_id": answer.id,
        "voter": lambda: make.advocate().user,
    }


def _user(user_id: int) -> User:
    return db.session.get(User, user_id)


def _completions(advocate_id: int) -> list[Completion]:
    db.session.commit()
    return list(db.session.scalars(select(Completion).where(Completion.advocate_id == advocate_id)))


def _balance(advocate_id: int) -> int:
    db.session.commit()
    return db.session.get(Advocate, advocate_id).balance


def test_accepted_answer_completes_the_challenge_once_with_points(qa, jobs):
    challenge = create_challenge(title="Answer a question", type="community_answer", points=40)
    advocate_id = qa["answerer_id"]
    community_services.accept_answer(_user(qa["asker_id"]), qa["answer_id"])
    db.session.commit()
    jobs.join()
    [completion] = _completions(advocate_id)
    assert (completion.challenge_id, completion.status, completion.points_awarded) == (
        challenge.id,
        CompletionStatus.APPROVED,
        40,
    )
    assert completion.source_key == f"answer:{qa['answer_id']}"
    assert completion.evidence_url.endswith(f"/community/questions/{qa['question_id']}#answer-{qa['answer_id']}")
    assert _balance(advocate_id) == 40
    # The job delivered again, and later upvotes past the threshold: still one completion, one award.
    complete_community_answer(qa["answer_id"])
    for _ in range(3):
        community_services.upvote_answer(qa["voter"](), qa["answer_id"])
        db.session.commit()
    jobs.join()
    assert len(_completions(advocate_id)) == 1 and _balance(advocate_id) == 40
    assert (
        db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.source_type == "completion"))
        == 1
    )
    kinds = set(db.session.scalars(select(Notification.kind).where(Notification.user_id == qa["answerer_user_id"])))
    assert {"answer_accepted", "completion_approved"} <= kinds


def test_third_upvote_completes_it(qa, jobs):
    create_challenge(title="Helpful answer", type="community_answer", points=25)
    for _ in range(2):
        community_services.upvote_answer(qa["voter"](), qa["answer_id"])
        db.session.commit()
    jobs.join()
    assert _completions(qa["answerer_id"]) == []
    community_services.upvote_answer(qa["voter"](), qa["answer_id"])
    db.session.commit()
    jobs.join()
    assert [c.status for c in _completions(qa["answerer_id"])] == [CompletionStatus.APPROVED]
    assert _balance(qa["answerer_id"]) == 25


def test_question_specific_dates_targeting_and_limits(qa):
    other = community_services.ask_question(_user(qa["asker_id"]), "A different question", "?")
    db.session.commit()
    specific = create_challenge(title="Answer this one", type="community_answer", question_id=qa["question_id"])
    elsewhere = create_challenge(title="Answer the other", type="community_answer", question_id=other.id)
    gold_only = create_challenge(title="Gold answerers", type="community_answer", target_tiers=["gold"])
    ended = create_challenge(
        title="Last month", type="community_answer", ends_at=(utcnow() - dt.timedelta(days=1)).isoformat()
    )
    draft = create_challenge(title="Not yet", type="community_answer", publish=False)
    community_services.accept_answer(_user(qa["asker_id"]), qa["answer_id"])
    done = community.complete_community_answer(qa["answer_id"])
    db.session.commit()
    assert [c.challenge_id for c in done] == [specific.id]
    assert {elsewhere.id, gold_only.id, ended.id, draft.id}.isdisjoint(
        c.challenge_id for c in _completions(qa["answerer_id"])
    )
    # A second qualifying answer by the same advocate: the per-advocate limit (1) holds.
    second = community_services.post_answer(_user(qa["answerer_user_id"]), other.id, "Another answer")
    community_services.accept_answer(_user(qa["asker_id"]), second.id)
    done = community.complete_community_answer(second.id)
    db.session.commit()
    assert [c.challenge_id for c in done] == [elsewhere.id]


def test_unqualified_hidden_or_staff_answers_earn_nothing(qa, make):
    create_challenge(title="Answer a question", type="community_answer")
    assert community.complete_community_answer(qa["answer_id"]) == []  # neither accepted nor upvoted
    manager = make.user("manager")
    community_services.accept_answer(_user(qa["asker_id"]), qa["answer_id"])
    community_services.set_hidden(manager, "answer", qa["answer_id"], True, "Spam")
    assert community.complete_community_answer(qa["answer_id"]) == []
    staff_answer = community_services.post_answer(manager, qa["question_id"], "Official answer")
    db.session.commit()
    staff_answer.is_accepted = True
    assert community.complete_community_answer(staff_answer.id) == []
    assert community.complete_community_answer(999_999) == []


def test_digest_lists_only_new_available_targeted_challenges(ctx, make):
    advocate = make.advocate(groups=("EMEA",))
    other_group = make.advocate(groups=("APAC",))
    now = utcnow()
    listed = [create_challenge(title=f"Open {i}", points=100 + i) for i in range(7)]
    create_challenge(title="APAC only", target_groups=["APAC"])
    create_challenge(title="Gold only", target_tiers=["gold"])
    create_challenge(title="Draft", publish=False)
    old = create_challenge(title="Published long ago")
    old.published_at = now - dt.timedelta(days=30)
    # A medium-effort ask now caps the advocate (1 per 60 days): medium challenges are locked.
    first_medium = create_challenge(title="Webinar", effort="medium")
    services.submit_completion(first_medium.id, advocate.id, {"evidence_text": "I was there"})
    capped = create_challenge(title="Case study", effort="medium")
    db.session.commit()

    items = community.digest_items(advocate.id, now - dt.timedelta(days=7), 6)
    titles = [i["title"] for i in items]
    assert len(titles) == 6 and set(titles) <= {c.title for c in listed}
    assert titles[0] == "Open 6"  # the feed's order: most points first among equals
    assert all(i["url"].startswith("/challenges/") for i in items)
    for excluded in ("APAC only", "Gold only", "Draft", "Published long ago", "Webinar", capped.title):
        assert excluded not in titles
    assert services.feed_item(capped, advocate).lock_code == "cap_reached"
    assert "APAC only" in [i["title"] for i in community.digest_items(other_group.id, now - dt.timedelta(days=7), 9)]

    message = compose_digest(advocate.id, "2026-W48")
    db.session.commit()
    assert message.subject == "6 new challenges for you this week"
    assert "Case study" not in message.body_text and "APAC only" not in message.body_text
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 1


def test_thank_you_email_at_the_fifth_approval(ctx, make):
    advocate = make.advocate()
    challenge = create_challenge(title="Repeatable", type="custom", max_per_advocate=10)
    for _ in range(5):
        completion = services.submit_completion(challenge.id, advocate.id, {"evidence_text": "Done again"})
        services.approve_completion(completion.id, None)
        db.session.commit()
    thanks = db.session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "milestones")).all()
    assert [m.subject for m in thanks] == ["Thank you for 5 approved completions!"]


@pytest.mark.services
@pytest.mark.parametrize("max_per_advocate", [1, 5])
@pytest.mark.multi_connection
def test_the_job_run_in_parallel_completes_once(pg_app, make, max_per_advocate):
    import threading

    with pg_app.app_context():
        asker, answerer = make.advocate().user, make.advocate()
        create_challenge(title="Answer", type="community_answer", points=30, max_per_advocate=max_per_advocate)
        question = community_services.ask_question(asker, "Parallel credit?", "Go")
        answer = community_services.post_answer(answerer.user, question.id, "Here")
        community_services.accept_answer(asker, answer.id)
        db.session.commit()
        answer_id, advocate_id = answer.id, answerer.id
    barrier = threading.Barrier(6)

    def run() -> None:
        with pg_app.app_context():
            barrier.wait()
            community.complete_community_answer(answer_id)
            db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with pg_app.app_context():
        completions = db.session.scalars(select(Completion).where(Completion.advocate_id == advocate_id)).all()
        assert [c.status for c in completions] == [CompletionStatus.APPROVED]
        assert db.session.get(Advocate, advocate_id).balance == 30
        assert (
            db.session.scalar(
                select(func.count()).select_from(LedgerEntry).where(LedgerEntry.advocate_id == advocate_id)
            )
            == 1
        )
