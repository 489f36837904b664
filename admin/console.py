"""The admin blueprint and its one role gate: every console view is for managers and owners
(`staff`) or for owners alone (`owner_only`), and the gate refuses everyone else before the
view runs (the route audit checks each view's declared roles)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, current_app, request
from flask_login import current_user, login_required

from hub.models import STAFF_ROLES, Role

bp = Blueprint("admin", __name__, url_prefix="/admin")


def staff(fn: Callable) -> Callable:
    fn.allowed_roles = STAFF_ROLES  # type: ignore[attr-defined]
    return fn


def owner_only(fn: Callable) -> Callable:
    fn.allowed_roles = frozenset({Role.OWNER})  # type: ignore[attr-defined]
    return fn


@bp.before_request
@login_required
def _role_gate():
    if current_user.role not in STAFF_ROLES:
        abort(403)
    view = current_app.view_functions.get(request.endpoint or "")
    if current_user.role not in getattr(view, "allowed_roles", STAFF_ROLES):
        abort(403)
