"""`flask challenges …`: the sweeps for stuck verifications and half-written uploads, and the CRM
commands (challenges.crm.cli)."""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import with_appcontext

from challenges.crm.cli import crm_token, tally_attribution
from hub.extensions import db

challenges_cli = click.Group("challenges", help="Challenges and completions maintenance.")


@challenges_cli.command("requeue-stuck")
@click.option(
    "--older-than-minutes",
    default=15.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Only completions waiting longer than this.",
)
@with_appcontext
def requeue_stuck(older_than_minutes: float) -> None:
    """Re-enqueue verification of completions stuck in submitted/verifying."""
    from challenges.jobs import requeue_stuck as sweep

    counts = sweep(dt.timedelta(minutes=older_than_minutes))
    db.session.commit()
    backend = current_app.extensions.get("vouch_queue")
    if backend is not None and hasattr(backend, "join"):  # no Redis: the jobs run in this process, so wait for them
        backend.join()
    click.echo(f"Re-enqueued {counts['requeued']} completion(s); sent {counts['sent_to_review']} to review.")


@challenges_cli.command("sweep-uploads")
@click.option(
    "--older-than-minutes",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Only temporary files older than this (a request in flight keeps its own).",
)
@with_appcontext
def sweep_uploads(older_than_minutes: float) -> None:
    """Remove evidence files a process left half-written when it died between writing a file
    and its transaction's end (no row names them; hub.uploads.sweep_incoming)."""
    from challenges.services.evidence_files import AREA
    from hub.uploads import sweep_incoming

    removed = sweep_incoming(AREA, int(older_than_minutes * 60))
    click.echo(f"Removed {removed} temporary upload file(s).")


challenges_cli.add_command(tally_attribution)
challenges_cli.add_command(crm_token)


@challenges_cli.command("refresh-account-summaries")
@with_appcontext
def refresh_account_summaries() -> None:
    """Recompute every account's summary row (the coverage list's source): the daily job's
    twin, and the step to run once after upgrading to the release that added the table."""
    from challenges.accounts.summaries import rebuild_all

    written = rebuild_all()
    db.session.commit()
    click.echo(f"{written} account summary row(s) written.")


@challenges_cli.command("relink-accounts")
@click.option(
    "--full-recount",
    is_flag=True,
    help="Recount every opportunity's attribution from scratch, not only those the relink may change.",
)
@with_appcontext
def relink_accounts(full_recount: bool) -> None:
    """Link every advocate and opportunity to its customer account again (product.md §13),
    then recount the attribution the relink may change (all of it with --full-recount);
    prints what changed and how long it took."""
    import time

    from challenges.accounts.services import relink_everything

    started = time.perf_counter()
    result, recounted = relink_everything(full_recount=full_recount)
    db.session.commit()
    click.echo(
        f"{result.accounts_created} account(s) created, {result.advocates_changed} advocate(s) and "
        f"{result.opportunities_changed} opportunity(ies) relinked, {recounted} opportunities recounted "
        f"in {time.perf_counter() - started:.1f} s."
    )


@challenges_cli.command("rebuild-act-totals")
@with_appcontext
def rebuild_act_totals() -> None:
    """Recount the reports' approval tallies (acts per day, type and review platform; active advocates
    per month and quarter; the approvals' spells, their starts and ends per day and each
    advocate's first approval; completions, decisions, points, asks and hours to approve per challenge
    and per group and day of submission) from the completions and the groups, and the asks per day
    and the advocates' burnout watch from the asks."""
    from challenges.caps import rebuild_ask_day_totals
    from challenges.services.act_tallies import rebuild_act_totals as rebuild
    from challenges.services.completion_tallies import rebuild_completion_totals

    rebuild()
    rebuild_ask_day_totals()
    rebuild_completion_totals()
    db.session.commit()
    click.echo(
        "Approved acts per day, active advocates per month and quarter, spells and completions per challenge,"
        " group and day recounted from the completions; asks per day and the burnout watch from the asks."
    )


@challenges_cli.command("rebuild-places")
@with_appcontext
def rebuild_places() -> None:
    """Recount the places taken per challenge (max_total) from the completions. The triggers on
    `completions` keep them; run this after writing completions with the triggers disabled."""
    from challenges.services.places import rebuild_places as rebuild

    rows = rebuild()
    db.session.commit()
    click.echo(f"Places taken recounted from the completions ({rows} counter rows).")
