"""The registry of challenge types and verifiers: adding a type or a verifier touches only here.

A *type* names its default effort, verification and evidence, and whether advocates submit
it themselves (community answers, referrals and reference calls are completed by the
issues' own flows). A *verifier* is a function of a plain `Evidence` snapshot that returns
a `Verdict`; it runs in a background job outside any transaction. A verifier that cannot
decide answers `review` — nothing is approved silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select

from challenges import urlcheck
from challenges.crm.models import Opportunity
from challenges.models import AskKind, Effort
from challenges.referrals.models import Referral
from hub.extensions import db
from hub.queue import job_context


@dataclass(frozen=True)
class ChallengeType:
    key: str
    label: str
    effort: Effort
    verification: str
    evidence: tuple[str, ...]
    self_service: bool = True
    how_to: str = ""
    ask_kind: AskKind | None = None  # overrides the effort-based ask (reference calls)
    # Not submitted on the challenge's page, but still the advocate's own act (a referral through
    # its form): its card is locked by the caps in advance like a self-service challenge's.
    started_by_advocate: bool = False
    # The editor fields this type uses beyond those of its verification and evidence
    # (field_names_for): a review's site and disclosure, a graded quiz's pass mark.
    fields: tuple[str, ...] = ()


TYPES: dict[str, ChallengeType] = {
    t.key: t
    for t in (
        ChallengeType(
            "review",
            "Review",
            Effort.LOW,
            "url_check",
            ("url",),
            how_to="Post your review, then paste its link here.",
            fields=("platform", "disclosure"),
        ),
        ChallengeType(
            "social_share",
            "Social share",
            Effort.LOW,
            "url_check",
            ("url",),
            how_to="Share the post, then paste the link to your share.",
        ),
        ChallengeType(
            "community_answer",
            "Community answer",
            Effort.LOW,
            "community",
            (),
            self_service=False,
            how_to="Answer in the community: an accepted answer, or one with 3 upvotes, completes it.",
            fields=("question_id",),
        ),
        ChallengeType(
            "quiz",
            "Quiz",
            Effort.LOW,
            "auto",
            ("answers",),
            how_to="Answer the questions below.",
            fields=("pass_mark",),
        ),
        ChallengeType("survey", "Survey", Effort.LOW, "auto", ("answers",), how_to="Answer every question below."),
        ChallengeType(
            "referral",
            "Referral",
            Effort.MEDIUM,
            "crm",
            (),
            self_service=False,
            how_to="Refer a peer with the referral form: points arrive when they become an opportunity.",
            started_by_advocate=True,
            fields=("bonus_points",),
        ),
        ChallengeType(
            "reference_call",
            "Reference call",
            Effort.MEDIUM,
            "feedback",
            (),
            self_service=False,
            how_to="We will ask you when a prospect needs a reference.",
            ask_kind=AskKind.REFERENCE_CALL,
        ),
        ChallengeType(
            "webinar", "Webinar", Effort.MEDIUM, "manual", ("text",), how_to="Tell us which session you joined."
        ),
        ChallengeType(
            "case_study",
            "Case study",
            Effort.HIGH,
            "manual",
            ("text",),
            how_to="Tell us about your story; we will schedule the interview.",
        ),
        ChallengeType(
            "speaking", "Speaking", Effort.HIGH, "manual", ("text",), how_to="Tell us where and when you spoke."
        ),
        ChallengeType(
            "advisory_board",
            "Advisory board",
            Effort.HIGH,
            "manual",
            ("text",),
            how_to="Tell us which board meeting you joined.",
        ),
        ChallengeType(
            "photo",
            "Photo or document",
            Effort.LOW,
            "manual",
            ("file",),
            how_to="Upload a photo or a PDF that shows what you did; a manager looks at it.",
        ),
        ChallengeType("custom", "Custom", Effort.LOW, "manual", ("text",), how_to="Describe what you did."),
    )
}

# The banners a challenge card may show (static/img/banners.svg, drawn for Vouch): key → what
# the editor calls it.
BANNERS = {
    "welcome": "Welcome",
    "stars": "Stars (reviews)",
    "megaphone": "Megaphone (sharing)",
    "conversation": "Conversation (community, calls)",
    "stage": "Stage (events, speaking)",
    "lightbulb": "Light bulb (ideas, surveys)",
}

EFFORT_TIME = {Effort.LOW: "under 30 min", Effort.MEDIUM: "1–2 hours", Effort.HIGH: "3 hours or more"}
EVIDENCE_KINDS = ("url", "text", "answers", "file")
# The editor fields an evidence kind needs: answers are answers to the challenge's questions; a
# file is one of the kinds the challenge takes.
EVIDENCE_FIELDS: dict[str, tuple[str, ...]] = {"answers": ("quiz",), "file": ("file_kinds",)}
# A file is looked at by a person (issue 19): "file" evidence only with these verifications.
FILE_VERIFICATIONS = frozenset({"manual"})


@dataclass(frozen=True)
class Evidence:
    """What a verifier sees: plain values copied from the completion and its challenge."""

    completion_id: int
    challenge_type: str
    evidence_url: str | None
    evidence_text: str | None
    answers: list[Any] | None
    allowed_domains: tuple[str, ...]
    marker: str | None
    quiz: dict[str, Any] | None
    attempt: int
    allow_hosts: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


Decision = Literal["approve", "review", "reject", "retry"]


@dataclass(frozen=True)
class Verdict:
    """approve; review (note for staff); reject (reason for the advocate); retry (transient)."""

    decision: Decision
    note: str | None = None
    excerpt: str | None = None


Verifier = Callable[[Evidence], Verdict]


@dataclass(frozen=True)
class VerifierSpec:
    key: str
    label: str
    check: Verifier
    in_job: bool = True  # False: goes straight to the review queue at submission
    fields: tuple[str, ...] = ()  # the editor fields this verifier reads (field_names_for)
    # True: a pure function of the answers (no fetch, no database), so the submission itself
    # decides the completion (challenges.services.submissions) and no job runs.
    in_request: bool = False
    # True: the check reads nothing but the Evidence (no database, no app context), so the batch
    # job (challenges.jobs.verify_pending) may claim any submitted completion it verifies and
    # run several checks at once in threads.
    batched: bool = False


VERIFIERS: dict[str, VerifierSpec] = {}


def register_verifier(
    key: str,
    label: str,
    check: Verifier,
    in_job: bool = True,
    fields: tuple[str, ...] = (),
    in_request: bool = False,
    batched: bool = False,
) -> None:
    """Add or replace a verifier (issues 5 and 6 replace `community`, `crm`, `feedback`).
    `fields` names the challenge fields it reads, so the editor shows and keeps only those.
    `in_request`: the check reads nothing but the evidence, so submissions run it themselves.
    `batched`: the check reads nothing but the evidence and may run in a thread, so the batch job
    claims and checks such completions together (challenges.jobs.verify_pending)."""
    VERIFIERS[key] = VerifierSpec(key, label, check, in_job, fields, in_request, batched)


def batched_verifiers() -> list[str]:
    """The names of the verifiers the batch job may run for any submitted completion."""
    return sorted(key for key, spec in VERIFIERS.items() if spec.batched)


# Editor fields that only some challenges use; every other field (title, points, limits, dates,
# audience …) belongs to every type.
TYPE_SPECIFIC_FIELDS = (
    "platform",
    "disclosure",
    "allowed_domains",
    "marker",
    "quiz",
    "pass_mark",
    "question_id",
    "bonus_points",
    "file_kinds",
)


def field_names_for(
    challenge_type: str, verification: str | None = None, evidence: tuple[str, ...] | list[str] | None = None
) -> frozenset[str]:
    """The type-specific fields (TYPE_SPECIFIC_FIELDS) a challenge of this type uses with this
    verification and evidence (None: the type's defaults): the type's own, its verifier's and
    its evidence's. Raises KeyError for an unknown type."""
    spec = TYPES[challenge_type]
    verifier = VERIFIERS.get(verification or spec.verification)
    kinds = spec.evidence if evidence is None else evidence
    names = set(spec.fields) | set(verifier.fields if verifier else ())
    for kind in kinds:
        names |= set(EVIDENCE_FIELDS.get(kind, ()))
    return frozenset(names)


def editor_field_map() -> dict[str, Any]:
    """The data the challenge editor's script hides fields by: each type's defaults and own
    fields, each verifier's fields and each evidence kind's (JSON-ready)."""
    return {
        "types": {
            key: {
                "effort": t.effort.value,
                "verification": t.verification,
                "evidence": list(t.evidence),
                "fields": list(t.fields),
            }
            for key, t in TYPES.items()
        },
        "verifiers": {key: list(v.fields) for key, v in VERIFIERS.items()},
        "evidence": {key: list(names) for key, names in EVIDENCE_FIELDS.items()},
    }


def used_by(field_name: str) -> list[str]:
    """The labels of the types whose default set-up uses this type-specific field (the editor's
    "used by" hint, shown when scripts do not hide the unused fields)."""
    return [t.label for key, t in TYPES.items() if field_name in field_names_for(key)]


def run(evidence: Evidence, verification: str) -> Verdict:
    spec = VERIFIERS.get(verification)
    if spec is None:
        return Verdict("review", f"No verifier named {verification!r}; please review by hand.")
    return spec.check(evidence)


def check_url(evidence: Evidence, timeout: float = urlcheck.TIMEOUT_SECONDS) -> Verdict:
    """Fetch the evidence page; approve only when it contains the marker text."""
    if not evidence.evidence_url:
        return Verdict("review", "No link was submitted.")
    try:
        page = urlcheck.fetch(evidence.evidence_url, evidence.allowed_domains, evidence.allow_hosts, timeout=timeout)
    except urlcheck.Refused as exc:
        return Verdict("review", f"Not fetched: {exc}")
    except urlcheck.Transient as exc:
        return Verdict("retry", str(exc))
    text = urlcheck.page_text(page.body, page.charset)
    snippet, found = urlcheck.excerpt(text, evidence.marker)
    if page.status >= 400:
        return Verdict("review", f"The page answered {page.status}.", snippet or None)
    if not evidence.marker:
        return Verdict("review", "The challenge has no marker text to look for; please check the page.", snippet)
    if found:
        return Verdict("approve", f"Found “{evidence.marker}” on the page.", snippet)
    note = f"“{evidence.marker}” was not found on the page"
    note += " (only the first 1 MiB was read)." if page.truncated else "."
    return Verdict("review", note, snippet)


def grade_answers(evidence: Evidence) -> Verdict:
    """Quizzes are graded server-side against the stored answers; surveys need every answer."""
    questions = (evidence.quiz or {}).get("questions") or []
    answers = evidence.answers or []
    if not questions or len(answers) != len(questions):
        return Verdict("review", "The answers do not match the questions; please review.")
    if evidence.challenge_type == "survey" or all(q.get("answer") is None for q in questions):
        complete = all(
            (isinstance(a, int) and not isinstance(a, bool) and 0 <= a < len(q.get("options") or []))
            if q.get("options")
            else (isinstance(a, str) and a.strip() != "")
            for q, a in zip(questions, answers, strict=True)
        )
        return (
            Verdict("approve", "Every question answered.")
            if complete
            else Verdict("review", "Some answers are missing.")
        )
    correct = sum(
        1 for q, a in zip(questions, answers, strict=True) if q.get("answer") is not None and a == q["answer"]
    )
    graded = sum(1 for q in questions if q.get("answer") is not None)
    needed = (evidence.quiz or {}).get("pass_mark") or graded
    if correct >= needed:
        return Verdict("approve", f"{correct} of {graded} answers right.")
    return Verdict("reject", f"{correct} of {graded} answers were right; {needed} are needed.")


def manual(_evidence: Evidence) -> Verdict:
    return Verdict("review", "Waiting for a manager to review.")


def check_crm(evidence: Evidence) -> Verdict:
    """A referral's completion (run when the sweep re-verifies it): approve once a CRM
    opportunity names the referral; until then leave it to the CRM or a manager."""
    with job_context():
        found = db.session.scalar(
            select(Opportunity.external_id)
            .join(Referral, Referral.id == Opportunity.referral_id)
            .where(Referral.completion_id == evidence.completion_id, Referral.flag_reason.is_(None))
            .limit(1)
        )
    if found is not None:
        return Verdict("approve", f"The referral became CRM opportunity {found}.")
    return Verdict("review", "Waiting for the CRM opportunity; a manager can also decide it here.")


def waiting_for(source: str) -> Verifier:
    def check(_evidence: Evidence) -> Verdict:
        return Verdict("review", f"Waiting for {source}; a manager can also decide it here.")

    return check


register_verifier(
    "url_check",
    "Link check (page must contain the marker text)",
    check_url,
    fields=("allowed_domains", "marker"),
    batched=True,
)
register_verifier("auto", "Automatic (quiz graded / survey complete)", grade_answers, in_request=True)
register_verifier("manual", "Manual review", manual, in_job=False)
register_verifier("community", "Community (answer accepted or 3 upvotes)", waiting_for("the community answer"))
register_verifier("crm", "CRM (lead becomes an opportunity)", check_crm)
register_verifier("feedback", "Sales feedback (call confirmed)", waiting_for("the sales rep's feedback"))


def ask_kind_for(challenge_type: str, effort: Effort | str) -> AskKind | None:
    """The ask a completion of this challenge is: reference call, medium, high, or none."""
    spec = TYPES.get(challenge_type)
    if spec is not None and spec.ask_kind is not None:
        return spec.ask_kind
    effort = Effort(effort)
    return {Effort.MEDIUM: AskKind.MEDIUM, Effort.HIGH: AskKind.HIGH}.get(effort)
