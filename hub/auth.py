"""Role gates for HTML views; every view declares the roles it allows (the route audit checks)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort
from flask_login import current_user, login_required

from hub.models import Role

View = TypeVar("View", bound=Callable[..., Any])


def roles_required(*roles: Role | str) -> Callable[[View], View]:
    allowed = frozenset(Role(r) for r in roles)

    def decorator(fn: View) -> View:
        @wraps(fn)
        @login_required
        def view(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in allowed:
                abort(403)
            return fn(*args, **kwargs)

        view.allowed_roles = allowed  # type: ignore[attr-defined]  # a function attribute the route audit reads
        return cast(View, view)

    return decorator


def public(fn: Callable) -> Callable:
    """Mark a view as reachable without logging in (login, reset, invite, static)."""
    fn.public = True  # type: ignore[attr-defined]
    return fn
