"""Trust signals fed by challenges (product.md §15): evidence URLs already used by another
advocate, submission bursts, very short or repeated answers, and flagged referrals. The score
and the signal rows are hub.trust's; this module decides when a submission or a referral is one.

At submission (challenges.services.submissions, in its transaction): the evidence URL is
claimed (`evidence_claims`, primary key = the URL's digest) — the database decides which of two
parallel submissions of one URL came first, and the other is held for review whatever the
score. After commit a job records the signals and recomputes the score; each look-up goes
through an index (completions by advocate and time, by text digest; claims by key).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import func, or_, select, update

from challenges.accounts.marks import mark_advocates
from challenges.models import Completion, CompletionStatus, EvidenceClaim
from hub import trust
from hub.db import insert_ignore, table_of
from hub.extensions import db
from hub.models import Advocate
from hub.queue import enqueue_after_commit, job_context, job_timeout

BURST_WINDOW = dt.timedelta(hours=1)
BURST_MIN = 6  # submissions within the window before a burst can be one at all
BURST_FACTOR = 5  # … and this many times the advocate's own hourly rate over the baseline
BASELINE = dt.timedelta(days=30)
SHORT_ANSWER = 15  # characters: shorter free text says nothing about the act
_TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|mc_|ref$|ref_src$)")
_SPACE = re.compile(r"\s+")


def url_key(url: str) -> str:
    """sha256 of the URL as the review site means it: host lower-cased without `www.`, no
    fragment, no tracking parameters, no trailing slash — so trivially varied copies collide."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k))
    )
    path = parts.path.rstrip("/") or "/"
    normal = urlunsplit(("https", host + (f":{parts.port}" if parts.port else ""), path, query, ""))
    return hashlib.sha256(normal.encode()).hexdigest()


def text_digest(evidence_text: str | None, answers: list[object] | None) -> str | None:
    """sha256 of the advocate's own words (evidence text and free-text answers), case and
    spacing ignored; None when they wrote nothing or too little to repeat meaningfully."""
    words = [evidence_text or ""] + [a for a in (answers or []) if isinstance(a, str)]
    normal = _SPACE.sub(" ", " | ".join(w for w in words if w.strip()).casefold()).strip()
    if len(normal) < SHORT_ANSWER:
        return None
    return hashlib.sha256(normal.encode()).hexdigest()


def claim_evidence_url(completion: Completion) -> str | None:
    """Claim the completion's evidence URL; return the hold reason when another advocate's
    completion holds it (the caller stores it on the completion). Parallel claims of one URL
    serialise on the primary key: PostgreSQL makes the second INSERT wait for the first to
    commit, then do nothing."""
    if not completion.evidence_url:
        return None
    key = url_key(completion.evidence_url)
    won = insert_ignore(
        db.session,
        table_of(EvidenceClaim),
        {"url_key": key, "completion_id": completion.id, "claimed_at": completion.submitted_at},
    )
    if won:
        return None
    holder = db.session.execute(
        select(Completion.id, Completion.advocate_id)
        .join(EvidenceClaim, EvidenceClaim.completion_id == Completion.id)
        .where(EvidenceClaim.url_key == key)
    ).first()
    if holder is None or holder.advocate_id == completion.advocate_id:
        return None
    return f"Duplicate evidence link: already used by another advocate (completion #{holder.id})."


def after_submission(completion_id: int) -> None:
    """Queue the signals of one submission once it commits."""
    # The completion is this transaction's: no job can have its id yet (one Redis round trip).
    enqueue_after_commit(
        trust_after_submission, completion_id, job_id=f"trust-completion-{completion_id}", unique=False
    )


