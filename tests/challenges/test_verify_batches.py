"""Verification in batches (issue 22, "Workers"): one job claims several submitted link checks,
decides each exactly once in one transaction, and sends the batch's emails through one
notification job and one delivery job."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from challenges import jobs, services
from challenges.models import Completion, CompletionStatus
from hub.email.mailings import send_notification_emails
from hub.email.models import OutboxEmail
from hub.email.sending import deliver_queued, queue_email
from hub.extensions import db
from hub.models import Advocate, Notification
from hub.notifications import notify_many
from hub.queue import PENDING_KEY
from rewards.models import LedgerEntry
from tests.support.challenges import Site


def url_challenge(make_challenge, **kw):
    return make_challenge(
        type="review", allowed_domains=["localhost", "127.0.0.1"], marker=Site.MARKER, points=40, **kw
    )


def submitted_without_jobs(challenge, advocates, url: str) -> list[int]:
    """Completions committed with their verification jobs dropped (as if still queued), each
    with its own link (a link submitted twice is held for a person)."""
    ids = []
    for advocate in advocates:
        link = f"{url}?by={advocate.id}"
        completion = services.submit_completion(challenge.id, advocate.id, {"evidence_url": link})
        ids.append(completion.id)
    db.session.info.pop(PENDING_KEY, None)
    db.session.commit()
    return ids


def run_batch(app, completion_id: int, limit: int = jobs.BATCH_SIZE) -> dict[str, int]:
    """The job body as a worker runs it: its own app context and sessions."""
    db.session.rollback()
    with app.app_context():
        return jobs.verify_pending(completion_id, limit)


def statuses(ids: list[int]) -> dict[int, CompletionStatus]:
    db.session.expire_all()
    return dict(db.session.execute(select(Completion.id, Completion.status).where(Completion.id.in_(ids))).all())


def test_one_job_verifies_the_backlog_once(app, make_advocate, make_challenge, site, allow_localhost, jobs):
    challenge = url_challenge(make_challenge)
    advocates = [make_advocate() for _ in range(4)]
    ids = submitted_without_jobs(challenge, advocates, site.url("/review"))
    assert run_batch(app, ids[2]) == {"approved": 4}
    assert set(statuses(ids).values()) == {CompletionStatus.APPROVED}
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 4
    assert [db.session.get(Advocate, a.id).balance for a in advocates] == [40, 40, 40, 40]
    # Every other job of the batch (and this one again) finds nothing left: nothing more written.
    assert [run_batch(app, cid) for cid in ids] == [{}, {}, {}, {}]
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 4
    assert len([hit for hit in site.hits if hit.startswith("/review")]) == 4


def test_a_batch_takes_at_most_its_limit_and_its_own_completion_first(
    app, make_advocate, make_challenge, site, allow_localhost, jobs
):
    ids = submitted_without_jobs(
        url_challenge(make_challenge), [make_advocate() for _ in range(3)], site.url("/review")
    )
    assert run_batch(app, ids[2], limit=2) == {"approved": 2}
    assert statuses(ids) == {
        ids[0]: CompletionStatus.APPROVED,  # the oldest other one
        ids[1]: CompletionStatus.SUBMITTED,
        ids[2]: CompletionStatus.APPROVED,  # the job's own
    }


def test_other_verifiers_completions_are_left_to_their_own_jobs(
    app, make_advocate, make_challenge, site, allow_localhost, jobs
):
    """Only verifiers that read nothing but the evidence run in another completion's batch: a
    CRM-checked referral waits for its CRM opportunity, not for a link check's batch."""
    link = submitted_without_jobs(url_challenge(make_challenge), [make_advocate()], site.url("/review"))
    crm = submitted_without_jobs(
        make_challenge(type="custom", verification="crm", points=10), [make_advocate()], "https://example.com/lead"
    )
    assert run_batch(app, link[0]) == {"approved": 1}
    assert statuses(crm) == {crm[0]: CompletionStatus.SUBMITTED}


def test_a_transient_failure_in_a_batch_goes_on_alone(app, make_advocate, make_challenge, site, allow_localhost, jobs):
    challenge = url_challenge(make_challenge)
    good = submitted_without_jobs(challenge, [make_advocate()], site.url("/review"))
    failing = submitted_without_jobs(challenge, [make_advocate()], site.url("/error"))
    assert run_batch(app, good[0]) == {"approved": 1, "retry": 1}
    db.session.rollback()
    jobs.join()  # verify_completion retries the failing one until it goes to review
    done = db.session.get(Completion, failing[0])
    db.session.refresh(done)
    assert done.status is CompletionStatus.PENDING_REVIEW
    assert done.verification_attempts == jobs_max()
    assert len([hit for hit in site.hits if hit.startswith("/error")]) == jobs_max()


def jobs_max() -> int:
    return jobs.MAX_ATTEMPTS


