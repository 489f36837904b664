"""Issue 22, submit and redeem: quizzes and surveys decided by the submission itself (no
verification job), the after-submission job's last activity, and the statements a submission
runs (no SAVEPOINT pairs); a redemption's are tests/rewards/test_redemption_cost.py's."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from challenges import services
from challenges.models import Ask, Completion, CompletionStatus
from challenges.trust import record_last_activity
from hub import trust
from hub.email.models import OutboxEmail
from hub.errors import AlreadySubmitted
from hub.extensions import db
from hub.models import Advocate, Notification
from hub.queue import PENDING_KEY
from rewards.badges import badges_of
from rewards.ledger import post_entry
from rewards.models import LedgerEntry

QUIZ = {
    "questions": [
        {"prompt": "2+2?", "options": ["3", "4"], "answer": 1},
        {"prompt": "Capital of France?", "options": ["Paris", "Rome"], "answer": 0},
    ]
}


def pending_job_ids() -> list[str | None]:
    return [spec.job_id for spec in db.session.info.get(PENDING_KEY, [])]


def begun(statements: list[str]) -> list[str]:
    """Open the session's transaction (the test isolation's own SAVEPOINT is taken then) and
    forget what it ran: what the list holds afterwards is the service's."""
    db.session.execute(select(1))
    statements.clear()
    return statements


def settle(queue) -> None:
    """End this thread's transaction (SQLite's writer lock) and wait for the queue."""
    db.session.rollback()
    queue.join()


def test_a_right_quiz_is_approved_by_the_submission_with_points_badge_and_notes(make_advocate, make_challenge, jobs):
    challenge = make_challenge(type="quiz", quiz=QUIZ, points=40, title="Product quiz")
    advocate = make_advocate()
    completion = services.submit_completion(challenge.id, advocate.id, {"answers": [1, 0]})
    # Decided before commit, in the request's transaction: no verification job is queued.
    assert completion.status is CompletionStatus.APPROVED and completion.is_auto_approved
    assert completion.points_awarded == 40 and completion.verification_note == "2 of 2 answers right."
    queued = pending_job_ids()
    assert f"verify-completion-{completion.id}" not in queued
    assert f"trust-completion-{completion.id}" in queued
    db.session.commit()
    settle(jobs)
    db.session.expire_all()
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.advocate_id == advocate.id))
    assert (entry.delta, entry.source_type, entry.source_id) == (40, "completion", str(completion.id))
    assert db.session.get(Advocate, advocate.id).balance == 40
    assert [badge.code for badge, _ in badges_of(advocate.id)] == ["first_completion"]
    notes = db.session.scalars(
        select(Notification.kind).where(Notification.user_id == advocate.user_id).order_by(Notification.id)
    ).all()
    assert notes == ["badge", "completion_approved"]
    # Their emails, as the verification job queued them, now from one job with dedupe keys.
    subjects = db.session.scalars(
        select(OutboxEmail.subject).where(OutboxEmail.user_id == advocate.user_id).order_by(OutboxEmail.id)
    ).all()
    assert subjects == [
        "New badge: First step — Completed a first challenge.",
        "+40 points — “Product quiz” was approved. Thank you!",
    ]


def test_a_wrong_quiz_is_rejected_at_once_and_its_ask_released(make_advocate, make_challenge, jobs):
    challenge = make_challenge(type="quiz", quiz=QUIZ, points=40, title="Deep quiz", effort="medium")
    advocate = make_advocate()
    completion = services.submit_completion(challenge.id, advocate.id, {"answers": [0, 0]})
    assert completion.status is CompletionStatus.REJECTED
    assert completion.reason == "1 of 2 answers were right; 2 are needed."
    db.session.commit()
    settle(jobs)
    ask = db.session.scalar(select(Ask).where(Ask.source_type == "completion", Ask.source_id == str(completion.id)))
    assert ask is not None and ask.cancelled_at is not None  # a rejected try never counts toward the caps
    assert db.session.scalar(select(LedgerEntry).where(LedgerEntry.advocate_id == advocate.id)) is None
    note = db.session.scalar(select(Notification).where(Notification.user_id == advocate.user_id))
    assert note.kind == "completion_rejected" and "1 of 2 answers were right" in note.text


def test_below_the_threshold_a_right_quiz_waits_for_a_person(make_advocate, make_challenge, jobs):
    challenge = make_challenge(type="quiz", quiz=QUIZ, points=40)
    advocate = make_advocate()
    trust.record_signal(advocate.id, "duplicate_url", "completion:0", "Same link as another advocate.")
    trust.record_signal(advocate.id, "shared_ip", "81.2.69.160|2026-11-30", "Two accounts on one address.")
    trust.recompute_score(advocate.id)
    db.session.commit()
    score = db.session.get(Advocate, advocate.id).trust_score
    assert score < trust.threshold()
    completion = services.submit_completion(challenge.id, advocate.id, {"answers": [1, 0]})
    assert completion.status is CompletionStatus.PENDING_REVIEW
    assert completion.verification_note == (
        f"Trust score {score} is below the review threshold of {trust.threshold()}. "
        "The check said: 2 of 2 answers right."
    )
    db.session.commit()
    settle(jobs)
    assert db.session.scalar(select(LedgerEntry).where(LedgerEntry.advocate_id == advocate.id)) is None


