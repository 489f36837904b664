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
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import case, func, or_, select, update

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
    return detect_signals_of([completion_id]).get(completion_id, [])


def detect_signals_of(completion_ids: list[int]) -> dict[int, list[str]]:
    """`detect_submission_signals` for several submissions at once (a verification batch's,
    challenges.jobs.verify_pending), in three statements whatever their number: the completions;
    their advocates' own submissions over the burst windows (the (advocate_id, submitted_at)
    index), counted here per completion as `_rates` counts them; and, for completions with a text
    digest, the first completion per (digest, advocate) (the digest's index). Each new signal is
    stored (idempotent, as for one), then every advocate's score recomputed
    (`hub.trust.recompute_scores`). Returns the kinds newly recorded per completion id; ids of
    no completion are left out."""
    if not completion_ids:
        return {}
    rows = db.session.execute(
        select(
            Completion.id,
            Completion.advocate_id,
            Completion.submitted_at,
            Completion.hold_reason,
            Completion.evidence_url,
            Completion.evidence_text,
            Completion.answers,
            Completion.text_digest,
        )
        .where(Completion.id.in_(sorted(set(completion_ids))))
        .order_by(Completion.id)
    ).all()
    if not rows:
        return {}
    own = _own_submissions(rows)
    first_by_digest = _first_by_digest({row.text_digest for row in rows if row.text_digest})
    new: dict[int, list[str]] = {}
    for row in rows:
        aid, at = row.advocate_id, row.submitted_at
        found = new.setdefault(row.id, [])

        def signal(
            kind: str, key: str, evidence: str, aid: int = aid, at: dt.datetime = at, found: list[str] = found
        ) -> None:
            if trust.record_signal(aid, kind, key, evidence, at=at):
                found.append(kind)

        if row.hold_reason:
            signal("duplicate_url", f"completion:{row.id}", f"{row.hold_reason} Link: {row.evidence_url}")
        times = own.get(aid, [])
        recent = sum(1 for t in times if at - BURST_WINDOW < t <= at)
        baseline = sum(1 for t in times if at - BURST_WINDOW - BASELINE < t <= at - BURST_WINDOW)
        hourly = baseline / (BASELINE / BURST_WINDOW)
        if recent >= BURST_MIN and recent > BURST_FACTOR * hourly:
            signal(
                "burst",
                f"hour:{at:%Y-%m-%dT%H}",
                f"{recent} submissions within an hour; their usual rate is {hourly:.2f} an hour "
                f"({baseline} in 30 days).",
            )
        written = [row.evidence_text or ""] + [a for a in (row.answers or []) if isinstance(a, str)]
        written = [w.strip() for w in written if w and w.strip()]
        if written and min(len(w) for w in written) < SHORT_ANSWER:
            shortest = min(written, key=len)
            signal("short_answer", f"completion:{row.id}", f"Answer of {len(shortest)} characters: “{shortest}”.")
        if row.text_digest:
            others = [
                cid for (digest, holder), cid in first_by_digest.items() if digest == row.text_digest and holder != aid
            ]
            if others:
                signal(
                    "repeated_answer",
                    f"completion:{row.id}",
                    f"The same words as completion #{min(others)} of another advocate.",
                )
    trust.recompute_scores(sorted({row.advocate_id for row in rows}))
    return new


def _own_submissions(rows: Sequence[Any]) -> dict[int, list[dt.datetime]]:
    """The submission times (no `source_key`: an advocate's own) of these completions' advocates
    from the earliest baseline window's start to the latest submission, per advocate: one read on
    the (advocate_id, submitted_at) index."""
    start = min(row.submitted_at for row in rows) - BURST_WINDOW - BASELINE
    end = max(row.submitted_at for row in rows)
    times: dict[int, list[dt.datetime]] = {}
    for advocate_id, at in db.session.execute(
        select(Completion.advocate_id, Completion.submitted_at).where(
            Completion.advocate_id.in_(sorted({row.advocate_id for row in rows})),
            Completion.submitted_at > start,
            Completion.submitted_at <= end,
            Completion.source_key.is_(None),
        )
    ):
        times.setdefault(advocate_id, []).append(at)
    return times


def _first_by_digest(digests: set[str]) -> dict[tuple[str | None, int], int]:
    """{(text digest, advocate id): their first completion with it} for these digests (one
    grouped read on the digest's index); empty for none."""
    if not digests:
        return {}
    return {
        (digest, advocate_id): first
        for digest, advocate_id, first in db.session.execute(
            select(Completion.text_digest, Completion.advocate_id, func.min(Completion.id))
            .where(Completion.text_digest.in_(sorted(digests)))
            .group_by(Completion.text_digest, Completion.advocate_id)
        )
    }


def _rates(advocate_id: int, at: dt.datetime) -> tuple[int, int]:
    """(submissions in the hour up to `at`, submissions in the 30 days before that hour):
    two counts on the (advocate_id, submitted_at) index — what `detect_signals_of` reads for
    each completion in its one statement."""

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


def after_submissions_now(completion_ids: list[int]) -> list[int]:
    """The after-submission job's work (`trust_after_submission`) for a verification batch's
    submissions, done by the batch in its claim's transaction (challenges.jobs.verify_pending), so
    their own jobs can be taken off the queue and no longer wait on the batch's advocate row locks:
    each advocate's last activity (one UPDATE for all, advocates in id order), then the signals
    and scores (`detect_signals_of`). Only advocates' own submissions (no `source_key`: a flow's
    completion queues no such job) that are still undecided (a decided-at-submission one's job
    also refreshes the account summary: left to it). Returns the completion ids done; the
    caller's transaction."""
    rows = db.session.execute(
        select(Completion.id, Completion.advocate_id, Completion.submitted_at)
        .where(
            Completion.id.in_(sorted(set(completion_ids))),
            Completion.source_key.is_(None),
            Completion.status.in_((CompletionStatus.SUBMITTED, CompletionStatus.VERIFYING)),
        )
        .order_by(Completion.id)
    ).all()
    if not rows:
        return []
    latest: dict[int, dt.datetime] = {}
    for row in rows:
        if row.advocate_id not in latest or latest[row.advocate_id] < row.submitted_at:
            latest[row.advocate_id] = row.submitted_at
    record_last_activities(latest)
    done = [row.id for row in rows]
    detect_signals_of(done)
    return done


def record_last_activities(latest: dict[int, dt.datetime]) -> None:
    """`record_last_activity` for several advocates ({advocate id: their latest submission}) in
    one conditional UPDATE that only moves each time forward; rows locked in id order."""
    if not latest:
        return
    at = case(latest, value=Advocate.id)
    db.session.execute(
        update(Advocate)
        .where(
            Advocate.id.in_(sorted(latest)),
            or_(Advocate.last_activity_at.is_(None), Advocate.last_activity_at < at),
        )
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
