"""The audit log: who changed points, rewards, challenges, caps, roles or tokens, and how —
written by `record_audit` in the changing transaction, read by the owner's audit log page and
its CSV as a filtered, paginated list with a field-by-field before/after diff (`changes`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.elements import ColumnElement

from hub.extensions import db
from hub.models import Advocate, AuditEntry, Group, User


def record_audit(
    actor_id: int | None,
    action: str,
    target_type: str | None = None,
    target_id: Any = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """Append an audit row in the caller's transaction (so it commits with the change)."""
    entry = AuditEntry(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=before,
        after=after,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


SYSTEM = 0  # the audit filter's actor for entries without a user (no user has id 0)


@dataclass(frozen=True)
class AuditFilter:
    """What the audit log page shows: entries by `actor_id` (a user; SYSTEM for the entries no
    user made — seeding, commands, jobs), of `action`, created from `since` to `until`
    (inclusive UTC dates); None means any."""

    actor_id: int | None = None
    action: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.actor_id == SYSTEM:
            found.append(AuditEntry.actor_id.is_(None))
        elif self.actor_id is not None:
            found.append(AuditEntry.actor_id == self.actor_id)
        if self.action:
            found.append(AuditEntry.action == self.action)
        if self.since is not None:
            found.append(AuditEntry.created_at >= dt.datetime.combine(self.since, dt.time(), tzinfo=dt.UTC))
        if self.until is not None:
            end = dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
            found.append(AuditEntry.created_at < end)
        return found


@dataclass(frozen=True)
class Change:
    """One field an audited action changed: its dotted name (`tier_thresholds.gold`) and the
    values before and after as short text ("" when the field was absent on that side)."""

    field: str
    before: str
    after: str


def _flatten(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        found: dict[str, Any] = {}
        for key, inner in value.items():
            found |= _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
        return found
    return {prefix or "value": value}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Change]:
    """The before/after diff of an entry, field by field in name order: every field whose value
    reads differently (added, removed or changed; a value is shown as text, JSON for lists and
    numbers); nested objects are compared by their dotted leaves."""
    old = _flatten("", before) if before else {}
    new = _flatten("", after) if after else {}
    found = (Change(name, _text(old.get(name)), _text(new.get(name))) for name in sorted(old.keys() | new.keys()))
    # A field absent on one side and null on the other reads the same: not a change to show.
    return [change for change in found if change.before != change.after]


def _entries(where: AuditFilter) -> Select[Any]:
    return (
        select(AuditEntry)
        .options(joinedload(AuditEntry.actor))
        .where(*where.conditions())
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    )


def audit_page(where: AuditFilter, limit: int, offset: int) -> tuple[list[AuditEntry], int]:
    """A page of entries matching `where`, newest first, and how many match."""
    total = db.session.execute(select(func.count()).select_from(AuditEntry).where(*where.conditions())).scalar_one()
    rows = list(db.session.scalars(_entries(where).limit(limit).offset(offset)))
    return rows, int(total)


def iter_audit(where: AuditFilter, batch: int = 1000) -> Iterator[AuditEntry]:
    """Every entry matching `where`, newest first, read in batches (for the CSV)."""
    yield from db.session.scalars(_entries(where).execution_options(yield_per=batch))


def audit_choices() -> tuple[list[tuple[int, str]], list[str]]:
    """The filter's options: the users who appear in the log as (id, "name <email>") by name,
    then SYSTEM when some entries have no user; and every action written, sorted."""
    actors = db.session.execute(
        select(User.id, User.name, User.email)
        .where(User.id.in_(select(AuditEntry.actor_id).where(AuditEntry.actor_id.is_not(None)).distinct()))
        .order_by(User.name, User.id)
    ).all()
    actions = db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
    people = [(int(i), f"{name} <{email}>") for i, name, email in actors]
    if db.session.execute(select(AuditEntry.id).where(AuditEntry.actor_id.is_(None)).limit(1)).first():
        people.append((SYSTEM, "System (commands, jobs, set-up)"))
    return people, list(actions)


ERASED = "erased"  # the label of an erased advocate (or their user) as an entry's target


def _ids(keys: set[tuple[str, str]], kind: str) -> list[int]:
    return [int(i) for t, i in keys if t == kind and i.isdigit()]


def target_names(entries: Iterable[AuditEntry]) -> dict[tuple[str, str], str]:
    """The names of the people and groups `entries` are about, by (target_type, target_id): an
    advocate's or a user's name, a group's name; ERASED for an erased advocate and for their user
    (hub.privacy keeps them anonymous: never the name they had). A target that no longer exists
    has no name. One query per kind of target, whatever the number of entries."""
    keys = {(e.target_type, e.target_id) for e in entries if e.target_type and e.target_id}
    found: dict[tuple[str, str], str] = {}
    advocates = _ids(keys, "advocate")
    if advocates:
        for i, name, erased in db.session.execute(
            select(Advocate.id, User.name, Advocate.is_erased)
            .join(User, User.id == Advocate.user_id)
            .where(Advocate.id.in_(advocates))
        ):
            found[("advocate", str(i))] = ERASED if erased else str(name)
    users = _ids(keys, "user")
    if users:
        for i, name, erased in db.session.execute(
            select(User.id, User.name, Advocate.is_erased)
            .outerjoin(Advocate, Advocate.user_id == User.id)
            .where(User.id.in_(users))
        ):
            found[("user", str(i))] = ERASED if erased else str(name)
    groups = _ids(keys, "group")
    if groups:
        for i, name in db.session.execute(select(Group.id, Group.name).where(Group.id.in_(groups))):
            found[("group", str(i))] = str(name)
    return found


def iter_audit_named(where: AuditFilter, batch: int = 1000) -> Iterator[tuple[AuditEntry, str]]:
    """`iter_audit` with each entry's target name (`target_names`; "" when it has none), the
    names read once per `batch` entries (for the CSV)."""
    pending: list[AuditEntry] = []

    def named() -> Iterator[tuple[AuditEntry, str]]:
        names = target_names(pending)
        for entry in pending:
            yield entry, names.get((entry.target_type or "", entry.target_id or ""), "")

    for entry in iter_audit(where, batch):
        pending.append(entry)
        if len(pending) == batch:
            yield from named()
            pending = []
    yield from named()
