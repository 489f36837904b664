"""Background jobs for challenges: verifying completions, and the sweep for stuck ones.

`verify_completion` runs at least once (RQ, or the in-process queue): it marks the
completion `verifying` in one transaction, runs the verifier with no transaction open
(network fetches can be slow), then applies the verdict in a second transaction with
conditional UPDATEs — so a second run, a staff decision in between, or a worker killed
at any point can never award twice. Transient fetch failures raise so RQ retries with
backoff; after MAX_ATTEMPTS the completion goes to the review queue instead of being lost.
"""

from __future__ import annotations

import datetime as dt
import logging

from challenges import services, verifiers
from hub.db import utcnow
from hub.queue import job_context, job_timeout

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4  # RQ's first run + 3 retries
SWEEP_GIVE_UP_AFTER = MAX_ATTEMPTS + 2


class VerificationRetry(Exception):
    """A transient failure; the queue will run the job again later."""


@job_timeout(60)
def verify_completion(completion_id: int) -> str:
    """Job: verify one completion. Idempotent on the completion id."""
    with job_context():
        evidence = services.start_verification(completion_id)
        verification = evidence.extra.get("verification") if evidence else None
    if evidence is None:
        return "already_decided"
    verdict = verifiers.run(evidence, verification or "manual")
    if verdict.decision == "retry":
        if evidence.attempt < MAX_ATTEMPTS:
            raise VerificationRetry(verdict.note or "transient failure")
        verdict = verifiers.Verdict(
            "review", f"Could not check the link after {evidence.attempt} tries: {verdict.note}"
        )
    with job_context():
        outcome = services.apply_verdict(completion_id, verdict)
    log.info("completion %s verified: %s", completion_id, outcome)
    return outcome


def requeue_stuck(older_than: dt.timedelta) -> dict[str, int]:
    """Re-enqueue completions stuck in submitted/verifying (lost enqueue while Redis was
    down, a killed worker); give up on ones retried too often by sending them to the review
    queue, so no submission is ever silently dropped (I10). Caller commits."""
    requeued = reviewed = 0
    for completion in services.stuck_completions(utcnow() - older_than):
        if completion.verification_attempts >= SWEEP_GIVE_UP_AFTER:
            if services.send_to_review(completion.id, "Automatic verification did not finish; please review."):
                reviewed += 1
            continue
        services.schedule_verification(
            completion.id, job_id=f"verify-completion-{completion.id}-sweep-{completion.verification_attempts}"
        )
        requeued += 1
    return {"requeued": requeued, "sent_to_review": reviewed}


@job_timeout(60)
def complete_community_answer(answer_id: int) -> int:
    """Job (an answer-milestone hook, hub.hooks): an accepted or 3-upvote answer completes the
    matching `community_answer` challenges for its author. Idempotent on (challenge, answer)."""
    from challenges import community

    with job_context():
        return len(community.complete_community_answer(answer_id))


@job_timeout(600)
def requeue_stuck_job() -> dict[str, int]:
    """Cron job: the sweep for completions stuck in submitted/verifying longer than 15 minutes
    (`requeue_stuck`). Idempotent: re-enqueued verifications carry the completion's job id."""
    with job_context():
        return requeue_stuck(dt.timedelta(minutes=15))
