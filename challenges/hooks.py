"""How challenges plugs into hub (hub.hooks): advocate facts (asks, burnout), the home page's
"For you" and references cards, the sales landing page, demo data, community answers that
complete challenges, and the weekly digest's challenge list."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from challenges import caps, community, jobs, metrics
from challenges.accounts import summaries
from challenges.crm.demo import seed_demo_crm
from challenges.crm.reports import DEALS_HELPED
from challenges.demo import seed_demo_challenges
from challenges.demo_history import seed_demo_history
from challenges.models import Challenge, ChallengeStatus, challenge_groups
from challenges.privacy import CHALLENGES_PERSONAL_DATA
from challenges.references.demo import seed_demo_references
from challenges.references.services import LATEST_ASKS
from challenges.references.views import home_section as references_section
from challenges.referrals.demo import seed_demo_referrals
from challenges.services import completion_tallies
from challenges.services.completions import FIRST_APPROVED
from challenges.views import break_section, for_you_section, getting_started_section, program_activity_section
from hub.extensions import db
from hub.hooks import PeriodicJob, hooks
from hub.models import Role
from rewards.demo import seed_rewards


def challenges_targeting(group_id: int) -> list[str]:
    """The group-dependents hook: challenges not archived whose audience includes the group."""
    titles = db.session.scalars(
        select(Challenge.title)
        .join(challenge_groups, challenge_groups.c.challenge_id == Challenge.id)
        .where(challenge_groups.c.group_id == group_id, Challenge.status != ChallengeStatus.ARCHIVED)
        .order_by(Challenge.id)
    )
    return [f"challenge “{title}”" for title in titles]


def install(app: Flask) -> None:
    """Register the challenges package's hooks on `app` (create_app calls this once per app)."""
    registry = hooks(app)
    registry.advocate_fact_sources.append(caps.advocate_facts)
    registry.advocate_list_filters.append(caps.filter_by_burnout)
    registry.group_dependents.append(challenges_targeting)
    registry.add_home_section(-10, break_section)
    registry.add_home_section(5, getting_started_section)
    registry.add_home_section(10, for_you_section)
    registry.add_home_section(30, references_section)
    registry.add_home_section(45, program_activity_section)
    registry.home_reads.extend([LATEST_ASKS, DEALS_HELPED, FIRST_APPROVED])
    registry.role_homes[Role.SALES] = "references.sales_references"
    # The history of real acts first, then the rewards they are spent on (rewards' seeder runs
    # here, after the points exist), then today's open requests.
    registry.demo_seeders.extend(
        [
            seed_demo_history,
            seed_rewards,
            seed_demo_challenges,
            seed_demo_references,
            seed_demo_referrals,
            seed_demo_crm,
        ]
    )
    registry.answer_milestone_jobs.append(jobs.complete_community_answer)
    registry.personal_data.append(CHALLENGES_PERSONAL_DATA)
    registry.group_batch_listeners.append(completion_tallies.follow_memberships)
    registry.digest_sources.append(community.digest_items)
    registry.periodic_jobs.append(PeriodicJob(jobs.requeue_stuck_job, "challenges requeue-stuck", interval=600))
    registry.periodic_jobs.append(
        PeriodicJob(summaries.refresh_summaries_job, "challenges refresh-account-summaries", cron="40 2 * * *")
    )
    summaries.install()
    metrics.install(app)
