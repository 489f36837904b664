"""What Vouch emails advocates: notification emails, the weekly digest, re-engagement, thank-yous.

Every email here goes to an advocate's outbox row with a plain-text and an HTML part, a
one-click unsubscribe link for its kind (also as a List-Unsubscribe header), and only if
the advocate has not switched that kind off. Periodic mail carries a `dedupe_key`, so a
command or job that runs twice still sends one digest per week, one catch-up note per
quiet spell and one thank-you per milestone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from hub.db import any_of, utcnow
from hub.email.models import OutboxEmail
from hub.email.preferences import EMAIL_KINDS, email_allowed, email_kind_for_notification, unsubscribe_url
from hub.email.sending import drain_outbox, outbox_values, queue_email, queue_emails
from hub.extensions import db
from hub.hooks import PeriodicJob, hooks
from hub.models import Advocate, Notification, User
from hub.queue import enqueue_after_commit, job_context, job_timeout
from hub.settings import get_setting
from hub.signals import completion_approved

log = logging.getLogger("vouch.mail")

DIGEST_LIMIT = 6
DIGEST_WINDOW = dt.timedelta(days=7)
REENGAGE_AFTER = dt.timedelta(days=180)
COMPLETION_MILESTONES = (5, 25, 100)


def render_email(template: str, **context: Any) -> tuple[str, str]:
    """Render templates/email/<template>.txt and .html (no request needed: jobs call this)."""
    env = current_app.jinja_env
    text = env.get_template(f"email/{template}.txt").render(**context)
    html = env.get_template(f"email/{template}.html").render(**context)
    return text, html


def absolute_url(path: str | None) -> str:
    base = current_app.config["VOUCH_BASE_URL"]
    if not path:
        return base + "/"
    if path.startswith(("http://", "https://")):
        return path
    return base + (path if path.startswith("/") else "/" + path)


def email_advocate(
    user: User, kind: str, subject: str, template: str, context: dict[str, Any], dedupe_key: str | None = None
) -> OutboxEmail | None:
    """Queue one email of `kind` to an advocate unless they opted out (or are erased/inactive)."""
    values = compose_email(user, kind, subject, template, context, dedupe_key)
    if values is None:
        return None
    return queue_email(
        values["to_address"],
        subject,
        values["body_text"],
        kind,
        user.id,
        html=values["body_html"],
        unsubscribe_url=values["unsubscribe_url"],
        dedupe_key=dedupe_key,
    )


def compose_email(
    user: User, kind: str, subject: str, template: str, context: dict[str, Any], dedupe_key: str | None = None
) -> dict[str, Any] | None:
    """The outbox row (`hub.email.sending.outbox_values`) of one email of `kind` to an advocate,
    rendered, or None when they opted out of the kind (or are erased/inactive): what
    `email_advocate` queues, for callers that write several rows at once (`queue_emails`)."""
    advocate = user.advocate
    if advocate is None or advocate.is_erased or not user.is_active_user or not email_allowed(advocate, kind):
        return None
    unsubscribe = unsubscribe_url(user.id, kind)
    text, html = render_email(
        template,
        user=user,
        program_name=get_setting("program_name"),
        kind_label=EMAIL_KINDS[kind].label,
        unsubscribe_url=unsubscribe,
        preferences_url=absolute_url("/me/preferences/email"),
        hub_url=absolute_url("/"),
        **context,
    )
    return outbox_values(
        user.email, subject, text, kind, user.id, html=html, unsubscribe_url=unsubscribe, dedupe_key=dedupe_key
    )


def _notification_email(note: Notification, user: User | None, dedupe_key: str | None) -> dict[str, Any] | None:
    """The outbox row of an in-app notification's email twin (None: its kind has none, or the
    advocate opted out)."""
    kind = email_kind_for_notification(note.kind)
    if kind is None or user is None:
        return None
    subject = note.text if len(note.text) <= 120 else note.text[:117] + "…"
    return compose_email(
        user, kind, subject, "notification", {"text": note.text, "link": absolute_url(note.url)}, dedupe_key
    )


def email_for_notification(note: Notification, dedupe_key: str | None = None) -> OutboxEmail | None:
    """The email twin of an in-app notification, for kinds that have one (see hub.email.preferences);
    with `dedupe_key`, written at most once (hub.email.sending.queue_email)."""
    if email_kind_for_notification(note.kind) is None:
        return None
    user = db.session.get(User, note.user_id, options=[joinedload(User.advocate)])
    values = _notification_email(note, user, dedupe_key)
    if values is None or user is None:
        return None
    return queue_email(
        values["to_address"],
        values["subject"],
        values["body_text"],
        values["kind"],
        user.id,
        html=values["body_html"],
        unsubscribe_url=values["unsubscribe_url"],
        dedupe_key=dedupe_key,
    )


def email_notifications(notification_ids: list[int]) -> int:
    """The email twins of these in-app notifications (hub.notifications.notify_many), each at most
    once (dedupe key `notification-<id>`), so a job run again sends no duplicate. Three statements
    whatever their number: the notifications, their users with their advocates, and one
    multi-row insert of the outbox rows (`queue_emails`). Returns the emails queued now."""
    notes = list(
        db.session.scalars(
            select(Notification).where(any_of(Notification.id, notification_ids)).order_by(Notification.id)
        )
    )
    wanted = sorted({note.user_id for note in notes if email_kind_for_notification(note.kind) is not None})
    users = (
        {
            user.id: user
            for user in db.session.scalars(
                select(User).where(any_of(User.id, wanted)).options(joinedload(User.advocate))
            ).unique()
        }
        if wanted
        else {}
    )
    rows = [
        values
        for note in notes
        if (values := _notification_email(note, users.get(note.user_id), f"notification-{note.id}")) is not None
    ]
    return len(queue_emails(rows))


@job_timeout(900)
def send_notification_emails(notification_ids: list[int]) -> int:
    """Job: the emails of a batch of in-app notifications, one job for the batch (at-least-once
    and idempotent: `email_notifications`). Returns the emails queued."""
    with job_context():
        return email_notifications(notification_ids)


# --- weekly digest -----------------------------------------------------------------------------


def week_key(now: dt.datetime) -> str:
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"


def _mailable_advocate_ids() -> list[int]:
    return list(
        db.session.scalars(
            select(Advocate.id)
            .join(User, User.id == Advocate.user_id)
            .where(Advocate.is_erased.is_(False), User.is_active_user.is_(True))
            .order_by(Advocate.id)
        )
    )


def send_digests(now: dt.datetime | None = None) -> int:
    """Enqueue one digest job per advocate for this ISO week (the job decides whether to send)."""
    key = week_key(now or utcnow())
    ids = _mailable_advocate_ids()
    for advocate_id in ids:
        enqueue_after_commit(send_digest, advocate_id, key, job_id=f"digest-{advocate_id}-{key}")
    return len(ids)


@job_timeout(60)
def send_digest(advocate_id: int, week: str) -> None:
    """Job: compose and queue one advocate's digest. Exactly once per (advocate, week)."""
    with job_context():
        compose_digest(advocate_id, week)


