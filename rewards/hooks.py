"""How rewards plugs into hub (hub.hooks): advocates' badges, the home page's points sections
and group boards that follow membership changes."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from hub.hooks import PeriodicJob, hooks
from rewards import jobs, leaderboard, views
from rewards.badges import APPROVED_COMPLETIONS, EARNED_BADGES, badge_facts
from rewards.expiry import expiring_facts
from rewards.ledger import HOME_RECENT_ENTRIES
from rewards.privacy import REWARDS_PERSONAL_DATA


def install(app: Flask) -> None:
    """Register rewards' hooks on `app` (create_app calls this once per app)."""
    registry = hooks(app)
    registry.advocate_fact_sources.extend([badge_facts, expiring_facts])
    registry.add_home_section(0, views.tier_section)
    registry.add_home_section(40, views.badges_and_board_section)
    registry.add_home_section(50, views.recent_activity_section)
    registry.home_reads.extend([EARNED_BADGES, APPROVED_COMPLETIONS, HOME_RECENT_ENTRIES])
    registry.group_change_listeners.append(leaderboard.sync_advocate_groups)
    registry.personal_data.append(REWARDS_PERSONAL_DATA)
    registry.active_change_listeners.append(leaderboard.advocate_active_changed)
    # Display rows cached for leaderboard reads follow name, tier and leaderboard-choice changes.
    if not event.contains(Session, "after_flush", leaderboard.display_changes):
        event.listen(Session, "after_flush", leaderboard.display_changes)
    registry.periodic_jobs.extend(
        [
            PeriodicJob(jobs.recompute_tiers_job, "rewards recompute-tiers", cron="15 3 * * *"),
            PeriodicJob(jobs.rebuild_leaderboards_job, "rewards rebuild-leaderboards", cron="30 3 * * *"),
            PeriodicJob(jobs.reconcile_leaderboards_job, "rewards reconcile-leaderboards", interval=300),
            PeriodicJob(jobs.expire_points_job, "rewards expire-points", cron="45 2 * * *"),
        ]
    )
