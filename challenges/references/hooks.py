"""Wires references into the hub: the advocate home card and the report section."""

from __future__ import annotations


def install() -> None:
    """Register the references hooks with hub.providers and the challenges' verifier registry
    (idempotent)."""
    from challenges import verifiers
    from challenges.references import reports  # noqa: F401  (registers its program report section)
    from challenges.references.demo import seed_demo_references
    from challenges.references.views import home_section
    from hub.providers import register_demo_seeder, register_home_section

    register_home_section(30, home_section)
    register_demo_seeder(seed_demo_references)
    verifiers.register_verifier("crm", "CRM (lead becomes an opportunity)", check_crm)


def check_crm(evidence):
    """The `crm` verifier (run when the sweep re-verifies a referral's completion): approve once
    a CRM opportunity names the referral; until then leave it to the CRM or a manager."""
    from sqlalchemy import select

    from challenges.references.models import Opportunity, Referral
    from challenges.verifiers import Verdict
    from hub.extensions import db
    from hub.queue import job_context

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
