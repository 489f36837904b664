"""Role gates for HTML views; every view declares the roles it allows (the route audit checks)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from hub.models import Role


def roles_required(*roles: Role | str) -> Callable:
    allowed = frozenset(Role(r) for r in roles)

    def decorator(fn: Callable) -> Callable:
        @wraps(fn)
        @login_required
        def view(*args, **kwargs):
            if current_user.role not in allowed:
                abort(403)
            return fn(*args, **kwargs)

        view.allowed_roles = allowed  # type: ignore[attr-defined]
        return view

    return decorator


def public(fn: Callable) -> Callable:
    """Mark a view as reachable without logging in (login, reset, invite, static)."""
    fn.public = True  # type: ignore[attr-defined]
    return fn
