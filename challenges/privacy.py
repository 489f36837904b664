"""challenges' share of an advocate's data (hub.privacy, product.md §12): completions with their
evidence, asks, referrals with the contacts they entered, reference asks, attribution.

On erasure: evidence (text, URLs, answers, fetched excerpts, uploaded files) is removed, and a completion still
waiting is closed as rejected by the same conditional UPDATE a decision uses — so a verification
job in flight finds it decided and writes nothing back (challenges.services.verification).
Referral contacts are removed; reference requests and attribution stay (they are sales' records
and the program's numbers) and name the advocate only by id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from challenges.crm.models import AttributionCredit, AttributionTouch
from challenges.models import (
    UNDECIDED,
    ActiveAdvocatePeriod,
    ActiveSpell,
    Ask,
    Challenge,
    Completion,
    CompletionStatus,
    EvidenceClaim,
)
from challenges.prospects.models import AdvocacyScore, Nomination
from challenges.references.models import ReferenceAssignment, ReferenceRequest
from challenges.referrals.models import Referral
from challenges.services import completion_tallies, evidence_files
from hub.db import utcnow
from hub.extensions import db
from hub.hooks import PersonalData
from hub.models import Advocate
from hub.privacy import rows

ERASED_REASON = "Closed: the advocate's account was erased."
ERASED_CONTACT = "Erased contact"


def export_challenges(advocate: Advocate) -> dict[str, Any]:
    aid = advocate.id
    return export_prospect_records(advocate) | {
        "completions": rows(
            select(
                Completion.id,
                Completion.challenge_id,
                Challenge.title.label("challenge_title"),
                Completion.status,
                Completion.evidence_url,
                Completion.evidence_text,
                Completion.answers,
                Completion.fetched_excerpt,
                Completion.verification_note,
                Completion.points_offered,
                Completion.points_awarded,
                Completion.reason,
                Completion.submitted_at,
                Completion.decided_at,
            )
            .join(Challenge, Challenge.id == Completion.challenge_id)
            .where(Completion.advocate_id == aid)
            .order_by(Completion.id)
        ),
        # The files' listing only (issue 19): the bytes are not in this JSON document; the
        # advocate downloads each from the challenge's page while their account exists.
        "evidence_files": evidence_files.export_rows(aid),
        # The reports' tallies of their approvals (challenges.services.act_tallies): derived from
        # the completions' approval times, which erasure keeps as it keeps the ledger's amounts.
        "active_periods": rows(
            select(ActiveAdvocatePeriod.span.label("months"), ActiveAdvocatePeriod.starts)
            .where(ActiveAdvocatePeriod.advocate_id == aid)
            .order_by(ActiveAdvocatePeriod.span, ActiveAdvocatePeriod.starts)
        ),
        "active_spells": rows(
            select(ActiveSpell.started_at, ActiveSpell.last_at)
            .where(ActiveSpell.advocate_id == aid)
            .order_by(ActiveSpell.started_at)
        ),
        "asks": rows(
            select(Ask.kind, Ask.source_type, Ask.source_id, Ask.asked_at, Ask.cancelled_at)
            .where(Ask.advocate_id == aid)
            .order_by(Ask.id)
        ),
        "referrals": rows(
            select(
                Referral.id,
                Referral.name,
                Referral.email,
                Referral.company,
                Referral.title,
                Referral.notes,
                Referral.consent,
                Referral.status,
                Referral.points,
                Referral.bonus_points,
                Referral.created_at,
                Referral.opportunity_at,
                Referral.won_at,
            )
            .where(Referral.advocate_id == aid)
            .order_by(Referral.id)
        ),
        "reference_requests": rows(
            select(
                ReferenceAssignment.request_id,
                ReferenceRequest.prospect_company,
                ReferenceRequest.use_case,
                ReferenceRequest.format,
                ReferenceRequest.needed_by,
                ReferenceAssignment.status,
                ReferenceAssignment.asked_at,
                ReferenceAssignment.responded_at,
                ReferenceRequest.completed_at,
            )
            .join(ReferenceRequest, ReferenceRequest.id == ReferenceAssignment.request_id)
            .where(ReferenceAssignment.advocate_id == aid)
            .order_by(ReferenceAssignment.id)
        ),
        "attribution": rows(
            select(
                AttributionCredit.opportunity_id,
                AttributionCredit.currency,
                AttributionCredit.sourced_amount,
                AttributionCredit.influenced_amount,
                AttributionCredit.is_won,
            ).where(AttributionCredit.advocate_id == aid)
        )
        + rows(
            select(AttributionTouch.opportunity_id, AttributionTouch.kind, AttributionTouch.touched_at).where(
                AttributionTouch.advocate_id == aid
            )
        ),
    }


def lock_completions(advocate_id: int) -> None:
    """Lock the advocate's completions (in id order) before the advocate row: a decision locks
    its completion and then posts to the ledger, which locks the advocate."""
    db.session.execute(
        select(Completion.id).where(Completion.advocate_id == advocate_id).order_by(Completion.id).with_for_update()
    ).all()


def export_prospect_records(advocate: Advocate) -> dict[str, Any]:
    """The advocacy score and nominations held about the advocate's email before they joined
    (product.md §2 and §13): personal data about them, keyed by email rather than by id."""
    email = advocate.user.email
    return {
        "advocacy_score": rows(
            select(
                AdvocacyScore.email,
                AdvocacyScore.name,
                AdvocacyScore.company,
                AdvocacyScore.nps,
                AdvocacyScore.feature_adoption_pct,
                AdvocacyScore.health_score,
                AdvocacyScore.tenure_months,
                AdvocacyScore.social_mentions,
                AdvocacyScore.responded_before,
                AdvocacyScore.score,
                AdvocacyScore.reasons,
                AdvocacyScore.updated_at,
            ).where(AdvocacyScore.email == email)
        ),
        "nominations": rows(
            select(
                Nomination.name,
                Nomination.company,
                Nomination.title,
                Nomination.reason,
                Nomination.status,
                Nomination.created_at,
            )
            .where(Nomination.email == email)
            .order_by(Nomination.id)
        ),
    }


def erase_challenges(advocate: Advocate) -> None:
    aid = advocate.id
    # The burnout report counts an erased advocate's asks one by one, to leave them out of its
    # total (challenges.reports.people.asks_and_burnout_at); written with the erasure's own
    # UPDATE of the advocate row.
    advocate.burnout_watch = True
    # Scores and nominations name the person by email: they go with the erasure (the user row's
    # email is scrubbed by hub after this runs, so it is still readable here).
    email = advocate.user.email
    db.session.execute(delete(AdvocacyScore).where(AdvocacyScore.email == email))
    db.session.execute(delete(Nomination).where(Nomination.email == email))
    rejected = db.session.execute(
        update(Completion)
        .where(Completion.advocate_id == aid, Completion.status.in_(UNDECIDED))
        .values(status=CompletionStatus.REJECTED, decided_at=utcnow(), reason=ERASED_REASON)
        .returning(Completion.challenge_id, Completion.submitted_at)
        .execution_options(synchronize_session=False)
    ).all()
    completion_tallies.count_rejections(aid, ((int(c), at) for c, at in rejected))
    # Their uploaded files: the rows now, the bytes once the erasure commits (hub.uploads).
    evidence_files.erase_files(aid)
    # The claims of their evidence links are digests of those links: erased with them.
    db.session.execute(
        delete(EvidenceClaim).where(
            EvidenceClaim.completion_id.in_(select(Completion.id).where(Completion.advocate_id == aid))
        )
    )
    db.session.execute(
        update(Completion)
        .where(Completion.advocate_id == aid)
        .values(
            evidence_url=None,
            evidence_text=None,
            answers=None,
            fetched_excerpt=None,
            verification_note=None,
            hold_reason=None,
            text_digest=None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Referral)
        .where(Referral.advocate_id == aid)
        .values(
            name=ERASED_CONTACT,
            email="",
            email_key="erased-" + Referral.id.cast(db.String),
            claimed_email_key=None,
            company="",
            title=None,
            notes=None,
        )
        .execution_options(synchronize_session=False)
    )


CHALLENGES_PERSONAL_DATA = PersonalData(
    name="challenges",
    export=export_challenges,
    erase=erase_challenges,
    lock_first=lock_completions,
    covers=(
        "completions.advocate_id",
        # Kept on erasure, like the completions' advocate and approval time they are counted from
        # (the reports take erased advocates off; a rebuild gives the same rows).
        "active_advocate_periods.advocate_id",
        "active_spells.advocate_id",
        # Emptied by the erasure (it leaves every group: completion_tallies.follow_memberships).
        "group_tally_members.advocate_id",
        "asks.advocate_id",
        "referrals.advocate_id",
        "reference_assignments.advocate_id",
        "reference_requests.advocate_id",
        "attribution_touches.advocate_id",
        "attribution_credits.advocate_id",
        "deal_thanks.advocate_id",
    ),
    actor_columns=(
        "challenges.created_by_id",
        "completions.decided_by_id",
        "reference_requests.requested_by_id",
        "reference_requests.feedback_by_id",
        "reference_assignments.assigned_by_id",
        "crm_imports.created_by_id",
        "webhook_endpoints.created_by_id",
        "advocacy_scores.invited_by_id",
        "score_imports.created_by_id",
        "nominations.nominated_by_id",
        "nominations.decided_by_id",
    ),
)