def test_a_transactions_emails_share_one_job_each(app, ctx, make_advocate, jobs):
    """Two approvals' notifications in one transaction: one notification-emails job for both;
    two outbox rows: one delivery job for both."""
    first, second = make_advocate(), make_advocate()
    notify_many([(first.user_id, "points", "One", None)])
    notify_many([(second.user_id, "points", "Two", None)])
    queue_email("a@example.com", "A", "body", "completions")
    queue_email("b@example.com", "B", "body", "completions")
    pending = db.session.info[PENDING_KEY]
    by_function = {spec.func: spec.args[0] for spec in pending}
    assert len(pending) == 2
    notes = db.session.scalars(select(Notification.id).order_by(Notification.id)).all()
    assert by_function[send_notification_emails] == list(notes)
    outbox = db.session.scalars(select(OutboxEmail.id).order_by(OutboxEmail.id)).all()
    assert by_function[deliver_queued] == list(outbox)
    db.session.rollback()


@pytest.mark.parametrize("per_transaction", [1, 20])
def test_delivery_sends_each_row_once_whatever_the_transaction_size(app, ctx, jobs, per_transaction):
    app.config["VOUCH_DELIVERY_PER_TRANSACTION"] = per_transaction
    try:
        for n in range(3):
            queue_email(f"r{n}@example.com", f"S{n}", "body", "completions")
        db.session.info.pop(PENDING_KEY, None)
        db.session.commit()
        ids = list(db.session.scalars(select(OutboxEmail.id).order_by(OutboxEmail.id)))
        with app.app_context():
            assert deliver_queued(ids) == {"sent": 3}
            assert deliver_queued(ids) == {"skipped": 3}  # run again: nothing sent twice
        db.session.expire_all()
        rows = db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)).all()
        assert [(r.status, r.attempts) for r in rows] == [("sent", 1)] * 3
        assert all(r.sent_at is not None and r.next_attempt_at is None for r in rows)
    finally:
        app.config["VOUCH_DELIVERY_PER_TRANSACTION"] = 20


@pytest.mark.services
@pytest.mark.multi_connection
def test_two_batches_never_claim_the_same_completion(pg_app, make):
    """A completion another transaction holds (a running batch's claim) is skipped, not waited
    for and not claimed twice; it is claimed once that transaction ends."""
    from tests.support.challenges import create_challenge

    with pg_app.app_context():
        challenge = create_challenge(type="review", allowed_domains=["127.0.0.1"], marker=Site.MARKER, points=5)
        ids = []
        for _ in range(3):
            completion = services.submit_completion(
                challenge.id, make.advocate().id, {"evidence_url": f"http://127.0.0.1:9/x{len(ids)}"}
            )
            ids.append(completion.id)
        db.session.info.pop(PENDING_KEY, None)
        db.session.commit()
    held = threading.Event()
    release = threading.Event()

    def hold_first() -> None:
        with pg_app.app_context():
            db.session.execute(text("SELECT id FROM completions WHERE id = :id FOR UPDATE"), {"id": ids[0]})
            held.set()
            release.wait(30)
            db.session.rollback()

    holder = threading.Thread(target=hold_first)
    holder.start()
    try:
        assert held.wait(30)
        with pg_app.app_context():
            claimed = [e.completion_id for e in services.claim_for_verification(ids[1], 10)]
            db.session.commit()
        assert sorted(claimed) == ids[1:]
    finally:
        release.set()
        holder.join(30)
    with pg_app.app_context():
        assert [e.completion_id for e in services.claim_for_verification(ids[0], 10)] == [ids[0]]
        assert services.claim_for_verification(ids[1], 10) == []
        db.session.commit()


@pytest.mark.services
@pytest.mark.multi_connection
def test_a_batch_takes_the_jobs_of_the_completions_it_claimed_off_the_queue(pg_app, make):
    """Each submission queues its own job; the first batch claims the others' completions too and
    takes their jobs off the RQ queue (job hash included), and the trust jobs of all the
    submissions it claimed (their work committed with the claim), leaving its own job and every
    other job alone: one job runs per batch instead of two per completion."""
    from rq.job import Job

    from tests.support.challenges import create_challenge

    backend = pg_app.extensions["vouch_queue"]
    queue = backend.queue()
    queue.empty()
    with pg_app.app_context():
        challenge = create_challenge(type="review", allowed_domains=["127.0.0.1"], marker=Site.MARKER, points=5)
        ids = []
        for n in range(3):
            completion = services.submit_completion(
                challenge.id, make.advocate().id, {"evidence_url": f"http://127.0.0.1:9/x{n}"}
            )
            ids.append(completion.id)
            db.session.commit()  # each submission enqueues its job after its commit
    unrelated = queue.enqueue("hub.queue.finish_local_jobs", job_id=backend.job_key("unrelated"))
    own, *others = (backend.job_key(f"verify-completion-{cid}") for cid in ids)
    before = set(queue.job_ids)  # the submissions' trust jobs too
    assert {own, *others, unrelated.id} <= before
    with pg_app.app_context():
        jobs.verify_pending(ids[0])
    left = set(queue.job_ids)
    trusts = {backend.job_key(f"trust-completion-{cid}") for cid in ids}
    assert trusts <= before
    assert before - left == set(others) | trusts
    assert not any(backend.connection.exists(Job.key_for(job_id)) for job_id in [*others, *trusts])
    assert backend.connection.exists(Job.key_for(own))
    queue.empty()
