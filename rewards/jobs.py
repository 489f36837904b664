"""Background jobs for the points economy: the periodic recomputations of derived state."""

from __future__ import annotations

import datetime as dt

from hub import tier_totals
from hub.db import utcnow
from hub.queue import job_context, job_timeout
from rewards import expiry, leaderboard
from rewards.tier_changes import recompute_all_tiers


@job_timeout(1800)
def recompute_tiers_job() -> int:
    """Cron job: recompute every advocate's tier (the rolling-365 basis moves daily), then fold
    the tier totals' shards of the days before yesterday (hub.tier_totals.fold_shards).
    Idempotent: a tier that is already right is left alone. Returns the number of tier changes."""
    with job_context():
        changes = recompute_all_tiers()
        tier_totals.fold_shards(utcnow().date() - dt.timedelta(days=1))
        return changes


@job_timeout(1800)
def rebuild_leaderboards_job() -> dict[str, int]:
    """Cron job: the SQL and Redis leaderboards recomputed from the ledger (I4), so a board that
    drifted (a Redis outage, a flushed instance) is right again. Idempotent."""
    with job_context():
        return leaderboard.rebuild()


@job_timeout(600)
def reconcile_leaderboards_job() -> str:
    """Cron job (every 5 minutes): the Redis leaderboards checked against the ledger's table and
    rebuilt from the ledger when a Redis write failed or they differ (after a Redis outage).
    Idempotent. Returns what it found (rewards.leaderboard_reconcile.Reconciled.status)."""
    from rewards.leaderboard_reconcile import reconcile

    with job_context():
        return reconcile().status


@job_timeout(1800)
def expire_points_job() -> dict[str, int]:
    """Cron job: write the `expire` entries that are due and the 30/7-day notices
    (rewards.expiry). Idempotent: one entry per earning entry, one notice per date and lead;
    safe beside a second run and beside redemptions (row locks, unique keys)."""
    with job_context():
        run = expiry.expire_points(commit_each=True)
        return {"advocates": run.advocates, "points": run.entries_points, "notices": run.notices}
