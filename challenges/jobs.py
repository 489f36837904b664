"""Background jobs for challenges: verifying completions, and the sweep for stuck ones.

`verify_completion` runs at least once (RQ, or the in-process queue): it marks the
completion `verifying` in one transaction, runs the verifier with no transaction open
(network fetches can be slow), then applies the verdict in a second transaction with
conditional UPDATEs — so a second run, a staff decision in between, or a worker killed
at any point can never award twice. Transient fetch failures raise so RQ retries with
backoff; after MAX_ATTEMPTS the completion goes to the review queue instead of being lost.

`verify_pending` is the job a new submission enqueues (issue 22): it claims its completion and
up to BATCH_SIZE - 1 other submitted ones whose verifier may run in a batch, in one statement
(`FOR UPDATE SKIP LOCKED`), checks them with no transaction open (link checks in threads), and
applies every verdict in one transaction, advocates in id order. The same conditional UPDATEs
decide each completion, so exactly-once holds as for one; a job whose completion another batch
already claimed finds nothing to do. A batch killed after its claim leaves its completions
verifying until the requeue sweep (or, after CLAIM_LEASE, its own job run again) takes them.
The jobs of the other completions a batch claimed are taken off the queue once the claim has
committed (`hub.queue.drop_queued_jobs`): one job runs per batch, not one per completion. The
claim's transaction also does the batch's after-submission trust work (last activity, signals,
scores: `challenges.trust.after_submissions_now`), so the submissions' own trust jobs are taken
off the queue with them instead of each waiting on the batch's advocate row locks.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from flask import current_app, has_app_context

from challenges import services, verifiers
from challenges import trust as challenge_trust
from hub.db import utcnow
from hub.queue import drop_queued_jobs, job_context, job_timeout, preload_worker_app

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4  # RQ's first run + 3 retries
SWEEP_GIVE_UP_AFTER = MAX_ATTEMPTS + 2
BATCH_SIZE = 50  # completions one verify_pending job claims
FETCH_THREADS = 8  # link checks a batch runs at once (network-bound)


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


def _checked(evidence: verifiers.Evidence) -> verifiers.Verdict:
    """The verifier's verdict, a transient failure past MAX_ATTEMPTS turned into review."""
    verdict = verifiers.run(evidence, evidence.extra.get("verification") or "manual")
    if verdict.decision == "retry" and evidence.attempt >= MAX_ATTEMPTS:
        return verifiers.Verdict("review", f"Could not check the link after {evidence.attempt} tries: {verdict.note}")
    return verdict


@job_timeout(120)
def verify_pending(completion_id: int, limit: int = BATCH_SIZE) -> dict[str, int]:
    """Job (a new submission's): verify this completion and up to `limit - 1` other submitted
    ones in one batch (see the module's docstring). Idempotent: completions already decided or
    claimed by a running batch are not claimed. Returns how many ended in each outcome, plus
    "retry" for those handed to `verify_completion` after a transient failure."""
    started = time.perf_counter()
    with job_context():
        batch = services.claim_for_verification(completion_id, limit)
        # Their after-submission work (last activity, trust signals and score) committed with
        # the claim: their own trust jobs would otherwise wait on this batch's advocate locks.
        trusted = challenge_trust.after_submissions_now([e.completion_id for e in batch])
    if not batch:
        return {}
    # The others' own jobs, still queued behind this one, would each find nothing: taken off
    # the queue (a batch killed from here on leaves its completions to the requeue sweep), and
    # the trust jobs of the submissions done above with them.
    drop_queued_jobs(
        [f"verify-completion-{e.completion_id}" for e in batch if e.completion_id != completion_id]
        + [f"trust-completion-{cid}" for cid in trusted]
    )
    claimed = time.perf_counter()
    threaded = set(verifiers.batched_verifiers())
    in_threads = [e for e in batch if e.extra.get("verification") in threaded]
    here = [e for e in batch if e.extra.get("verification") not in threaded]
    verdicts: dict[int, verifiers.Verdict] = {e.completion_id: _checked(e) for e in here}
    if in_threads:
        # The app's settings (hosts allowed to be private) hold in the threads too.
        app = current_app._get_current_object() if has_app_context() else preload_worker_app()  # type: ignore[attr-defined]

        def check_in_app(evidence: verifiers.Evidence) -> verifiers.Verdict:
            with app.app_context():
                return _checked(evidence)

        with ThreadPoolExecutor(max_workers=min(FETCH_THREADS, len(in_threads))) as pool:
            found = pool.map(check_in_app, in_threads)
            verdicts.update(zip((e.completion_id for e in in_threads), found, strict=True))
    checked = time.perf_counter()
    ordered = [(e.completion_id, verdicts[e.completion_id]) for e in batch]  # the claim's advocate order
    retries = [(e.completion_id, e.attempt) for e in batch if verdicts[e.completion_id].decision == "retry"]
    decided = [(cid, verdict) for cid, verdict in ordered if verdict.decision != "retry"]
    try:
        with job_context():
            outcomes = services.apply_verdicts(decided)
            _retry_alone(retries)
    except Exception:
        # One completion's unexpected failure must not hold back the others: one transaction each.
        log.exception("batch of %d verdicts failed; applying them one at a time", len(decided))
        outcomes = {}
        for cid, verdict in decided:
            with job_context():
                outcomes[cid] = services.apply_verdict(cid, verdict)
        with job_context():
            _retry_alone(retries)
    counts: dict[str, int] = {}
    for outcome in [*outcomes.values(), *["retry"] * len(retries)]:
        counts[outcome] = counts.get(outcome, 0) + 1
    log.info(
        "verified a batch of %d: %s (claim %.0f ms, checks %.0f ms, verdicts %.0f ms)",
        len(batch),
        counts,
        (claimed - started) * 1000,
        (checked - claimed) * 1000,
        (time.perf_counter() - checked) * 1000,
    )
    return counts


def _retry_alone(retries: list[tuple[int, int]]) -> None:
    """A transient failure in a batch: that completion goes on alone in `verify_completion`,
    which RQ retries with backoff (the batch cannot wait for one slow host)."""
    for cid, attempt in retries:
        services.schedule_verification(cid, job_id=f"verify-completion-{cid}-retry-{attempt}")


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
