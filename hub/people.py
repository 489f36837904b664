"""People admin (owner): the users list, role changes, deactivation and reactivation (issue 14,
api.md `GET /users` · `PATCH /users/{id}`, product.md §1 and §12).

A deactivated user cannot log in, their sessions end on their next request (and are deleted
now), their tokens answer 401 (hub.tokens resolves active users only); an inactive advocate
leaves the leaderboards, matching, digests and new asks (`hub.hooks.active_change_listeners`
and the active-user filters there); none of their history is touched. There is always one
active owner: the active owners' rows are locked before any change that could remove the last,
so two owners demoting each other at once cannot both succeed. Every change is audited.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select

from hub.audit import record_audit
from hub.db import locked_row
from hub.errors import InvalidState, NotFound
from hub.extensions import db
from hub.hooks import hooks
from hub.models import Advocate, Role, User, UserSession

STAFF_ROLE_CHOICES = (Role.SALES, Role.MANAGER, Role.OWNER)


def users_page(offset: int, limit: int, q: str | None = None) -> tuple[list[User], int]:
    """Users by email (erased advocates left out), and how many there are."""
    erased = select(Advocate.user_id).where(Advocate.is_erased.is_(True))
    query = select(User).where(User.id.not_in(erased))
    if q:
        like = f"%{q.lower()}%"
        query = query.where(func.lower(User.email).like(like) | func.lower(User.name).like(like))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    users = db.session.scalars(query.order_by(User.email).limit(limit).offset(offset)).all()
    return list(users), total


def update_user(user_id: int, actor_id: int, role: Role | None = None, is_active: bool | None = None) -> User:
    """Change a user's role and/or active flag (None = unchanged); audited.

    Raises NotFound for an unknown or erased user; InvalidState (409) when the change would
    leave no active owner, or would move a user into or out of the advocate role (an advocate
    is a customer contact with a profile and points; staff are invited as staff)."""
    found = db.session.get(User, user_id)
    if found is None or (found.advocate is not None and found.advocate.is_erased):
        raise NotFound("User not found.")
    # Owners first (all active ones, in id order), then the user: the same order in every call.
    owners = _lock_active_owners() if found.role is Role.OWNER else []
    user = locked_row(User, user_id)
    if user is None:
        raise NotFound("User not found.")
    new_role = user.role if role is None else Role(role)
    new_active = user.is_active_user if is_active is None else bool(is_active)
    if new_role != user.role and Role.ADVOCATE in (new_role, user.role):
        raise InvalidState("An advocate's role cannot change; invite the person as staff with their work email.")
    removes_owner = user.role is Role.OWNER and user.is_active_user and (new_role is not Role.OWNER or not new_active)
    if removes_owner and not [o for o in owners if o != user.id]:
        raise InvalidState("This is the last active owner; make another user owner first.")
    before = {"role": user.role.value, "is_active": user.is_active_user}
    user.role, user.is_active_user = new_role, new_active
    after = {"role": new_role.value, "is_active": new_active}
    if before == after:
        return user
    if not new_active:
        db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    db.session.flush()
    if before["is_active"] != new_active:
        if user.advocate is not None:
            hooks().advocate_active_changed(user.advocate.id, new_active)
        record_audit(actor_id, "user.activate" if new_active else "user.deactivate", "user", user.id, before, after)
    if before["role"] != new_role.value:
        record_audit(actor_id, "user.role", "user", user.id, before, after)
    return user


def _lock_active_owners() -> list[int]:
    """The active owners' ids, their rows locked (in id order, one statement) for the transaction."""
    return list(
        db.session.scalars(
            select(User.id)
            .where(User.role == Role.OWNER, User.is_active_user.is_(True))
            .order_by(User.id)
            .with_for_update()
        ).all()
    )
