"""Leaderboard payloads shared by the JSON route and the HTML page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from hub.errors import NotFound
from hub.extensions import db
from hub.models import STAFF_ROLES, Group, Role, User
from rewards import leaderboard


def resolve_group(group: str | int | None) -> Group | None:
    """A group by id or (case-insensitive) name; None for no filter; NotFound if unknown."""
    if group in (None, ""):
        return None
    if isinstance(group, int) or (isinstance(group, str) and group.isascii() and group.isdigit()):
        found = db.session.get(Group, int(group))
    else:
        found = db.session.scalar(select(Group).where(func.lower(Group.name) == str(group).lower()))
    if found is None:
        raise NotFound("Group not found.")
    return found


def leaderboard_payload(
    user: User, period: str, group: str | int | None, limit: int, offset: int = 0
) -> dict[str, Any]:
    grp = resolve_group(group)
    me_id = user.advocate.id if user.role is Role.ADVOCATE and user.advocate else None
    rows, me, described = leaderboard.board(period, grp.id if grp else None, limit, offset, me_id)
    staff = user.role in STAFF_ROLES

    def named(advocate_id: int) -> int | None:
        # An advocate who opted out is anonymous to other advocates: no stable id to follow
        # across boards and periods (issue 13 item 7); staff and the advocate still see it.
        shown = described.get(advocate_id, {}).get("shown", False)
        return advocate_id if shown or staff or advocate_id == me_id else None

    entries = [
        {
            "rank": row.rank,
            "advocate_id": named(row.advocate_id),
            "display_name": described.get(row.advocate_id, {}).get("display_name", "Anonymous advocate"),
            "tier": described.get(row.advocate_id, {}).get("tier", "bronze"),
            "points": row.points,
            "is_me": row.advocate_id == me_id,
        }
        for row in rows
    ]
    payload: dict[str, Any] = {
        "period": period,
        "group": grp.name if grp else None,
        "entries": entries,
        "me": None,
    }
    if me_id is not None:
        payload["me"] = {"rank": me.rank, "points": me.points} if me else {"rank": None, "points": 0}
    return payload
