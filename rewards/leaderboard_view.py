"""Leaderboard payloads shared by the JSON route and the HTML page."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from hub.errors import NotFound
from hub.extensions import db
from hub.models import STAFF_ROLES, Group, Role, User
from hub.redis_stamps import caller_version
from hub.tokens import Caller
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


@dataclass(frozen=True, slots=True)
class GroupName:
    """A group's id and name, as a leaderboard shows them (plain data, shared between requests)."""

    id: int
    name: str


# Group as asked for (id, or lower-cased name) → (callers' stamp, monotonic deadline, the group).
_group_names: dict[int | str, tuple[str, float, GroupName]] = {}
_GROUP_NAMES_MAX = 10_000


def _group_key(group: str | int) -> int | str:
    """A group as asked for, as the name cache keys it: an id, or the lower-cased name."""
    wanted: int | str = group if isinstance(group, int) else str(group)
    if isinstance(wanted, str):
        wanted = int(wanted) if wanted.isascii() and wanted.isdigit() else wanted.lower()
    return wanted


def group_name(group: str | int | None) -> GroupName | None:
    """`resolve_group` from a per-process cache: kept under the callers' stamp, which any write
    to `groups` moves once it commits (hub.redis_stamps), for at most VOUCH_CALLER_CACHE_SECONDS.
    Without a stamp (no Redis) it reads the database each time. NotFound if unknown (not kept)."""
    if group in (None, ""):
        return None
    wanted = _group_key(group)
    stamp = caller_version()  # before the read: a rename committed after it moves the stamp
    kept = _group_names.get(wanted)
    if stamp is not None and kept is not None and kept[0] == stamp and kept[1] > time.monotonic():
        return kept[2]
    found = resolve_group(wanted)
    if found is None:  # pragma: no cover - resolve_group answers None only for no filter
        return None
    named = GroupName(found.id, found.name)
    if stamp is not None:
        if len(_group_names) >= _GROUP_NAMES_MAX:
            _group_names.clear()
        lifetime = float(current_app.config.get("VOUCH_CALLER_CACHE_SECONDS", 60))
        _group_names[wanted] = (stamp, time.monotonic() + lifetime, named)
    return named


def kept_group(group: str | int) -> GroupName | None:
    """The group this process keeps for `group` (an id or a name), whatever stamp it was kept
    under — no I/O, and not an answer (that is `group_name`): a guess for planning a read ahead
    (rewards.api.plan_board_read), checked when it is used."""
    kept = _group_names.get(_group_key(group))
    return kept[2] if kept is not None else None


def forget_group_names() -> None:
    """Drop the group names this process keeps (tests)."""
    _group_names.clear()


def leaderboard_payload(
    viewer: User | Caller, period: str, group: str | int | None, limit: int, offset: int = 0
) -> dict[str, Any]:
    """The leaderboard as the API and the pages show it: `period`, `group` (its name, or None),
    `entries` (rank, advocate_id — None for an advocate who opted out, unless staff or themself
    —, display_name, tier, points, is_me) and `me` (the advocate viewer's rank and points; None
    for staff). `group` is an id or a name (NotFound if unknown). With Redis a warm read runs
    no SQL (issue 22): the viewer a Caller, the group's name cached, the board one script call."""
    caller = viewer if isinstance(viewer, Caller) else Caller.of(viewer)
    grp = group_name(group)
    me_id = caller.advocate_id if caller.role is Role.ADVOCATE else None
    rows, me, described = leaderboard.board(period, grp.id if grp else None, limit, offset, me_id)
    return board_payload(period, grp, caller.role in STAFF_ROLES, me_id, rows, me, described)


def board_payload(
    period: str,
    grp: GroupName | None,
    staff: bool,
    me_id: int | None,
    rows: list[leaderboard.Row],
    me: leaderboard.Row | None,
    described: dict[int, dict[str, Any]],
) -> dict[str, Any]:
    """`leaderboard_payload`'s answer from a board's rows (`rows`), the caller's row (`me`, None
    when they have no points), the display rows by advocate id (`described`), whether the viewer
    is staff and their advocate id (`me_id`, None for staff); `grp` the group shown or None."""

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