def compose_digest(advocate_id: int, week: str, now: dt.datetime | None = None) -> OutboxEmail | None:
    """Up to 6 challenges published in the last 7 days that the advocate may take now — asked of
    the challenges package (its feed eligibility and caps code) — or no email when there are none."""
    now = now or utcnow()
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None or not email_allowed(advocate, "digest"):
        return None
    items = hooks().digest_items(advocate_id, now - DIGEST_WINDOW, DIGEST_LIMIT)
    if not items:
        return None
    for item in items:
        item["url"] = absolute_url(item.get("url"))
    count = len(items)
    subject = f"{count} new challenge{'s' if count != 1 else ''} for you this week"
    return email_advocate(
        advocate.user, "digest", subject, "digest", {"items": items}, dedupe_key=f"digest:{advocate_id}:{week}"
    )


# --- re-engagement -----------------------------------------------------------------------------


def reengage(now: dt.datetime | None = None) -> int:
    """Enqueue a catch-up note job for every advocate with no activity for 180 days."""
    now = now or utcnow()
    last_seen = func.coalesce(Advocate.last_activity_at, Advocate.joined_at)
    ids = list(
        db.session.scalars(
            select(Advocate.id)
            .join(User, User.id == Advocate.user_id)
            .where(Advocate.is_erased.is_(False), User.is_active_user.is_(True), last_seen <= now - REENGAGE_AFTER)
            .order_by(Advocate.id)
        )
    )
    for advocate_id in ids:
        enqueue_after_commit(send_reengagement, advocate_id, job_id=f"reengage-{advocate_id}-{now:%Y%m%d}")
    return len(ids)


@job_timeout(60)
def send_reengagement(advocate_id: int) -> None:
    """Job: queue the catch-up note. Once per quiet spell (keyed by the last activity date)."""
    with job_context():
        compose_reengagement(advocate_id)


