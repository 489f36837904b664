"""Verification jobs on the in-process queue: url_check end to end, idempotence, retries,
enqueue-after-commit and the requeue-stuck sweep."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from challenges import jobs, services
from challenges.models import Completion, CompletionStatus
from hub.extensions import db
from rewards.models import LedgerEntry
from tests.support.challenges import Site


def url_challenge(make_challenge, **kw):
    return make_challenge(
        type="review", allowed_domains=["localhost", "127.0.0.1"], marker=Site.MARKER, points=120, **kw
    )


def settle(queue) -> None:
    """End this thread's transaction (SQLite's writer lock) and wait for the queue."""
    db.session.rollback()
    queue.join()


def status_of(completion_id: int) -> Completion:
    db.session.expire_all()
    return db.session.get(Completion, completion_id)


def awards() -> int:
    return db.session.scalar(select(func.count()).select_from(LedgerEntry))


def submit_url(challenge, advocate, url: str) -> Completion:
    completion = services.submit_completion(challenge.id, advocate.id, {"evidence_url": url})
    db.session.commit()
    return completion


def test_url_check_approves_in_the_background(make_advocate, make_challenge, site, allow_localhost, jobs):
    advocate = make_advocate()
    completion = submit_url(url_challenge(make_challenge), advocate, site.url("/review"))
    settle(jobs)
    done = status_of(completion.id)
    assert done.status is CompletionStatus.APPROVED and done.is_auto_approved
    assert done.verification_attempts == 1 and Site.MARKER in done.fetched_excerpt
    assert db.session.get(type(advocate), advocate.id).balance == 120


def test_redirect_to_private_address_goes_to_review(make_advocate, make_challenge, site, allow_localhost, jobs):
    completion = submit_url(url_challenge(make_challenge), make_advocate(), site.url("/redirect-private"))
    settle(jobs)
    done = status_of(completion.id)
    assert done.status is CompletionStatus.PENDING_REVIEW and "private" in done.verification_note
    assert awards() == 0


def test_page_without_marker_goes_to_review(make_advocate, make_challenge, site, allow_localhost, jobs):
    completion = submit_url(url_challenge(make_challenge), make_advocate(), site.url("/nomarker"))
    settle(jobs)
    done = status_of(completion.id)
    assert done.status is CompletionStatus.PENDING_REVIEW and "something else" in done.fetched_excerpt


def test_running_the_job_again_awards_once(app, make_advocate, make_challenge, site, allow_localhost, jobs):
    completion = submit_url(url_challenge(make_challenge), make_advocate(), site.url("/review"))
    settle(jobs)
    assert services_verify(app, completion.id) == "already_decided"
    # Even if the row were pushed back to `verifying`, the ledger's unique source key holds.
    db.session.execute(
        update(Completion).where(Completion.id == completion.id).values(status=CompletionStatus.VERIFYING)
    )
    db.session.commit()
    assert services_verify(app, completion.id) == "approved"
    assert awards() == 1


def services_verify(app, completion_id: int) -> str:
    """Run the job body as a worker would: its own app context and session."""
    db.session.rollback()
    with app.app_context():
        return jobs.verify_completion(completion_id)


def test_transient_failures_retry_then_reach_review(make_advocate, make_challenge, site, allow_localhost, jobs):
    completion = submit_url(url_challenge(make_challenge), make_advocate(), site.url("/error"))
    settle(jobs)
    done = status_of(completion.id)
    assert done.status is CompletionStatus.PENDING_REVIEW
    assert done.verification_attempts == jobs_max() and "503" in done.verification_note
    assert site.hits.count("/error") == jobs_max()


def jobs_max() -> int:
    return jobs.MAX_ATTEMPTS


def test_job_for_a_rolled_back_transaction_never_runs(make_advocate, make_challenge, site, allow_localhost, jobs):
    challenge = url_challenge(make_challenge)
    services.submit_completion(challenge.id, make_advocate().id, {"evidence_url": site.url("/review")})
    db.session.rollback()
    settle(jobs)
    assert site.hits == [] and db.session.scalar(select(func.count()).select_from(Completion)) == 0


def test_sweep_requeues_stuck_completions(app, make_advocate, make_challenge, site, allow_localhost, jobs):
    challenge = url_challenge(make_challenge)
    advocate = make_advocate()
    # As if Redis was down at submission: the row exists, no job ran.
    completion = services.submit_completion(challenge.id, advocate.id, {"evidence_url": site.url("/review")})
    db.session.info.pop("vouch_pending_jobs", None)
    db.session.commit()
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    db.session.execute(update(Completion).values(submitted_at=old))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["challenges", "requeue-stuck", "--older-than-minutes", "30"])
    assert result.exit_code == 0, result.output
    assert "Re-enqueued 1 completion(s)" in result.output
    settle(jobs)
    assert status_of(completion.id).status is CompletionStatus.APPROVED
    again = app.test_cli_runner().invoke(args=["challenges", "requeue-stuck", "--older-than-minutes", "0"])
    assert "Re-enqueued 0" in again.output and awards() == 1


def test_sweep_gives_up_into_the_review_queue(app, make_advocate, make_challenge, site, allow_localhost):
    challenge = url_challenge(make_challenge)
    completion = services.submit_completion(challenge.id, make_advocate().id, {"evidence_url": site.url("/review")})
    db.session.info.pop("vouch_pending_jobs", None)
    completion.status = CompletionStatus.VERIFYING
    completion.verification_attempts = jobs.SWEEP_GIVE_UP_AFTER
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["challenges", "requeue-stuck", "--older-than-minutes", "0"])
    assert "sent 1 to review" in result.output
    assert status_of(completion.id).status is CompletionStatus.PENDING_REVIEW


def test_staff_decision_during_verification_wins(app, make_advocate, make_challenge, make_user, site, allow_localhost):
    challenge = url_challenge(make_challenge)
    completion = services.submit_completion(challenge.id, make_advocate().id, {"evidence_url": site.url("/review")})
    db.session.info.pop("vouch_pending_jobs", None)
    db.session.commit()
    evidence = services.start_verification(completion.id)  # the job has started fetching …
    db.session.commit()
    services.reject_completion(completion.id, make_user("manager").id, "Not our product")  # … a manager decides
    db.session.commit()
    from challenges import verifiers

    assert services.apply_verdict(completion.id, verifiers.check_url(evidence)) == "already_decided"
    db.session.commit()
    assert status_of(completion.id).status is CompletionStatus.REJECTED and awards() == 0
