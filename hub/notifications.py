"""In-app notifications (and, through the outbox, their emails)."""

from __future__ import annotations

from sqlalchemy import func, select, update

from hub.db import utcnow
from hub.extensions import db
from hub.models import Notification


def notify(user_id: int, kind: str, text: str, url: str | None = None) -> Notification:
    """Add an in-app notification in the caller's transaction."""
    note = Notification(user_id=user_id, kind=kind, text=text[:500], url=url)
    db.session.add(note)
    db.session.flush()
    return note


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
    ) or 0


def mark_all_read(user_id: int) -> int:
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount
