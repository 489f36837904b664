"""Notifications JSON API (api.md): the caller's own notifications, and mark all read."""

from __future__ import annotations

from hub.contracts import NotificationPage, NotificationReply, NotificationsRead, PageQuery
from hub.endpoints import api_blueprint, endpoint
from hub.models import ALL_ROLES, Notification, User
from hub.notifications import mark_all_read, notifications_page, unread_count

bp = api_blueprint("notifications_api")


def notification_reply(note: Notification) -> NotificationReply:
    return NotificationReply(
        id=note.id, kind=note.kind, text=note.text, url=note.url, created_at=note.created_at, read_at=note.read_at
    )


@endpoint(
    bp,
    "/notifications",
    roles=ALL_ROLES,
    summary="My notifications, newest first",
    tag="notifications",
    query=PageQuery,
    reply=NotificationPage,
)
def list_notifications(user: User, args: PageQuery) -> NotificationPage:
    items, total = notifications_page(user.id, args.page, args.per_page)
    return NotificationPage.of([notification_reply(n) for n in items], args, total, unread=unread_count(user.id))


@endpoint(
    bp,
    "/notifications/read",
    "POST",
    roles=ALL_ROLES,
    summary="Mark all my notifications read",
    tag="notifications",
    reply=NotificationsRead,
)
def read_notifications(user: User) -> NotificationsRead:
    return NotificationsRead(marked=mark_all_read(user.id), unread=0)
