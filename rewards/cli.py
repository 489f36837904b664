"""`flask rewards …`: rebuild derived caches from the ledger."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from hub.extensions import db

rewards_cli = click.Group("rewards", help="Points economy maintenance.")


@rewards_cli.command("rebuild-leaderboards")
@with_appcontext
def rebuild_leaderboards() -> None:
    """Recompute leaderboard scores (SQL and Redis) from the ledger."""
    import time

    from rewards import leaderboard

    started = time.perf_counter()
    counts = leaderboard.rebuild()
    db.session.commit()
    click.echo(
        "Rebuilt leaderboards in {:.2f}s: {}".format(
            time.perf_counter() - started, ", ".join(f"{k}={v}" for k, v in counts.items())
        )
    )


@rewards_cli.command("reconcile-leaderboards")
@with_appcontext
def reconcile_leaderboards() -> None:
    """Compare the Redis leaderboards with the ledger's table; rebuild them if they differ."""
    from rewards.leaderboard_reconcile import reconcile

    found = reconcile()
    db.session.commit()
    click.echo(f"Leaderboards: {found.status} ({found.differing} advocates differed).")


@rewards_cli.command("rebuild-caches")
@with_appcontext
def rebuild_caches() -> None:
    """Recompute balances, lifetime points and the reports' per-day totals from the ledger, then
    tiers, the per-day tier totals (hub.tier_totals) and leaderboards."""
    from rewards import leaderboard, ledger, services, tier_changes

    updated = ledger.rebuild_caches()
    ledger.rebuild_day_totals()
    changed = services.recompute_all_tiers()
    tier_changes.rebuild_tier_day_totals()
    leaderboard.rebuild()
    db.session.commit()
    click.echo(
        f"Recomputed {updated} advocates, the per-day totals and the tier totals; {changed} tier changes;"
        " leaderboards rebuilt."
    )


@rewards_cli.command("recompute-tiers")
@with_appcontext
def recompute_tiers() -> None:
    """Recompute tiers (after a threshold change, or daily for the rolling-365 basis), then fold
    the tier totals' shards of the days before yesterday (as the daily job does)."""
    import datetime as dt

    from hub import tier_totals
    from hub.db import utcnow
    from rewards import services

    changed = services.recompute_all_tiers()
    tier_totals.fold_shards(utcnow().date() - dt.timedelta(days=1))
    db.session.commit()
    click.echo(f"{changed} tier changes.")


@rewards_cli.command("expire-points")
@with_appcontext
def expire_points() -> None:
    """Write the due `expire` entries and the 30/7-day notices (idempotent; safe to run twice)."""
    import time

    from rewards import expiry

    started = time.perf_counter()
    run = expiry.expire_points(commit_each=True)
    db.session.commit()
    click.echo(
        f"Expired {run.entries_points:,} points of {run.advocates:,} advocates; {run.notices:,} notices "
        f"in {time.perf_counter() - started:.2f}s."
    )
