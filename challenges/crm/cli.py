"""`flask challenges tally-attribution` and `flask challenges crm-token` (in the `challenges` group)."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from hub.extensions import db


@click.command("tally-attribution")
@click.option("--full", is_flag=True, help="Recompute every opportunity's touches and credits from scratch.")
@click.option("--external-id", help="Recompute one opportunity (by its CRM id).")
@click.option("--enqueue", is_flag=True, help="Queue the full recount as a job instead (for cron).")
@with_appcontext
def tally_attribution(full: bool, external_id: str | None, enqueue: bool) -> None:
    """Tally attribution (touches, sourced and influenced credit)."""
    from challenges.crm import attribution
    from challenges.crm.models import Opportunity

    if enqueue:
        from challenges.crm.jobs import tally_all_job
        from hub.queue import dispatch_now

        dispatch_now(_spec(tally_all_job))
        click.echo("Queued the full attribution recount.")
        return
    if full == bool(external_id):
        raise click.UsageError("Pass --full, --external-id ID or --enqueue.")
    ids = None
    if external_id:
        found = db.session.scalar(select(Opportunity.id).where(Opportunity.external_id == external_id))
        if found is None:
            raise click.ClickException(f"No opportunity with external id {external_id}.")
        ids = [found]
    started = time.perf_counter()
    result = attribution.tally(ids, count=True)
    db.session.commit()
    click.echo(
        f"Tallied {'all' if ids is None else len(ids)} opportunities: {result.touches} touches, "
        f"{result.credits} credits in {time.perf_counter() - started:.2f} s."
    )


def _spec(func):
    from hub.queue import JobSpec

    return JobSpec(func, (), job_id="attribution-full")


@click.command("crm-token")
@click.option("--email", required=True, help="The owner the integration token acts for.")
@click.option("--name", default="CRM integration", show_default=True)
@with_appcontext
def crm_token(email: str, name: str) -> None:
    """Create a CRM integration token (only POST /crm/opportunities accepts it); printed once."""
    from challenges.crm.integration import create_integration_token
    from hub.errors import VouchError
    from hub.models import User

    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with email {email}.")
    try:
        _, plaintext = create_integration_token(user.id, name, None)
    except VouchError as exc:
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(plaintext)
