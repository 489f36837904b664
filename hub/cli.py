"""`flask users …`, `flask tokens …` and `flask hub …` commands."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from hub import accounts, tokens
from hub.errors import VouchError
from hub.extensions import db
from hub.models import Role, User
from hub.queue import finish_local_jobs

users_cli = click.Group("users", help="Manage users.")
tokens_cli = click.Group("tokens", help="Manage API tokens.")
hub_cli = click.Group("hub", help="Hub maintenance and periodic jobs.")

DEMO_PASSWORD = "vouch-demo-2026"  # noqa: S105 - the documented demo login


def _fail(exc: VouchError) -> None:
    fields = exc.details.get("fields") or {}
    detail = "; ".join(f"{k}: {v[0]}" for k, v in fields.items())
    raise click.ClickException(f"{exc.message} {detail}".strip())


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", required=True, help="At least 10 characters.")
@with_appcontext
def create_user(email: str, name: str, role: str, password: str) -> None:
    """Create a user (advocates also get an advocate profile)."""
    try:
        user = accounts.create_user(email, name, role, password)
        db.session.commit()
    except VouchError as exc:
        db.session.rollback()
        _fail(exc)
    click.echo(f"Created {user.role.value} {user.email} (id {user.id}).")


@tokens_cli.command("create")
@click.option("--email", required=True, help="The user the token acts as.")
@click.option("--name", default="CLI token", show_default=True)
@with_appcontext
def create_token(email: str, name: str) -> None:
    """Create an API token and print it once (it is stored hashed)."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with email {email}.")
    _, plaintext = tokens.create_api_token(user, name, None)
    db.session.commit()
    click.echo(plaintext)


@hub_cli.command("seed-demo")
@click.option("--force", is_flag=True, help="Seed even if users already exist.")
@with_appcontext
def seed_demo(force: bool) -> None:
    """Seed the demo program once (skipped when any user exists)."""
    from hub.demo import seed

    if db.session.scalar(select(User.id).limit(1)) and not force:
        click.echo("Demo data already present; skipping.")
        return
    summary = seed(DEMO_PASSWORD)
    db.session.commit()
    finish_local_jobs()
    click.echo(summary)


@hub_cli.command("send-digests")
@with_appcontext
def send_digests() -> None:
    """Enqueue this week's digest for every advocate (weekly; exactly one per advocate per week)."""
    from hub.email.mailings import send_digests as enqueue_digests

    count = enqueue_digests()
    db.session.commit()
    finish_local_jobs()
    click.echo(f"Enqueued digests for {count} advocates.")


@hub_cli.command("reengage")
@with_appcontext
def reengage() -> None:
    """Enqueue a catch-up note for advocates without activity for 180 days (daily)."""
    from hub.email.mailings import reengage as enqueue_reengage

    count = enqueue_reengage()
    db.session.commit()
    finish_local_jobs()
    click.echo(f"Enqueued re-engagement notes for {count} advocates.")


@hub_cli.command("drain-outbox")
@with_appcontext
def drain_outbox() -> None:
    """Enqueue a delivery attempt for every queued email that is due (every minute)."""
    from hub.email.sending import drain_outbox as enqueue_due

    count = enqueue_due()
    db.session.commit()
    finish_local_jobs()
    click.echo(f"Enqueued {count} queued emails.")
