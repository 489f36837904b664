"""How challenges plugs into hub (hub.hooks): advocate facts (asks, burnout), the home page's
"For you" and references cards, the sales landing page, demo data, community answers that
complete challenges, and the weekly digest's challenge list."""

from __future__ import annotations

from flask import Flask

from challenges import caps, community, jobs, metrics
from challenges.crm.demo import seed_demo_crm
from challenges.demo import seed_demo_challenges
from challenges.privacy import CHALLENGES_PERSONAL_DATA
from challenges.references.demo import seed_demo_references
from challenges.references.views import home_section as references_section
from challenges.referrals.demo import seed_demo_referrals
from challenges.views import break_section, for_you_section
from hub.hooks import PeriodicJob, hooks
from hub.models import Role


def install(app: Flask) -> None:
    """Register the challenges package's hooks on `app` (create_app calls this once per app)."""
    registry = hooks(app)
    registry.advocate_fact_sources.append(caps.advocate_facts)
    registry.add_home_section(-10, break_section)
    registry.add_home_section(10, for_you_section)
    registry.add_home_section(30, references_section)
    registry.role_homes[Role.SALES] = "references.sales_references"
    registry.demo_seeders.extend([seed_demo_challenges, seed_demo_references, seed_demo_referrals, seed_demo_crm])
    registry.answer_milestone_jobs.append(jobs.complete_community_answer)
    registry.personal_data.append(CHALLENGES_PERSONAL_DATA)
    registry.digest_sources.append(community.digest_items)
    registry.periodic_jobs.append(PeriodicJob(jobs.requeue_stuck_job, "challenges requeue-stuck", interval=600))
    metrics.install(app)
