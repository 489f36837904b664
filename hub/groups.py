"""Groups housekeeping (issue 20, "People housekeeping"): rename a group, delete one nothing still
targets, and add every advocate of a filtered list to a group at once.

Creating a group and setting one advocate's groups stay in hub.accounts. A group's name is unique
whatever its case. Deleting is refused while a challenge (or anything else a package registers in
`hub.hooks.group_dependents`) targets the group: the database would drop the targeting row with it
and silently widen that challenge to everyone. Members simply leave the group."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from hub.accounts import GroupDescription, GroupName, group_by_name
from hub.advocate_lists import advocates_query
from hub.audit import record_audit
from hub.db import insert_ignore, locked_row
from hub.errors import InvalidState, NotFound, ValidationFailed
from hub.extensions import db
from hub.fields import read_value
from hub.hooks import hooks
from hub.models import Advocate, Group, advocate_groups

# At most this many advocates are added by one bulk assignment (one request's work; narrow the
# filters, or repeat, for more).
BULK_LIMIT = 5_000


def member_counts() -> dict[int, int]:
    """Advocates per group id (groups without members are absent), one grouped query."""
    rows = db.session.execute(select(advocate_groups.c.group_id, func.count()).group_by(advocate_groups.c.group_id))
    return {group_id: n for group_id, n in rows}


def member_count(group_id: int) -> int:
    """How many advocates the group has."""
    return db.session.scalar(select(func.count()).where(advocate_groups.c.group_id == group_id)) or 0


def _group(group_id: int) -> Group:
    group = locked_row(Group, group_id)
    if group is None:
        raise NotFound("Group not found.")
    return group


def rename_group(group_id: int, name: str | None, description: str | None, actor_id: int) -> Group:
    """Give a group a new name and/or description (None leaves it); audited with before/after.
    Raises NotFound, and ValidationFailed for a bad or taken name (whatever its case)."""
    group = _group(group_id)
    before = {"name": group.name, "description": group.description}
    if name is not None:
        name = read_value(GroupName, name, "name")
        taken = group_by_name(name)
        if taken is not None and taken.id != group.id:
            raise ValidationFailed({"name": "A group with this name already exists."})
        group.name = name
    if description is not None:
        group.description = read_value(GroupDescription, description, "description")
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise ValidationFailed({"name": "A group with this name already exists."}) from None
    record_audit(
        actor_id, "group.update", "group", group.id, before, {"name": group.name, "description": group.description}
    )
    return group


def dependents(group_id: int) -> list[str]:
    """What still targets the group (e.g. 'challenge “Review us on G2”'), from every package."""
    found: list[str] = []
    for source in hooks().group_dependents:
        found.extend(source(group_id))
    return found


def delete_group(group_id: int, actor_id: int) -> str:
    """Delete a group nothing targets; its members stay advocates and leave the group (their
    group leaderboards follow). Returns the deleted name. Raises NotFound, and InvalidState
    naming what still targets it."""
    group = _group(group_id)
    users = dependents(group.id)
    if users:
        shown = ", ".join(users[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
        raise InvalidState(f"“{group.name}” is still the audience of {shown}; change their audience first.")
    members = list(
        db.session.scalars(select(advocate_groups.c.advocate_id).where(advocate_groups.c.group_id == group.id))
    )
    name = group.name
    db.session.execute(delete(advocate_groups).where(advocate_groups.c.group_id == group.id))
    db.session.delete(group)
    db.session.flush()
    hooks().advocates_groups_changed(members)
    record_audit(actor_id, "group.delete", "group", group_id, {"name": name, "members": len(members)}, None)
    return name


def add_filtered(target_id: int, actor_id: int, now: dt.datetime, **filters: Any) -> tuple[int, int]:
    """Add every advocate the advocates list shows for `filters` (hub.advocate_lists) to the group
    `target_id`. Returns (added, already members). Each membership is an INSERT that ignores an existing row,
    so a second click or a parallel request adds nobody twice. Raises NotFound, and
    ValidationFailed when the list holds more than BULK_LIMIT advocates."""
    group = _group(target_id)
    shown = advocates_query(now=now, **filters).with_only_columns(Advocate.id).order_by(Advocate.id)
    ids = list(db.session.scalars(shown.limit(BULK_LIMIT + 1)))
    if len(ids) > BULK_LIMIT:
        raise ValidationFailed(
            {"filters": f"This list has more than {BULK_LIMIT:,} advocates; narrow the filters to add them in parts."}
        )
    added = [a for a in ids if insert_ignore(db.session, advocate_groups, {"advocate_id": a, "group_id": group.id})]
    hooks().advocates_groups_changed(added)
    if added:
        record_audit(
            actor_id,
            "group.bulk_assign",
            "group",
            group.id,
            None,
            {"added": len(added), "filters": {k: str(v) for k, v in filters.items() if v}},
        )
    return len(added), len(ids) - len(added)
