"""`flask users …`, `flask tokens …` and `flask hub …` commands."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from hub import accounts, tokens
from hub.errors import VouchError
from hub.extensions import db
from hub.hooks import hooks
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
    # The demo's history sends its notification emails to the log sink (SMTP_URL unset): dozens
    # of bodies nobody asked for, so their lines are held back while seeding.
    with quieted("vouch.mail", "vouch.job"):
        summary = seed(DEMO_PASSWORD)
        db.session.commit()
        finish_local_jobs()
    click.echo(summary)


@contextlib.contextmanager
def quieted(*loggers: str) -> Iterator[None]:
    """Raise these loggers to WARNING for the length of the block (INFO lines are dropped)."""
    previous = {name: logging.getLogger(name).level for name in loggers}
    for name in loggers:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        yield
    finally:
        for name, level in previous.items():
            logging.getLogger(name).setLevel(level)


@hub_cli.command("serve")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@with_appcontext
def serve(port: int) -> None:
    """The development server for `make run`: binds 127.0.0.1:PORT, and only once it accepts
    connections prints where it serves and the demo password, as the last lines before the
    request log."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # vouch.request logs each request already
    server = make_server("127.0.0.1", port, current_app._get_current_object(), threaded=True)  # type: ignore[attr-defined]
    click.echo(f"\nVouch is serving on http://127.0.0.1:{port}")
    click.echo(f"Demo logins are in README.md; every demo password is {DEMO_PASSWORD}\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.")
    finally:
        server.server_close()


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


@hub_cli.command("sweep-imports")
@with_appcontext
def sweep_imports() -> None:
    """Queue again (or fail, after their attempts) CSV imports without progress for 10 minutes."""
    from hub.import_runs import sweep_stale_imports

    count = sweep_stale_imports()
    db.session.commit()
    finish_local_jobs()
    click.echo(f"Swept {count} stalled imports.")


@hub_cli.command("crontab")
@click.option("--root", default="/srv/vouch", show_default=True, help="The checkout the cron lines cd into.")
@with_appcontext
def crontab(root: str) -> None:
    """Print a crontab with every periodic job (the same timetable `rq cron hub.cron` runs)."""
    click.echo(_crontab_line(["# m", "h", "dom", "mon", "dow"], "command"))
    for periodic in hooks().periodic_jobs:
        fields = crontab_fields(periodic.interval, periodic.cron).split()
        click.echo(_crontab_line(fields, f"cd {root} && .venv/bin/flask --app wsgi {periodic.command}"))


def _crontab_line(fields: list[str], command: str) -> str:
    return " ".join(f"{f:<4}" for f in fields) + " " + command


def crontab_fields(interval: int | None, cron: str | None) -> str:
    """The five crontab fields for a timetable: a cron expression as it is, or an interval of
    whole minutes that divide an hour (60 s → `* * * * *`, 600 s → `*/10 * * * *`).

    Raises ValueError for an interval cron cannot express."""
    if cron is not None:
        return cron
    if interval is None or interval % 60 or 3600 % interval:
        raise ValueError(f"an interval of {interval} s has no crontab equivalent")
    minutes = interval // 60
    return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"


@hub_cli.command("erase")
@click.option("--email", required=True, help="The advocate's email.")
@click.option("--requested-by", default="emailed request", show_default=True, help="Whose request, for the audit log.")
@with_appcontext
def erase(email: str, requested_by: str) -> None:
    """Erase an advocate's account and personal data (product.md §12); idempotent, audited."""
    from hub import privacy

    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or user.advocate is None:
        raise click.ClickException(f"No advocate with email {email}.")
    privacy.erase_advocate(user.advocate.id, None, f"operator: {requested_by[:100]}")
    db.session.commit()
    finish_local_jobs()
    click.echo(f"Erased advocate {user.advocate.id}; {email} may be invited again as a new person.")
