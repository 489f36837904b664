"""The audit log: who changed points, rewards, challenges, caps, roles or tokens, and how."""

from __future__ import annotations

from typing import Any

from hub.extensions import db
from hub.models import AuditEntry


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