def test_a_survey_is_approved_by_the_submission(make_advocate, make_challenge):
    survey = {"questions": [{"prompt": "What do you like?", "options": []}, {"prompt": "Rate", "options": ["1", "2"]}]}
    challenge = make_challenge(type="survey", quiz=survey, points=15)
    completion = services.submit_completion(challenge.id, make_advocate().id, {"answers": ["The exports", "1"]})
    assert completion.status is CompletionStatus.APPROVED and completion.points_awarded == 15


def test_last_activity_is_written_by_the_job_and_only_moves_forward(make_advocate, make_challenge, jobs):
    challenge = make_challenge(type="webinar", points=10)
    advocate = make_advocate()
    at = dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC)
    services.submit_completion(challenge.id, advocate.id, {"evidence_text": "Joined the analytics session."}, at=at)
    db.session.execute(select(Advocate.id))  # the request's own transaction has not written it
    assert db.session.get(Advocate, advocate.id).last_activity_at is None
    db.session.commit()
    settle(jobs)
    db.session.expire_all()
    assert db.session.get(Advocate, advocate.id).last_activity_at == at
    record_last_activity(advocate.id, at - dt.timedelta(days=3))  # a late run of an older submission
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Advocate, advocate.id).last_activity_at == at


def test_a_submission_and_a_repeated_one_run_no_savepoint(make_advocate, make_challenge, sql_statements):
    challenge_id, advocate_id = make_challenge(type="webinar", points=10).id, make_advocate().id
    ran = begun(sql_statements)
    services.submit_completion(challenge_id, advocate_id, {"evidence_text": "Joined the analytics session."})
    assert ran and not [s for s in ran if "SAVEPOINT" in s.upper()]
    db.session.commit()
    ran = begun(sql_statements)
    with pytest.raises(AlreadySubmitted):  # the open one blocks a second: refused
        services.submit_completion(challenge_id, advocate_id, {"evidence_text": "Joined it again."})
    assert not [s for s in ran if "SAVEPOINT" in s.upper()]
    db.session.rollback()
    assert db.session.scalar(select(Completion.id).where(Completion.advocate_id == advocate_id)) is not None


def test_a_repeated_ledger_source_writes_nothing_and_leaves_the_caches(make_advocate, sql_statements):
    advocate = make_advocate(points=100)
    ran = begun(sql_statements)
    first = post_entry(advocate.id, 25, kind="bonus", source_type="test", source_id="once")
    again = post_entry(advocate.id, 25, kind="bonus", source_type="test", source_id="once")
    assert ran and not [s for s in ran if "SAVEPOINT" in s.upper()]
    db.session.commit()
    assert first.is_new and not again.is_new
    assert (again.balance, first.balance) == (125, 125)
    db.session.expire_all()
    row = db.session.get(Advocate, advocate.id)
    assert (
        row.balance
        == 125
        == sum(db.session.scalars(select(LedgerEntry.delta).where(LedgerEntry.advocate_id == advocate.id)))
    )


def test_only_a_submission_decided_at_once_has_its_account_summary_refreshed_by_the_after_submission_job(
    make_advocate, make_challenge
):
    """The after-submission job refreshes the account summary only for a completion the request
    decided (a graded quiz); one a verifier or a person decided later was refreshed by that
    decision's transaction (issue 22, "Workers": a link check's job refreshed it twice)."""
    from challenges.services.decisions import approve_completion
    from challenges.trust import decided_at_submission

    quiz = make_challenge(type="quiz", quiz=QUIZ, points=40)
    graded = services.submit_completion(quiz.id, make_advocate().id, {"answers": [1, 0]})
    wrong = services.submit_completion(quiz.id, make_advocate().id, {"answers": [0, 1]})
    link = make_challenge(type="social_share", points=10)
    later = services.submit_completion(link.id, make_advocate().id, {"evidence_url": "https://example.com/post/1"})
    assert later.status in (CompletionStatus.SUBMITTED, CompletionStatus.PENDING_REVIEW)
    assert not decided_at_submission(later)
    approved = approve_completion(later.id, None)
    assert approved.decided_at > approved.submitted_at
    assert not decided_at_submission(approved)
    assert decided_at_submission(graded) and graded.status is CompletionStatus.APPROVED
    assert decided_at_submission(wrong) and wrong.status is CompletionStatus.REJECTED
