"""In-app notifications (the bell) and, through hub.email.mailings, their email twins.

Kinds in use: `completion_approved`, `completion_rejected` (text carries the reason),
`tier`, `badge`, `redemption_<status>`, `reference_ask`, `answer_accepted`, `points`.
hub.email.preferences maps a kind to the email kind an advocate can switch off (by prefix, so a
new `redemption_*` kind is emailed without touching hub); unmapped kinds stay in-app only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, bindparam, func, insert, select, update

from hub.db import execute_dml, insert_unnest, table_of, utcnow
from hub.extensions import db
from hub.home_reads import HomeRead, rows_of
from hub.models import Notification
from hub.queue import enqueue_merged_after_commit


def notify(user_id: int, kind: str, text: str, url: str | None = None, *, email: bool = True) -> Notification:
    """Add an in-app notification in the caller's transaction, plus its email when the kind has one."""
    note = Notification(user_id=user_id, kind=kind[:40], text=text[:500], url=url)
    db.session.add(note)
    db.session.flush()
    if email:
        from hub.email.mailings import email_for_notification

        email_for_notification(note)
    return note


def notify_many(items: list[tuple[int, str, str, str | None]], *, email: bool = True) -> list[int]:
    """Add in-app notifications — (user_id, kind, text, url) each — in one multi-row INSERT in the
    caller's transaction, and their email twins through one job after commit
    (hub.email.mailings.send_notification_emails) instead of a job per email: for runs that tell
    thousands of advocates at once; the calls of one transaction (a batch of approvals) share that
    job. Returns the new notification ids, in `items` order."""
    if not items:
        return []
    rows = [
        {"user_id": user_id, "kind": kind[:40], "text": text[:500], "url": url, "created_at": utcnow()}
        for user_id, kind, text, url in items
    ]
    if db.session.get_bind().dialect.name == "postgresql":
        # Ids come from the sequence in the order unnest yields the rows: sorted, items order.
        ids = sorted(row.id for row in insert_unnest(db.session, table_of(Notification), rows, ["id"]))
    else:
        ids = list(
            db.session.scalars(insert(Notification).returning(Notification.id, sort_by_parameter_order=True), rows)
        )
    if email:
        from hub.email.mailings import send_notification_emails

        enqueue_merged_after_commit(send_notification_emails, ids, job_id=f"notification-emails-{ids[0]}-{ids[-1]}")
    return ids


def _unread_statement() -> Select[*tuple[Any, ...]]:
    return (
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None))
    )


# The bell's count, read with the hub page's other cards in one statement (hub.home_reads).
UNREAD_NOTIFICATIONS = HomeRead("unread_notifications", _unread_statement)


def unread_count(user_id: int) -> int:
    """How many of the user's notifications are unread (the bell). On the hub page, from the
    cards' reads taken together; elsewhere one COUNT."""
    ((count,),) = rows_of(UNREAD_NOTIFICATIONS, user_id=user_id)
    return int(count or 0)


def mark_all_read(user_id: int) -> int:
    """Mark every unread notification of the user read (one UPDATE); returns how many."""
    result = execute_dml(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount


def notifications_page(user_id: int, page: int = 1, per_page: int = 50) -> tuple[list[Notification], int]:
    """The user's notifications, newest first, and how many there are."""
    total = (
        db.session.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == user_id)) or 0
    )
    items = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(items), total
