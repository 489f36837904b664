"""Notifications JSON API (api.md): the caller's own notifications, and mark all read."""

from __future__ import annotations

from hub.endpoints import api_blueprint, endpoint, page_args, paginated
from hub.models import ALL_ROLES, Notification, User
from hub.notifications import mark_all_read, notifications_page, unread_count
from hub.validation import iso

bp = api_blueprint("notifications_api")


def notification_json(note: Notification) -> dict:
    return {
        "id": note.id,
        "kind": note.kind,
        "text": note.text,
        "url": note.url,
        "created_at": iso(note.created_at),
        "read_at": iso(note.read_at),
    }


@endpoint(
    bp,
    "/notifications",
    roles=ALL_ROLES,
    summary="My notifications, newest first",
    tag="notifications",
    query={"page": "integer", "per_page": "integer"},
)
def list_notifications(user: User) -> dict:
    page, per_page = page_args()
    items, total = notifications_page(user.id, page, per_page)
    return paginated([notification_json(n) for n in items], page, per_page, total) | {"unread": unread_count(user.id)}


@endpoint(
    bp, "/notifications/read", "POST", roles=ALL_ROLES, summary="Mark all my notifications read", tag="notifications"
)
def read_notifications(user: User) -> dict:
    return {"marked": mark_all_read(user.id), "unread": 0}