def detect_submission_signals(completion_id: int) -> list[str]:
    """Record the signals one submission raises (idempotent: each is keyed by the completion or
    the hour) and recompute the score. Returns the kinds newly recorded."""
    completion = db.session.get(Completion, completion_id)
    if completion is None:
        return []
    aid, at = completion.advocate_id, completion.submitted_at
    new: list[str] = []

    def signal(kind: str, key: str, evidence: str) -> None:
        if trust.record_signal(aid, kind, key, evidence, at=at):
            new.append(kind)

    if completion.hold_reason:
        signal(
            "duplicate_url", f"completion:{completion.id}", f"{completion.hold_reason} Link: {completion.evidence_url}"
        )
    recent, baseline = _rates(aid, at)
    hourly = baseline / (BASELINE / BURST_WINDOW)
    if recent >= BURST_MIN and recent > BURST_FACTOR * hourly:
        signal(
            "burst",
            f"hour:{at:%Y-%m-%dT%H}",
            f"{recent} submissions within an hour; their usual rate is {hourly:.2f} an hour ({baseline} in 30 days).",
        )
    written = [completion.evidence_text or ""] + [a for a in (completion.answers or []) if isinstance(a, str)]
    written = [w.strip() for w in written if w and w.strip()]
    if written and min(len(w) for w in written) < SHORT_ANSWER:
        shortest = min(written, key=len)
        signal("short_answer", f"completion:{completion.id}", f"Answer of {len(shortest)} characters: “{shortest}”.")
    if completion.text_digest:
        other = db.session.execute(
            select(Completion.id, Completion.advocate_id)
            .where(Completion.text_digest == completion.text_digest, Completion.advocate_id != aid)
            .order_by(Completion.id)
            .limit(1)
        ).first()
        if other is not None:
            signal(
                "repeated_answer",
                f"completion:{completion.id}",
                f"The same words as completion #{other.id} of another advocate.",
            )
    trust.recompute_score(aid)
    return new


def _rates(advocate_id: int, at: dt.datetime) -> tuple[int, int]:
    """(submissions in the hour up to `at`, submissions in the 30 days before that hour):
    two counts on the (advocate_id, submitted_at) index."""

    def count(start: dt.datetime, end: dt.datetime) -> int:
        return int(
            db.session.scalar(
                select(func.count())
                .select_from(Completion)
                .where(
                    Completion.advocate_id == advocate_id,
                    Completion.submitted_at > start,
                    Completion.submitted_at <= end,
                    Completion.source_key.is_(None),
                )
            )
            or 0
        )

    return count(at - BURST_WINDOW, at), count(at - BURST_WINDOW - BASELINE, at - BURST_WINDOW)


def record_last_activity(advocate_id: int, at: dt.datetime) -> None:
    """A submission at `at` is its advocate's latest activity (the re-engagement mail, the "last
    active" filters): written after commit by the after-submission job, not by the submitting
    request. One conditional UPDATE that only moves the time forward, so a late or repeated run
    never moves it back."""
    db.session.execute(
        update(Advocate)
        .where(Advocate.id == advocate_id, or_(Advocate.last_activity_at.is_(None), Advocate.last_activity_at < at))
        .values(last_activity_at=at)
        .execution_options(synchronize_session=False)
    )


def decided_at_submission(completion: Completion) -> bool:
    """Whether the submitting request decided the completion (a graded quiz or survey: decided
    at its submission time, challenges.services.submissions). A completion a verifier or a person
    decided later was summarised by that decision's own transaction (`_decide` marks it), so the
    after-submission job does not refresh the account summary again."""
    return (
        completion.status in (CompletionStatus.APPROVED, CompletionStatus.REJECTED)
        and completion.decided_at is not None
        and completion.decided_at == completion.submitted_at
    )


@job_timeout(30)
def trust_after_submission(completion_id: int) -> None:
    """Job (after every advocate's own submission): the advocate's last activity; the account
    summary when the submission was decided at once (a graded quiz or survey: its approval is the
    account's last act, challenges.accounts); the signals of the submission, then the score.
    Idempotent: each part writes the same rows again."""
    with job_context():
        completion = db.session.get(Completion, completion_id)
        if completion is None:
            return
        record_last_activity(completion.advocate_id, completion.submitted_at)
        if decided_at_submission(completion):
            mark_advocates([completion.advocate_id])
        detect_submission_signals(completion_id)


def flagged_referral(referral_id: int, advocate_id: int, reason: str) -> None:
    """Queue the flagged-referral signal once the flagged referral commits."""
    enqueue_after_commit(trust_after_referral, referral_id, advocate_id, reason, job_id=f"trust-referral-{referral_id}")


@job_timeout(30)
def trust_after_referral(referral_id: int, advocate_id: int, reason: str) -> None:
    """Job: a flagged referral lowers its advocate's score (idempotent on the referral)."""
    with job_context():
        if trust.record_signal(
            advocate_id, "flagged_referral", f"referral:{referral_id}", f"Referral #{referral_id} flagged: {reason}."
        ):
            trust.recompute_score(advocate_id)