def compose_reengagement(advocate_id: int, now: dt.datetime | None = None) -> OutboxEmail | None:
    now = now or utcnow()
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None:
        return None
    last_seen = advocate.last_activity_at or advocate.joined_at
    if last_seen > now - REENGAGE_AFTER:
        return None  # active again since the sweep
    return email_advocate(
        advocate.user,
        "reengagement",
        f"We miss you at {get_setting('program_name')}",
        "reengagement",
        {"balance": advocate.balance, "tier": advocate.tier.value},
        dedupe_key=f"reengage:{advocate_id}:{last_seen.date().isoformat()}",
    )


# --- thank-you at 5 / 25 / 100 approved completions ----------------------------------------


THANKS_KNOWN_KEY = "vouch_thanks_known"


def _thanks_key(advocate_id: int, milestone: int) -> str:
    return f"thanks:{advocate_id}:{milestone}"


@contextlib.contextmanager
def thanks_known(approved_counts: dict[int, int]) -> Iterator[None]:
    """Within this block, `thank_for_completions` for these advocates ({advocate id: the highest
    approved count the block reaches}) knows which of their milestone thank-yous are written
    from one read of the outbox (a verification batch's approvals: one statement, not one per
    approval). A thank-you the block writes is still refused by its dedupe key if it repeats;
    the knowledge ends with the block (a later transaction reads again)."""
    keys = [
        _thanks_key(advocate_id, milestone)
        for advocate_id, count in approved_counts.items()
        for milestone in COMPLETION_MILESTONES
        if count >= milestone
    ]
    if not keys or THANKS_KNOWN_KEY in db.session.info:
        yield
        return
    db.session.info[THANKS_KNOWN_KEY] = set(
        db.session.scalars(select(OutboxEmail.dedupe_key).where(any_of(OutboxEmail.dedupe_key, keys)))
    )
    try:
        yield
    finally:
        db.session.info.pop(THANKS_KNOWN_KEY, None)


def thank_for_completions(advocate_id: int, approved_count: int) -> OutboxEmail | None:
    """Queue the thank-you for the highest milestone reached; once per (advocate, milestone)."""
    reached = [m for m in COMPLETION_MILESTONES if approved_count >= m]
    if not reached:
        return None
    milestone = reached[-1]
    key = _thanks_key(advocate_id, milestone)
    # Most approvals past a milestone find its thank-you written: a look-up (or the batch's one
    # read, `thanks_known`) instead of reading the advocate and rendering an email the dedupe
    # key would then refuse.
    known: set[str] | None = db.session.info.get(THANKS_KNOWN_KEY)
    if known is not None and key in known:
        return None
    if known is None and db.session.scalar(select(OutboxEmail.id).where(OutboxEmail.dedupe_key == key)) is not None:
        return None
    advocate = db.session.get(Advocate, advocate_id)
    if advocate is None:
        return None
    if known is not None:
        known.add(key)  # written now (or refused by its key): the block's next approval skips it
    return email_advocate(
        advocate.user,
        "milestones",
        f"Thank you for {milestone} approved completions!",
        "thanks",
        {"milestone": milestone},
        dedupe_key=key,
    )


def _on_completion_approved(_sender: object, *, advocate_id: int, approved_count: int, **_: Any) -> None:
    thank_for_completions(advocate_id, approved_count)


completion_approved.connect(_on_completion_approved, weak=False)


# --- periodic jobs (hub.hooks.PeriodicJob; scheduled by hub/cron.py) -------------------------


@job_timeout(1800)
def send_digests_job() -> int:
    """Cron job: the weekly digest sweep."""
    with job_context():
        return send_digests()


@job_timeout(600)
def reengage_job() -> int:
    """Cron job: the daily re-engagement sweep."""
    with job_context():
        return reengage()


@job_timeout(300)
def drain_outbox_job() -> int:
    """Cron job: re-enqueue due outbox rows (transient failures, lost jobs)."""
    with job_context():
        return drain_outbox()


def periodic_jobs() -> list[PeriodicJob]:
    """The email package's periodic jobs and their timetables (UTC)."""
    return [
        PeriodicJob(drain_outbox_job, "hub drain-outbox", interval=60),
        PeriodicJob(reengage_job, "hub reengage", cron="30 9 * * *"),
        PeriodicJob(send_digests_job, "hub send-digests", cron="0 8 * * 1"),
    ]
