"""Users console (owner): every user with role and state; change a role, deactivate, reactivate
(hub.people; issue 14)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from admin.console import bp, owner_only
from hub import people
from hub.contracts import UserListQuery, read_or_400
from hub.errors import ValidationFailed, VouchError
from hub.models import Role
from hub.transactions import refusal_renders

PAGE = 50


@bp.get("/users")
@owner_only
def users():
    args = read_or_400(UserListQuery, request.args)
    rows, total = people.users_page(args.offset, PAGE, args.q)
    return render_template(
        "admin/users.html",
        users=rows,
        total=total,
        q=args.q or "",
        page=args.page,
        pages=max(1, -(-total // PAGE)),
        staff_roles=people.STAFF_ROLE_CHOICES,
        advocate_role=Role.ADVOCATE,
    )


def _change_refused(exc: VouchError, user_id: int):
    flash(exc.message, "error")
    return redirect(url_for("admin.users", q=request.args.get("q") or None))


@bp.post("/users/<int:user_id>")
@owner_only
@refusal_renders(_change_refused)
def user_change(user_id: int):
    role = request.form.get("role") or None
    if role is not None and role not in {r.value for r in people.STAFF_ROLE_CHOICES}:
        raise ValidationFailed({"role": "Choose sales, manager or owner."}, "Choose sales, manager or owner.")
    active = {"1": True, "0": False}.get(request.form.get("is_active", ""))
    user = people.update_user(user_id, current_user.id, role=Role(role) if role else None, is_active=active)
    flash(f"{user.email}: {user.role.value}, {'active' if user.is_active_user else 'deactivated'}.", "success")
    return redirect(url_for("admin.users", q=request.args.get("q") or None))
